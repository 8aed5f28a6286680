package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.device.Device;
import java.util.List;
import java.util.function.Consumer;

/**
 * A network interface of an {@link Ipv4Stack} (BSD's {@code ifnet} with its {@code in_ifaddr}
 * list): an index, the {@link Device} that moves its packets, and its IPv4 addresses.
 *
 * <p>An interface is an immutable snapshot: {@link Ipv4Stack#addAddress} publishes a new one with
 * the address added, so a reader holds a consistent interface without a lock. Snapshots are plain
 * Java objects reclaimed by the garbage collector; no grace period is needed for them (only pooled
 * memory, such as packet buffers, needs one).
 *
 * <p>Thread safety: immutable.
 */
public final class Interface {

    private final int index;
    private final Device device;
    private final List<InterfaceAddress> addresses;
    /** {@code p -> stack.input(index, p)}, made once so that {@link Ipv4Stack#poll} allocates nothing. */
    final Consumer<PacketBuffer> input;

    Interface(int index, Device device, List<InterfaceAddress> addresses, Consumer<PacketBuffer> input) {
        this.index = index;
        this.device = device;
        this.addresses = List.copyOf(addresses);
        this.input = input;
    }

    /** The interface index, 1 or more; routes name it. */
    public int index() {
        return index;
    }

    /** The device that sends and receives its packets. */
    public Device device() {
        return device;
    }

    /** Whether its device is a loopback device ({@link Device#isLoopback()}). */
    public boolean isLoopback() {
        return device.isLoopback();
    }

    /** Its addresses, in the order they were added (see {@link #sourceFor} for the one a packet is sent from). */
    public List<InterfaceAddress> addresses() {
        return addresses;
    }

    /**
     * The source address for a packet whose next hop (the route's gateway, or the destination
     * itself on-link) is {@code nextHop}: the first of its addresses whose prefix contains
     * {@code nextHop}, else its first address; 0 when it has none. BSD takes the route's
     * {@code rt_ifa} and Linux the connected route's preferred source, which come to the same
     * for the routes {@code addAddress} makes; a first-address-only rule would send to a neighbour
     * on a second prefix from an address that neighbour cannot reach. Allocates nothing.
     */
    public int sourceFor(int nextHop) {
        final List<InterfaceAddress> addresses = this.addresses;
        final int n = addresses.size();
        if (n == 0) {
            return 0;
        }
        for (int i = 0; i < n; i++) { // indexed, not an iterator: this runs on every send
            final InterfaceAddress a = addresses.get(i);
            if (((a.address() ^ nextHop) & Route.mask(a.prefixLength())) == 0) {
                return a.address();
            }
        }
        return addresses.get(0).address();
    }

    /** Whether {@code address} is one of its addresses. */
    boolean hasAddress(int address) {
        for (InterfaceAddress a : addresses) {
            if (a.address() == address) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code address} is 255.255.255.255 or the directed broadcast of one of its prefixes. */
    boolean isBroadcast(int address) {
        if (address == -1) {
            return true;
        }
        for (InterfaceAddress a : addresses) {
            int b = a.broadcast();
            if (b != 0 && b == address) {
                return true;
            }
        }
        return false;
    }

    Interface with(InterfaceAddress address) {
        List<InterfaceAddress> more = new java.util.ArrayList<>(addresses);
        more.add(address);
        return new Interface(index, device, more, input);
    }

    @Override
    public String toString() {
        return "Interface[" + index + " " + device.name() + " " + addresses + "]";
    }
}
