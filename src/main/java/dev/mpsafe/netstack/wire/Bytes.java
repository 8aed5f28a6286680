package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Network-order (big-endian) loads and stores on a {@link MemorySegment}, and the argument checks
 * every view and repr shares. Package-private: the public surface is the views' named accessors.
 *
 * <p>The layouts are the unaligned ones because a header can start at any offset in a buffer (an
 * IPv4 header with options shifts the transport header by any multiple of 4, and a caller may
 * wrap a view at an odd offset).
 *
 * <p>Thread safety: stateless.
 */
final class Bytes {

    static final ValueLayout.OfShort BE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE_INT =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Bytes() {}

    static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    static int u16(MemorySegment s, long at) {
        return s.get(BE_SHORT, at) & 0xFFFF;
    }

    static int i32(MemorySegment s, long at) {
        return s.get(BE_INT, at);
    }

    static void put8(MemorySegment s, long at, int v) {
        s.set(ValueLayout.JAVA_BYTE, at, (byte) v);
    }

    static void put16(MemorySegment s, long at, int v) {
        s.set(BE_SHORT, at, (short) v);
    }

    static void put32(MemorySegment s, long at, int v) {
        s.set(BE_INT, at, v);
    }

    /** Checks that {@code [offset, offset + length)} lies in {@code s}; names all three if not. */
    static void checkRange(MemorySegment s, long offset, long length) {
        Objects.requireNonNull(s, "segment");
        if (offset < 0 || length < 0 || offset > s.byteSize() - length) {
            throw new IndexOutOfBoundsException("range [" + offset + ", " + offset + " + " + length
                    + ") is outside the segment of " + s.byteSize() + " bytes");
        }
    }

    /** Returns {@code v} if it is in {@code [min, max]}; otherwise names the field, value and limits. */
    static int inRange(String what, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(what + " " + v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    /** Rejects an emit into a buffer shorter than the bytes the repr needs. */
    static void checkRoom(String what, long have, int need) {
        if (have < need) {
            throw new IllegalArgumentException(what + " buffer of " + have
                    + " bytes is shorter than the " + need + " bytes this repr emits");
        }
    }

    /** Rejects a wrap of a buffer shorter than the fixed header. */
    static void checkWrap(String what, long length, int fixedHeader) {
        checkWrap(what, length, fixedHeader, Long.MAX_VALUE);
    }

    /** Rejects a wrap of a buffer shorter than the fixed header or longer than {@code max}. */
    static void checkWrap(String what, long length, int fixedHeader, long max) {
        if (length < fixedHeader) {
            throw new IllegalArgumentException(what + " view needs at least " + fixedHeader
                    + " bytes; the buffer has " + length);
        }
        if (length > max) {
            throw new IllegalArgumentException(what + " view covers at most " + max
                    + " bytes; the buffer has " + length);
        }
    }
}
