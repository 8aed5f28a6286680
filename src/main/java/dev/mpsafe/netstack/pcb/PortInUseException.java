package dev.mpsafe.netstack.pcb;

import dev.mpsafe.netstack.wire.Ipv4Address;

/**
 * A bind or connect refused because the local address and port, or the whole 4-tuple, is taken:
 * {@code EADDRINUSE}. Unchecked: it is an answer to a socket call that the socket layer turns into
 * its own error, not something every caller of the table must route; the table is unchanged when
 * it is thrown.
 *
 * <p>Thread safety: immutable.
 */
public final class PortInUseException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int address;
    private final int port;
    /** The PCB that holds the port; not serialized (it refers to its table). */
    private final transient Pcb<?> holder;

    PortInUseException(String tableName, int address, int port, Pcb<?> holder, String what) {
        super(tableName + ": " + what + " " + (address == 0 ? "*" : Ipv4Address.format(address)) + ":" + port
                + " is in use by " + holder);
        this.address = address;
        this.port = port;
        this.holder = holder;
    }

    /** The local address asked for (0 for the wildcard). */
    public int address() {
        return address;
    }

    /** The local port asked for. */
    public int port() {
        return port;
    }

    /** The PCB that holds it, as it was when the request was refused (null after deserialization). */
    public Pcb<?> holder() {
        return holder;
    }
}
