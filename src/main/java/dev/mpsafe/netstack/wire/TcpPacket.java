package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * A zero-copy view of a TCP segment (RFC 9293, section 3.1) in a {@link MemorySegment}. TCP has no
 * length field: the view must cover exactly the segment, which is the IPv4 payload.
 *
 * <pre>
 *  byte    0               1               2               3
 *  bit     0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *        +-------------------------------+-------------------------------+
 *     0  |          source port          |       destination port        |
 *        +-------------------------------+-------------------------------+
 *     4  |                        sequence number                        |
 *        +---------------------------------------------------------------+
 *     8  |                     acknowledgment number                     |
 *        +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
 *    12  | data  | rsrvd |C|E|U|A|P|R|S|F|            window             |
 *        |offset |       |W|C|R|C|S|S|Y|I|                               |
 *        |       |       |R|E|G|K|H|T|N|N|                               |
 *        +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
 *    16  |           checksum            |        urgent pointer         |
 *        +-------------------------------+-------------------------------+
 *    20  |       options (data offset * 4 - 20 bytes, padded)            |
 *        +---------------------------------------------------------------+
 *  off*4 |                 data (to the end of the segment)              |
 *        +---------------------------------------------------------------+
 *
 *  options: kind 0 ends the list, kind 1 is a one-byte no-op, every other kind is
 *  followed by a length byte that counts both bytes (MSS: 2,4; window scale: 3,3;
 *  SACK permitted: 4,2; SACK: 5,n; timestamps: 8,10).
 * </pre>
 *
 * <p>{@link #check} requires {@code 5 <= data offset}, {@code data offset * 4 <= buffer}, options
 * that each lie inside the header, and no more bytes than an IPv4 payload can hold.
 * {@link TcpRepr#parse} then verifies the checksum and the known options' lengths. Fixed fields lie
 * in the first 20 bytes and the variable regions are clamped to the buffer, so no accessor throws
 * (see {@link Ipv4Packet} for the general argument). This issue reads the header and the option
 * region only; the state machine comes later.
 *
 * <p>Thread safety: not thread-safe; plain accesses to the segment.
 */
public final class TcpPacket implements Outcome.OfTcpPacket {

    /** Bytes in a header without options. */
    public static final int MIN_HEADER_LENGTH = 20;
    /** Bytes in the longest header: data offset 15. */
    public static final int MAX_HEADER_LENGTH = 60;
    /** The longest segment: the largest IPv4 payload (65535 - 20). */
    public static final int MAX_LENGTH = Ipv4Packet.MAX_TOTAL_LENGTH - Ipv4Packet.MIN_HEADER_LENGTH;

    /** Control bits, as in the byte at offset 13. */
    public static final int FIN = 0x01;
    /** Synchronize sequence numbers. */
    public static final int SYN = 0x02;
    /** Reset. */
    public static final int RST = 0x04;
    /** Push. */
    public static final int PSH = 0x08;
    /** The acknowledgment number is significant. */
    public static final int ACK = 0x10;
    /** The urgent pointer is significant. */
    public static final int URG = 0x20;
    /** ECN echo (RFC 3168). */
    public static final int ECE = 0x40;
    /** Congestion window reduced (RFC 3168). */
    public static final int CWR = 0x80;

    /** Option kinds: end of list. */
    public static final int OPTION_END = Options.EOL;
    /** No-op. */
    public static final int OPTION_NOP = Options.NOP;
    /** Maximum segment size (length 4). */
    public static final int OPTION_MSS = 2;
    /** Window scale (RFC 7323, length 3). */
    public static final int OPTION_WINDOW_SCALE = 3;
    /** SACK permitted (RFC 2018, length 2). */
    public static final int OPTION_SACK_PERMITTED = 4;
    /** SACK blocks (RFC 2018). */
    public static final int OPTION_SACK = 5;
    /** Timestamps (RFC 7323, length 10). */
    public static final int OPTION_TIMESTAMPS = 8;

    private static final int SOURCE_PORT = 0;
    private static final int DESTINATION_PORT = 2;
    private static final int SEQUENCE = 4;
    private static final int ACKNOWLEDGMENT = 8;
    private static final int OFFSET_RESERVED = 12;
    private static final int FLAGS = 13;
    private static final int WINDOW = 14;
    private static final int CHECKSUM = 16;
    private static final int URGENT = 18;

    private final MemorySegment segment;
    private final long base;
    private final long limit;

    private TcpPacket(MemorySegment segment, long base, long limit) {
        this.segment = segment;
        this.base = base;
        this.limit = limit;
    }

    /** {@link #check(MemorySegment, long, long)} over the whole segment. */
    public static Outcome.OfTcpPacket check(MemorySegment segment) {
        return check(segment, 0, segment.byteSize());
    }

    /**
     * Checks untrusted bytes: exactly the IPv4 payload that should hold a TCP segment.
     *
     * @return the view, or a {@code DropReason} named {@code TCP_*}
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     */
    public static Outcome.OfTcpPacket check(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        if (length < MIN_HEADER_LENGTH) {
            return DropReason.TCP_TRUNCATED;
        }
        if (length > MAX_LENGTH) {
            return DropReason.TCP_TOO_LONG;
        }
        int headerLength = (Bytes.u8(segment, offset + OFFSET_RESERVED) >>> 4) * 4;
        if (headerLength < MIN_HEADER_LENGTH) {
            return DropReason.TCP_HEADER_TOO_SHORT;
        }
        if (headerLength > length) {
            return DropReason.TCP_HEADER_PAST_BUFFER;
        }
        if (!Options.wellFormed(segment, offset, MIN_HEADER_LENGTH, headerLength)) {
            return DropReason.TCP_BAD_OPTION;
        }
        return new TcpPacket(segment, offset, length);
    }

    /** {@link #wrap(MemorySegment, long, long)} over the whole segment. */
    public static TcpPacket wrap(MemorySegment segment) {
        return wrap(segment, 0, segment.byteSize());
    }

    /**
     * A view of a buffer the stack owns, for emitting.
     *
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     * @throws IllegalArgumentException if {@code length} is below {@link #MIN_HEADER_LENGTH} or
     *     above {@link #MAX_LENGTH}
     */
    public static TcpPacket wrap(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        Bytes.checkWrap("TCP", length, MIN_HEADER_LENGTH, MAX_LENGTH);
        return new TcpPacket(segment, offset, length);
    }

    /** The segment this view reads. */
    public MemorySegment segment() {
        return segment;
    }

    /** Where the header starts in {@link #segment()}. */
    public long offset() {
        return base;
    }

    /** The bytes of the whole TCP segment, header and data (at most {@link #MAX_LENGTH}). */
    public long bufferLength() {
        return limit;
    }

    /** The source port, 0..65535. */
    public int sourcePort() {
        return Bytes.u16(segment, base + SOURCE_PORT);
    }

    /** The destination port, 0..65535. */
    public int destinationPort() {
        return Bytes.u16(segment, base + DESTINATION_PORT);
    }

    /** The sequence number (compare with wrap-around arithmetic, never with {@code <}). */
    public int sequenceNumber() {
        return Bytes.i32(segment, base + SEQUENCE);
    }

    /** The acknowledgment number; significant only with {@link #ACK}. */
    public int acknowledgmentNumber() {
        return Bytes.i32(segment, base + ACKNOWLEDGMENT);
    }

    /** The header length in bytes, data offset * 4, as the segment says (20..60 if checked). */
    public int headerLength() {
        return (Bytes.u8(segment, base + OFFSET_RESERVED) >>> 4) * 4;
    }

    /** The four reserved bits (the last of them is AE in RFC 9768); exposed, not judged. */
    public int reservedBits() {
        return Bytes.u8(segment, base + OFFSET_RESERVED) & 0xF;
    }

    /** The eight control bits (see {@link #FIN} ... {@link #CWR}). */
    public int flags() {
        return Bytes.u8(segment, base + FLAGS);
    }

    /** FIN: no more data from the sender. */
    public boolean fin() {
        return (flags() & FIN) != 0;
    }

    /** SYN: synchronize sequence numbers. */
    public boolean syn() {
        return (flags() & SYN) != 0;
    }

    /** RST: reset the connection. */
    public boolean rst() {
        return (flags() & RST) != 0;
    }

    /** PSH: push function. */
    public boolean psh() {
        return (flags() & PSH) != 0;
    }

    /** ACK: the acknowledgment number is significant. */
    public boolean ack() {
        return (flags() & ACK) != 0;
    }

    /** URG: the urgent pointer is significant. */
    public boolean urg() {
        return (flags() & URG) != 0;
    }

    /** ECE: ECN echo. */
    public boolean ece() {
        return (flags() & ECE) != 0;
    }

    /** CWR: congestion window reduced. */
    public boolean cwr() {
        return (flags() & CWR) != 0;
    }

    /** The window field, unscaled, 0..65535. */
    public int window() {
        return Bytes.u16(segment, base + WINDOW);
    }

    /** The checksum field as carried. */
    public int checksum() {
        return Bytes.u16(segment, base + CHECKSUM);
    }

    /** The urgent pointer, 0..65535. */
    public int urgentPointer() {
        return Bytes.u16(segment, base + URGENT);
    }

    /** Where the options end and the data starts: the header length, clamped to the buffer. */
    public int headerEnd() {
        return (int) Math.min(Math.max(headerLength(), MIN_HEADER_LENGTH), limit);
    }

    /** The bytes of options (and their padding). */
    public int optionsLength() {
        return headerEnd() - MIN_HEADER_LENGTH;
    }

    /** The options region as a slice of the segment (no copy). */
    public MemorySegment options() {
        return segment.asSlice(base + MIN_HEADER_LENGTH, optionsLength());
    }

    /**
     * The position (from the header's first byte) of the first option, or -1 if there is none.
     * A returned position always holds a well-formed option inside the header.
     */
    public int firstOption() {
        return Options.cursor(segment, base, MIN_HEADER_LENGTH, headerEnd());
    }

    /**
     * The option after the one at {@code cursor}, or -1 at the end of the list.
     *
     * @throws IndexOutOfBoundsException if {@code cursor} is outside the options
     * @throws IllegalArgumentException if no well-formed option starts at {@code cursor}
     */
    public int nextOption(int cursor) {
        return Options.next(segment, base, cursor, MIN_HEADER_LENGTH, headerEnd());
    }

    /** The kind of the option at {@code cursor} (see {@code OPTION_*}). */
    public int optionKind(int cursor) {
        Options.checkedSpan(segment, base, cursor, MIN_HEADER_LENGTH, headerEnd());
        return Bytes.u8(segment, base + cursor);
    }

    /** The length of the option at {@code cursor}, kind and length bytes included (1 for NOP). */
    public int optionLength(int cursor) {
        return Options.checkedSpan(segment, base, cursor, MIN_HEADER_LENGTH, headerEnd());
    }

    /** The data of the option at {@code cursor}, after its kind and length bytes (no copy). */
    public MemorySegment optionData(int cursor) {
        return Options.data(segment, base, cursor, MIN_HEADER_LENGTH, headerEnd());
    }

    /** Where the data starts: {@link #headerEnd()}. */
    public int payloadOffset() {
        return headerEnd();
    }

    /** The data's bytes: the segment minus the header. */
    public int payloadLength() {
        return (int) (limit - headerEnd());
    }

    /** The data as a slice of the segment (no copy). */
    public MemorySegment payload() {
        return segment.asSlice(base + headerEnd(), payloadLength());
    }

    /** Whether the checksum verifies over the pseudo header and the whole segment. */
    public boolean verifyChecksum(int source, int destination) {
        int sum = Checksum.add(
                Checksum.pseudoHeaderSum(source, destination, Ipv4Packet.PROTOCOL_TCP, (int) limit),
                Checksum.sum(segment, base, limit));
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

    /** Sets the sequence number. */
    public void setSequenceNumber(int sequence) {
        Bytes.put32(segment, base + SEQUENCE, sequence);
    }

    /** Sets the acknowledgment number. */
    public void setAcknowledgmentNumber(int acknowledgment) {
        Bytes.put32(segment, base + ACKNOWLEDGMENT, acknowledgment);
    }

    /** Sets the control bits. @throws IllegalArgumentException outside 0..255 */
    public void setFlags(int flags) {
        Bytes.put8(segment, base + FLAGS, Bytes.inRange("flags", flags, 0, 0xFF));
    }

    /** Sets the window. @throws IllegalArgumentException outside 0..65535 */
    public void setWindow(int window) {
        Bytes.put16(segment, base + WINDOW, Bytes.inRange("window", window, 0, 0xFFFF));
    }

    /** Sets the checksum field. @throws IllegalArgumentException outside 0..65535 */
    public void setChecksum(int checksum) {
        Bytes.put16(segment, base + CHECKSUM, Bytes.inRange("checksum", checksum, 0, 0xFFFF));
    }

    /** Sets the urgent pointer. @throws IllegalArgumentException outside 0..65535 */
    public void setUrgentPointer(int urgent) {
        Bytes.put16(segment, base + URGENT, Bytes.inRange("urgent pointer", urgent, 0, 0xFFFF));
    }

    /** Computes the checksum over the pseudo header and the whole segment and stores it. */
    public void fillChecksum(int source, int destination) {
        Bytes.put16(segment, base + CHECKSUM, 0);
        Bytes.put16(segment, base + CHECKSUM, Checksum.complement(Checksum.add(
                Checksum.pseudoHeaderSum(source, destination, Ipv4Packet.PROTOCOL_TCP, (int) limit),
                Checksum.sum(segment, base, limit))));
    }

    /** Writes the data offset for {@code headerLength} bytes and clears the reserved bits. */
    void setHeaderLength(int headerLength) {
        Bytes.put8(segment, base + OFFSET_RESERVED, headerLength / 4 << 4);
    }

    /** Writes one option byte at {@code at} (from the header's first byte). For {@link TcpRepr#emit}. */
    void putOptionByte(int at, int value) {
        Bytes.put8(segment, base + at, value);
    }

    @Override
    public String toString() {
        return "TcpPacket[" + sourcePort() + " > " + destinationPort()
                + ", seq " + Integer.toUnsignedString(sequenceNumber())
                + ", ack " + Integer.toUnsignedString(acknowledgmentNumber())
                + ", flags 0x" + Integer.toHexString(flags()) + ", window " + window()
                + ", header " + headerLength() + ", length " + limit + "]";
    }
}
