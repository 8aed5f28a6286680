package dev.mpsafe.netstack.wire;

/**
 * Why untrusted bytes were refused: the outcome of a failed {@code check} (the bytes cannot be
 * viewed safely) or {@code parse} (they can, but break a rule of the protocol, such as a bad
 * checksum).
 *
 * <p>The stack counts drops per reason, so a reason is a constant, not an exception: it is returned
 * as an {@link Outcome}, costs no allocation and no stack trace, and {@link #ordinal()} indexes a
 * counter array. Each name starts with the protocol that refused the bytes.
 *
 * <p>Thread safety: immutable.
 */
public enum DropReason implements Outcome.OfIpv4Packet, Outcome.OfIpv4Repr,
        Outcome.OfIcmpv4Packet, Outcome.OfIcmpv4Repr,
        Outcome.OfUdpPacket, Outcome.OfUdpRepr,
        Outcome.OfTcpPacket, Outcome.OfTcpRepr {

    /** Fewer than the 20 bytes of a minimal IPv4 header. */
    IPV4_TRUNCATED,
    /** The version field is not 4. */
    IPV4_BAD_VERSION,
    /** IHL below 5: a header shorter than its own fixed part. */
    IPV4_HEADER_TOO_SHORT,
    /** IHL * 4 is more than the buffer holds. */
    IPV4_HEADER_PAST_BUFFER,
    /** Total length below the header length. */
    IPV4_TOTAL_LENGTH_BELOW_HEADER,
    /** Total length above the buffer (the packet was truncated, or lies about its size). */
    IPV4_TOTAL_LENGTH_PAST_BUFFER,
    /** An option with a length below 2, or one that runs past the header. */
    IPV4_BAD_OPTION,
    /** The header checksum does not verify. */
    IPV4_BAD_CHECKSUM,

    /** Fewer than the 8 bytes of an ICMP header. */
    ICMP_TRUNCATED,
    /** More than {@link Icmpv4Packet#MAX_LENGTH} bytes: longer than any IPv4 payload. */
    ICMP_TOO_LONG,
    /** The checksum over the ICMP message does not verify. */
    ICMP_BAD_CHECKSUM,
    /** A type this stack does not parse (only echo, destination unreachable, time exceeded). */
    ICMP_UNSUPPORTED_TYPE,
    /** A code the type does not define (echo: 0; unreachable: 0..15; time exceeded: 0..1). */
    ICMP_BAD_CODE,
    /** An error message that does not quote an IPv4 header and 8 bytes of its payload (RFC 792). */
    ICMP_BAD_ERROR_DATA,

    /** Fewer than the 8 bytes of a UDP header. */
    UDP_TRUNCATED,
    /** The UDP length field is below 8, the header's own size. */
    UDP_LENGTH_BELOW_HEADER,
    /** The UDP length field is above the bytes the IP payload holds. */
    UDP_LENGTH_PAST_BUFFER,
    /** A non-zero UDP checksum that does not verify. */
    UDP_BAD_CHECKSUM,
    /** Destination port 0, which is reserved and names no socket. */
    UDP_ZERO_PORT,

    /** Fewer than the 20 bytes of a minimal TCP header. */
    TCP_TRUNCATED,
    /** More than {@link TcpPacket#MAX_LENGTH} bytes: longer than any IPv4 payload. */
    TCP_TOO_LONG,
    /** Data offset below 5: a header shorter than its own fixed part. */
    TCP_HEADER_TOO_SHORT,
    /** Data offset * 4 is more than the segment holds. */
    TCP_HEADER_PAST_BUFFER,
    /** An option with a length below 2, one that runs past the header, or a known option of the
     *  wrong length. */
    TCP_BAD_OPTION,
    /** The TCP checksum does not verify. */
    TCP_BAD_CHECKSUM,
    /** Source or destination port 0. */
    TCP_ZERO_PORT
}
