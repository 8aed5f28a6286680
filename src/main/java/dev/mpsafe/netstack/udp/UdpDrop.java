package dev.mpsafe.netstack.udp;

/**
 * Why a UDP datagram that reached the UDP layer was not delivered to a socket. {@link #ordinal()}
 * indexes the counter arrays of {@link UdpCounters} and {@link SocketCounters}.
 *
 * <p>Thread safety: immutable.
 */
public enum UdpDrop {
    /** No socket has the destination port (answered with ICMP port unreachable, rate-limited). Stack only. */
    NO_PORT,
    /** The socket's receive queue was full: dropped, never waited for. */
    QUEUE_FULL,
    /** A non-zero checksum that does not verify. */
    BAD_CHECKSUM,
    /**
     * The UDP length field below 8, above the IP payload, or fewer than 8 bytes at all. Stack only:
     * the header cannot be trusted to name a socket. Counted by the IP layer before demultiplexing
     * (its {@code UDP_TRUNCATED}, {@code UDP_LENGTH_BELOW_HEADER} and {@code UDP_LENGTH_PAST_BUFFER}).
     */
    BAD_LENGTH,
    /** Destination port 0, which no socket can bind. Stack only. */
    ZERO_PORT
}
