package dev.mpsafe.netstack.wire;

/**
 * A TCP header as a validated value, minimal for now: the fixed fields and the options a
 * connection negotiates on its SYN (MSS, window scale, SACK permitted). The data stays in the
 * buffer; the repr records its length.
 *
 * <p>{@link #parse} verifies the checksum against the IPv4 addresses, refuses port 0 on either
 * side, and checks the length of each option it knows; it skips options it does not know
 * (timestamps and SACK blocks among them, for now). A window scale above 14 is read as 14, as
 * RFC 7323 section 2.3 says. An MSS of 0 is read as no MSS. Which control-bit combinations are
 * acceptable is the TCP layer's decision (RFC 9293, RFC 5961): the flags are taken as they are.
 *
 * <p>{@link #emit} writes the options in the order MSS, window scale, SACK permitted, each padded
 * with leading no-ops to a 4-byte word, so the header is 20, 24, 28 or 32 bytes.
 *
 * <p>Thread safety: immutable.
 *
 * @param sourcePort 1..65535
 * @param destinationPort 1..65535
 * @param sequenceNumber any 32-bit value
 * @param acknowledgmentNumber any 32-bit value
 * @param flags the eight control bits, 0..255 (see {@link TcpPacket#SYN} and the others)
 * @param window the unscaled window field, 0..65535
 * @param urgentPointer 0..65535
 * @param maxSegmentSize 1..65535, or {@link #NO_MSS}
 * @param windowScale 0..14, or {@link #NO_WINDOW_SCALE}
 * @param sackPermitted whether the SACK-permitted option is present
 * @param payloadLength bytes of data, 0..{@link #MAX_PAYLOAD_LENGTH}
 */
public record TcpRepr(int sourcePort, int destinationPort, int sequenceNumber, int acknowledgmentNumber,
        int flags, int window, int urgentPointer, int maxSegmentSize, int windowScale,
        boolean sackPermitted, int payloadLength) implements Outcome.OfTcpRepr {

    /** {@link #maxSegmentSize()} when the segment carries no MSS option. */
    public static final int NO_MSS = 0;
    /** {@link #windowScale()} when the segment carries no window-scale option. */
    public static final int NO_WINDOW_SCALE = -1;
    /** The largest shift RFC 7323 allows. */
    public static final int MAX_WINDOW_SCALE = 14;
    /** The most data a segment with a 20-byte header can carry in IPv4. */
    public static final int MAX_PAYLOAD_LENGTH = TcpPacket.MAX_LENGTH - TcpPacket.MIN_HEADER_LENGTH;

    /** @throws IllegalArgumentException naming the first field out of range */
    public TcpRepr {
        Bytes.inRange("source port", sourcePort, 1, 0xFFFF);
        Bytes.inRange("destination port", destinationPort, 1, 0xFFFF);
        Bytes.inRange("flags", flags, 0, 0xFF);
        Bytes.inRange("window", window, 0, 0xFFFF);
        Bytes.inRange("urgent pointer", urgentPointer, 0, 0xFFFF);
        Bytes.inRange("maximum segment size", maxSegmentSize, NO_MSS, 0xFFFF);
        Bytes.inRange("window scale", windowScale, NO_WINDOW_SCALE, MAX_WINDOW_SCALE);
        Bytes.inRange("payload length", payloadLength, 0, MAX_PAYLOAD_LENGTH);
    }

    /**
     * Reads a checked segment that travelled from {@code source} to {@code destination}.
     *
     * @return the repr, or {@link DropReason#TCP_BAD_CHECKSUM}, {@link DropReason#TCP_ZERO_PORT}
     *     or {@link DropReason#TCP_BAD_OPTION}
     */
    public static Outcome.OfTcpRepr parse(TcpPacket packet, int source, int destination) {
        if (!packet.verifyChecksum(source, destination)) {
            return DropReason.TCP_BAD_CHECKSUM;
        }
        if (packet.sourcePort() == 0 || packet.destinationPort() == 0) {
            return DropReason.TCP_ZERO_PORT;
        }
        int mss = NO_MSS;
        int scale = NO_WINDOW_SCALE;
        boolean sack = false;
        for (int at = packet.firstOption(); at >= 0; at = packet.nextOption(at)) {
            int length = packet.optionLength(at);
            switch (packet.optionKind(at)) {
                case TcpPacket.OPTION_MSS -> {
                    if (length != 4) {
                        return DropReason.TCP_BAD_OPTION;
                    }
                    mss = Bytes.u16(packet.segment(), packet.offset() + at + 2);
                }
                case TcpPacket.OPTION_WINDOW_SCALE -> {
                    if (length != 3) {
                        return DropReason.TCP_BAD_OPTION;
                    }
                    scale = Math.min(Bytes.u8(packet.segment(), packet.offset() + at + 2), MAX_WINDOW_SCALE);
                }
                case TcpPacket.OPTION_SACK_PERMITTED -> {
                    if (length != 2) {
                        return DropReason.TCP_BAD_OPTION;
                    }
                    sack = true;
                }
                default -> { } // NOP, and options this repr does not keep
            }
        }
        return new TcpRepr(packet.sourcePort(), packet.destinationPort(), packet.sequenceNumber(),
                packet.acknowledgmentNumber(), packet.flags(), packet.window(), packet.urgentPointer(),
                mss, scale, sack, packet.payloadLength());
    }

    /** 20 plus 4 for each option present. */
    public int headerLength() {
        return TcpPacket.MIN_HEADER_LENGTH + (maxSegmentSize != NO_MSS ? 4 : 0)
                + (windowScale != NO_WINDOW_SCALE ? 4 : 0) + (sackPermitted ? 4 : 0);
    }

    /** Header plus data: the whole segment. */
    public int bufferLength() {
        return headerLength() + payloadLength;
    }

    /**
     * Writes the header and options at the start of {@code packet}, then the checksum over the
     * pseudo header and the whole segment: the {@link #payloadLength()} bytes of data after the
     * header must be in place already.
     *
     * @throws IllegalArgumentException if the view does not cover exactly {@link #bufferLength()}
     *     bytes (TCP has no length field, so the view's extent is the segment's)
     */
    public void emit(TcpPacket packet, int source, int destination) {
        if (packet.bufferLength() != bufferLength()) {
            throw new IllegalArgumentException("TCP view of " + packet.bufferLength()
                    + " bytes must cover exactly the " + bufferLength() + " bytes this repr emits");
        }
        packet.setSourcePort(sourcePort);
        packet.setDestinationPort(destinationPort);
        packet.setSequenceNumber(sequenceNumber);
        packet.setAcknowledgmentNumber(acknowledgmentNumber);
        packet.setHeaderLength(headerLength());
        packet.setFlags(flags);
        packet.setWindow(window);
        packet.setUrgentPointer(urgentPointer);
        int at = TcpPacket.MIN_HEADER_LENGTH;
        if (maxSegmentSize != NO_MSS) {
            at = putOption(packet, at, TcpPacket.OPTION_MSS, 4, maxSegmentSize >>> 8, maxSegmentSize & 0xFF);
        }
        if (windowScale != NO_WINDOW_SCALE) {
            at = putOption(packet, at, TcpPacket.OPTION_NOP, TcpPacket.OPTION_WINDOW_SCALE, 3, windowScale);
        }
        if (sackPermitted) {
            putOption(packet, at, TcpPacket.OPTION_NOP, TcpPacket.OPTION_NOP, TcpPacket.OPTION_SACK_PERMITTED, 2);
        }
        packet.fillChecksum(source, destination);
    }

    private static int putOption(TcpPacket packet, int at, int b0, int b1, int b2, int b3) {
        packet.putOptionByte(at, b0);
        packet.putOptionByte(at + 1, b1);
        packet.putOptionByte(at + 2, b2);
        packet.putOptionByte(at + 3, b3);
        return at + 4;
    }

    @Override
    public String toString() {
        return "TcpRepr[" + sourcePort + " > " + destinationPort
                + ", seq " + Integer.toUnsignedString(sequenceNumber)
                + ", ack " + Integer.toUnsignedString(acknowledgmentNumber)
                + ", flags 0x" + Integer.toHexString(flags) + ", window " + window + ", urgent " + urgentPointer
                + (maxSegmentSize != NO_MSS ? ", mss " + maxSegmentSize : "")
                + (windowScale != NO_WINDOW_SCALE ? ", wscale " + windowScale : "")
                + (sackPermitted ? ", sackOK" : "") + ", payload " + payloadLength + "]";
    }
}
