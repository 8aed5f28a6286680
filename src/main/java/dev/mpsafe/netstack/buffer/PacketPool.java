package dev.mpsafe.netstack.buffer;

import dev.mpsafe.smr.SegmentPool;
import dev.mpsafe.smr.Smr;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * Packet buffers over a {@link SegmentPool}: every {@link PacketBuffer} is one pooled segment with
 * a data window, and a freed buffer's segment is handed out again only after a grace period of the
 * segment pool's {@link Smr} domain, so a reader that found the packet inside a section can finish
 * with it safely.
 *
 * <pre>{@code
 * try (PacketPool pool = PacketPool.of(SegmentPool.builder(smr, 2048).maxBytes(16 << 20).build())) {
 *     PacketBuffer p = pool.allocate(64);      // 64 bytes of headroom
 *     ...
 *     p.free();                               // or hand it to a device, which frees it
 *     pool.checkBalanced();                   // in a test: nothing leaked
 * }
 * }</pre>
 *
 * <h2>Leak accounting</h2>
 * The pool counts the buffers it handed out ({@link #allocated()}) and got back ({@link #freed()});
 * {@link #outstanding()} is their difference, and {@link #checkBalanced()} throws when it is not
 * zero, naming the counts. The counters are striped ({@link LongAdder}), so many threads
 * allocating and freeing do not contend on one word. Freeing a buffer twice, or one from another
 * pool, throws at once (see {@link #free}).
 *
 * <h2>Ownership</h2>
 * Whoever holds a buffer frees it exactly once, or hands it on. {@code Device.send} takes
 * ownership whatever it returns (it frees a packet it drops); buffers returned by a device's
 * receive belong to the caller.
 *
 * <h2>Sizing: buffers cached by live threads</h2>
 * A freed buffer's segment goes into the freeing thread's cache in the segment pool, not straight
 * back to the other threads: a thread's cache holds up to two buckets ({@code bucketSize} each,
 * {@value SegmentPool#DEFAULT_BUCKET_SIZE} for {@link #create}): the segments it freed, up to
 * {@code bucketSize - 1} (the bucketSize-th free tags the whole bucket and hands it to the depot;
 * a full bucket stays only while that tagging was refused inside a section), and the segments it
 * took from the depot and has not handed out yet, up to {@code bucketSize}. Other threads get
 * them back only when the thread calls {@link #flush()}, or after it ends. So that no allocation
 * fails for buffers that sit in other threads' caches, a pool must hold the buffers in flight plus
 * {@code 2 * bucketSize} for each thread that uses it (64 each by default); a thread that frees but
 * never allocates (a socket reader) holds at most {@code bucketSize - 1} (more only if it inherited
 * the cache of a thread that ended), and none once it flushed. (A thread that allocates also keeps
 * the last bucket it tagged, for its own next allocation; that one is not stranded: an allocation
 * that finds the depot empty takes it into the depot and waits for its grace period.) The cached
 * ones count as freed:
 * {@link #outstanding()} may be 0 while {@link #allocate} reports the pool exhausted.
 * {@link #cached()} and {@link #toString()} show how many sit in threads' caches. The netstack
 * flushes where such a thread goes idle: a socket reader before it parks in {@code receive}.
 *
 * <p>Thread safety: safe for any number of threads.
 *
 * <p>Memory consistency effects: actions in a thread before {@code free(b)} happen-before the
 * actions that follow the {@code allocate} that returns a buffer over the same segment (the
 * segment pool's guarantee).
 */
public final class PacketPool implements AutoCloseable {

    /*
     * Implementation overview.
     *
     * Nothing here is a new concurrent algorithm: segments come from SegmentPool (its depot, grace
     * periods and per-segment double-free CAS are verified there), and each allocation gets a new
     * PacketBuffer object so that use after free is detectable on the object (see PacketBuffer).
     * The cost is one small heap object per packet; pooling those objects as well would make a
     * stale reference alias the next packet, which is exactly what the check is for.
     *
     * Counters: `allocated` is incremented after the segment is obtained, `freed` after it is given
     * back. outstanding() reads freed first, then allocated. A free that freed.sum() saw (its cell
     * is read with a volatile load) was done by an owner to whom the buffer was handed after the
     * allocate's increment, so that increment happens-before the freeing thread's and is visible to
     * the later allocated.sum(): outstanding() is never negative, even while threads race. It is
     * exact when no thread is using the pool.
     *
     * flush() and cached() add no ordering of their own: flush() is the segment pool's (buckets move
     * to the depot under its lock, which orders the freeing thread's writes before the next
     * owner's reads), and cached() sums the caches' counts with plain reads, so it is documented as
     * approximate while threads run, as SegmentPool.stats() is.
     */

    private final SegmentPool segments;
    private final String name;
    private final int bufferSize;
    private final LongAdder allocated = new LongAdder();
    private final LongAdder freed = new LongAdder();

    private PacketPool(SegmentPool segments) {
        this.segments = Objects.requireNonNull(segments, "segments");
        if (segments.segmentSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("packet buffers are at most " + Integer.MAX_VALUE
                    + " bytes; the segment pool's segments are " + segments.segmentSize());
        }
        this.name = segments.smr().name();
        this.bufferSize = (int) segments.segmentSize();
    }

    /**
     * A packet pool over {@code segments}, which it then owns: {@link #close()} closes it. Every
     * buffer's capacity is the segment size.
     *
     * @throws NullPointerException if {@code segments} is null
     * @throws IllegalArgumentException if its segments are larger than {@link Integer#MAX_VALUE}
     */
    public static PacketPool of(SegmentPool segments) {
        return new PacketPool(segments);
    }

    /**
     * A packet pool over a new segment pool of {@code bufferSize}-byte segments and at most
     * {@code maxBytes} of slabs, whose grace periods are {@code smr}'s. Each buffer takes one
     * stride of slab: {@code bufferSize} rounded up to the segments' 64-byte alignment
     * ({@link SegmentPool#DEFAULT_ALIGNMENT}), so the pool holds {@code maxBytes / stride} buffers
     * (a 100-byte buffer takes 128 bytes). Buckets of the default
     * {@value SegmentPool#DEFAULT_BUCKET_SIZE} (see "Sizing" in the class comment); {@link #of} takes a segment
     * pool built with other settings.
     *
     * @throws NullPointerException if {@code smr} is null
     * @throws IllegalArgumentException if {@code bufferSize} is not positive, or {@code maxBytes}
     *     is below one stride (the message names both)
     */
    public static PacketPool create(Smr smr, int bufferSize, long maxBytes) {
        Objects.requireNonNull(smr, "smr");
        if (bufferSize <= 0) {
            throw new IllegalArgumentException("bufferSize must be > 0, got " + bufferSize);
        }
        return new PacketPool(SegmentPool.builder(smr, bufferSize).maxBytes(maxBytes).build());
    }

    /** The name of the segment pool's domain, used in messages. */
    public String name() {
        return name;
    }

    /** The capacity of every buffer. */
    public int bufferSize() {
        return bufferSize;
    }

    /** The segment pool underneath (for its statistics). */
    public SegmentPool segments() {
        return segments;
    }

    /**
     * A buffer with an empty data window after {@code headroom} bytes; waits for a grace period
     * when every segment is in use or pending, as {@link SegmentPool#allocate()} does. The bytes'
     * content is undefined (the previous packet's, or the segment pool's poison).
     *
     * @throws IllegalArgumentException if {@code headroom} is negative or above {@link #bufferSize()}
     * @throws IllegalStateException if the pool is closed or exhausted (see {@link SegmentPool#allocate()})
     */
    public PacketBuffer allocate(int headroom) {
        checkHeadroom(headroom);
        return wrap(segments.allocate(), headroom);
    }

    /**
     * As {@link #allocate}, but returns null instead of waiting when no segment is available now.
     *
     * @throws IllegalArgumentException if {@code headroom} is negative or above {@link #bufferSize()}
     * @throws IllegalStateException if the pool is closed
     */
    public PacketBuffer tryAllocate(int headroom) {
        checkHeadroom(headroom);
        MemorySegment s = segments.tryAllocate();
        return s == null ? null : wrap(s, headroom);
    }

    /**
     * A new buffer with the same headroom and data as {@code original}, or null when no segment is
     * available now (never waits). The original is unchanged and still owned by the caller; it may
     * come from another pool.
     *
     * @throws IllegalArgumentException if the original's headroom and data do not fit this pool's
     *     buffers (checked before anything is allocated)
     * @throws IllegalStateException if {@code original} was freed, or the pool is closed
     */
    public PacketBuffer tryCopy(PacketBuffer original) {
        MemorySegment data = original.data();
        final int headroom = original.headroom();
        if ((long) headroom + data.byteSize() > bufferSize) {
            throw new IllegalArgumentException("cannot copy a packet of " + data.byteSize() + " bytes at headroom "
                    + headroom + " into pool '" + name + "': its buffers hold " + bufferSize + " bytes");
        }
        PacketBuffer copy = tryAllocate(headroom);
        if (copy != null) {
            MemorySegment.copy(data, 0, copy.append((int) data.byteSize()), 0, data.byteSize());
        }
        return copy;
    }

    private PacketBuffer wrap(MemorySegment s, int headroom) {
        PacketBuffer b = new PacketBuffer(this, s, headroom);
        allocated.increment();
        return b;
    }

    private void checkHeadroom(int headroom) {
        if (headroom < 0 || headroom > bufferSize) {
            throw new IllegalArgumentException("headroom " + headroom + " is outside [0, " + bufferSize
                    + "] (the buffer size of pool '" + name + "')");
        }
    }

    /**
     * Gives a buffer back. Its segment is reused after a grace period; the buffer object is dead
     * from now on (every later call on it throws).
     *
     * @throws NullPointerException if {@code buffer} is null
     * @throws IllegalArgumentException if it came from another pool
     * @throws IllegalStateException if it was already freed (double free), or the pool is closed, or
     *     the segment pool refused the segment; except for a double free, the buffer is then still
     *     live and owned by the caller, who may free it again later. An {@code Error} such as
     *     out-of-memory from the segment pool is not undone: the buffer is dead (every later call on
     *     it throws), but it is not counted in {@link #freed()}, so it stays outstanding and
     *     {@link #checkBalanced()} reports it
     */
    public void free(PacketBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        if (buffer.pool() != this) {
            throw new IllegalArgumentException("packet buffer from pool '" + buffer.pool().name()
                    + "' freed into pool '" + name + "'");
        }
        if (segments.isClosed()) {
            throw new IllegalStateException("packet pool '" + name + "' is closed");
        }
        final MemorySegment s = buffer.release();
        try {
            segments.free(s);
        } catch (RuntimeException e) {
            // Not taken: SegmentPool.free throws a RuntimeException only before it takes the
            // segment (the pool closed since the check above, or its tagging advance refused to
            // wait inside the caller's section). Give the buffer its segment back, so that nothing
            // is half-done and a later free() is not reported as a double free. An Error (out of
            // memory) may come after the take, so it is not undone: a segment with two owners
            // would be far worse than one never counted as freed.
            buffer.unrelease(s);
            throw e;
        }
        freed.increment();
    }

    /**
     * Hands the calling thread's cached segments back ({@link SegmentPool#flush()}): those it freed
     * are tagged now and can be allocated by any thread once their grace period has passed; those
     * it took from the depot and did not hand out can be at once. For a thread that frees buffers
     * and is about to go idle (see "Sizing" above). Costs one {@link Smr#advance()} when the thread
     * freed anything since its last bucket was tagged, and one hold of the depot's lock. Does
     * nothing on a closed pool: nothing is allocated from it again.
     *
     * @throws IllegalStateException if tagging the freed segments would have to wait (the domain's
     *     write sequence is too far ahead of its oldest reader) while the calling thread is inside a
     *     section of the segment pool's domain; nothing is lost, they stay cached for a later flush
     */
    public void flush() {
        if (segments.isClosed()) {
            return;
        }
        try {
            segments.flush();
        } catch (IllegalStateException e) {
            if (!segments.isClosed()) {
                throw e;
            }
            // close() completed between the look above and the segment pool's own check: as if it
            // had come first.
        }
    }

    /** Buffers handed out so far. */
    public long allocated() {
        return allocated.sum();
    }

    /** Buffers given back so far. */
    public long freed() {
        return freed.sum();
    }

    /**
     * Buffers handed out and not given back: exact when no thread is using the pool, never
     * negative.
     */
    public long outstanding() {
        long f = freed.sum(); // freed first: see the implementation overview
        return allocated.sum() - f;
    }

    /**
     * Freed segments that sit in threads' segment-pool caches, counted as freed but not available to
     * other threads until their owner flushes or ends (see "Sizing" above); it includes segments a
     * thread took from the depot and has not handed out yet. Read racily from the caches' counts
     * ({@link SegmentPool#stats()}): exact when no thread is using the pool, approximate otherwise.
     */
    public long cached() {
        return segments.stats().cached();
    }

    /**
     * Checks that every buffer handed out was given back; tests call it at the end.
     *
     * @throws IllegalStateException naming the outstanding, allocated and freed counts if not
     */
    public void checkBalanced() {
        long f = freed.sum();
        long a = allocated.sum();
        if (a != f) {
            throw new IllegalStateException("packet pool '" + name + "' does not balance: " + (a - f)
                    + " buffers outstanding (allocated " + a + ", freed " + f + ")");
        }
    }

    /**
     * Closes the segment pool (a grace period, then its memory is freed). The counters stay
     * readable. Idempotent.
     *
     * @throws IllegalStateException if the calling thread is inside a section of the domain
     */
    @Override
    public void close() {
        segments.close();
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return segments.isClosed();
    }

    @Override
    public String toString() {
        return "PacketPool[" + name + ", " + bufferSize + " bytes, outstanding " + outstanding()
                + ", cached in threads " + cached() + "]";
    }
}
