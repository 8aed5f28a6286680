package dev.mpsafe.netstack.wire;

/**
 * An ICMPv4 message as a validated value: the messages the IP layer answers or sends (echo, and
 * the errors RFC 1122 asks for: destination unreachable and time exceeded).
 *
 * <p>A repr describes the header; the data stays in the buffer (zero copy) and a repr records only
 * its length. {@link #emit} writes the header and the checksum over header and data, so put the
 * data in place first (an echo reply copies the request's data; an error message quotes the
 * offending IPv4 header and the start of its payload).
 *
 * <p>{@link #parse} verifies the checksum, accepts the types and codes above, and for an error
 * message requires that the data quote an IPv4 header (version 4, IHL of at least 5) followed by 8
 * bytes of its payload (RFC 792), so an upper layer can find the ports in it. Any other type is
 * {@link DropReason#ICMP_UNSUPPORTED_TYPE}.
 *
 * <pre>{@code
 * switch (Icmpv4Repr.parse(icmp)) {
 *     case Icmpv4Repr.EchoRequest echo -> reply(echo);
 *     case Icmpv4Repr r -> deliverError(r);
 *     case DropReason why -> drops.increment(why);
 * }
 * }</pre>
 *
 * <p>Thread safety: immutable.
 */
public sealed interface Icmpv4Repr extends Outcome.OfIcmpv4Repr {

    /** The type field. */
    int type();

    /** The code field. */
    int code();

    /** The bytes of data after the 8-byte header. */
    int dataLength();

    /** The rest-of-header word this message carries. */
    int restOfHeader();

    /** 8. */
    default int headerLength() {
        return Icmpv4Packet.HEADER_LENGTH;
    }

    /** Header plus data: the message length. */
    default int bufferLength() {
        return headerLength() + dataLength();
    }

    /**
     * Writes the header and the checksum over {@link #bufferLength()} bytes of {@code packet}.
     *
     * @throws IllegalArgumentException if the packet's buffer is shorter than {@link #bufferLength()}
     */
    default void emit(Icmpv4Packet packet) {
        Bytes.checkRoom("ICMPv4", packet.bufferLength(), bufferLength());
        packet.setType(type());
        packet.setCode(code());
        packet.setRestOfHeader(restOfHeader());
        packet.fillChecksum(bufferLength());
    }

    /** The most data one message can carry inside an IPv4 packet with a 20-byte header. */
    int MAX_DATA_LENGTH = Ipv4Repr.MAX_PAYLOAD_LENGTH - Icmpv4Packet.HEADER_LENGTH;

    /**
     * Reads a checked message.
     *
     * @return one of the records below, or a {@code DropReason} named {@code ICMP_*}
     */
    static Outcome.OfIcmpv4Repr parse(Icmpv4Packet packet) {
        if (!packet.verifyChecksum()) {
            return DropReason.ICMP_BAD_CHECKSUM;
        }
        int dataLength = packet.dataLength();
        int code = packet.code();
        switch (packet.type()) {
            case Icmpv4Packet.TYPE_ECHO_REQUEST, Icmpv4Packet.TYPE_ECHO_REPLY -> {
                if (code != 0) {
                    return DropReason.ICMP_BAD_CODE;
                }
                return packet.type() == Icmpv4Packet.TYPE_ECHO_REQUEST
                        ? new EchoRequest(packet.echoIdentifier(), packet.echoSequence(), dataLength)
                        : new EchoReply(packet.echoIdentifier(), packet.echoSequence(), dataLength);
            }
            case Icmpv4Packet.TYPE_DESTINATION_UNREACHABLE -> {
                if (code > Icmpv4Packet.UNREACHABLE_MAX_CODE) {
                    return DropReason.ICMP_BAD_CODE;
                }
                if (!quotesIpv4Header(packet)) {
                    return DropReason.ICMP_BAD_ERROR_DATA;
                }
                int mtu = code == Icmpv4Packet.UNREACHABLE_FRAGMENTATION_NEEDED ? packet.nextHopMtu() : 0;
                return new DestinationUnreachable(code, mtu, dataLength);
            }
            case Icmpv4Packet.TYPE_TIME_EXCEEDED -> {
                if (code > Icmpv4Packet.TIME_EXCEEDED_REASSEMBLY) {
                    return DropReason.ICMP_BAD_CODE;
                }
                if (!quotesIpv4Header(packet)) {
                    return DropReason.ICMP_BAD_ERROR_DATA;
                }
                return new TimeExceeded(code, dataLength);
            }
            default -> {
                return DropReason.ICMP_UNSUPPORTED_TYPE;
            }
        }
    }

    /** Whether the data starts with an IPv4 header followed by at least 8 bytes. */
    private static boolean quotesIpv4Header(Icmpv4Packet packet) {
        int dataLength = packet.dataLength();
        if (dataLength < Ipv4Packet.MIN_HEADER_LENGTH + 8) {
            return false;
        }
        int vihl = Bytes.u8(packet.segment(), packet.offset() + Icmpv4Packet.HEADER_LENGTH);
        int headerLength = (vihl & 0xF) * 4;
        return vihl >>> 4 == 4 && headerLength >= Ipv4Packet.MIN_HEADER_LENGTH
                && headerLength + 8 <= dataLength;
    }

    /**
     * Echo request (type 8, code 0).
     *
     * @param identifier 0..65535
     * @param sequence 0..65535
     * @param dataLength 0..{@link #MAX_DATA_LENGTH}
     */
    record EchoRequest(int identifier, int sequence, int dataLength) implements Icmpv4Repr {
        /** @throws IllegalArgumentException naming a field out of range */
        public EchoRequest {
            Bytes.inRange("identifier", identifier, 0, 0xFFFF);
            Bytes.inRange("sequence", sequence, 0, 0xFFFF);
            Bytes.inRange("data length", dataLength, 0, MAX_DATA_LENGTH);
        }

        @Override
        public int type() {
            return Icmpv4Packet.TYPE_ECHO_REQUEST;
        }

        @Override
        public int code() {
            return 0;
        }

        @Override
        public int restOfHeader() {
            return identifier << 16 | sequence;
        }

        /** The reply to this request: same identifier, sequence and data length. */
        public EchoReply reply() {
            return new EchoReply(identifier, sequence, dataLength);
        }
    }

    /**
     * Echo reply (type 0, code 0).
     *
     * @param identifier 0..65535
     * @param sequence 0..65535
     * @param dataLength 0..{@link #MAX_DATA_LENGTH}
     */
    record EchoReply(int identifier, int sequence, int dataLength) implements Icmpv4Repr {
        /** @throws IllegalArgumentException naming a field out of range */
        public EchoReply {
            Bytes.inRange("identifier", identifier, 0, 0xFFFF);
            Bytes.inRange("sequence", sequence, 0, 0xFFFF);
            Bytes.inRange("data length", dataLength, 0, MAX_DATA_LENGTH);
        }

        @Override
        public int type() {
            return Icmpv4Packet.TYPE_ECHO_REPLY;
        }

        @Override
        public int code() {
            return 0;
        }

        @Override
        public int restOfHeader() {
            return identifier << 16 | sequence;
        }
    }

    /**
     * Destination unreachable (type 3).
     *
     * @param code 0..15 (see {@code UNREACHABLE_*} in {@link Icmpv4Packet})
     * @param nextHopMtu for code 4 (RFC 1191), 0..65535; must be 0 for every other code
     * @param dataLength the quoted IPv4 header and payload, 28..{@link #MAX_DATA_LENGTH}
     */
    record DestinationUnreachable(int code, int nextHopMtu, int dataLength) implements Icmpv4Repr {
        /** @throws IllegalArgumentException naming a field out of range */
        public DestinationUnreachable {
            Bytes.inRange("code", code, 0, Icmpv4Packet.UNREACHABLE_MAX_CODE);
            Bytes.inRange("next-hop MTU", nextHopMtu, 0,
                    code == Icmpv4Packet.UNREACHABLE_FRAGMENTATION_NEEDED ? 0xFFFF : 0);
            Bytes.inRange("data length", dataLength, Ipv4Packet.MIN_HEADER_LENGTH + 8, MAX_DATA_LENGTH);
        }

        @Override
        public int type() {
            return Icmpv4Packet.TYPE_DESTINATION_UNREACHABLE;
        }

        @Override
        public int restOfHeader() {
            return nextHopMtu;
        }
    }

    /**
     * Time exceeded (type 11).
     *
     * @param code 0 (TTL) or 1 (reassembly)
     * @param dataLength the quoted IPv4 header and payload, 28..{@link #MAX_DATA_LENGTH}
     */
    record TimeExceeded(int code, int dataLength) implements Icmpv4Repr {
        /** @throws IllegalArgumentException naming a field out of range */
        public TimeExceeded {
            Bytes.inRange("code", code, 0, Icmpv4Packet.TIME_EXCEEDED_REASSEMBLY);
            Bytes.inRange("data length", dataLength, Ipv4Packet.MIN_HEADER_LENGTH + 8, MAX_DATA_LENGTH);
        }

        @Override
        public int type() {
            return Icmpv4Packet.TYPE_TIME_EXCEEDED;
        }

        @Override
        public int restOfHeader() {
            return 0;
        }
    }
}
