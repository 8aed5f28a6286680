package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.wire.UdpPacket;

/**
 * Where the IP layer hands UDP: the transport registered with {@link Ipv4Stack#attachUdp}. The IP
 * layer has checked the IPv4 header, the UDP header's structure (length at least 8 and within the
 * IP payload) and that the destination port is not 0; the transport checks the checksum and
 * demultiplexes. The IP layer counts what the verdict says and answers {@link Verdict#NO_PORT}
 * with ICMP port unreachable.
 *
 * <p>Calls come from input threads, any number at once, under the stack's {@link DispatchModel}.
 */
public interface UdpInput {

    /** What became of a datagram. */
    enum Verdict {
        /** A socket took the buffer; the IP layer must not touch it again. */
        TAKEN,
        /** The checksum does not verify; the IP layer frees the buffer. */
        BAD_CHECKSUM,
        /** The socket's receive queue is full; the IP layer frees the buffer. */
        QUEUE_FULL,
        /** No socket has the port (the checksum verified); the IP layer answers and frees. */
        NO_PORT
    }

    /**
     * A datagram for us. {@code packet}'s data window starts at the IPv4 header ({@code ipHeaderLength}
     * bytes, checked) and ends with the UDP datagram (trimmed to the UDP length field). The
     * transport takes the buffer only by returning {@link Verdict#TAKEN}; one that throws must not
     * have taken it (nor freed it): the IP layer frees it and lets the exception propagate.
     *
     * @param source the IPv4 source address
     * @param destination the IPv4 destination address (ours, or a broadcast address)
     * @param udp a checked view of the UDP header and data inside {@code packet}
     */
    Verdict input(int source, int destination, int ipHeaderLength, UdpPacket udp, PacketBuffer packet);

    /**
     * An ICMP destination unreachable quoting a datagram we sent from {@code localAddress:localPort}
     * to {@code remoteAddress:remotePort}; {@code code} is the ICMP code (3 is port unreachable).
     */
    void unreachable(int code, int localAddress, int localPort, int remoteAddress, int remotePort);
}
