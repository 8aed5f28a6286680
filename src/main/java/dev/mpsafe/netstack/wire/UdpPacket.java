package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * A zero-copy view of a UDP datagram (RFC 768) in a {@link MemorySegment}. The view is given the
 * IPv4 payload; the datagram is the first {@link #length()} bytes of it.
 *
 * <pre>
 *  byte    0               1               2               3
 *        +-------------------------------+-------------------------------+
 *     0  |          source port          |       destination port        |
 *        +-------------------------------+-------------------------------+
 *     4  |     length (header + data)    |           checksum            |
 *        +-------------------------------+-------------------------------+
 *     8  |                     data (length - 8 bytes)                   |
 *        +---------------------------------------------------------------+
 *
 *  checksum: over the IPv4 pseudo header (see Checksum#pseudoHeaderSum), the header and
 *  the data; 0 means "not computed" (allowed over IPv4); a computed 0 is sent as 0xFFFF.
 * </pre>
 *
 * <p>{@link #check} requires the 8-byte header and {@code 8 <= length <= buffer}; bytes after
 * {@code length} are not data. {@link UdpRepr#parse} then verifies the checksum. Every field lies
 * in the first 8 bytes and the data region is clamped to the buffer, so no accessor throws (see
 * {@link Ipv4Packet} for the general argument).
 *
 * <p>Thread safety: not thread-safe; plain accesses to the segment.
 */
public final class UdpPacket implements Outcome.OfUdpPacket {

    /** Bytes in the header. */
    public static final int HEADER_LENGTH = 8;

    private static final int SOURCE_PORT = 0;
    private static final int DESTINATION_PORT = 2;
    private static final int LENGTH = 4;
    private static final int CHECKSUM = 6;

    private final MemorySegment segment;
    private final long base;
    private final long limit;

    private UdpPacket(MemorySegment segment, long base, long limit) {
        this.segment = segment;
        this.base = base;
        this.limit = limit;
    }

    /** {@link #check(MemorySegment, long, long)} over the whole segment. */
    public static Outcome.OfUdpPacket check(MemorySegment segment) {
        return check(segment, 0, segment.byteSize());
    }

    /**
     * Checks untrusted bytes: the IPv4 payload that should hold a datagram.
     *
     * @return the view, or a {@code DropReason} named {@code UDP_*}
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     */
    public static Outcome.OfUdpPacket check(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        if (length < HEADER_LENGTH) {
            return DropReason.UDP_TRUNCATED;
        }
        int udpLength = Bytes.u16(segment, offset + LENGTH);
        if (udpLength < HEADER_LENGTH) {
            return DropReason.UDP_LENGTH_BELOW_HEADER;
        }
        if (udpLength > length) {
            return DropReason.UDP_LENGTH_PAST_BUFFER;
        }
        return new UdpPacket(segment, offset, length);
    }

    /** {@link #wrap(MemorySegment, long, long)} over the whole segment. */
    public static UdpPacket wrap(MemorySegment segment) {
        return wrap(segment, 0, segment.byteSize());
    }

    /**
     * A view of a buffer the stack owns, for emitting.
     *
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     * @throws IllegalArgumentException if {@code length} is below {@link #HEADER_LENGTH}
     */
    public static UdpPacket wrap(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        Bytes.checkWrap("UDP", length, HEADER_LENGTH);
        return new UdpPacket(segment, offset, length);
    }

    /** The segment this view reads. */
    public MemorySegment segment() {
        return segment;
    }

    /** Where the header starts in {@link #segment()}. */
    public long offset() {
        return base;
    }

    /** The bytes the view covers: at least {@link #length()} for a checked view. */
    public long bufferLength() {
        return limit;
    }

    /** The source port, 0..65535 (0: none). */
    public int sourcePort() {
        return Bytes.u16(segment, base + SOURCE_PORT);
    }

    /** The destination port, 0..65535. */
    public int destinationPort() {
        return Bytes.u16(segment, base + DESTINATION_PORT);
    }

    /** The length field: header plus data. */
    public int length() {
        return Bytes.u16(segment, base + LENGTH);
    }

    /** The checksum field as carried; 0 means none was computed. */
    public int checksum() {
        return Bytes.u16(segment, base + CHECKSUM);
    }

    /** The datagram's extent: the length field, clamped to [8, buffer]. */
    public int datagramLength() {
        return (int) Math.min(Math.max(length(), HEADER_LENGTH), limit);
    }

    /** Where the data starts: 8. */
    public int payloadOffset() {
        return HEADER_LENGTH;
    }

    /** The data's bytes: length minus 8, clamped to the buffer. */
    public int payloadLength() {
        return datagramLength() - HEADER_LENGTH;
    }

    /** The data as a slice of the segment (no copy). */
    public MemorySegment payload() {
        return segment.asSlice(base + HEADER_LENGTH, payloadLength());
    }

    /**
     * Whether the checksum verifies for a datagram from {@code source} to {@code destination};
     * true when the checksum field is 0 (none computed, as RFC 768 allows over IPv4).
     */
    public boolean verifyChecksum(int source, int destination) {
        if (checksum() == 0) {
            return true;
        }
        int length = datagramLength();
        int sum = Checksum.add(Checksum.pseudoHeaderSum(source, destination, Ipv4Packet.PROTOCOL_UDP, length),
                Checksum.sum(segment, base, length));
        return sum == 0xFFFF;
    }

    /** Sets the source port. @throws IllegalArgumentException outside 0..65535 */
    public void setSourcePort(int port) {
        Bytes.put16(segment, base + SOURCE_PORT, Bytes.inRange("source port", port, 0, 0xFFFF));
    }

    /** Sets the destination port. @throws IllegalArgumentException outside 0..65535 */
    public void setDestinationPort(int port) {
        Bytes.put16(segment, base + DESTINATION_PORT, Bytes.inRange("destination port", port, 0, 0xFFFF));
    }

    /**
     * Sets the length field.
     *
     * @throws IllegalArgumentException below 8 or beyond the view's buffer
     */
    public void setLength(int length) {
        Bytes.put16(segment, base + LENGTH,
                Bytes.inRange("UDP length", length, HEADER_LENGTH, (int) Math.min(limit, 0xFFFF)));
    }

    /** Sets the checksum field. @throws IllegalArgumentException outside 0..65535 */
    public void setChecksum(int checksum) {
        Bytes.put16(segment, base + CHECKSUM, Bytes.inRange("checksum", checksum, 0, 0xFFFF));
    }

    /**
     * Computes the checksum over the pseudo header and {@link #datagramLength()} bytes and stores
     * it, 0xFFFF in place of a computed 0.
     */
    public void fillChecksum(int source, int destination) {
        int length = datagramLength();
        Bytes.put16(segment, base + CHECKSUM, 0);
        int checksum = Checksum.complement(Checksum.add(
                Checksum.pseudoHeaderSum(source, destination, Ipv4Packet.PROTOCOL_UDP, length),
                Checksum.sum(segment, base, length)));
        Bytes.put16(segment, base + CHECKSUM, checksum == 0 ? 0xFFFF : checksum);
    }

    @Override
    public String toString() {
        return "UdpPacket[" + sourcePort() + " > " + destinationPort() + ", length " + length()
                + ", checksum 0x" + Integer.toHexString(checksum()) + ", buffer " + limit + "]";
    }
}
