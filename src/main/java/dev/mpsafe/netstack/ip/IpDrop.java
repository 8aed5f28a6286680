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
    /*
     * Martian sources: addresses no real sender on a link can have (RFC 1122 3.2.1.3, which says to
     * discard them silently; RFC 1812 5.3.7 lists them for routers). The IP layer's first check,
     * after the wire layer's (header, checksum), before the destination is looked at; never
     * answered. Ipv4Counters.martianSources() sums the four.
     */

    /**
     * Martian: the source is 255.255.255.255, a directed broadcast of one of our prefixes, multicast
     * (224/4) or class E (240/4): no datagram is ever sent from a broadcast or group address.
     */
    MARTIAN_BROADCAST_OR_MULTICAST(true),
    /**
     * Martian: the source is in 0/8 ("this network"). Only 0.0.0.0 itself is accepted, and only
     * towards 255.255.255.255: a host that does not know its address yet (a BOOTP or DHCP client)
     * sends so (RFC 1122 3.2.1.3 (a)). From 0.0.0.0 to anything else, or from any other 0/8
     * address, this reason.
     */
    MARTIAN_THIS_NETWORK(true),
    /** Martian: the source is in 127/8 and the datagram came in on an interface that is not loopback. */
    MARTIAN_LOOPBACK(true),
    /**
     * Martian: the source is one of this stack's own addresses and the datagram came in on an
     * interface that is not loopback (a spoof, or our own packet looped back by the link).
     */
    MARTIAN_OURS(true),
    /**
     * Martian destination: the destination is in 127/8 and the datagram came in on an interface
     * that is not loopback. RFC 1122 3.2.1.3 (g): a loopback address must never appear outside a
     * host, so no peer can legitimately send to one (Linux drops it as a martian destination).
     * Checked right after the source, before the destination is looked up among ours, so a
     * socket bound to 127.0.0.1 is never reachable from the network; never answered.
     */
    MARTIAN_DESTINATION(true),
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
     * An ICMP error (destination unreachable, time exceeded) sent to a broadcast or multicast
     * address: RFC 1122 3.2.2 forbids sending one there, so it is forged or broken, and is
     * neither reported to a socket nor otherwise used.
     */
    ICMP_ERROR_TO_BROADCAST(true),
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
    /**
     * The source or the destination is in 127/8 and the route leaves by an interface that is not
     * loopback: RFC 1122 3.2.1.3 (g) keeps loopback addresses inside the host, so such a packet
     * must not reach a wire (an echo request that came in on loopback from one of our other
     * addresses would otherwise be answered from 127.0.0.1 out of that address's interface).
     */
    LOOPBACK_OFF_HOST(false),
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
