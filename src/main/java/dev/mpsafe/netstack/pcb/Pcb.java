package dev.mpsafe.netstack.pcb;

import dev.mpsafe.netstack.wire.Ipv4Address;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One binding of a {@link PcbTable}: a local address and port, a remote address and port once
 * connected, and the owner (the socket) that datagrams for it are delivered to. BSD's
 * {@code struct inpcb}, reduced to what demultiplexing needs.
 *
 * <p>A PCB is immutable: {@link PcbTable#connect} does not change a PCB, it replaces it with a new
 * one, so a reader that found a PCB inside a read section sees the same values for as long as it
 * holds it. The one mutable bit is {@link #removed()}, which the table sets when it unlinks the
 * PCB.
 *
 * <p>Addresses are IPv4 addresses as {@link Ipv4Address} holds them (big-endian value in an
 * {@code int}); {@code 0} is {@code INADDR_ANY}. Ports are 0..65535; a PCB in a table always has a
 * local port 1..65535.
 *
 * <p>Thread safety: immutable but for {@link #removed()}, which is safe to read from any thread.
 *
 * <p>Memory consistency effects: the fields are final, and a PCB reaches other threads only
 * through the table's release stores (see {@link PcbTable}), so every thread that finds it sees
 * its fields and the state of its owner as they were when {@code bind} or {@code connect}
 * published it. {@code removed()} turns true before the PCB is unlinked: from then on every
 * lookup skips it, but the lock-free {@link PcbTable#size()} may still count it until the
 * unlinking ends.
 *
 * @param <T> the owner's type
 */
public final class Pcb<T> {

    /** The table that made this PCB: {@code connect} and {@code remove} refuse PCBs of another. */
    final PcbTable<T> table;
    final int localAddress;
    final int localPort;
    final int remoteAddress;
    final int remotePort;
    private final T owner;
    /**
     * Set once, under the PCB's port-bucket lock, before the stores that unlink it: the
     * linearization point of remove and connect (release: see {@link #soRemoved()}). Writers read
     * it under that lock; anyone else with an acquire load.
     */
    @SuppressWarnings("unused") // accessed through REMOVED
    private boolean removed;
    /**
     * The PCB that {@code connect} replaced this one with, or null (never connected over, or
     * removed by {@code remove}). Plain: written once, under the port-bucket lock, before the
     * release store of {@code removed}, and read only after an acquire load of {@code removed}
     * returned true, which makes the write visible.
     */
    Pcb<T> successor;

    Pcb(PcbTable<T> table, int localAddress, int localPort, int remoteAddress, int remotePort, T owner) {
        this.table = table;
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        this.owner = owner;
    }

    /** The local address, or 0 ({@code INADDR_ANY}, the wildcard) when bound to every address. */
    public int localAddress() {
        return localAddress;
    }

    /** The local port, 1..65535. */
    public int localPort() {
        return localPort;
    }

    /** The remote address, or 0 when not connected. */
    public int remoteAddress() {
        return remoteAddress;
    }

    /** The remote port, or 0 when not connected. */
    public int remotePort() {
        return remotePort;
    }

    /** Whether this PCB is connected to a remote address and port ({@code remoteAddress() != 0}). */
    public boolean connected() {
        return remoteAddress != 0;
    }

    /** The owner given to {@code bind} (for a connected PCB, the owner of the PCB it replaced). */
    public T owner() {
        return owner;
    }

    /**
     * Whether {@link PcbTable#remove} or {@link PcbTable#connect} has unlinked this PCB. Once true,
     * it stays true, and lookups that begin after the caller read {@code true} no longer return it
     * (lookups skip a removed PCB even while it is still in an array they loaded). Readers inside
     * a section may still hold it: being removed is not being reclaimed.
     */
    public boolean removed() {
        return (boolean) REMOVED.getAcquire(this);
    }

    /**
     * Marks the PCB removed, under its port-bucket lock, before the stores that unlink it. Release,
     * paired with the acquire in {@link #removed()}: a thread that sees {@code true} also sees
     * {@link #successor} and, for a connect, everything the writer did before (PcbConnectTest).
     */
    void soRemoved() {
        REMOVED.setRelease(this, true);
    }

    /** Whether this PCB is connected with exactly this 4-tuple. */
    boolean matches(int localAddress, int localPort, int remoteAddress, int remotePort) {
        return this.remoteAddress == remoteAddress && this.remotePort == remotePort && this.localPort == localPort
                && this.localAddress == localAddress && remoteAddress != 0;
    }

    /** For writers holding the port-bucket lock, which is the only place {@code removed} is set. */
    boolean lpRemoved() {
        return (boolean) REMOVED.get(this);
    }

    /**
     * {@code "udp 10.0.0.1:53 <- *:*"} for a bound PCB, {@code "udp 10.0.0.1:5353 <- 192.0.2.7:53"}
     * for a connected one; the table's name first, {@code *} for a wildcard address or port.
     */
    @Override
    public String toString() {
        return table.name() + " " + (localAddress == 0 ? "*" : Ipv4Address.format(localAddress)) + ":" + localPort
                + " <- " + (remoteAddress == 0 ? "*" : Ipv4Address.format(remoteAddress)) + ":"
                + (remotePort == 0 ? "*" : Integer.toString(remotePort));
    }

    // VarHandle mechanics
    private static final VarHandle REMOVED;

    static {
        try {
            REMOVED = MethodHandles.lookup().findVarHandle(Pcb.class, "removed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
