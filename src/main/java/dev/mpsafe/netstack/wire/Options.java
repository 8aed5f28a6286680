package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * The type-length-value walk that IPv4 options (RFC 791) and TCP options (RFC 9293) share: kind 0
 * ends the list, kind 1 is a one-byte no-op, every other kind is followed by a length byte that
 * counts the kind and length bytes too, so it is at least 2.
 *
 * <pre>
 * +--------+           +--------+           +--------+--------+--------- - - ---+
 * | 0: EOL |           | 1: NOP |           |  kind  | length | data (length-2) |
 * +--------+           +--------+           +--------+--------+--------- - - ---+
 * </pre>
 *
 * <p>Positions are relative to the view's first byte; {@code end} is the header length. Every
 * method here reads only bytes in {@code [at, end)}, so none can throw for a view whose header
 * length was validated against its buffer, whatever the option bytes hold.
 *
 * <p>Thread safety: stateless.
 */
final class Options {

    static final int EOL = 0;
    static final int NOP = 1;

    private Options() {}

    /**
     * The length of the option at {@code at}: 1 for EOL and NOP, the length byte otherwise; -1 if
     * that option is malformed (no room for its length byte, a length below 2, or a length that
     * runs past {@code end}).
     */
    static int span(MemorySegment s, long base, int at, int end) {
        int kind = Bytes.u8(s, base + at);
        if (kind == EOL || kind == NOP) {
            return 1;
        }
        if (at + 1 >= end) {
            return -1;
        }
        int length = Bytes.u8(s, base + at + 1);
        return length < 2 || length > end - at ? -1 : length;
    }

    /** Whether every option from {@code start} up to EOL or {@code end} is well formed. */
    static boolean wellFormed(MemorySegment s, long base, int start, int end) {
        int at = start;
        while (at < end) {
            if (Bytes.u8(s, base + at) == EOL) {
                return true;
            }
            int n = span(s, base, at, end);
            if (n < 0) {
                return false;
            }
            at += n;
        }
        return true;
    }

    /** {@code at} if a well-formed option other than EOL starts there, else -1. */
    static int cursor(MemorySegment s, long base, int at, int end) {
        if (at >= end || Bytes.u8(s, base + at) == EOL || span(s, base, at, end) < 0) {
            return -1;
        }
        return at;
    }

    /** The cursor after the well-formed option at {@code at}, or -1 at the end of the list. */
    static int next(MemorySegment s, long base, int at, int start, int end) {
        int n = checkedSpan(s, base, at, start, end);
        return cursor(s, base, at + n, end);
    }

    /** {@link #span}, after checking that {@code at} is in {@code [start, end)} and well formed. */
    static int checkedSpan(MemorySegment s, long base, int at, int start, int end) {
        if (at < start || at >= end) {
            throw new IndexOutOfBoundsException("option position " + at + " is outside the options ["
                    + start + ", " + end + ")");
        }
        int n = span(s, base, at, end);
        if (n < 0) {
            throw new IllegalArgumentException("no well-formed option at position " + at
                    + " (options end at " + end + "); use a cursor from firstOption/nextOption");
        }
        return n;
    }

    /** The data of the option at {@code at} (empty for EOL, NOP and two-byte options). */
    static MemorySegment data(MemorySegment s, long base, int at, int start, int end) {
        int n = checkedSpan(s, base, at, start, end);
        return n < 2 ? s.asSlice(base + at, 0) : s.asSlice(base + at + 2, n - 2);
    }
}
