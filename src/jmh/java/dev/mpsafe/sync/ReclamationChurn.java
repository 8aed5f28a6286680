package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.smr.SmrPool;
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Question: how many times per second can a writer replace a protected object and reclaim the old
 * one while a reader keeps reading it, and how much garbage is pending at worst?
 *
 * <p>One background reader thread loops {@code enter(); load the Protected; check it; exit();}.
 * The JMH thread is the one writer: one operation is {@link Protected#exchange} of a new object
 * for the old one, then reclaiming the old one, which here means poisoning it (a flag the reader
 * checks: a reader that ever sees a poisoned object fails the run at teardown, so the benchmark is
 * also a use-after-free check). The primary score is replacements per second.
 *
 * <p>How the old object is reclaimed ({@code impl}), each the other's peer:
 * <ul>
 *   <li>{@code rwlock}, the JDK baseline: the reader holds a {@code ReentrantReadWriteLock}'s read
 *       lock around the load and check; the writer swaps under the write lock and poisons the old
 *       object at once. One object pending at most.</li>
 *   <li>{@code pserializeFenced}, {@code pserializeAsymmetric}, {@code epochSynchronize}: the writer
 *       calls {@code synchronize()}, then poisons the old object itself. At most one object is ever
 *       pending, by construction, so the high-water mark reported for these is 1.</li>
 *   <li>{@code epochCall}: {@code epoch.call(old)}; the domain thread poisons it after the grace
 *       period. The writer waits only when {@code maxPending} callbacks are pending.</li>
 *   <li>{@code epochCallPoll}: callbacks run by the callers; the writer does
 *       {@code epoch.call(old); epoch.poll();} (the ck_epoch_poll pattern).</li>
 *   <li>{@code smrDefaultPoll}, {@code smrLazyPoll}, {@code smrDeferredPoll}: the SMR write side,
 *       advance+poll: the writer tags {@code old} with {@code advance()}, then poisons every retired
 *       node whose goal {@code poll()} says passed, oldest first; at {@code maxPending} retired
 *       nodes it awaits the oldest goal. The mark is the most retired nodes at once.</li>
 *   <li>{@code smrDefaultPool}: nodes come from an {@code SmrPool} (bound {@code maxPending}) and
 *       go back with {@code free(old)}; its reclaim hook poisons. The mark is the pool's
 *       {@code idleHighWater} plus one bucket the writer's cache holds before tagging it.</li>
 * </ul>
 *
 * <p>The pending-garbage high-water mark ({@link Epoch#pendingHighWater()}: callbacks accepted and
 * not yet run, at their most) is the aux counter {@code pendingHighWater} (type EVENTS, so it is not
 * divided by time), and a line is printed at each iteration's teardown. Each iteration runs on its
 * own domain and reader thread, created in its setup and closed in its teardown, so an
 * iteration's mark covers exactly that iteration (warmup iterations included, each on its own
 * domain). Hence the 30-second churn the issue asks for is one measurement iteration of 30 s:
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.sync\.ReclamationChurn\..*' \
 *       -Djmh.args="-f 1 -wi 1 -w 5s -i 1 -r 30s"
 * </pre>
 * (10 cases, about 7 minutes.) Keep {@code -f 1 -i 1} for that figure: JMH sums EVENTS counters
 * over iterations and forks, so with more of either the aux figure is the sum of the marks (divide
 * by iterations &times; forks); the printed lines give each iteration's own mark.
 *
 * <p>The writer replaces as fast as it can, the worst case for pending garbage: with
 * {@code epochCall} expect the mark at the bound; run with {@code -p maxPending=1024,65536} to see
 * that the bound, not the churn, sets it. The aux counter {@code readerSections} (per second)
 * shows what the churn costs the reader.
 *
 * <p>Threads: the writer and the reader, plus the domain thread for {@code epochCall}: at most 3
 * on 2 cores.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Threads(1)
public class ReclamationChurn {

    @Param({"rwlock", "pserializeFenced", "pserializeAsymmetric", "epochSynchronize", "epochCall", "epochCallPoll",
        "smrDefaultPoll", "smrLazyPoll", "smrDeferredPoll", "smrDefaultPool"})
    public String impl;

    /** The bound on pending callbacks; used by the epoch variants. */
    @Param({"" + GraceOptions.DEFAULT_MAX_PENDING})
    public int maxPending;

    /** The protected object; {@link #run()} is its reclamation: it poisons the object. */
    static final class Node implements Runnable {
        /** Which replacement made it; for debugging a failed run. Rewritten when a pool reuses it. */
        long payload;
        /** Written once, by whoever reclaims; a reader inside a section must never see it true. */
        boolean reclaimed;

        Node(long payload) {
            this.payload = payload;
        }

        @Override
        public void run() {
            reclaimed = true;
        }
    }

    private enum Reclaim { LOCK, SYNCHRONIZE, CALL, CALL_POLL, SMR_POLL, SMR_POOL }

    /** {@code rwlock}: the reader holds the read lock, the writer swaps {@link #current} under the write lock. */
    private final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
    private volatile Node current;

    private Reclaim reclaim;
    private GraceDomain domain;
    private Epoch epoch;
    private Smr smr;
    /** SMR_POLL: retired nodes and their goals, oldest first (writer-only). */
    private final ArrayDeque<Node> retired = new ArrayDeque<>();
    private final ArrayDeque<Long> retiredGoals = new ArrayDeque<>();
    private long retiredHighWater;
    /** SMR_POOL: the nodes' pool; its reclaim hook poisons. */
    private SmrPool<Node> pool;
    private Protected<Node> value;
    private long replacements;

    private Thread reader;
    private volatile boolean stop;
    // Written by the reader before it ends, read after join.
    private long readerSections;
    private long violations;

    private boolean finished;
    private long pendingHighWater;
    private long sectionsThisIteration;

    @Setup(Level.Iteration)
    public void start() throws InterruptedException {
        GraceOptions options = GraceOptions.named("churn").withMaxPendingCallbacks(maxPending);
        epoch = null;
        smr = null;
        pool = null;
        domain = null;
        switch (impl) {
            case "rwlock" -> reclaim = Reclaim.LOCK;
            case "pserializeFenced", "pserializeAsymmetric" -> {
                domain = SyncBench.domain(impl, options);
                reclaim = Reclaim.SYNCHRONIZE;
            }
            case "epochSynchronize" -> {
                domain = epoch = Epoch.create(options);
                reclaim = Reclaim.SYNCHRONIZE;
            }
            case "epochCall" -> {
                domain = epoch = Epoch.create(options.withCallbacksOnDomainThread(true));
                reclaim = Reclaim.CALL;
            }
            case "epochCallPoll" -> {
                domain = epoch = Epoch.create(options.withCallbacksOnDomainThread(false));
                reclaim = Reclaim.CALL_POLL;
            }
            case "smrDefaultPoll", "smrLazyPoll", "smrDeferredPoll" -> {
                domain = smr = (Smr) SyncBench.domain(impl.substring(0, impl.length() - "Poll".length()), options);
                reclaim = Reclaim.SMR_POLL;
            }
            case "smrDefaultPool" -> {
                domain = smr = Smr.create(options, Smr.Mode.DEFAULT);
                pool = SmrPool.<Node>builder(smr, () -> new Node(0)).maxIdle(maxPending).onReclaim(Node::run).build();
                reclaim = Reclaim.SMR_POOL;
            }
            default -> throw new IllegalArgumentException("unknown impl '" + impl + "'; use rwlock, pserializeFenced, "
                    + "pserializeAsymmetric, epochSynchronize, epochCall, epochCallPoll, smrDefaultPoll, smrLazyPoll, "
                    + "smrDeferredPoll or smrDefaultPool");
        }
        retired.clear();
        retiredGoals.clear();
        retiredHighWater = 0;
        // Writers' lock: none; the single JMH thread (@Threads(1)) is the only writer.
        value = domain == null ? null : Protected.create(domain, null, new Node(0));
        current = new Node(0);
        replacements = 0;
        stop = false;
        finished = false;
        CountDownLatch registered = new CountDownLatch(1);
        reader = Thread.ofPlatform().daemon().name("churn-reader").unstarted(() -> readLoop(registered));
        reader.start();
        registered.await();
    }

    private void readLoop(CountDownLatch registered) {
        if (reclaim == Reclaim.LOCK) {
            lockedReadLoop(registered);
            return;
        }
        final Participant p = domain.register();
        final Protected<Node> value = this.value;
        registered.countDown();
        long n = 0;
        long bad = 0;
        while (!stop) {
            p.enter();
            try {
                Node node = value.load();
                if (node.reclaimed) {
                    bad++; // use after free: the grace period ended while this section could see it
                }
            } finally {
                p.exit();
            }
            n++;
        }
        p.release();
        readerSections = n;
        violations = bad;
    }

    /** The {@code rwlock} reader: read lock, load, check, unlock. */
    private void lockedReadLoop(CountDownLatch registered) {
        final ReentrantReadWriteLock.ReadLock lock = rwlock.readLock();
        registered.countDown();
        long n = 0;
        long bad = 0;
        while (!stop) {
            lock.lock();
            try {
                if (current.reclaimed) {
                    bad++;
                }
            } finally {
                lock.unlock();
            }
            n++;
        }
        readerSections = n;
        violations = bad;
    }

    @Benchmark
    public void replace(Garbage garbage, ReaderProgress readerProgress) {
        final Node fresh;
        if (pool != null) {
            fresh = pool.allocate();
            fresh.payload = ++replacements; // plain: published by the release exchange
            fresh.reclaimed = false;
        } else {
            fresh = new Node(++replacements);
        }
        if (reclaim == Reclaim.LOCK) {
            final Node old;
            ReentrantReadWriteLock.WriteLock lock = rwlock.writeLock();
            lock.lock();
            try {
                old = current;
                current = fresh;
            } finally {
                lock.unlock();
            }
            old.run(); // no reader can hold it: they read it only under the read lock
            return;
        }
        final Node old = value.exchange(fresh);
        switch (reclaim) {
            case SYNCHRONIZE -> {
                domain.synchronize();
                old.run();
            }
            case CALL -> epoch.call(old);
            case CALL_POLL -> {
                epoch.call(old);
                epoch.poll();
            }
            case SMR_POLL -> retire(old);
            case SMR_POOL -> pool.free(old);
            default -> throw new AssertionError(reclaim);
        }
    }

    /**
     * SMR_POLL: tag {@code old} with a goal, then poison every retired node whose goal passed,
     * oldest first, polling as a pool would (the head only). At {@code maxPending} retired nodes
     * the writer awaits the head's goal, the same bound epoch's call() keeps.
     */
    private void retire(Node old) {
        retired.addLast(old);
        retiredGoals.addLast(smr.advance());
        if (retired.size() > retiredHighWater) {
            retiredHighWater = retired.size();
        }
        if (retired.size() >= maxPending) {
            smr.await(retiredGoals.peekFirst());
        }
        while (!retired.isEmpty() && smr.poll(retiredGoals.peekFirst())) {
            retired.pollFirst().run();
            retiredGoals.pollFirst();
        }
    }

    /**
     * Ends the iteration once: stops and joins the reader, closes the epoch (running every pending
     * callback), reads the high-water mark, prints a line, and fails on a use-after-free. Called by
     * whichever iteration teardown JMH runs first, since the aux counters read its results.
     */
    void finish() throws InterruptedException {
        if (finished) {
            return;
        }
        finished = true;
        stop = true;
        reader.join();
        if (epoch != null) {
            epoch.close();
            pendingHighWater = reclaim == Reclaim.SYNCHRONIZE ? Math.min(1, replacements) : epoch.pendingHighWater();
        } else if (reclaim == Reclaim.SMR_POLL) {
            pendingHighWater = retiredHighWater;
        } else if (reclaim == Reclaim.SMR_POOL) {
            // The depot's mark, plus what the writer's cache can hold back before tagging.
            pendingHighWater = pool.stats().idleHighWater() + SmrPool.DEFAULT_BUCKET_SIZE;
        } else {
            pendingHighWater = Math.min(1, replacements); // synchronous: one retired object at a time
        }
        sectionsThisIteration = readerSections;
        System.out.println(impl + ": " + replacements + " replacements, pending high-water " + pendingHighWater
                + " (bound " + maxPending + "), reader sections " + readerSections
                + (epoch != null ? ", callbacks run " + epoch.callbacksRun() : ""));
        if (violations != 0) {
            throw new IllegalStateException(impl + ": the reader saw a reclaimed object " + violations
                    + " times: a grace period ended too early");
        }
        epoch = null;
    }

    @TearDown(Level.Iteration)
    public void stop() throws InterruptedException {
        finish();
    }

    /** The pending-garbage high-water mark of the iteration (EVENTS: reported as is, not per second). */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Garbage {
        public long pendingHighWater;

        @Setup(Level.Iteration)
        public void reset() {
            pendingHighWater = 0;
        }

        @TearDown(Level.Iteration)
        public void read(ReclamationChurn b) throws InterruptedException {
            b.finish();
            pendingHighWater = b.pendingHighWater;
        }
    }

    /** The reader's sections during the iteration, per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class ReaderProgress {
        public long readerSections;

        @Setup(Level.Iteration)
        public void reset() {
            readerSections = 0;
        }

        @TearDown(Level.Iteration)
        public void read(ReclamationChurn b) throws InterruptedException {
            b.finish();
            readerSections = b.sectionsThisIteration;
        }
    }
}
