package dev.mpsafe.netstack.pcb;

import dev.mpsafe.netstack.wire.Ipv4Address;

/**
 * A bind to port 0 refused because every port of the table's ephemeral range conflicted with a
 * PCB already bound: {@code EADDRNOTAVAIL} (Linux) / {@code EADDRINUSE} (BSD). Unchecked, as
 * {@link PortInUseException}; the table is unchanged when it is thrown.
 *
 * <p>Thread safety: immutable.
 */
public final class PortsExhaustedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int first;
    private final int last;
    private final int inUse;

    PortsExhaustedException(String tableName, int address, int first, int last, int inUse) {
        super(tableName + ": no free ephemeral port for " + (address == 0 ? "*" : Ipv4Address.format(address))
                + " in " + first + ".." + last + ": " + inUse + " of " + (last - first + 1) + " in use");
        this.first = first;
        this.last = last;
        this.inUse = inUse;
    }

    /** The first port of the ephemeral range. */
    public int first() {
        return first;
    }

    /** The last port of the ephemeral range (inclusive). */
    public int last() {
        return last;
    }

    /** How many ports of the range the search found in use for the address (the whole range). */
    public int inUse() {
        return inUse;
    }
}
