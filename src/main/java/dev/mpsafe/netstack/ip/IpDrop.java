package dev.mpsafe.netstack.ip;

/**
 * Why the IP layer dropped a packet the wire layer had accepted (the wire layer's own refusals are
 * {@link dev.mpsafe.netstack.wire.DropReason}s). Input reasons end a received packet; output
 * reasons end a packet the stack was sending (a reply, an ICMP error, or a caller's
 * {@link Ipv4Stack#output}).
 *
 * <p>{@link #ordinal()} indexes a counter array ({@link Ipv4Counters}).
 *
 * <p>Thread safety: immutable.
 */
public enum IpDrop {

    // --- input ----------------------------------------------------------------------------------

    /** The destination is none of our addresses (this stack is a host: it does not forward). */
    NOT_FOR_US(true),
    /** The source is a broadcast, multicast or class E address (RFC 1122 3.2.1.3: silently discard). */
    BAD_SOURCE(true),
    /** A fragment (MF set or a non-zero offset): not reassembled. */
    FRAGMENT(true),
    /** For us, but a protocol this stack does not implement (TCP included, for now). */
    PROTOCOL_UNREACHABLE(true),
    /** UDP for us whose checksum verifies, but no socket has its port (or no UDP transport is attached). */
    PORT_UNREACHABLE(true),
    /** UDP for a socket whose receive queue is full: dropped, never waited for. */
    UDP_QUEUE_FULL(true),
    /** An echo request to a broadcast address (RFC 1122 3.2.2.6 allows a host to ignore it). */
    ECHO_TO_BROADCAST(true),
    /**
     * A valid ICMP message nothing consumes: an echo reply, time exceeded, or a destination
     * unreachable that does not quote UDP (or arrives with no UDP transport attached).
     */
    ICMP_UNHANDLED(true),

    // --- output ---------------------------------------------------------------------------------

    /** No route to the destination, or the route names an interface that is not attached. */
    NO_ROUTE(false),
    /** The outgoing interface has no address to send from. */
    NO_SOURCE_ADDRESS(false),
    /** Longer than the outgoing device's MTU: output does not fragment. */
    MTU_EXCEEDED(false),
    /** No packet buffer free for an ICMP error (the pool never waits on the input path). */
    NO_BUFFER(false),
    /** The device refused the packet (its own counters say why: queue full, down). */
    DEVICE_REFUSED(false);

    private final boolean input;

    IpDrop(boolean input) {
        this.input = input;
    }

    /** Whether the reason ends a received packet (true) or one being sent (false). */
    public boolean isInput() {
        return input;
    }
}
