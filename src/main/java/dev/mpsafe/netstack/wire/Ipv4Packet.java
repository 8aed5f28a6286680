package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * A zero-copy view of an IPv4 packet (RFC 791) in a {@link MemorySegment}, heap or off-heap.
 *
 * <pre>
 *  byte    0               1               2               3
 *  bit     0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *        +-------+-------+-----------+---+-------------------------------+
 *     0  |version|  IHL  |   DSCP    |ECN|          total length         |
 *        +-------+-------+-----------+---+-----+-------------------------+
 *     4  |         identification        |R D M|  fragment offset (x 8)  |
 *        +---------------+---------------+-----+-------------------------+
 *     8  |      TTL      |   protocol    |        header checksum        |
 *        +---------------+---------------+-------------------------------+
 *    12  |                        source address                         |
 *        +---------------------------------------------------------------+
 *    16  |                      destination address                      |
 *        +---------------------------------------------------------------+
 *    20  |         options (IHL * 4 - 20 bytes, padded to a word)        |
 *        +---------------------------------------------------------------+
 *  IHL*4 |              payload (up to total length)                     |
 *        +---------------------------------------------------------------+
 *
 *  R: reserved, must be 0   D: don't fragment   M: more fragments
 * </pre>
 *
 * <h2>Construction</h2>
 * <ul>
 *   <li>{@link #check} is for untrusted bytes. It returns the view only when version is 4,
 *       {@code 5 <= IHL}, {@code IHL * 4 <= buffer}, {@code IHL * 4 <= total length <= buffer},
 *       and every option lies inside the header; otherwise the {@link DropReason}. A buffer longer
 *       than the total length is accepted (link-layer padding); the bytes past it are not payload.
 *       The checksum is a rule of the protocol, not of the layout: {@link Ipv4Repr#parse} checks it.
 *   <li>{@link #wrap} is for buffers the stack builds itself (before {@link Ipv4Repr#emit}): it
 *       only requires the 20 bytes of the fixed header.
 * </ul>
 *
 * <h2>No accessor throws</h2>
 * Fixed fields lie in the first 20 bytes, which every view has. The variable regions (options,
 * payload) are computed from the header bytes on every call, but clamped to the buffer: for a view
 * that passed {@link #check} the clamps never engage, and for a {@link #wrap}ped view, or one
 * whose bytes were changed after the check, the regions shrink instead of running out of the
 * buffer. So no accessor throws, whatever the bytes say, as long as the segment is alive and
 * accessible from the calling thread (a closed arena or another thread's confined segment makes
 * every access throw, as for any segment). The option-cursor methods that take a position reject a
 * position that is not a cursor, as bad arguments.
 *
 * <p>Thread safety: not thread-safe. A view holds no state besides its bounds; it reads and writes
 * the segment with plain accesses.
 */
public final class Ipv4Packet implements Outcome.OfIpv4Packet {

    /** Bytes in a header without options. */
    public static final int MIN_HEADER_LENGTH = 20;
    /** Bytes in the longest header: IHL 15. */
    public static final int MAX_HEADER_LENGTH = 60;
    /** The longest packet the total length field can describe. */
    public static final int MAX_TOTAL_LENGTH = 0xFFFF;

    /** Protocol numbers (IANA) the stack handles. */
    public static final int PROTOCOL_ICMP = 1;
    /** TCP's protocol number. */
    public static final int PROTOCOL_TCP = 6;
    /** UDP's protocol number. */
    public static final int PROTOCOL_UDP = 17;

    /** Option kinds: end of list, no-op. */
    public static final int OPTION_END = Options.EOL;
    /** The one-byte no-op option. */
    public static final int OPTION_NOP = Options.NOP;

    private static final int VERSION_IHL = 0;
    private static final int TOS = 1;
    private static final int TOTAL_LENGTH = 2;
    private static final int IDENTIFICATION = 4;
    private static final int FLAGS_FRAGMENT = 6;
    private static final int TTL = 8;
    private static final int PROTOCOL = 9;
    private static final int CHECKSUM = 10;
    private static final int SOURCE = 12;
    private static final int DESTINATION = 16;

    private static final int FLAG_RESERVED = 0x8000;
    private static final int FLAG_DF = 0x4000;
    private static final int FLAG_MF = 0x2000;
    private static final int OFFSET_MASK = 0x1FFF;

    private final MemorySegment segment;
    private final long base;
    private final long limit;

    private Ipv4Packet(MemorySegment segment, long base, long limit) {
        this.segment = segment;
        this.base = base;
        this.limit = limit;
    }

    /** {@link #check(MemorySegment, long, long)} over the whole segment. */
    public static Outcome.OfIpv4Packet check(MemorySegment segment) {
        return check(segment, 0, segment.byteSize());
    }

    /**
     * Checks untrusted bytes and returns a view of them, or why they are not an IPv4 packet that
     * can be read safely. See the class comment for the rules.
     *
     * @param segment the buffer; bytes are read, not copied
     * @param offset where the IPv4 header starts
     * @param length the bytes available from {@code offset} (what the device delivered)
     * @return the view, or a {@code DropReason} named {@code IPV4_*}
     * @throws IndexOutOfBoundsException if the range is not inside the segment (a bug in the caller,
     *     not in the packet)
     */
    public static Outcome.OfIpv4Packet check(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        if (length < MIN_HEADER_LENGTH) {
            return DropReason.IPV4_TRUNCATED;
        }
        int vihl = Bytes.u8(segment, offset + VERSION_IHL);
        if ((vihl >>> 4) != 4) {
            return DropReason.IPV4_BAD_VERSION;
        }
        int headerLength = (vihl & 0xF) * 4;
        if (headerLength < MIN_HEADER_LENGTH) {
            return DropReason.IPV4_HEADER_TOO_SHORT;
        }
        if (headerLength > length) {
            return DropReason.IPV4_HEADER_PAST_BUFFER;
        }
        int totalLength = Bytes.u16(segment, offset + TOTAL_LENGTH);
        if (totalLength < headerLength) {
            return DropReason.IPV4_TOTAL_LENGTH_BELOW_HEADER;
        }
        if (totalLength > length) {
            return DropReason.IPV4_TOTAL_LENGTH_PAST_BUFFER;
        }
        if (!Options.wellFormed(segment, offset, MIN_HEADER_LENGTH, headerLength)) {
            return DropReason.IPV4_BAD_OPTION;
        }
        return new Ipv4Packet(segment, offset, length);
    }

    /** {@link #wrap(MemorySegment, long, long)} over the whole segment. */
    public static Ipv4Packet wrap(MemorySegment segment) {
        return wrap(segment, 0, segment.byteSize());
    }

    /**
     * A view of a buffer the stack owns, with no check of its contents: for emitting a header, or
     * for a packet the stack has already checked.
     *
     * @throws IndexOutOfBoundsException if the range is not inside the segment
     * @throws IllegalArgumentException if {@code length} is below {@link #MIN_HEADER_LENGTH}
     */
    public static Ipv4Packet wrap(MemorySegment segment, long offset, long length) {
        Bytes.checkRange(segment, offset, length);
        Bytes.checkWrap("IPv4", length, MIN_HEADER_LENGTH);
        return new Ipv4Packet(segment, offset, length);
    }

    // --- the buffer -----------------------------------------------------------------------------

    /** The segment this view reads. */
    public MemorySegment segment() {
        return segment;
    }

    /** Where the header starts in {@link #segment()}. */
    public long offset() {
        return base;
    }

    /** The bytes the view covers: at least the total length for a checked view. */
    public long bufferLength() {
        return limit;
    }

    // --- fixed fields ---------------------------------------------------------------------------

    /** The version field: 4 for a checked view. */
    public int version() {
        return Bytes.u8(segment, base + VERSION_IHL) >>> 4;
    }

    /** The header length in bytes, IHL * 4, as the packet says (20..60 for a checked view). */
    public int headerLength() {
        return (Bytes.u8(segment, base + VERSION_IHL) & 0xF) * 4;
    }

    /** The type-of-service byte: DSCP and ECN together. */
    public int tos() {
        return Bytes.u8(segment, base + TOS);
    }

    /** Differentiated services code point (RFC 2474), 0..63. */
    public int dscp() {
        return tos() >>> 2;
    }

    /** Explicit congestion notification bits (RFC 3168), 0..3. */
    public int ecn() {
        return tos() & 3;
    }

    /** The total length field: header plus payload, in bytes. */
    public int totalLength() {
        return Bytes.u16(segment, base + TOTAL_LENGTH);
    }

    /** The identification field, 0..65535. */
    public int identification() {
        return Bytes.u16(segment, base + IDENTIFICATION);
    }

    /** The reserved flag, which RFC 791 says must be 0; exposed, not judged. */
    public boolean reservedFlag() {
        return (Bytes.u16(segment, base + FLAGS_FRAGMENT) & FLAG_RESERVED) != 0;
    }

    /** The don't-fragment flag. */
    public boolean dontFragment() {
        return (Bytes.u16(segment, base + FLAGS_FRAGMENT) & FLAG_DF) != 0;
    }

    /** The more-fragments flag. */
    public boolean moreFragments() {
        return (Bytes.u16(segment, base + FLAGS_FRAGMENT) & FLAG_MF) != 0;
    }

    /** The fragment offset in bytes (the field times 8), 0..65528. */
    public int fragmentOffset() {
        return (Bytes.u16(segment, base + FLAGS_FRAGMENT) & OFFSET_MASK) * 8;
    }

    /** Whether this packet is a fragment: more fragments set, or a non-zero offset. */
    public boolean isFragment() {
        return (Bytes.u16(segment, base + FLAGS_FRAGMENT) & (FLAG_MF | OFFSET_MASK)) != 0;
    }

    /** Time to live, 0..255. A packet with TTL 0 is a valid view; what to do with it is the IP
     *  layer's decision. */
    public int ttl() {
        return Bytes.u8(segment, base + TTL);
    }

    /** The protocol of the payload (see {@code PROTOCOL_*}). */
    public int protocol() {
        return Bytes.u8(segment, base + PROTOCOL);
    }

    /** The header checksum field as carried. */
    public int checksum() {
        return Bytes.u16(segment, base + CHECKSUM);
    }

    /** The source address, big-endian in an {@code int} (see {@link Ipv4Address}). */
    public int source() {
        return Bytes.i32(segment, base + SOURCE);
    }

    /** The destination address, big-endian in an {@code int}. */
    public int destination() {
        return Bytes.i32(segment, base + DESTINATION);
    }

    /** Whether the header checksum verifies over the header's {@link #headerEnd()} bytes. */
    public boolean verifyChecksum() {
        return Checksum.sum(segment, base, headerEnd()) == 0xFFFF;
    }

    // --- variable regions -----------------------------------------------------------------------

    /** Where the options end and the payload starts: the header length, clamped to the buffer. */
    public int headerEnd() {
        return (int) Math.min(Math.max(headerLength(), MIN_HEADER_LENGTH), limit);
    }

    /** The bytes of options (and their padding): header length minus 20. */
    public int optionsLength() {
        return headerEnd() - MIN_HEADER_LENGTH;
    }

    /** The options region as a slice of the segment (no copy). */
    public MemorySegment options() {
        return segment.asSlice(base + MIN_HEADER_LENGTH, optionsLength());
    }

    /**
     * The position (from the header's first byte) of the first option, or -1 if there is none
     * (no options, or the list starts with END). A returned position always holds a well-formed
     * option inside the header.
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

    /** The kind byte of the option at {@code cursor} (copied flag, class and number together). */
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

    /** Where the payload starts, from the header's first byte: {@link #headerEnd()}. */
    public int payloadOffset() {
        return headerEnd();
    }

    /** The payload's bytes: total length minus header length, clamped to the buffer. */
    public int payloadLength() {
        int start = headerEnd();
        return (int) Math.max(0, Math.min(totalLength(), limit) - start);
    }

    /** The payload as a slice of the segment (no copy). */
    public MemorySegment payload() {
        return segment.asSlice(base + payloadOffset(), payloadLength());
    }

    // --- writers --------------------------------------------------------------------------------

    /** Sets the type-of-service byte. @throws IllegalArgumentException outside 0..255 */
    public void setTos(int tos) {
        Bytes.put8(segment, base + TOS, Bytes.inRange("tos", tos, 0, 0xFF));
    }

    /** Sets the identification. @throws IllegalArgumentException outside 0..65535 */
    public void setIdentification(int identification) {
        Bytes.put16(segment, base + IDENTIFICATION,
                Bytes.inRange("identification", identification, 0, 0xFFFF));
    }

    /** Sets the TTL. @throws IllegalArgumentException outside 0..255 */
    public void setTtl(int ttl) {
        Bytes.put8(segment, base + TTL, Bytes.inRange("ttl", ttl, 0, 0xFF));
    }

    /** Sets the protocol. @throws IllegalArgumentException outside 0..255 */
    public void setProtocol(int protocol) {
        Bytes.put8(segment, base + PROTOCOL, Bytes.inRange("protocol", protocol, 0, 0xFF));
    }

    /** Sets the checksum field. @throws IllegalArgumentException outside 0..65535 */
    public void setChecksum(int checksum) {
        Bytes.put16(segment, base + CHECKSUM, Bytes.inRange("checksum", checksum, 0, 0xFFFF));
    }

    /** Sets the source address. */
    public void setSource(int address) {
        Bytes.put32(segment, base + SOURCE, address);
    }

    /** Sets the destination address. */
    public void setDestination(int address) {
        Bytes.put32(segment, base + DESTINATION, address);
    }

    /** Recomputes the header checksum over {@link #headerEnd()} bytes and stores it. */
    public void fillChecksum() {
        Bytes.put16(segment, base + CHECKSUM, 0);
        Bytes.put16(segment, base + CHECKSUM, Checksum.checksum(segment, base, headerEnd()));
    }

    /**
     * Decrements the TTL and updates the checksum incrementally (RFC 1624), as a router does when
     * it forwards: the TTL shares a 16-bit word with the protocol.
     *
     * @return the new TTL
     * @throws IllegalStateException if the TTL is already 0: the IP layer must drop such a packet
     *     (and may answer time exceeded), not forward it
     */
    public int decrementTtl() {
        int ttl = ttl();
        if (ttl == 0) {
            throw new IllegalStateException("TTL is 0: drop the packet, do not forward it");
        }
        int protocol = protocol();
        int oldWord = ttl << 8 | protocol;
        int newWord = (ttl - 1) << 8 | protocol;
        Bytes.put8(segment, base + TTL, ttl - 1);
        Bytes.put16(segment, base + CHECKSUM, Checksum.update16(checksum(), oldWord, newWord));
        return ttl - 1;
    }

    /** Writes version 4 and the IHL for {@code headerLength} bytes. For {@link Ipv4Repr#emit}. */
    void setVersionAndHeaderLength(int headerLength) {
        Bytes.put8(segment, base + VERSION_IHL, 0x40 | headerLength / 4);
    }

    void setTotalLength(int totalLength) {
        Bytes.put16(segment, base + TOTAL_LENGTH, totalLength);
    }

    void setFlagsAndFragmentOffset(boolean dontFragment, boolean moreFragments, int offsetBytes) {
        Bytes.put16(segment, base + FLAGS_FRAGMENT,
                (dontFragment ? FLAG_DF : 0) | (moreFragments ? FLAG_MF : 0) | offsetBytes / 8);
    }

    @Override
    public String toString() {
        return "Ipv4Packet[" + Ipv4Address.format(source()) + " > " + Ipv4Address.format(destination())
                + ", protocol " + protocol() + ", ttl " + ttl() + ", header " + headerLength()
                + ", total " + totalLength() + ", id " + identification()
                + (dontFragment() ? ", DF" : "") + (moreFragments() ? ", MF" : "")
                + (fragmentOffset() != 0 ? ", offset " + fragmentOffset() : "")
                + ", buffer " + limit + "]";
    }
}
