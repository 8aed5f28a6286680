package dev.mpsafe.netstack.udp;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.ip.DispatchModel;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.UdpInput;
import dev.mpsafe.netstack.pcb.Pcb;
import dev.mpsafe.netstack.pcb.PcbTable;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.UdpPacket;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Participant;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * UDP (RFC 768) on an {@link Ipv4Stack}: the PCB table, the receive path, and the factory of
 * {@link UdpSocket}s.
 *
 * <pre>{@code
 * Udp udp = Udp.attach(stack);
 * try (UdpSocket s = udp.open()) {
 *     s.bind(new InetSocketAddress(7));
 *     ByteBuffer b = ByteBuffer.allocate(2048);
 *     InetSocketAddress from = s.receive(b);          // parks until a datagram arrives
 *     s.send(b.flip(), from);                         // echo it
 * }
 * }</pre>
 *
 * <h2>The receive path (seed 003)</h2>
 * The IP layer checks the IPv4 header and the UDP header's lengths and hands the datagram here on
 * the input thread. {@link #input} enters a read section of the stack's grace-period domain,
 * looks the 4-tuple up in the {@link PcbTable} (exact match first, then the best wildcard), checks
 * the checksum, and hands the packet buffer (not a copy) to the socket's mailbox: under
 * {@link dev.mpsafe.netstack.ip.Dispatch#MPSAFE} the socket's pcq, whose put wakes a reader parked
 * on it. The section ends after the hand-off. No lock is taken on this path under MPSAFE, and
 * nothing on it waits: a full queue is a counted drop.
 *
 * <p>Why the hand-off is inside the section: a socket's close unlinks its PCB and drains the queue
 * only after a grace period ({@link UdpSocket#close}). Every input thread that found the PCB was
 * inside a section that began before the unlink, so when the drain runs none of them can still
 * put a buffer on the queue: nothing is left behind and leaked.
 *
 * <p>Thread safety: safe for any number of threads.
 */
public final class Udp implements UdpInput {

    /** The receive queue of a new socket holds this many datagrams unless the socket sets another. */
    public static final int DEFAULT_RECEIVE_QUEUE = 256;

    final Ipv4Stack stack;
    final GraceDomain domain;
    final DispatchModel dispatch;
    final PcbTable<UdpSocket> table;
    final UdpCounters counters;

    private Udp(Ipv4Stack stack, PcbTable<UdpSocket> table) {
        this.stack = stack;
        this.domain = stack.domain();
        this.dispatch = stack.dispatch();
        this.table = table;
        this.counters = new UdpCounters(stack.counters());
    }

    /**
     * Creates UDP for {@code stack} with a PCB table of 1,024 buckets, ephemeral ports
     * 49152..65535 chosen at random, and attaches it as the stack's UDP input.
     *
     * @throws IllegalStateException if the stack has a UDP transport already
     */
    public static Udp attach(Ipv4Stack stack) {
        return attach(stack, PcbTable.<UdpSocket>builder(stack.domain()).name("udp").build());
    }

    /**
     * As {@link #attach(Ipv4Stack)}, with ephemeral ports drawn from {@code random} (for tests
     * that must be repeatable) within {@code first..last}.
     *
     * @throws IllegalArgumentException if the range is not within 1..65535 or first > last
     */
    public static Udp attach(Ipv4Stack stack, int first, int last, RandomGenerator random) {
        return attach(stack, PcbTable.<UdpSocket>builder(stack.domain()).name("udp").ephemeralPorts(first, last)
                .random(random).build());
    }

    private static Udp attach(Ipv4Stack stack, PcbTable<UdpSocket> table) {
        Objects.requireNonNull(stack, "stack");
        Udp udp = new Udp(stack, table);
        stack.attachUdp(udp);
        return udp;
    }

    /** A new, unbound socket in blocking mode with a receive queue of {@value #DEFAULT_RECEIVE_QUEUE}. */
    public UdpSocket open() {
        return new UdpSocket(this, DEFAULT_RECEIVE_QUEUE);
    }

    /**
     * A new, unbound socket whose receive queue holds {@code receiveQueue} datagrams.
     *
     * @throws IllegalArgumentException if {@code receiveQueue} is outside 1..{@link dev.mpsafe.pcq.Pcq#MAX_CAPACITY}
     */
    public UdpSocket open(int receiveQueue) {
        if (receiveQueue < 1 || receiveQueue > dev.mpsafe.pcq.Pcq.MAX_CAPACITY) {
            throw new IllegalArgumentException("receive queue of " + receiveQueue + " datagrams outside 1.."
                    + dev.mpsafe.pcq.Pcq.MAX_CAPACITY);
        }
        return new UdpSocket(this, receiveQueue);
    }

    /** The stack's UDP counters. */
    public UdpCounters counters() {
        return counters;
    }

    /** The stack this runs on. */
    public Ipv4Stack stack() {
        return stack;
    }

    /** Sockets bound now (PCBs in the table). */
    public int sockets() {
        return table.size();
    }

    // --- the receive path ----------------------------------------------------------------------------

    @Override
    public Verdict input(int source, int destination, int ipHeaderLength, UdpPacket udp, PacketBuffer packet) {
        counters.demultiplexed.increment();
        final Participant reader = domain.register();
        reader.enter();
        try {
            final Pcb<UdpSocket> pcb = table.lookup(destination, udp.destinationPort(), source, udp.sourcePort());
            final UdpSocket socket = pcb == null ? null : pcb.owner();
            if (!udp.verifyChecksum(source, destination)) {
                counters.dropped[UdpDrop.BAD_CHECKSUM.ordinal()].increment();
                if (socket != null) {
                    socket.counters.received.increment();
                    socket.counters.dropped[UdpDrop.BAD_CHECKSUM.ordinal()].increment();
                }
                return Verdict.BAD_CHECKSUM;
            }
            if (socket == null) {
                counters.dropped[UdpDrop.NO_PORT.ordinal()].increment();
                return Verdict.NO_PORT;
            }
            socket.counters.received.increment();
            // The hand-off: after a successful deliver the buffer belongs to the socket's reader.
            if (!socket.mailbox.deliver(packet)) {
                socket.counters.dropped[UdpDrop.QUEUE_FULL.ordinal()].increment();
                counters.dropped[UdpDrop.QUEUE_FULL.ordinal()].increment();
                return Verdict.QUEUE_FULL;
            }
            socket.counters.delivered.increment();
            counters.delivered.increment();
            return Verdict.TAKEN;
        } finally {
            reader.exit();
        }
    }

    /**
     * Reports port unreachable (and the other unreachable codes) to a connected socket whose
     * 4-tuple the quoted datagram names, as Linux does without {@code IP_RECVERR}: an unconnected
     * socket cannot tell which of its peers the error is about, so it gets nothing (RFC 1122
     * 4.1.3.3 leaves this to the implementation).
     */
    @Override
    public void unreachable(int code, int localAddress, int localPort, int remoteAddress, int remotePort) {
        final Participant reader = domain.register();
        reader.enter();
        try {
            final Pcb<UdpSocket> pcb = table.lookup(localAddress, localPort, remoteAddress, remotePort);
            if (pcb != null && pcb.connected() && pcb.remoteAddress() == remoteAddress
                    && pcb.remotePort() == remotePort) {
                counters.errorsReported.increment();
                pcb.owner().reportError(code == Icmpv4Packet.UNREACHABLE_PORT ? UdpSocket.ERROR_PORT_UNREACHABLE
                        : UdpSocket.ERROR_UNREACHABLE);
            }
        } finally {
            reader.exit();
        }
    }

    @Override
    public String toString() {
        return "udp " + counters;
    }
}
