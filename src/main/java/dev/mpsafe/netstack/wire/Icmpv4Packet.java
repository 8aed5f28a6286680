package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * A zero-copy view of an ICMPv4 message (RFC 792) in a {@link MemorySegment}. The view covers the
 * whole message, which is the IPv4 payload: ICMP has no length field of its own.
 *
 * <pre>
 *  byte    0               1               2               3
 *        +---------------+---------------+-------------------------------+
 *     0  |     type      |     code      |           checksum            |
 *        +---------------+---------------+-------------------------------+
 *     4  |          rest of header: depends on type and code             |
 *        +---------------------------------------------------------------+
 *     8  |          data (to the end of the message)                     |
 *        +---------------------------------------------------------------+
 *
 *  rest of header, echo request (8) and reply (0):
 *        +-------------------------------+-------------------------------+
 *     4  |          identifier           |        sequence number        |
 *        +-------------------------------+-------------------------------+
 *  destination unreachable (3), code 4 "fragmentation needed" (RFC 1191):
 *        +-------------------------------+-------------------------------+
 *     4  |        unused (zero)          |         next-hop MTU          |
 *        +-------------------------------+-------------------------------+
 *  parameter problem (12):
 *        +---------------+-----------------------------------------------+
 *     4  |    pointer    |                 unused (zero)                 |
 *        +---------------+-----------------------------------------------+
 *  error messages (3, 11, 12) carry the offending IPv4 header and at least 8 bytes of its
 *  payload as their data.
 * </pre>
 *
 * <p>{@link #check} requires the 8-byte header; {@link Icmpv4Repr#parse} then verifies the
 * checksum, the type and code, and an error message's quoted header. Every field lies in the first
 * 8 bytes, which every view has, so no accessor throws (see {@link Ipv4Packet} for the general
 * argument).
 *
 * <p>Thread safety: not thread-safe; plain accesses to the segment.
 */
public final class Icmpv4Packet implements Outcome.OfIcmpv4Packet {

    /** Bytes in the header: type, code, checksum and the rest-of-header word. */
    public static final int HEADER_LENGTH = 8;
    /** The longest message: the largest IPv4 payload (65535 - 20). */
    public static final int MAX_LENGTH = Ipv4Packet.MAX_TOTAL_LENGTH - Ipv4Packet.MIN_HEADER_LENGTH;

    /** Echo reply. */
    public static final int TYPE_ECHO_REPLY = 0;
    /** Destination unreachable. */
    public static final int TYPE_DESTINATION_UNREACHABLE = 3;
    /** Redirect. */
    public static final int TYPE_REDIRECT = 5;
    /** Echo request. */
    public static final int TYPE_ECHO_REQUEST = 8;
    /** Time exceeded. */
    public static final int TYPE_TIME_EXCEEDED = 11;
    /** Parameter problem. */
    public static final int TYPE_PARAMETER_PROBLEM = 12;

    /** Destination unreachable codes (RFC 792, RFC 1122, RFC 1812): network. */
    public static final int UNREACHABLE_NETWORK = 0;
    /** Host unreachable. */
    public static final int UNREACHABLE_HOST = 1;
    /** Protocol unreachable: no handler for the IPv4 protocol. */
    public static final int UNREACHABLE_PROTOCOL = 2;
    /** Port unreachable: no socket for a UDP datagram. */
    public static final int UNREACHABLE_PORT = 3;
    /** Fragmentation needed and DF set; carries the next-hop MTU. */
    public static final int UNREACHABLE_FRAGMENTATION_NEEDED = 4;
    /** The highest code RFC 1812 defines. */
    public static final int UNREACHABLE_MAX_CODE = 15;

    /** Time exceeded codes: TTL reached 0 in transit. */
    public static final int TIME_EXCEEDED_TTL = 0;
    /** Reassembly timed out. */
    public static final int TIME_EXCEEDED_REASSEMBLY = 1;

    private static final int TYPE = 0;
    private static final int CODE = 1;
    private static final int CHECKSUM = 2;
    private static final int REST = 4;

    private final MemorySegment segment;
    private final long base;
    private final long limit;

    private Icmpv4Packet(MemorySegment segment, long base, long limit) {
        this.segment = segment;
        this.base = base;
        this.limit = limit;
    }

    /** {@link #check(MemorySegment, long, long)} over the whole segment. */
    public static Outcome.OfIcmpv4Packet check(MemorySegment segment) {
        return check(segment, 0, segment.byteSize());
    }

    /**
     * Checks untrusted bytes, the whole ICMP message (the IPv4 payload).
     *
     * @return the view, {@link DropReason#ICMP_TRUNCATED} below 8 bytes, or
     *     {@link DropReason#ICMP_TOO_LONG} above {@link #MAX_LENGTH}
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     */
    public static Outcome.OfIcmpv4Packet check(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        if (length < HEADER_LENGTH) {
            return DropReason.ICMP_TRUNCATED;
        }
        if (length > MAX_LENGTH) {
            return DropReason.ICMP_TOO_LONG;
        }
        return new Icmpv4Packet(segment, offset, length);
    }

    /** {@link #wrap(MemorySegment, long, long)} over the whole segment. */
    public static Icmpv4Packet wrap(MemorySegment segment) {
        return wrap(segment, 0, segment.byteSize());
    }

    /**
     * A view of a buffer the stack owns, for emitting.
     *
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     * @throws IllegalArgumentException if {@code length} is below {@link #HEADER_LENGTH}
     */
    public static Icmpv4Packet wrap(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        Bytes.checkWrap("ICMPv4", length, HEADER_LENGTH, MAX_LENGTH);
        return new Icmpv4Packet(segment, offset, length);
    }

    /** The segment this view reads. */
    public MemorySegment segment() {
        return segment;
    }

    /** Where the message starts in {@link #segment()}. */
    public long offset() {
        return base;
    }

    /** The bytes of the whole message. */
    public long bufferLength() {
        return limit;
    }

    /** The type, 0..255 (see {@code TYPE_*}). */
    public int type() {
        return Bytes.u8(segment, base + TYPE);
    }

    /** The code, 0..255. */
    public int code() {
        return Bytes.u8(segment, base + CODE);
    }

    /** The checksum field as carried. */
    public int checksum() {
        return Bytes.u16(segment, base + CHECKSUM);
    }

    /** The rest-of-header word, whatever the type. */
    public int restOfHeader() {
        return Bytes.i32(segment, base + REST);
    }

    /** Echo identifier: the first half of the rest-of-header word. */
    public int echoIdentifier() {
        return Bytes.u16(segment, base + REST);
    }

    /** Echo sequence number: the second half of the rest-of-header word. */
    public int echoSequence() {
        return Bytes.u16(segment, base + REST + 2);
    }

    /** Next-hop MTU of a "fragmentation needed" message: the second half of the word. */
    public int nextHopMtu() {
        return Bytes.u16(segment, base + REST + 2);
    }

    /** Pointer of a parameter problem: the first byte of the word. */
    public int pointer() {
        return Bytes.u8(segment, base + REST);
    }

    /** Where the data starts: {@link #HEADER_LENGTH}. */
    public int dataOffset() {
        return HEADER_LENGTH;
    }

    /** The data's bytes: the message minus the header. */
    public int dataLength() {
        return (int) (limit - HEADER_LENGTH);
    }

    /** The data as a slice of the segment (no copy). */
    public MemorySegment data() {
        return segment.asSlice(base + HEADER_LENGTH, dataLength());
    }

    /** Whether the checksum verifies over the whole message. */
    public boolean verifyChecksum() {
        return Checksum.sum(segment, base, limit) == 0xFFFF;
    }

    /** Sets the type. @throws IllegalArgumentException outside 0..255 */
    public void setType(int type) {
        Bytes.put8(segment, base + TYPE, Bytes.inRange("type", type, 0, 0xFF));
    }

    /** Sets the code. @throws IllegalArgumentException outside 0..255 */
    public void setCode(int code) {
        Bytes.put8(segment, base + CODE, Bytes.inRange("code", code, 0, 0xFF));
    }

    /** Sets the checksum field. @throws IllegalArgumentException outside 0..65535 */
    public void setChecksum(int checksum) {
        Bytes.put16(segment, base + CHECKSUM, Bytes.inRange("checksum", checksum, 0, 0xFFFF));
    }

    /** Sets the rest-of-header word. */
    public void setRestOfHeader(int word) {
        Bytes.put32(segment, base + REST, word);
    }

    /** Recomputes the checksum over the first {@code length} bytes of the message and stores it. */
    public void fillChecksum(long length) {
        if (length < HEADER_LENGTH || length > limit) {
            throw new IllegalArgumentException("ICMP message length " + length + " is outside ["
                    + HEADER_LENGTH + ", " + limit + "] (the view's buffer)");
        }
        Bytes.put16(segment, base + CHECKSUM, 0);
        Bytes.put16(segment, base + CHECKSUM, Checksum.checksum(segment, base, length));
    }

    /** Recomputes the checksum over the whole message and stores it. */
    public void fillChecksum() {
        fillChecksum(limit);
    }

    @Override
    public String toString() {
        return "Icmpv4Packet[type " + type() + ", code " + code() + ", rest 0x"
                + Integer.toHexString(restOfHeader()) + ", data " + dataLength() + "]";
    }
}
