package dev.mpsafe.netstack.wire;

/**
 * An IPv4 header as a validated value: what {@link #parse} read from a checked
 * {@link Ipv4Packet}, or what {@link #emit} writes into one.
 *
 * <p>{@link #parse} adds the protocol's own rule to the layout rules of {@link Ipv4Packet#check}:
 * the header checksum must verify. It takes the fragment fields as they are, and the TTL too, even
 * 0: reassembly, forwarding and time exceeded are the IP layer's decisions. Options are read past
 * (they were validated by the check) but not kept: {@link #emit} writes a 20-byte header.
 *
 * <p>Thread safety: immutable.
 *
 * @param source source address (see {@link Ipv4Address})
 * @param destination destination address
 * @param protocol payload protocol, 0..255
 * @param ttl time to live, 0..255
 * @param tos type of service (DSCP and ECN), 0..255
 * @param identification 0..65535
 * @param dontFragment the DF flag
 * @param moreFragments the MF flag
 * @param fragmentOffset in bytes: a multiple of 8, 0..65528
 * @param payloadLength bytes after the header, 0..65515
 */
public record Ipv4Repr(int source, int destination, int protocol, int ttl, int tos, int identification,
        boolean dontFragment, boolean moreFragments, int fragmentOffset, int payloadLength)
        implements Outcome.OfIpv4Repr {

    /** The longest payload a 20-byte header can describe. */
    public static final int MAX_PAYLOAD_LENGTH = Ipv4Packet.MAX_TOTAL_LENGTH - Ipv4Packet.MIN_HEADER_LENGTH;

    /**
     * Validates every field.
     *
     * @throws IllegalArgumentException naming the first field out of range, its value and its limits
     */
    public Ipv4Repr {
        Bytes.inRange("protocol", protocol, 0, 0xFF);
        Bytes.inRange("ttl", ttl, 0, 0xFF);
        Bytes.inRange("tos", tos, 0, 0xFF);
        Bytes.inRange("identification", identification, 0, 0xFFFF);
        Bytes.inRange("fragment offset", fragmentOffset, 0, 0x1FFF * 8);
        if (fragmentOffset % 8 != 0) {
            throw new IllegalArgumentException("fragment offset " + fragmentOffset + " is not a multiple of 8");
        }
        Bytes.inRange("payload length", payloadLength, 0, MAX_PAYLOAD_LENGTH);
    }

    /** A header for an unfragmented packet with TOS 0 and identification 0. */
    public static Ipv4Repr of(int source, int destination, int protocol, int ttl, int payloadLength) {
        return new Ipv4Repr(source, destination, protocol, ttl, 0, 0, false, false, 0, payloadLength);
    }

    /**
     * Reads a checked packet's header.
     *
     * @return the repr, or {@link DropReason#IPV4_BAD_CHECKSUM}
     */
    public static Outcome.OfIpv4Repr parse(Ipv4Packet packet) {
        if (!packet.verifyChecksum()) {
            return DropReason.IPV4_BAD_CHECKSUM;
        }
        return new Ipv4Repr(packet.source(), packet.destination(), packet.protocol(), packet.ttl(),
                packet.tos(), packet.identification(), packet.dontFragment(), packet.moreFragments(),
                packet.fragmentOffset(), packet.payloadLength());
    }

    /** 20: emitted headers carry no options. */
    public int headerLength() {
        return Ipv4Packet.MIN_HEADER_LENGTH;
    }

    /** Header plus payload: the total length {@link #emit} writes. */
    public int bufferLength() {
        return headerLength() + payloadLength;
    }

    /**
     * Writes this header, checksum included, at the start of {@code packet}. The payload bytes are
     * not touched: put them at {@code headerLength()} before or after.
     *
     * @throws IllegalArgumentException if the packet's buffer is shorter than {@link #bufferLength()}
     */
    public void emit(Ipv4Packet packet) {
        Bytes.checkRoom("IPv4", packet.bufferLength(), bufferLength());
        packet.setVersionAndHeaderLength(headerLength());
        packet.setTos(tos);
        packet.setTotalLength(bufferLength());
        packet.setIdentification(identification);
        packet.setFlagsAndFragmentOffset(dontFragment, moreFragments, fragmentOffset);
        packet.setTtl(ttl);
        packet.setProtocol(protocol);
        packet.setSource(source);
        packet.setDestination(destination);
        packet.fillChecksum();
    }

    @Override
    public String toString() {
        return "Ipv4Repr[" + Ipv4Address.format(source) + " > " + Ipv4Address.format(destination)
                + ", protocol " + protocol + ", ttl " + ttl + ", tos " + tos + ", id " + identification
                + (dontFragment ? ", DF" : "") + (moreFragments ? ", MF" : "")
                + ", offset " + fragmentOffset + ", payload " + payloadLength + "]";
    }
}
