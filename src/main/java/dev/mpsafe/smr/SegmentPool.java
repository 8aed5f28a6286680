package dev.mpsafe.smr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A pool of fixed-size off-heap {@link MemorySegment}s that readers reach through an {@link Smr}
 * domain: buffers reused after a grace period instead of an {@code Arena} opened and closed per
 * buffer. Segments are slices of large slabs allocated from one shared {@link Arena}; a freed
 * segment goes through the same per-thread buckets and goal-tagged depot as {@link SmrPool}, so it
 * is handed out again only once no section can still see it.
 *
 * <pre>{@code
 * try (SegmentPool buffers = SegmentPool.builder(smr, 2048).maxBytes(64 << 20).build()) {
 *     MemorySegment b = buffers.allocate();     // 2048 bytes, 64-byte aligned
 *     ...fill, publish, later unpublish...
 *     buffers.free(b);                          // reused after a grace period
 * }                                             // waits for a grace period, then frees every slab
 * }</pre>
 *
 * <h2>Bounds and errors</h2>
 * <ul>
 *   <li>At most {@link Builder#maxBytes} bytes of slabs. When every segment is handed out or
 *       waiting for its grace period, {@link #allocate()} waits for the oldest pending bucket's
 *       grace period (parking); when none is pending it first moves into the depot the buckets
 *       that threads tagged and kept for their own next allocation (and those of threads that
 *       ended), and only if there are none throws {@link IllegalStateException} (exhausted).
 *       {@link #tryAllocate()} never waits and returns null instead. Up to
 *       {@code 2 * bucketSize} segments may sit in each thread's two cached buckets, counted as
 *       in use, and no allocation can reach them until the thread's {@link #flush()} (or its
 *       end); a kept bucket of up to {@code bucketSize} more is reached as just said.</li>
 *   <li>{@link #free} rejects, with {@link IllegalArgumentException}, a segment that is not one of
 *       this pool's (another arena, another size, a slice at the wrong offset), and, with
 *       {@link IllegalStateException}, a segment freed twice.</li>
 *   <li>{@link #close()} waits for a grace period, then closes the arena. Any later access to one
 *       of the pool's segments throws {@link IllegalStateException} from the JDK ("Already
 *       closed"): a use after close fails, it never reads reused memory. Later pool calls throw
 *       {@link IllegalStateException} naming the pool; so does an {@code allocate()} whose poison
 *       fill was running when {@code close()} completed (its segments are not counted lost).</li>
 * </ul>
 *
 * <p>{@link Builder#poison} fills every segment with a byte when its grace period has passed,
 * before it is handed out again: a reader that kept a segment too long then reads the poison.
 *
 * <p>Thread safety: safe for any number of threads. Segments are shared-arena segments: any
 * thread may access them.
 *
 * <p>Memory consistency effects: actions in a thread before {@code free(s)} happen-before the
 * actions that follow the {@code allocate()} that returns {@code s}.
 */
public final class SegmentPool implements AutoCloseable {

    /*
     * Layout: slabs of segmentsPerSlab * stride bytes (stride = segmentSize rounded up to the
     * alignment) from one shared arena, carved in order under slabLock. Lookup of a freed segment:
     * a binary search of the slabs' base addresses (an immutable sorted snapshot, published by a
     * volatile write), then (address - base) / stride. Each segment has a state word, IN_USE or
     * FREE: free() CASes IN_USE -> FREE, so a double free (or two threads freeing the same
     * segment) is caught by exactly one failed CAS; allocate sets IN_USE (release) after taking the
     * segment from a bucket, which the depot lock already ordered after the free.
     *
     * State words are spread out: segment i's word is states[i << stateShift]. Every allocate and
     * free writes its segment's word, and segments carved one after another go to different
     * threads, so packed words (16 to a cache line) would make threads that never share a segment
     * write the same line. The spread is the largest power of two at most stride / 64 ints, and
     * at most 16 (one word per line), so the words cost at most 1/16 of the slab memory: a whole line each from 1 KiB
     * segments up, none for 64-byte ones, whose data lines are their own anyway. (On this project's
     * 2-core machine, 2,048-byte segments with spread words cost 0.85-0.90 times as much per
     * allocate and free at 2 threads as with packed ones, in two noisy runs: docs/smr.md, "Off-heap".)
     */

    /** The default alignment of every segment: a cache line. */
    public static final long DEFAULT_ALIGNMENT = 64;
    /** The default slab size: segments are carved from slabs of about this many bytes. */
    public static final long DEFAULT_SLAB_BYTES = 1 << 20;
    /** The default bound on slab memory. */
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    /** The default number of segments per bucket. */
    public static final int DEFAULT_BUCKET_SIZE = 32;

    private static final VarHandle STATE = MethodHandles.arrayElementVarHandle(int[].class);
    private static final int FREE = 0;
    private static final int IN_USE = 1;
    private static final long FOREIGN = -1;
    private static final long MISALIGNED = -2;
    /** The longest int[] the state words of one slab may take (the JVM's array limit, with room). */
    private static final long MAX_STATE_INTS = Integer.MAX_VALUE - 8;

    private final String name;
    private final Depot<MemorySegment> depot;
    private final long segmentSize;
    private final long stride;
    /**
     * log2(stride) when the stride is a power of two (every power-of-two segment size is), else
     * -1. A free and an allocate each turn an address into a segment index; a 64-bit division
     * there costs tens of cycles on some CPUs, a shift one.
     */
    private final int strideShift;
    /** log2 of the distance, in ints, between two segments' state words (see the layout note). */
    private final int stateShift;
    private final long alignment;
    private final int segmentsPerSlab;
    private final int maxSlabs;
    private final Arena arena = Arena.ofShared();

    private final ReentrantLock slabLock = new ReentrantLock();
    /** The slabs, sorted by base address; replaced whole under slabLock. */
    private volatile Slabs slabs = new Slabs(new long[0], new MemorySegment[0], new int[0][]);
    /** Slab being carved and the next segment index in it; guarded by slabLock. */
    private MemorySegment carving;
    private int carved;
    private volatile long segmentsCreated;
    private volatile boolean closed;
    /** Set once the arena is closed; {@link #closeLock} serializes closers. */
    private volatile boolean arenaClosed;
    private final ReentrantLock closeLock = new ReentrantLock();

    /** An immutable snapshot of the slabs: bases sorted, with their segments and state words. */
    private record Slabs(long[] bases, MemorySegment[] slabs, int[][] states) {
    }

    private SegmentPool(Builder b) {
        this.name = b.smr.name();
        this.segmentSize = b.segmentSize;
        this.alignment = b.alignment;
        if (b.segmentSize > Long.MAX_VALUE - (b.alignment - 1)) {
            throw new IllegalArgumentException("segmentSize " + b.segmentSize + " rounded up to alignment " + b.alignment
                    + " exceeds the largest long (" + Long.MAX_VALUE + ")");
        }
        this.stride = (b.segmentSize + b.alignment - 1) & -b.alignment;
        this.strideShift = Long.bitCount(stride) == 1 ? Long.numberOfTrailingZeros(stride) : -1;
        if (b.maxBytes < stride) {
            throw new IllegalArgumentException("maxBytes " + b.maxBytes + " is below one segment (" + segmentSize
                    + " bytes, " + stride + " with alignment " + alignment + ")");
        }
        // A slab never exceeds maxBytes: a small pool gets small slabs rather than an error.
        long slabTarget = Math.min(b.slabBytes, b.maxBytes);
        final long perSlab = Math.max(1, slabTarget / stride);
        if (perSlab > MAX_STATE_INTS) { // one state word each, in one int[] per slab
            throw new IllegalArgumentException("a slab of " + slabTarget + " bytes would hold " + perSlab
                    + " segments of " + stride + " bytes; at most " + MAX_STATE_INTS
                    + " fit one slab: lower slabBytes");
        }
        this.segmentsPerSlab = (int) perSlab;
        this.maxSlabs = (int) Math.min(Integer.MAX_VALUE, b.maxBytes / (stride * segmentsPerSlab));
        int shift = 63 - Long.numberOfLeadingZeros(Math.max(1, Math.min(16, stride / 64))); // log2, 0 to 4
        while (shift > 0 && ((long) segmentsPerSlab << shift) > MAX_STATE_INTS) {
            shift--; // huge slabs: spread less rather than need a longer array than packed words do
        }
        this.stateShift = shift;
        byte poison = b.poison;
        Consumer<MemorySegment> beforeReclaim = b.beforeReclaimForTest;
        this.depot = new Depot<>(b.smr, b.bucketSize, Long.MAX_VALUE,
                b.poisonSet ? (Consumer<MemorySegment>) s -> {
                    if (beforeReclaim != null) {
                        beforeReclaim.accept(s);
                    }
                    poisonFill(s, poison);
                } : null);
    }

    /**
     * The poison hook. take() checked that the pool was open before the refill, but close() may
     * complete while the fill runs: then the JDK throws its own "Already closed". Report that as the
     * pool's closed error, and not as the segment's reclaim failure (Depot.PoolClosedException).
     * Only close() closes the arena, after setting {@code closed}, so a dead scope means a closed
     * pool; the scope's own state is what made the fill throw, so it is the test that agrees with it.
     */
    private void poisonFill(MemorySegment s, byte poison) {
        try {
            s.fill(poison);
        } catch (IllegalStateException e) {
            if (!arena.scope().isAlive()) {
                throw new Depot.PoolClosedException(closedMessage(), e);
            }
            throw e;
        }
    }

    /**
     * A builder for a pool of {@code segmentSize}-byte segments whose readers use sections of
     * {@code smr}.
     *
     * @throws NullPointerException if {@code smr} is null
     * @throws IllegalArgumentException if {@code segmentSize} is not positive
     */
    public static Builder builder(Smr smr, long segmentSize) {
        return new Builder(smr, segmentSize);
    }

    /** The size of every segment. */
    public long segmentSize() {
        return segmentSize;
    }

    /** The domain whose grace periods the pool waits for. */
    public Smr smr() {
        return depot.smr();
    }

    /**
     * A segment whose grace period has passed, or a new one carved from a slab; waits for a grace
     * period when every segment is in use or pending.
     *
     * @throws IllegalStateException if the pool is closed; if every segment is in use (none is
     *     pending, the slab bound is reached); or if it would have to wait while the calling thread
     *     is inside a section of the domain
     */
    public MemorySegment allocate() {
        Depot.Cache c = depot.cache();
        MemorySegment s = take(c);
        if (s != null) {
            return s;
        }
        depot.flush(c); // this thread's own freed segments count towards what a wait can recover
        while ((s = take(c)) == null) {
            final long goal = depot.oldestPendingGoal();
            if (goal == Depot.READY_NOW) {
                // Another thread's flush() moved segments into ready after our take() missed: take
                // again rather than report exhaustion. This loops only while ready is non-empty at
                // the look, and each miss then means some other thread took a ready bucket.
                continue;
            }
            if (goal < 0 && depot.recoverDeadCaches()) {
                continue; // ended threads' cached segments are back in the depot: look again
            }
            if (goal < 0) {
                throw new IllegalStateException("segment pool '" + name + "' exhausted: all "
                        + segmentsCreated + " segments of " + segmentSize + " bytes (maxBytes allows "
                        + (long) maxSlabs * segmentsPerSlab + ") are in use or in live threads' caches");
            }
            if (smr().inSection()) {
                throw new IllegalStateException("segment pool '" + name + "': allocate() must wait for a grace"
                        + " period, but the calling thread is inside a section of the domain; use tryAllocate()");
            }
            // Parks, and reports a stall naming the reader that holds it back. The goal came from
            // advance(): a stale one counts as passed rather than being rejected (Smr.pollIssued).
            smr().awaitIssued(goal);
        }
        return s;
    }

    /**
     * A segment available now, or null: never waits for a grace period. Before giving up it takes
     * back, once, the segments cached by threads that have ended, as {@link #allocate()} does
     * (tagging their freed segments takes an {@link Smr#advance()}, which waits only while the write
     * sequence is 2^45 ahead of the oldest reader; inside a section of the domain that tagging is
     * skipped instead, and those segments wait for a later call).
     *
     * @throws IllegalStateException if the pool is closed
     */
    public MemorySegment tryAllocate() {
        final Depot.Cache c = depot.cache();
        MemorySegment s = take(c);
        if (s == null && depot.tryRecoverDeadCaches()) {
            s = take(c); // ended threads' cached segments are back in the depot: look again
        }
        return s;
    }

    private MemorySegment take(Depot.Cache c) {
        checkOpen();
        MemorySegment s = depot.pop(c);
        if (s == null) {
            s = carve(); // counted in segmentsCreated
            if (s == null) {
                return null;
            }
        }
        Slabs snap = slabs;
        long at = locate(snap, s);
        STATE.setRelease(snap.states[(int) (at >>> 32)], (int) at << stateShift, IN_USE);
        return s;
    }

    /**
     * Gives back a segment the caller has unpublished; it is reused after a grace period.
     *
     * @throws NullPointerException if {@code segment} is null
     * @throws IllegalArgumentException if it is not a segment of this pool
     * @throws IllegalStateException if it was already freed, or the pool is closed
     */
    public void free(MemorySegment segment) {
        Objects.requireNonNull(segment, "segment");
        checkOpen();
        Slabs snap = slabs;
        long at = locate(snap, segment);
        if (at == FOREIGN || segment.byteSize() != segmentSize) {
            throw new IllegalArgumentException("segment pool '" + name + "': " + segment
                    + " is not one of its segments (" + segmentSize + " bytes, from its own arena)");
        }
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException("segment pool '" + name + "': " + segment
                    + " is a read-only view; free the segment allocate() returned, not a view of it");
        }
        if (at == MISALIGNED) {
            throw new IllegalArgumentException("segment pool '" + name + "': " + segment
                    + " does not start at a segment boundary (stride " + stride + ")");
        }
        final int[] states = snap.states[(int) (at >>> 32)];
        if (!STATE.compareAndSet(states, (int) at << stateShift, IN_USE, FREE)) {
            throw new IllegalStateException("segment pool '" + name + "': double free of " + segment);
        }
        final Depot.Cache c = depot.cache();
        try {
            depot.makeRoom(c);
        } catch (RuntimeException | Error e) {
            STATE.setRelease(states, (int) at << stateShift, IN_USE); // not taken: the caller still owns it
            throw e;
        }
        depot.storeAndTag(c, segment); // taken from here on, whatever it throws

    }

    /** Hands the calling thread's cached segments to the depot (freed ones tagged now). */
    public void flush() {
        checkOpen();
        depot.flush(depot.cache());
    }

    /**
     * Where a segment lies: {@code (slab << 32) | index} in the current snapshot, {@link #FOREIGN}
     * if it is not in one of this pool's slabs, {@link #MISALIGNED} if it is but not at a segment
     * boundary.
     */
    private long locate(Slabs snap, MemorySegment s) {
        if (!s.scope().equals(arena.scope())) {
            return FOREIGN;
        }
        long addr = s.address();
        int k = Arrays.binarySearch(snap.bases, addr);
        if (k < 0) {
            k = -k - 2; // the slab with the greatest base below addr
        }
        if (k < 0 || addr >= snap.bases[k] + snap.slabs[k].byteSize()) {
            return FOREIGN;
        }
        final long off = addr - snap.bases[k];
        final int shift = strideShift;
        if (shift >= 0) {
            return (off & (stride - 1)) != 0 ? MISALIGNED : ((long) k << 32) | (off >>> shift);
        }
        return off % stride != 0 ? MISALIGNED : ((long) k << 32) | (off / stride);
    }

    /** The next never-used segment, or null at the bound. */
    private MemorySegment carve() {
        slabLock.lock();
        try {
            checkOpen();
            if (carving == null || carved == segmentsPerSlab) {
                Slabs snap = slabs;
                if (snap.slabs.length == maxSlabs) {
                    return null;
                }
                MemorySegment slab = arena.allocate(stride * segmentsPerSlab, alignment);
                int[] state = new int[segmentsPerSlab << stateShift];
                slabs = insert(snap, slab, state);
                carving = slab;
                carved = 0;
            }
            MemorySegment s = carving.asSlice(carved * stride, segmentSize);
            carved++;
            segmentsCreated++;
            return s;
        } finally {
            slabLock.unlock();
        }
    }

    private static Slabs insert(Slabs snap, MemorySegment slab, int[] state) {
        int n = snap.bases.length;
        int at = -Arrays.binarySearch(snap.bases, slab.address()) - 1;
        long[] bases = new long[n + 1];
        MemorySegment[] segs = new MemorySegment[n + 1];
        int[][] states = new int[n + 1][];
        System.arraycopy(snap.bases, 0, bases, 0, at);
        System.arraycopy(snap.slabs, 0, segs, 0, at);
        System.arraycopy(snap.states, 0, states, 0, at);
        bases[at] = slab.address();
        segs[at] = slab;
        states[at] = state;
        System.arraycopy(snap.bases, at, bases, at + 1, n - at);
        System.arraycopy(snap.slabs, at, segs, at + 1, n - at);
        System.arraycopy(snap.states, at, states, at + 1, n - at);
        return new Slabs(bases, segs, states);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(closedMessage());
        }
    }

    private String closedMessage() {
        return "segment pool '" + name + "' is closed";
    }

    /**
     * Closes the pool: refuses new allocations and frees, waits for a grace period (no section can
     * still see a segment), then closes the arena, freeing every slab. Idempotent: a call that finds
     * another in progress waits for it, and if closing the arena failed (it throws what
     * {@link Arena#close()} threw), a later call tries again.
     *
     * @throws IllegalStateException if the calling thread is inside a section of the domain, or as
     *     {@link Arena#close()}
     */
    @Override
    public void close() {
        if (arenaClosed) {
            return;
        }
        if (smr().inSection()) {
            throw new IllegalStateException("segment pool '" + name
                    + "': close() inside a section of its domain would wait for itself");
        }
        closeLock.lock();
        try {
            if (arenaClosed) {
                return;
            }
            slabLock.lock();
            try {
                closed = true; // no carve() after this; allocate() and free() check it first
            } finally {
                slabLock.unlock();
            }
            smr().synchronize();
            arena.close();
            arenaClosed = true;
        } finally {
            closeLock.unlock();
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** A snapshot of the counters; exact when no thread is using the pool, approximate otherwise. */
    public Stats stats() {
        long[] c = depot.cacheCounters();
        return new Stats(segmentsCreated, slabs.slabs.length, c[1], c[2], depot.pendingItems(), depot.readyItems(),
                depot.cachedItems(), depot.idleHighWater());
    }

    @Override
    public String toString() {
        return "SegmentPool[" + name + ", " + segmentSize + " bytes, " + stats() + (closed ? ", closed]" : "]");
    }

    /**
     * Pool counters.
     *
     * @param segments segments carved from slabs so far
     * @param slabs slabs allocated
     * @param reused allocations served by a recycled segment
     * @param freed segments given back
     * @param pending freed segments waiting for their grace period in the depot
     * @param ready segments in the depot whose grace period passed
     * @param cached segments in threads' caches
     * @param idleHighWater the most segments ever waiting in the depot
     */
    public record Stats(long segments, int slabs, long reused, long freed, long pending, long ready, long cached,
            long idleHighWater) {
    }

    /** Settings for a {@link SegmentPool}. */
    public static final class Builder {
        private final Smr smr;
        private final long segmentSize;
        private long alignment = DEFAULT_ALIGNMENT;
        private long slabBytes = DEFAULT_SLAB_BYTES;
        private long maxBytes = DEFAULT_MAX_BYTES;
        private int bucketSize = DEFAULT_BUCKET_SIZE;
        private byte poison;
        private boolean poisonSet;
        private Consumer<MemorySegment> beforeReclaimForTest;

        private Builder(Smr smr, long segmentSize) {
            this.smr = Objects.requireNonNull(smr, "smr");
            if (segmentSize <= 0) {
                throw new IllegalArgumentException("segmentSize must be > 0, got " + segmentSize);
            }
            this.segmentSize = segmentSize;
        }

        /**
         * The alignment of every segment (default {@value #DEFAULT_ALIGNMENT}).
         *
         * @throws IllegalArgumentException if not a power of two within [1, 2^20]
         */
        public Builder alignment(long bytes) {
            if (bytes < 1 || bytes > 1 << 20 || Long.bitCount(bytes) != 1) {
                throw new IllegalArgumentException("alignment must be a power of two within [1, 2^20], got " + bytes);
            }
            this.alignment = bytes;
            return this;
        }

        /**
         * About how many bytes each slab has (default {@value #DEFAULT_SLAB_BYTES}); at least one
         * segment.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder slabBytes(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("slabBytes must be > 0, got " + bytes);
            }
            this.slabBytes = bytes;
            return this;
        }

        /**
         * The most slab memory the pool allocates (default {@value #DEFAULT_MAX_BYTES} bytes); must
         * hold at least one segment. Slabs are cut down to it when it is smaller than the slab size.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder maxBytes(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("maxBytes must be > 0, got " + bytes);
            }
            this.maxBytes = bytes;
            return this;
        }

        /**
         * Segments per bucket (default {@value #DEFAULT_BUCKET_SIZE}).
         *
         * @throws IllegalArgumentException if not within [1, {@value SmrPool#MAX_BUCKET_SIZE}]
         */
        public Builder bucketSize(int size) {
            if (size < 1 || size > SmrPool.MAX_BUCKET_SIZE) {
                throw new IllegalArgumentException("bucketSize must be within [1, " + SmrPool.MAX_BUCKET_SIZE
                        + "], got " + size);
            }
            this.bucketSize = size;
            return this;
        }

        /** Fill every segment with {@code value} when its grace period has passed (a debugging aid). */
        public Builder poison(byte value) {
            this.poison = value;
            this.poisonSet = true;
            return this;
        }

        /** Test hook: runs on each segment in the poison hook, before the fill (to stop it there). */
        Builder beforeReclaimForTest(Consumer<MemorySegment> hook) {
            this.beforeReclaimForTest = hook;
            return this;
        }

        /**
         * The pool.
         *
         * @throws IllegalArgumentException if {@code maxBytes} cannot hold one segment, or if one
         *     slab would hold more than {@code Integer.MAX_VALUE - 8} segments (the length of its
         *     array of state words; 64-byte segments in slabs of about 128 GiB)
         */
        public SegmentPool build() {
            return new SegmentPool(this);
        }
    }
}
