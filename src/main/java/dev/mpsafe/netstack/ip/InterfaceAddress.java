package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.wire.Ipv4Address;

/**
 * An IPv4 address assigned to an interface, with the length of its on-link prefix
 * ({@code 192.0.2.1/24}).
 *
 * <p>Thread safety: immutable.
 *
 * @param address the address; a unicast one (not 0.0.0.0, not 255.255.255.255, not multicast or
 *     class E)
 * @param prefixLength 1..32
 */
public record InterfaceAddress(int address, int prefixLength) {

    /**
     * @throws IllegalArgumentException naming the value and the limit when the prefix length is
     *     outside 1..32 or the address is not unicast
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
