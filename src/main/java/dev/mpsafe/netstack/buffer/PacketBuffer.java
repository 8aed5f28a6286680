package dev.mpsafe.netstack.buffer;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One packet: an off-heap segment from a {@link PacketPool} and a data window {@code [start, end)}
 * inside it. The bytes before the window are headroom, so a layer prepends its header in place
 * instead of copying the payload behind it (BSD's {@code M_PREPEND} on a cluster with leading
 * space); the bytes after it are tailroom.
 *
 * <pre>
 *  0                  start                       end                 capacity
 *  +------------------+---------------------------+---------------------+
 *  |     headroom     |       data (length)       |      tailroom       |
 *  +------------------+---------------------------+---------------------+
 *        prepend(n) moves start left      append(n) moves end right
 *        trimFront(n) moves start right   trimBack(n) moves end left
 * </pre>
 *
 * <pre>{@code
 * PacketBuffer p = pool.allocate(64);            // empty window at offset 64
 * MemorySegment icmp = p.append(8 + data);       // write the ICMP message ...
 * MemorySegment ip = p.prepend(20);              // ... then its IPv4 header in front, no copy
 * device.send(p);                                // p now belongs to the device
 * }</pre>
 *
 * <h2>Errors</h2>
 * A negative byte count throws {@link IllegalArgumentException}; a count larger than the headroom,
 * tailroom or data it would consume throws {@link IndexOutOfBoundsException}. Both messages name
 * the value and the limit, and a refused call changes nothing. Every method called after the
 * buffer was freed throws {@link IllegalStateException} ("used after free"): a freed
 * {@code PacketBuffer} object is never reused, so this check is exact for the thread that freed
 * it. The pool reuses the <em>segment</em> once a grace period has passed, so a {@code data()}
 * slice taken before the free stays safe to read only inside a section of the pool's SMR domain
 * that began before the free.
 *
 * <h2>Ownership</h2>
 * A buffer has one owner at a time: the thread that allocated it, then whoever it was handed to.
 * Handing it over must happen-before the new owner's first call (a {@link dev.mpsafe.pcq.Pcq}
 * {@code put}/{@code get}, a device's send and receive, a {@code Thread.join}). The owner frees
 * it exactly once, with {@link #free()} or {@link PacketPool#free}, or passes it on; after
 * {@code Device.send} the device owns it (see {@code dev.mpsafe.netstack.device.Device}).
 *
 * <p>Thread safety: not thread-safe; one owner at a time. Only {@link #free()} is safe to race:
 * of two threads freeing the same buffer, exactly one succeeds and the other gets an
 * {@link IllegalStateException}.
 *
 * <p>Memory consistency effects: none beyond the hand-over's own; the window and the bytes are
 * plain memory, published by whatever passes the buffer on.
 */
public final class PacketBuffer {

    /*
     * Implementation overview.
     *
     * State: `segment` is the whole pooled segment while the buffer is live and null once it was
     * freed; `start` and `end` are the window. A PacketBuffer object lives for one allocation only
     * (the pool recycles segments, not these objects), so "segment == null" means "freed" forever
     * and a stale reference can never see a later owner's packet through this object.
     *
     * Ordering:
     *   - start, end and the bytes are plain: only the owner touches them, and ownership moves
     *     with a happens-before edge (pcq's release store of the slot / acquire load, thread start
     *     and join), which publishes them.
     *   - The free is a CAS of `segment` from the live segment to null (casSegment). Two racing
     *     frees of one buffer (a bug) are then caught exactly once: the second CAS fails. The CAS
     *     is also what makes the pool's own double-free check on the segment unnecessary for a
     *     live buffer, but the pool keeps its check as a second line.
     *   - Every other method reads `segment` with a plain load (lpSegment). For the owner this is
     *     exact: its own free, or the free of a previous owner that handed it over, happens-before
     *     the load. A non-owner racing with the free may read the stale segment: a benign race in
     *     the sense that detection is best-effort there, which is all "where cheap" asks; the
     *     memory stays mapped until the pool closes, so the racing access cannot crash the JVM.
     */

    private final PacketPool pool;
    private MemorySegment segment;
    private final int capacity;
    private int start;
    private int end;

    PacketBuffer(PacketPool pool, MemorySegment segment, int headroom) {
        this.pool = pool;
        this.segment = segment;
        this.capacity = (int) segment.byteSize();
        this.start = headroom;
        this.end = headroom;
    }

    /** The pool the buffer came from, and to which it returns. Allowed after free. */
    public PacketPool pool() {
        return pool;
    }

    /** The segment's size: headroom + length + tailroom. Allowed after free. */
    public int capacity() {
        return capacity;
    }

    /**
     * Bytes in the data window.
     *
     * @throws IllegalStateException if the buffer was freed
     */
    public int length() {
        live();
        return end - start;
    }

    /**
     * Bytes free before the data window: the most {@link #prepend} accepts.
     *
     * @throws IllegalStateException if the buffer was freed
     */
    public int headroom() {
        live();
        return start;
    }

    /**
     * Bytes free after the data window: the most {@link #append} accepts.
     *
     * @throws IllegalStateException if the buffer was freed
     */
    public int tailroom() {
        live();
        return capacity - end;
    }

    /**
     * The data window as a slice of the pooled segment: writes through it are writes to the
     * packet. The slice is valid until the window changes (it does not follow it) and, after the
     * buffer is freed, only as the class javadoc says.
     *
     * @throws IllegalStateException if the buffer was freed
     */
    public MemorySegment data() {
        MemorySegment s = live();
        return s.asSlice(start, end - start);
    }

    /**
     * Grows the window by {@code n} bytes at the front, into the headroom, and returns those
     * {@code n} bytes (their content is whatever the segment held: write the header into them).
     *
     * @throws IllegalArgumentException if {@code n} is negative
     * @throws IndexOutOfBoundsException if {@code n} is more than {@link #headroom()}
     * @throws IllegalStateException if the buffer was freed
     */
    public MemorySegment prepend(int n) {
        MemorySegment s = live();
        final int start = this.start;
        if (n < 0 || n > start) {
            throw refused("prepend", n, start, "headroom");
        }
        this.start = start - n;
        return s.asSlice(start - n, n);
    }

    /**
     * Grows the window by {@code n} bytes at the back, into the tailroom, and returns those
     * {@code n} bytes.
     *
     * @throws IllegalArgumentException if {@code n} is negative
     * @throws IndexOutOfBoundsException if {@code n} is more than {@link #tailroom()}
     * @throws IllegalStateException if the buffer was freed
     */
    public MemorySegment append(int n) {
        MemorySegment s = live();
        final int end = this.end;
        if (n < 0 || n > capacity - end) {
            throw refused("append", n, capacity - end, "tailroom");
        }
        this.end = end + n;
        return s.asSlice(end, n);
    }

    /**
     * Removes {@code n} bytes from the front of the window (a consumed header); they become
     * headroom again.
     *
     * @throws IllegalArgumentException if {@code n} is negative
     * @throws IndexOutOfBoundsException if {@code n} is more than {@link #length()}
     * @throws IllegalStateException if the buffer was freed
     */
    public void trimFront(int n) {
        live();
        final int start = this.start;
        if (n < 0 || n > end - start) {
            throw refused("trimFront", n, end - start, "length");
        }
        this.start = start + n;
    }

    /**
     * Removes {@code n} bytes from the back of the window (link padding, a trailer); they become
     * tailroom again.
     *
     * @throws IllegalArgumentException if {@code n} is negative
     * @throws IndexOutOfBoundsException if {@code n} is more than {@link #length()}
     * @throws IllegalStateException if the buffer was freed
     */
    public void trimBack(int n) {
        live();
        final int end = this.end;
        if (n < 0 || n > end - start) {
            throw refused("trimBack", n, end - start, "length");
        }
        this.end = end - n;
    }

    /**
     * Gives the buffer back to its pool: {@code pool().free(this)}, with the same exceptions and
     * guarantees (see {@link PacketPool#free}).
     *
     * @throws IllegalStateException if it was already freed; or if the pool is closed, or the
     *     segment pool refused the segment (tagging it would have to wait inside a section of the
     *     pool's domain): the buffer is then still live and owned by the caller
     */
    public void free() {
        pool.free(this);
    }

    /** Whether the buffer was freed (a plain read: exact for its owner, see the class javadoc). */
    public boolean isFreed() {
        return segment == null;
    }

    @Override
    public String toString() {
        return segment == null ? "PacketBuffer[freed]"
                : "PacketBuffer[start " + start + ", end " + end + ", capacity " + capacity + "]";
    }

    /**
     * Marks the buffer freed and returns its segment, for the pool.
     *
     * @throws IllegalStateException if it was already freed
     */
    MemorySegment release() {
        MemorySegment s = lpSegment();
        if (s == null || !casSegment(s, null)) {
            throw new IllegalStateException("double free of a packet buffer from pool '" + pool.name() + "'");
        }
        return s;
    }

    /**
     * Undoes {@link #release()} when the pool did not take the segment. Only the thread whose
     * release CAS succeeded calls it, so the field is still null.
     */
    void unrelease(MemorySegment s) {
        if (!casSegment(null, s)) {
            throw new IllegalStateException("packet buffer from pool '" + pool.name()
                    + "' was touched by another thread while its free was being undone");
        }
    }

    /** The live segment, or an exception naming the use after free. */
    private MemorySegment live() {
        MemorySegment s = lpSegment();
        if (s == null) {
            throw new IllegalStateException("packet buffer from pool '" + pool.name() + "' used after free");
        }
        return s;
    }

    private static RuntimeException refused(String op, int n, int limit, String what) {
        if (n < 0) {
            return new IllegalArgumentException(op + ": byte count must be >= 0, got " + n);
        }
        return new IndexOutOfBoundsException(op + " " + n + " bytes: only " + limit + " bytes of " + what);
    }

    // VarHandle mechanics

    private MemorySegment lpSegment() {
        return segment; // plain: exact for the owner, best-effort for a racing non-owner (see above)
    }

    private boolean casSegment(MemorySegment expect, MemorySegment update) {
        return SEGMENT.compareAndSet(this, expect, update);
    }

    private static final VarHandle SEGMENT;

    static {
        try {
            SEGMENT = MethodHandles.lookup().findVarHandle(PacketBuffer.class, "segment", MemorySegment.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
