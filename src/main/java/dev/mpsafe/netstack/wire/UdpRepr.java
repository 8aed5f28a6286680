package dev.mpsafe.netstack.wire;

/**
 * A UDP header as a validated value. The data stays in the buffer; the repr records its length.
 *
 * <p>{@link #parse} verifies the checksum against the IPv4 addresses (a zero checksum means none
 * and is accepted, as RFC 768 allows over IPv4) and refuses destination port 0, which no socket
 * can be bound to. {@link #emit} writes the header and always computes the checksum.
 *
 * <p>Thread safety: immutable.
 *
 * @param sourcePort 0..65535 (0: the sender expects no reply)
 * @param destinationPort 1..65535
 * @param payloadLength bytes of data, 0..{@link #MAX_PAYLOAD_LENGTH}
 */
public record UdpRepr(int sourcePort, int destinationPort, int payloadLength) implements Outcome.OfUdpRepr {

    /** The most data the 16-bit length field can describe (IPv4 itself carries 20 bytes less). */
    public static final int MAX_PAYLOAD_LENGTH = 0xFFFF - UdpPacket.HEADER_LENGTH;

    /** @throws IllegalArgumentException naming a field out of range */
    public UdpRepr {
        Bytes.inRange("source port", sourcePort, 0, 0xFFFF);
        Bytes.inRange("destination port", destinationPort, 1, 0xFFFF);
        Bytes.inRange("payload length", payloadLength, 0, MAX_PAYLOAD_LENGTH);
    }

    /**
     * Reads a checked datagram that travelled from {@code source} to {@code destination}.
     *
     * @return the repr, {@link DropReason#UDP_BAD_CHECKSUM} or {@link DropReason#UDP_ZERO_PORT}
     */
    public static Outcome.OfUdpRepr parse(UdpPacket packet, int source, int destination) {
        if (!packet.verifyChecksum(source, destination)) {
            return DropReason.UDP_BAD_CHECKSUM;
        }
        if (packet.destinationPort() == 0) {
            return DropReason.UDP_ZERO_PORT;
        }
        return new UdpRepr(packet.sourcePort(), packet.destinationPort(), packet.payloadLength());
    }

    /** 8. */
    public int headerLength() {
        return UdpPacket.HEADER_LENGTH;
    }

    /** Header plus data: the length field {@link #emit} writes. */
    public int bufferLength() {
        return headerLength() + payloadLength;
    }

    /**
     * Writes the header at the start of {@code packet} and the checksum over the pseudo header,
     * the header and the {@link #payloadLength()} bytes of data that follow it, which must be in
     * place already.
     *
     * @throws IllegalArgumentException if the packet's buffer is shorter than {@link #bufferLength()}
     */
    public void emit(UdpPacket packet, int source, int destination) {
        Bytes.checkRoom("UDP", packet.bufferLength(), bufferLength());
        packet.setSourcePort(sourcePort);
        packet.setDestinationPort(destinationPort);
        packet.setLength(bufferLength());
        packet.fillChecksum(source, destination);
    }
}
