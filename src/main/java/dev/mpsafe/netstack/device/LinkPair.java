package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.pcq.Pcq;

/**
 * Two connected in-memory devices, {@link #a()} and {@link #b()}: what one sends, the other
 * receives, in order. Each direction is a bounded {@link Pcq}; when it is full the packet is
 * dropped, counted as {@link DeviceCounters.Drop#QUEUE_FULL} on the sender's counters, and freed:
 * never an exception, never a leak. Packets cross by reference (no copy). Needs no privileges: it
 * is the link for tests and benchmarks.
 *
 * <pre>{@code
 * try (LinkPair link = LinkPair.create("link", 1500, 256)) {
 *     link.a().send(packet);                    // the link owns it now
 *     int n = link.b().receive(batch, 0, 32);   // the receiver owns what it gets
 * }
 * }</pre>
 *
 * <p>Closing one end refuses later sends in both directions (counted as
 * {@link DeviceCounters.Drop#DOWN}) and frees what was queued towards it; what it had sent stays
 * receivable at the other end until that end closes. {@link #close()} closes both.
 *
 * <p>Thread safety: see {@link Device}: any number of senders per end, one receiver per end at a
 * time, close when both are quiescent.
 */
public final class LinkPair implements AutoCloseable {

    /** The smallest MTU accepted: 68 bytes, the datagram every IPv4 module must forward (RFC 791). */
    public static final int MIN_MTU = 68;
    /** The largest MTU accepted: the longest IPv4 datagram. */
    public static final int MAX_MTU = 0xFFFF;

    private final Endpoint a;
    private final Endpoint b;

    private LinkPair(String name, int mtu, int capacity) {
        Pcq<PacketBuffer> towardsA = Pcq.create(capacity);
        Pcq<PacketBuffer> towardsB = Pcq.create(capacity);
        this.a = new Endpoint(name + ".a", mtu, towardsA, towardsB);
        this.b = new Endpoint(name + ".b", mtu, towardsB, towardsA);
        a.peer = b;
        b.peer = a;
    }

    /**
     * A link whose ends are named {@code name + ".a"} and {@code name + ".b"}, each direction
     * holding up to {@code capacity} packets.
     *
     * @throws IllegalArgumentException if {@code mtu} is outside [{@value #MIN_MTU},
     *     {@value #MAX_MTU}] or {@code capacity} outside [1, {@link Pcq#MAX_CAPACITY}]
     */
    public static LinkPair create(String name, int mtu, int capacity) {
        return new LinkPair(name, mtu, capacity);
    }

    /** One end. */
    public Endpoint a() {
        return a;
    }

    /** The other end. */
    public Endpoint b() {
        return b;
    }

    /** Closes both ends, freeing every queued packet. */
    @Override
    public void close() {
        a.close();
        b.close();
    }

    /** One end of a {@link LinkPair}. */
    public static final class Endpoint extends QueueDevice {
        private final Pcq<PacketBuffer> tx;
        /** Set once in the LinkPair constructor, before the pair is published. */
        private Endpoint peer;

        private Endpoint(String name, int mtu, Pcq<PacketBuffer> rx, Pcq<PacketBuffer> tx) {
            super(name, mtu, rx);
            this.tx = tx;
        }

        /** The other end. */
        public Endpoint peer() {
            return peer;
        }

        @Override
        Pcq<PacketBuffer> tx() {
            return tx;
        }

        @Override
        boolean peerClosed() {
            return peer.isClosed();
        }
    }
}
