package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.wire.Ipv4Address;

/**
 * An IPv4 address assigned to an interface, with the length of its on-link prefix
 * ({@code 192.0.2.1/24}).
 *
 * <p>Thread safety: immutable.
 *
 * @param address the address; a unicast one (not 0.0.0.0, not 255.255.255.255, not multicast or
 *     class E), and for a prefix of 30 bits or fewer neither the prefix's network address nor its
 *     directed broadcast
 * @param prefixLength 1..32
 */
public record InterfaceAddress(int address, int prefixLength) {

    /**
     * @throws IllegalArgumentException naming the value and the limit when the prefix length is
     *     outside 1..32, the address is not unicast, or, for a prefix of 30 bits or fewer, the
     *     address is its prefix's network address (host bits all zero) or directed broadcast (host
     *     bits all one): neither names a host (RFC 1122 3.2.1.3; /31 and /32 have no such
     *     addresses, RFC 3021)
     */
    public InterfaceAddress {
        if (prefixLength < 1 || prefixLength > Route.MAX_PREFIX_LENGTH) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " outside 1.."
                    + Route.MAX_PREFIX_LENGTH);
        }
        if (!Ipv4Stack.isUnicast(address)) {
            throw new IllegalArgumentException("address " + Ipv4Address.format(address)
                    + " is not unicast (0.0.0.0, 255.255.255.255, 224.0.0.0/4 and 240.0.0.0/4 are refused)");
        }
        if (prefixLength <= 30) {
            final int mask = Route.mask(prefixLength);
            final String prefix = Ipv4Address.format(address & mask) + "/" + prefixLength;
            if ((address & ~mask) == 0) {
                throw new IllegalArgumentException("address " + Ipv4Address.format(address)
                        + " is the network address of its prefix " + prefix
                        + " (host bits all zero); a host address needs host bits neither all zero nor all one");
            }
            if ((address | mask) == -1) {
                throw new IllegalArgumentException("address " + Ipv4Address.format(address)
                        + " is the directed broadcast address of its prefix " + prefix
                        + " (host bits all one); a host address needs host bits neither all zero nor all one");
            }
        }
    }

    /** The network: the address with its host bits cleared. */
    public int network() {
        return address & Route.mask(prefixLength);
    }

    /**
     * The directed broadcast address of the prefix, or 0 when it has none (/31 and /32, RFC 3021).
     */
    public int broadcast() {
        return prefixLength >= 31 ? 0 : address | ~Route.mask(prefixLength);
    }

    @Override
    public String toString() {
        return Ipv4Address.format(address) + "/" + prefixLength;
    }
}
