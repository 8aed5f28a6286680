package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.wire.Ipv4Address;

/**
 * One IPv4 route: packets whose destination falls in {@code network/prefixLength} leave through
 * interface {@code interfaceIndex}, to {@code nextHop} (or directly, when {@code nextHop} is 0:
 * an on-link route). Immutable; a route is replaced, never changed in place.
 *
 * @param network the network address, with every bit past the prefix zero
 * @param prefixLength 0 (the default route) to 32 (a host route)
 * @param nextHop the gateway's address, or 0 for an on-link route
 * @param interfaceIndex the outgoing interface, 0 or more. Interfaces are numbered from 1
 *     ({@code Ipv4Stack.attach}), so a route to 0 matches but leads nowhere: every packet it
 *     takes is an {@code IpDrop.NO_ROUTE} drop (an unreachable route)
 */
public record Route(int network, int prefixLength, int nextHop, int interfaceIndex) {

    /** The longest prefix: a host route. */
    public static final int MAX_PREFIX_LENGTH = 32;

    /**
     * @throws IllegalArgumentException if {@code prefixLength} is outside 0..32, {@code network} has
     *     a bit set past the prefix, or {@code interfaceIndex} is negative; the message names the
     *     value and the limit
     */
    public Route {
        if (prefixLength < 0 || prefixLength > MAX_PREFIX_LENGTH) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is outside 0.."
                    + MAX_PREFIX_LENGTH);
        }
        if ((network & ~mask(prefixLength)) != 0) {
            throw new IllegalArgumentException("network " + Ipv4Address.format(network) + "/" + prefixLength
                    + " has host bits set; the network of that prefix is "
                    + Ipv4Address.format(network & mask(prefixLength)));
        }
        if (interfaceIndex < 0) {
            throw new IllegalArgumentException("interface index " + interfaceIndex + " is negative");
        }
    }

    /** An on-link route: destinations in the prefix are reached directly on the interface. */
    public static Route onLink(int network, int prefixLength, int interfaceIndex) {
        return new Route(network, prefixLength, 0, interfaceIndex);
    }

    /** A route through a gateway. */
    public static Route via(int network, int prefixLength, int nextHop, int interfaceIndex) {
        return new Route(network, prefixLength, nextHop, interfaceIndex);
    }

    /** Whether {@code destination} falls in this route's prefix. */
    public boolean matches(int destination) {
        return (destination & mask(prefixLength)) == network;
    }

    /** Where a packet to {@code destination} goes next: the gateway, or the destination itself on-link. */
    public int nextHopFor(int destination) {
        return nextHop == 0 ? destination : nextHop;
    }

    /** The netmask of a prefix length: {@code mask(24) == 0xffffff00}; {@code mask(0) == 0}. */
    public static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (MAX_PREFIX_LENGTH - prefixLength);
    }

    @Override
    public String toString() {
        return Ipv4Address.format(network) + "/" + prefixLength
                + (nextHop == 0 ? " on-link" : " via " + Ipv4Address.format(nextHop)) + " if " + interfaceIndex;
    }
}
