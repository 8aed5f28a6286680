package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * The internet checksum (RFC 1071), the IPv4 pseudo-header sum that UDP and TCP add to it, and the
 * incremental update of RFC 1624.
 *
 * <h2>Vocabulary</h2>
 * A <em>sum</em> is the 16-bit ones'-complement sum of big-endian 16-bit words, folded (end-around
 * carry) into {@code [0, 0xFFFF]}; a range of odd length is padded with one zero byte at its end.
 * A <em>checksum</em> is the ones' complement of a sum, the value a header carries. A range that
 * includes a correct checksum sums to {@code 0xFFFF}.
 *
 * <pre>{@code
 * // verify an IPv4 header
 * boolean ok = Checksum.sum(seg, off, headerLength) == 0xFFFF;
 * // UDP over IPv4: pseudo header, then the datagram
 * int c = Checksum.complement(Checksum.add(
 *         Checksum.pseudoHeaderSum(src, dst, 17, udpLength), Checksum.sum(seg, off, udpLength)));
 * }</pre>
 *
 * <h2>Implementation</h2>
 * {@link #sum} adds big-endian 32-bit words into a {@code long} and folds at the end. That is the
 * same sum as adding 16-bit words because {@code 2^16 = 1 (mod 0xFFFF)}: the ones'-complement sum
 * is the integer sum modulo {@code 0xFFFF}, with {@code 0xFFFF} standing for a non-zero multiple.
 * A {@code long} cannot overflow before {@code 2^32} words, more than any packet.
 *
 * <p>Thread safety: stateless; the caller must keep the bytes still while it sums them.
 */
public final class Checksum {

    private Checksum() {}

    /**
     * The folded ones'-complement sum of {@code length} bytes at {@code offset}.
     *
     * @return a value in {@code [0, 0xFFFF]}; 0 only when every byte is zero
     * @throws IndexOutOfBoundsException if the range is not inside {@code segment}, naming the
     *     range and the segment's size
     */
    public static int sum(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        long acc = 0;
        long at = offset;
        final long end = offset + length;
        for (; end - at >= 4; at += 4) {
            acc += Integer.toUnsignedLong(Bytes.i32(segment, at));
        }
        if (end - at >= 2) {
            acc += Bytes.u16(segment, at);
            at += 2;
        }
        if (at < end) {
            acc += Bytes.u8(segment, at) << 8;
        }
        return fold(acc);
    }

    /**
     * Folds a non-negative integer sum of 16-bit words into a 16-bit ones'-complement sum.
     *
     * @return a value in {@code [0, 0xFFFF]}; 0 only when {@code acc} is 0
     */
    public static int fold(long acc) {
        if (acc < 0) {
            throw new IllegalArgumentException("sum " + acc + " is negative; a sum of words is never below 0");
        }
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xFFFF) + (acc >>> 16);
        }
        return (int) acc;
    }

    /** The ones'-complement sum of two sums (each in {@code [0, 0xFFFF]}). */
    public static int add(int a, int b) {
        return fold((a & 0xFFFF) + (b & 0xFFFF));
    }

    /** The checksum a header carries for a {@code sum}: its ones' complement. */
    public static int complement(int sum) {
        return ~sum & 0xFFFF;
    }

    /** The checksum (not the sum) of a range: {@code complement(sum(segment, offset, length))}. */
    public static int checksum(MemorySegment segment, long offset, long length) {
        return complement(sum(segment, offset, length));
    }

    /**
     * The sum of the IPv4 pseudo header that UDP (RFC 768) and TCP (RFC 9293, section 3.1) put in
     * front of their checksum: source address, destination address, a zero byte, the protocol,
     * and the transport length (header plus payload).
     *
     * <pre>
     * +--------+--------+--------+--------+
     * |          source address           |
     * +--------+--------+--------+--------+
     * |        destination address        |
     * +--------+--------+--------+--------+
     * |  zero  |protocol|  transport length |
     * +--------+--------+--------+--------+
     * </pre>
     *
     * @param protocol 0..255
     * @param length the transport length, 0..65535
     * @throws IllegalArgumentException if {@code protocol} or {@code length} is out of range
     */
    public static int pseudoHeaderSum(int source, int destination, int protocol, int length) {
        Bytes.inRange("protocol", protocol, 0, 0xFF);
        Bytes.inRange("transport length", length, 0, 0xFFFF);
        long acc = (source >>> 16) + (source & 0xFFFF)
                + (destination >>> 16) + (destination & 0xFFFF)
                + protocol + length;
        return fold(acc);
    }

    /**
     * RFC 1624's incremental update, its equation 3: {@code HC' = ~(~HC + ~m + m')}, for one
     * 16-bit word of the checksummed range changing from {@code oldWord} to {@code newWord}. Equal
     * to recomputing the checksum from scratch, {@code 0x0000} versus {@code 0xFFFF} included, for
     * any range that is not all zeros (equation 2 of RFC 1624 gets that corner wrong).
     *
     * @param checksum the checksum before the change, as carried in the header
     * @return the checksum after it
     */
    public static int update16(int checksum, int oldWord, int newWord) {
        return complement(fold((~checksum & 0xFFFFL) + (~oldWord & 0xFFFFL) + (newWord & 0xFFFFL)));
    }

    /**
     * {@link #update16} for an aligned 32-bit field (an address) changing from {@code oldValue} to
     * {@code newValue}.
     */
    public static int update32(int checksum, int oldValue, int newValue) {
        int c = update16(checksum, oldValue >>> 16, newValue >>> 16);
        return update16(c, oldValue & 0xFFFF, newValue & 0xFFFF);
    }
}
