package dev.mpsafe.netstack.udp;

import dev.mpsafe.netstack.wire.Ipv4Address;
import java.net.SocketException;

/**
 * A send or connect to a broadcast address (255.255.255.255, or the directed broadcast of one of
 * the stack's prefixes) from a socket that has not asked for broadcasts with
 * {@link UdpSocket#setBroadcast(boolean)}: Linux answers {@code EACCES} unless
 * {@code SO_BROADCAST} is set, so that a program cannot flood a link by mistake. Nothing is sent,
 * bound or consumed when it is thrown.
 *
 * <p>Thread safety: immutable.
 */
public final class BroadcastNotEnabledException extends SocketException {

    private static final long serialVersionUID = 1L;

    private final int address;

    BroadcastNotEnabledException(String operation, int address) {
        super("cannot " + operation + " broadcast address " + Ipv4Address.format(address)
                + ": the socket has not enabled broadcasts (setBroadcast(true), SO_BROADCAST)");
        this.address = address;
    }

    /** The broadcast address that was refused. */
    public int address() {
        return address;
    }
}
