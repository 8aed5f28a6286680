package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.pcq.Pcq;

/**
 * A device that receives what it sends, in order, through one bounded {@link Pcq} (BSD's
 * {@code lo0}). A full queue is a counted {@link DeviceCounters.Drop#QUEUE_FULL} drop, and the
 * packet is freed. Packets are passed by reference (no copy).
 *
 * <p>Thread safety: see {@link Device}: any number of senders, one receiver at a time, close when
 * quiescent.
 */
public final class Loopback extends QueueDevice {

    private final Pcq<PacketBuffer> queue;

    private Loopback(String name, int mtu, Pcq<PacketBuffer> queue) {
        super(name, mtu, queue);
        this.queue = queue;
    }

    /**
     * A loopback device holding up to {@code capacity} packets.
     *
     * @throws IllegalArgumentException if {@code mtu} is outside [{@value LinkPair#MIN_MTU},
     *     {@value LinkPair#MAX_MTU}] or {@code capacity} outside [1, {@link Pcq#MAX_CAPACITY}]
     */
    public static Loopback create(String name, int mtu, int capacity) {
        return new Loopback(name, mtu, Pcq.create(capacity));
    }

    /** True: what arrives here was sent by this host. */
    @Override
    public boolean isLoopback() {
        return true;
    }

    @Override
    Pcq<PacketBuffer> tx() {
        return queue;
    }

    @Override
    boolean peerClosed() {
        return false; // its own queue; send checks this device's own flag
    }
}
