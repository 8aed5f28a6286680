package dev.mpsafe.sync;

import dev.mpsafe.smr.SegmentPool;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.smr.SmrPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The use-after-reclaim torture: test support shared by every grace-period scheme (not a test
 * itself). Readers inside sections read a {@link Node} published through a {@link Protected}
 * reference; one writer keeps replacing it and reclaims each replaced node after a grace period,
 * by one of the three write-side forms of the contract ({@link Reclaim}). Reclaiming a node
 * <em>poisons</em> it (every field overwritten with {@link Node#POISON}) and puts it on a free list
 * from which later versions are built, as a pool would. A reader that ever sees a poisoned or
 * half-rewritten node, or a node whose fields change while it holds it, counts a failure.
 *
 * <pre>{@code
 * ReclaimTorture.Result r = ReclaimTorture.of(domain, Reclaim.SYNCHRONIZE)
 *         .duration(Duration.ofSeconds(1)).readers(2).run();
 * assertEquals(0, r.failures(), r.toString());
 * }</pre>
 *
 * <p>With {@link Reclaim#SMR_POOL} and {@link Reclaim#SEGMENT_POOL} the nodes come from the SMR
 * pools instead of the free list: the writer allocates from the pool and frees each replaced node
 * to it; the pool poisons a node (heap: {@link Node#POISON}; off-heap: every byte
 * {@link Node#SEGMENT_POISON_BYTE}) when its grace period has passed, before it hands it out again.
 *
 * <h2>What a reader checks</h2>
 * Each section: load the node, read all its fields (opaque, so every read really happens) and
 * check them against the version's pattern; hold the node for a short spin ({@link #holdSpins},
 * {@link Thread#onSpinWait()}); then read every field again: they must be intact and equal to the
 * first read. A reclaimed node shows {@link Node#POISON} or its poisoned flag, a node reclaimed and
 * reused shows another version's fields. Sections alternate between the participant and
 * {@link GraceDomain#enter()}; every fourth nests an inner section in the middle of the hold (the
 * outer section must still protect the node after the inner exit); every eighth holds eight times
 * longer.
 *
 * <h2>Why it catches a broken domain</h2>
 * The pool is small ({@link #poolSize}), so a node reclaimed too early is poisoned and rebuilt
 * within a few writer iterations, and a reader's hold spans many writer iterations. What it needs
 * is readers and the writer running at the same time, which a 2-core CI machine running three
 * busy threads (and a loaded developer machine) rarely grants by chance: readers rest briefly
 * ({@link #rest}) and the writer aims half of its replacements at readers' long holds
 * ({@link #rendezvous}). {@link Result#contendedReads()} reports the overlap obtained. The negative
 * controls in {@code ReclaimTortureTest} (a {@code synchronize()} that returns at once, a
 * {@code call()} that runs the callback at once, a {@code poll()} that is always true, an inner exit
 * that ends the outer section) are each caught within milliseconds.
 *
 * <p>Memory consistency argument for a correct domain (no false alarms): the reclaimer's poison
 * stores follow a grace period that began after the node was unpublished, so every section that
 * could hold the node happens-before them (the contract); the free list hands the node to the
 * writer with happens-before (a concurrent queue); the writer's plain re-initialization is
 * published by the release exchange of {@link Protected}, read by the readers' acquire load.
 *
 * <p>Thread safety: configure and {@link #run()} from one thread; {@code run()} starts and joins
 * its own threads.
 */
public final class ReclaimTorture {

    /** How the writer waits for the grace period before reclaiming a replaced node. */
    public enum Reclaim {
        /** {@link GraceDomain#synchronize()}, then poison. */
        SYNCHRONIZE,
        /** {@link Deferring#call(Runnable)} with a callback that poisons. */
        CALL,
        /**
         * {@link Polling#advance()} tags the node with a goal; it is poisoned once
         * {@link Polling#poll(long)} says the goal passed (a pool's way, FreeBSD's smr).
         */
        POLL,
        /**
         * Nodes come from an {@link SmrPool} on the (Smr) domain and go back to it with
         * {@code free}; the pool's reclaim hook poisons each one when its grace period passed.
         */
        SMR_POOL,
        /**
         * Nodes live off-heap, in segments of a {@link SegmentPool} on the (Smr) domain, poisoned
         * by the pool ({@link Node#SEGMENT_POISON_BYTE}) when their grace period passed.
         */
        SEGMENT_POOL
    }

    /**
     * What a run did.
     *
     * @param reads sections run by all readers
     * @param contendedReads sections during which the writer replaced the node (the overlap that
     *     makes the torture bite: a broken domain fails almost every one of them)
     * @param replacements nodes published by the writer
     * @param reclamations nodes poisoned and pooled
     * @param failures sections that saw a poisoned, torn or changed node: 0 for a correct domain
     * @param firstFailure what the first failure saw, or null
     */
    public record Result(long reads, long contendedReads, long replacements, long reclamations, long failures,
            String firstFailure) {
        @Override
        public String toString() {
            return "reads=" + reads + " contendedReads=" + contendedReads + " replacements=" + replacements
                    + " reclamations=" + reclamations + " failures=" + failures
                    + (firstFailure == null ? "" : " first failure: " + firstFailure);
        }
    }

    private final GraceDomain domain;
    private final Reclaim reclaim;
    private Duration duration = Duration.ofSeconds(1);
    private int readers = 2;
    private boolean virtualReaders;
    private int holdSpins = 32;
    private int poolSize = 16;
    private int restEvery = 64;
    private long restNanos = 20_000;
    private long stopAfterFailures = Long.MAX_VALUE;
    private boolean rendezvous = true;
    private Runnable pump;

    private ReclaimTorture(GraceDomain domain, Reclaim reclaim) {
        this.domain = Objects.requireNonNull(domain, "domain");
        this.reclaim = Objects.requireNonNull(reclaim, "reclaim");
        if (reclaim == Reclaim.CALL && !(domain instanceof Deferring)) {
            throw new IllegalArgumentException("Reclaim.CALL needs a Deferring domain, got " + domain);
        }
        if (reclaim == Reclaim.POLL && !(domain instanceof Polling)) {
            throw new IllegalArgumentException("Reclaim.POLL needs a Polling domain, got " + domain);
        }
        if ((reclaim == Reclaim.SMR_POOL || reclaim == Reclaim.SEGMENT_POOL) && !(domain instanceof Smr)) {
            throw new IllegalArgumentException("Reclaim." + reclaim + " needs an Smr domain, got " + domain);
        }
    }

    /** A torture of {@code domain} whose writer reclaims the {@code reclaim} way. */
    public static ReclaimTorture of(GraceDomain domain, Reclaim reclaim) {
        return new ReclaimTorture(domain, reclaim);
    }

    /** How long readers and writer run (default 1 s). */
    public ReclaimTorture duration(Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("duration must be positive, got " + d);
        }
        this.duration = d;
        return this;
    }

    /** The number of reader threads (default 2). */
    public ReclaimTorture readers(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("readers must be >= 1, got " + n);
        }
        this.readers = n;
        return this;
    }

    /** Whether readers are virtual threads (default: platform threads). */
    public ReclaimTorture virtualReaders(boolean virtual) {
        this.virtualReaders = virtual;
        return this;
    }

    /**
     * How many {@link Thread#onSpinWait()} a reader holds its node between the two reads (default
     * 32); every eighth section holds it eight times longer.
     */
    public ReclaimTorture holdSpins(int spins) {
        if (spins < 0) {
            throw new IllegalArgumentException("holdSpins must be >= 0, got " + spins);
        }
        this.holdSpins = spins;
        return this;
    }

    /**
     * Readers rest (park for {@code pause}, outside any section) every {@code sections} sections
     * (default: 20 us every 64; 0 sections: never). On a machine with fewer cores than torture
     * threads, readers that never leave the CPU starve the writer, and readers that yield queue
     * behind it, so readers and writer rarely run at the same time; short parks leave a core to
     * the writer while the other reader keeps reading. {@link Result#contendedReads()} measures
     * the overlap obtained.
     */
    public ReclaimTorture rest(int sections, Duration pause) {
        if (sections < 0) {
            throw new IllegalArgumentException("rest sections must be >= 0, got " + sections);
        }
        this.restEvery = sections;
        this.restNanos = pause.toNanos();
        return this;
    }

    /**
     * The most nodes in existence (default 16). When none is free the writer waits for a
     * reclamation, so a small pool forces prompt reuse of every reclaimed node.
     */
    public ReclaimTorture poolSize(int n) {
        if (n < 2) {
            throw new IllegalArgumentException("poolSize must be >= 2 (one published, one being built), got " + n);
        }
        this.poolSize = n;
        return this;
    }

    /**
     * Whether the writer aims its replacements at readers' long holds (default true). A reader in a
     * long hold raises a flag (opaque store); on every other replacement the writer spins briefly
     * (bounded, about {@value #RENDEZVOUS_SPINS} spins) until it sees one raised, then replaces. On
     * a small or loaded machine this turns the rare chance overlap of a reader's hold and the
     * writer's replace-and-reclaim into a frequent one. The flag is opaque on both sides, so it
     * creates no happens-before edge the domain could lean on; on TSO hardware it does order the
     * reader's announcement before the flag, which is why only every other replacement waits for
     * it (store-load ordering bugs are the jcstress tests' job; this torture is about the grace
     * period's logic).
     */
    public ReclaimTorture rendezvous(boolean on) {
        this.rendezvous = on;
        return this;
    }

    static final int RENDEZVOUS_SPINS = 512;

    /**
     * Ends the run early, once this many failures were seen (default: never). For negative
     * controls, which only need to show that failures happen.
     */
    public ReclaimTorture stopAfterFailures(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("stopAfterFailures must be >= 1, got " + n);
        }
        this.stopAfterFailures = n;
        return this;
    }

    /**
     * Called by the writer every few replacements and while it waits for a free node: for schemes
     * whose callbacks run on the callers of a poll (Epoch with caller-run callbacks:
     * {@code epoch::poll}).
     */
    public ReclaimTorture pump(Runnable pump) {
        this.pump = pump;
        return this;
    }

    // ------------------------------------------------------------------------------------------

    /** Runs the torture for the configured duration and returns the counts. */
    public Result run() throws InterruptedException {
        Run r = new Run();
        return r.execute();
    }

    /** One run's shared state; readers and the writer are its threads. */
    private final class Run {
        final ReentrantLock writersLock = new ReentrantLock();
        final ConcurrentLinkedQueue<Node> free = new ConcurrentLinkedQueue<>();
        final AtomicLong reclamations = new AtomicLong();
        final AtomicLong failures = new AtomicLong();
        final AtomicReference<String> firstFailure = new AtomicReference<>();
        final AtomicReference<Throwable> crash = new AtomicReference<>();
        final CountDownLatch started;
        final Protected<Node> ref;
        volatile boolean stop;
        int allocated; // writer-only
        long replacements; // writer-only; read after join
        final long[] reads = new long[readers];
        final long[] contended = new long[readers];
        /** The writer's replacement count, for readers to tell that it replaced while they held a node. */
        final AtomicLong published = new AtomicLong();
        /** Readers in a long hold: raised and lowered by readers, watched by the writer (opaque). */
        final AtomicInteger holding = new AtomicInteger();

        /** SMR_POOL: the node pool; SEGMENT_POOL: the segment pool. Null otherwise. */
        final SmrPool<Node> nodePool;
        final SegmentPool segmentPool;

        Run() {
            nodePool = reclaim == Reclaim.SMR_POOL
                    ? SmrPool.<Node>builder((Smr) domain, Node::new).bucketSize(2).maxIdle(poolSize)
                            .onReclaim(n -> {
                                n.poison();
                                reclamations.incrementAndGet();
                            }).build()
                    : null;
            // At most poolSize segments of 64 bytes: the writer waits for reclamation, as with the free list.
            segmentPool = reclaim == Reclaim.SEGMENT_POOL
                    ? SegmentPool.builder((Smr) domain, Node.BYTES).bucketSize(2).slabBytes(64L * poolSize)
                            .maxBytes(64L * poolSize).poison(Node.SEGMENT_POISON_BYTE).build()
                    : null;
            Node first = segmentPool != null ? new Node(segmentPool.allocate()) : new Node();
            first.init(1);
            allocated = 1;
            ref = Protected.create(domain, writersLock, first);
            started = new CountDownLatch(readers + 1);
        }

        Result execute() throws InterruptedException {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < readers; i++) {
                int id = i;
                Runnable body = guarded(() -> readLoop(id));
                threads.add(virtualReaders
                        ? Thread.ofVirtual().name("torture-reader-" + i).unstarted(body)
                        : Thread.ofPlatform().name("torture-reader-" + i).unstarted(body));
            }
            threads.add(Thread.ofPlatform().name("torture-writer").unstarted(guarded(this::writeLoop)));
            for (Thread t : threads) {
                t.start();
            }
            started.await();
            long end = System.nanoTime() + duration.toNanos();
            for (long left; (left = end - System.nanoTime()) > 0 && crash.get() == null
                    && failures.get() < stopAfterFailures; ) {
                TimeUnit.NANOSECONDS.sleep(Math.min(left, 10_000_000L));
            }
            stop = true;
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                if (t.isAlive()) {
                    throw new AssertionError(t.getName() + " did not stop within 30 s after the run ended ("
                            + domain + ")");
                }
            }
            if (segmentPool != null) {
                segmentPool.close(); // a grace period, then the arena: every thread has stopped reading
            }
            Throwable c = crash.get();
            if (c != null) {
                throw new AssertionError("a torture thread threw", c);
            }
            long totalReads = 0;
            long totalContended = 0;
            for (int i = 0; i < readers; i++) {
                totalReads += reads[i];
                totalContended += contended[i];
            }
            return new Result(totalReads, totalContended, replacements, reclamations.get(), failures.get(),
                    firstFailure.get());
        }

        Runnable guarded(Runnable body) {
            return () -> {
                try {
                    body.run();
                } catch (Throwable t) {
                    crash.compareAndSet(null, t);
                    stop = true;
                }
            };
        }

        // --------------------------------------------------------------------------------------
        // Readers

        void readLoop(int id) {
            Participant p = domain.register();
            started.countDown();
            long n = 0;
            long c = 0;
            while (!stop) {
                int form = (int) (n & 3);
                boolean replacedMeanwhile;
                if (form == 1) {
                    try (Section s = domain.enter()) { // the convenient form, through the thread-local
                        replacedMeanwhile = readOnce(p, false, false);
                    }
                } else {
                    p.enter();
                    try {
                        replacedMeanwhile = readOnce(p, form == 3, (n & 7) == 7); // every 4th nests
                    } finally {
                        p.exit();
                    }
                }
                n++;
                if (replacedMeanwhile) {
                    c++;
                }
                if (restEvery > 0 && n % restEvery == 0) {
                    LockSupport.parkNanos(restNanos); // outside any section: leave a core to the writer
                }
            }
            reads[id] = n; // published by Thread.join
            contended[id] = c;
        }

        /** One section's work; returns whether the writer replaced the node while it was held. */
        boolean readOnce(Participant p, boolean nest, boolean longHold) {
            long before = published.getOpaque(); // opaque: adds no ordering the domain should provide
            Node node = ref.load();
            int version = node.version();
            String bad = node.check(version, "first read");
            if (bad == null) {
                int spins = longHold ? holdSpins * 8 : holdSpins;
                if (longHold && rendezvous) {
                    holding.setOpaque(1); // benign race: a hint for the writer's timing only
                }
                for (int i = 0; i < spins; i++) {
                    Thread.onSpinWait();
                    if (nest && i == spins / 2) {
                        p.enter(); // an inner section's exit must not end the outer one
                        p.exit();
                    }
                }
                if (longHold && rendezvous) {
                    holding.setOpaque(0);
                }
                bad = node.check(version, "re-read after holding it");
            }
            if (bad != null) {
                failures.incrementAndGet();
                firstFailure.compareAndSet(null, bad);
            }
            return published.getOpaque() != before;
        }

        // --------------------------------------------------------------------------------------
        // Writer

        void writeLoop() {
            started.countDown();
            Deferring deferring = reclaim == Reclaim.CALL ? (Deferring) domain : null;
            Retired retired = reclaim == Reclaim.POLL ? new Retired((Polling) domain, poolSize) : null;
            int version = 1;
            while (!stop) {
                Node fresh = obtain(retired);
                if (fresh == null) {
                    break; // stopped while waiting for a free node
                }
                do {
                    version++; // wraps in long soaks: harmless, versions are only compared for equality
                } while (!Node.usable(version));
                fresh.init(version);
                if (rendezvous && (version & 1) == 0) {
                    for (int i = 0; i < RENDEZVOUS_SPINS && holding.getOpaque() == 0; i++) {
                        Thread.onSpinWait(); // aim this replacement at a reader's long hold
                    }
                }
                Node old;
                writersLock.lock();
                try {
                    old = ref.exchange(fresh);
                } finally {
                    writersLock.unlock();
                }
                replacements++;
                published.setOpaque(replacements);
                switch (reclaim) {
                    case SYNCHRONIZE -> {
                        domain.synchronize();
                        reclaim(old);
                    }
                    case CALL -> deferring.call(() -> reclaim(old));
                    case POLL -> {
                        retired.add(old);
                        retired.reclaimPassed();
                    }
                    case SMR_POOL -> nodePool.free(old);
                    case SEGMENT_POOL -> segmentPool.free(old.mem);
                }
                if (pump != null && (replacements & 7) == 0) {
                    pump.run();
                }
            }
        }

        /**
         * A node for the next version: a free one, a new one while the pool is below its size, or
         * (waiting) the next one reclaimed. Returns null if the run stopped meanwhile.
         */
        Node obtain(Retired retired) {
            if (nodePool != null) {
                return nodePool.allocate(); // reused ones were poisoned by the reclaim hook
            }
            if (segmentPool != null) {
                return fromSegmentPool();
            }
            for (int spins = 0; ; spins++) {
                Node n = free.poll();
                if (n != null) {
                    return n;
                }
                if (allocated < poolSize) {
                    allocated++;
                    return new Node();
                }
                if (stop) {
                    return null;
                }
                if (retired != null) {
                    retired.reclaimPassed();
                }
                if (pump != null) {
                    pump.run();
                }
                if (spins < 64) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield(); // 2-core machines: let the readers and the domain thread run
                }
            }
        }

        /**
         * A node over a segment from the pool (waiting for a grace period when all are pending).
         * A reused segment must come back poisoned: the pool fills it when its grace period passed.
         */
        Node fromSegmentPool() {
            Node n = new Node(segmentPool.allocate());
            if (n.flagRaw() == Node.SEGMENT_POISON) {
                reclamations.incrementAndGet();
            } else if (n.version() != 0) {
                failures.incrementAndGet(); // reused without its poison: the pool skipped the grace hook
                firstFailure.compareAndSet(null, "segment pool handed out a used segment that was not poisoned");
            }
            return n;
        }

        /** The POLL writer's retired nodes, oldest first, each tagged with its goal. Writer-only. */
        final class Retired {
            final Polling polling;
            final Node[] nodes;
            final long[] goals;
            int head;
            int count;

            Retired(Polling polling, int capacity) {
                this.polling = polling;
                this.nodes = new Node[capacity];
                this.goals = new long[capacity];
            }

            /** Retires {@code old}: it may be reclaimed once the goal taken now has passed. */
            void add(Node old) {
                // Never full: at most poolSize nodes exist and the published one is not retired.
                int tail = (head + count) % nodes.length;
                nodes[tail] = old;
                goals[tail] = polling.advance(); // after the exchange that unpublished old
                count++;
            }

            /** Reclaims, oldest first, every node whose goal has passed. */
            void reclaimPassed() {
                while (count > 0 && polling.poll(goals[head])) {
                    reclaim(nodes[head]);
                    nodes[head] = null;
                    head = (head + 1) % nodes.length;
                    count--;
                }
            }
        }

        /** Poisons {@code old} and returns it to the pool. Runs on the writer or a callback thread. */
        void reclaim(Node old) {
            old.poison();
            reclamations.incrementAndGet();
            free.add(old); // hands the node to the writer with happens-before
        }
    }

    // ------------------------------------------------------------------------------------------

    /**
     * A pooled object: a version and three fields derived from it, or a poison everywhere once
     * reclaimed. On the heap ({@link #Node()}: {@link #POISON} and a poisoned flag) or over an
     * off-heap segment ({@link #Node(MemorySegment)}: five ints, {@link #SEGMENT_POISON} once the
     * segment pool poisoned it). Built with plain stores by the writer before publication; read
     * with opaque loads (every read happens, none is merged or hoisted by the JIT); poisoned with
     * opaque stores (heap) or by the pool's fill (off-heap).
     */
    public static final class Node {
        /** What a reclaimed heap node's fields hold. */
        public static final int POISON = 0xDEAD_BEEF;
        /** The byte a segment pool fills reclaimed segments with. */
        public static final byte SEGMENT_POISON_BYTE = (byte) 0xA5;
        /** What each field of a poisoned segment reads. */
        public static final int SEGMENT_POISON = 0xA5A5_A5A5;
        /** Bytes of an off-heap node: version, a, b, c, flag. */
        public static final long BYTES = 5 * Integer.BYTES;
        static final int GOLDEN = 0x9E37_79B9;
        static final int MIX = 0x5BD1_E995;
        private static final int FLAG = 4;

        private static final VarHandle[] FIELDS;
        private static final VarHandle POISONED;
        /** (MemorySegment, long offset) -> int. */
        private static final VarHandle SEG_INT = ValueLayout.JAVA_INT.varHandle();

        /** The off-heap storage, or null for a heap node. */
        final MemorySegment mem;
        int version;
        int a;
        int b;
        int c;
        boolean poisoned;

        /** A heap node. */
        public Node() {
            this.mem = null;
        }

        /** A node stored in {@code mem} ({@link #BYTES} bytes at least). */
        public Node(MemorySegment mem) {
            this.mem = mem;
        }

        /** Whether no field of version {@code v} would read as a poison (the writer skips those). */
        static boolean usable(int v) {
            int[] f = {v, ~v, v * GOLDEN, v ^ MIX};
            for (int x : f) {
                if (x == POISON || x == SEGMENT_POISON || x == 0) {
                    return false;
                }
            }
            return true;
        }

        private int field(int i) {
            return mem == null ? (int) FIELDS[i].getOpaque(this) : (int) SEG_INT.getOpaque(mem, 4L * i);
        }

        int version() {
            return field(0);
        }

        /** Off-heap only: the raw flag word (0, or {@link #SEGMENT_POISON} after the pool's fill). */
        int flagRaw() {
            return (int) SEG_INT.getOpaque(mem, 4L * FLAG);
        }

        private boolean flagged() {
            return mem == null ? (boolean) POISONED.getOpaque(this) : flagRaw() != 0;
        }

        /** Writer only, before publication: plain stores, published by the release exchange. */
        void init(int v) {
            int[] f = {v, ~v, v * GOLDEN, v ^ MIX};
            if (mem == null) {
                poisoned = false;
                version = f[0];
                a = f[1];
                b = f[2];
                c = f[3];
            } else {
                for (int i = 0; i < f.length; i++) {
                    mem.set(ValueLayout.JAVA_INT, 4L * i, f[i]);
                }
                mem.set(ValueLayout.JAVA_INT, 4L * FLAG, 0);
            }
        }

        /** Reclaim a heap node: poison every field (opaque: a reader racing with it must be able to see it). */
        void poison() {
            POISONED.setOpaque(this, true);
            for (VarHandle f : FIELDS) {
                f.setOpaque(this, POISON);
            }
        }

        /** Null if the node holds version {@code v} intact, else what is wrong. */
        String check(int v, String when) {
            boolean flag = flagged();
            int ver = field(0);
            int fa = field(1);
            int fb = field(2);
            int fc = field(3);
            int poison = mem == null ? POISON : SEGMENT_POISON;
            if (flag || ver == poison || fa == poison || fb == poison || fc == poison) {
                return "poisoned " + (mem == null ? "node" : "off-heap node") + " seen on " + when + " (version " + v
                        + "): flag=" + flag + " fields=" + Integer.toHexString(ver) + "/" + Integer.toHexString(fa)
                        + "/" + Integer.toHexString(fb) + "/" + Integer.toHexString(fc);
            }
            if (ver != v || fa != ~v || fb != v * GOLDEN || fc != (v ^ MIX)) {
                return "node changed under the reader on " + when + ": held version " + v + ", now version " + ver
                        + " with fields " + Integer.toHexString(fa) + "/" + Integer.toHexString(fb) + "/"
                        + Integer.toHexString(fc) + " (reclaimed and reused)";
            }
            return null;
        }

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.lookup();
                FIELDS = new VarHandle[] {
                    l.findVarHandle(Node.class, "version", int.class),
                    l.findVarHandle(Node.class, "a", int.class),
                    l.findVarHandle(Node.class, "b", int.class),
                    l.findVarHandle(Node.class, "c", int.class),
                };
                POISONED = l.findVarHandle(Node.class, "poisoned", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }
}
