package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.pcq.Pcq;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A device whose sends go into a bounded {@link Pcq} and whose receives come out of one: the
 * shared part of {@link LinkPair.Endpoint} and {@link Loopback}.
 */
abstract sealed class QueueDevice implements Device permits LinkPair.Endpoint, Loopback {

    /*
     * Implementation overview.
     *
     * No new concurrency here: a packet crosses from sender to receiver through pcq, whose put and
     * get give the happens-before edge the Device contract promises (pcq P1: the producer's plain
     * writes, here the buffer's window and bytes, are published by the release store of the slot
     * and read after the consumer's acquire load of it). The buffer is passed by reference (zero
     * copy); ownership moves with it.
     *
     * send reads everything it needs from the buffer (its length) before the put: once the put
     * succeeds the receiver may already have freed it. A refused put leaves the buffer with the
     * sender, which frees it and counts the drop, so a full queue never throws and never leaks.
     *
     * `closed` is volatile. close() is documented not to race with send or receive, so any order
     * that makes a later send happen-after close would do with a plain field; volatile costs a
     * plain load on x86 and an ldar on ARM per send, and lets a send that does race a close (a
     * misuse) see the flag promptly instead of whenever the JIT reloads it. Such a racing send can
     * still slip a packet into a queue close() has already drained; the pool's leak accounting then
     * reports it, which is the honest outcome of a documented misuse.
     */

    private final String name;
    private final int mtu;
    private final Pcq<PacketBuffer> rx;
    private final DeviceCounters counters = new DeviceCounters();
    private volatile boolean closed;

    QueueDevice(String name, int mtu, Pcq<PacketBuffer> rx) {
        this.name = Objects.requireNonNull(name, "name");
        if (mtu < LinkPair.MIN_MTU || mtu > LinkPair.MAX_MTU) {
            throw new IllegalArgumentException("mtu " + mtu + " is outside [" + LinkPair.MIN_MTU + ", "
                    + LinkPair.MAX_MTU + "]");
        }
        this.mtu = mtu;
        this.rx = rx;
    }

    /** The queue a send puts into: the peer's receive queue, or this device's own. */
    abstract Pcq<PacketBuffer> tx();

    /** Whether the device at the other end of {@link #tx()} is closed. */
    abstract boolean peerClosed();

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final int mtu() {
        return mtu;
    }

    @Override
    public final boolean send(PacketBuffer packet) {
        final int length = packet.length(); // NPE for null, ISE for a freed buffer: caller bugs
        if (closed || peerClosed()) {
            return drop(packet, DeviceCounters.Drop.DOWN);
        }
        if (length > mtu) {
            return drop(packet, DeviceCounters.Drop.TOO_BIG);
        }
        if (!tx().put(packet)) {
            return drop(packet, DeviceCounters.Drop.QUEUE_FULL);
        }
        // The receiver may own (and have freed) the packet now: count from the local copy only.
        counters.sent(length);
        return true;
    }

    private boolean drop(PacketBuffer packet, DeviceCounters.Drop why) {
        counters.dropped(why);
        packet.free();
        return false;
    }

    @Override
    public final int receive(PacketBuffer[] batch, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, batch.length);
        if (closed) {
            return 0;
        }
        int n = 0;
        PacketBuffer p;
        while (n < length && (p = rx.relaxedGet()) != null) {
            counters.received(p.length());
            batch[offset + n++] = p;
        }
        return n;
    }

    @Override
    public final int receive(Consumer<? super PacketBuffer> sink, int limit) {
        Objects.requireNonNull(sink, "sink");
        if (limit < 0) {
            throw new IllegalArgumentException("receive limit must be >= 0, got " + limit);
        }
        if (closed) {
            return 0;
        }
        return rx.drain(p -> {
            counters.received(p.length());
            sink.accept(p);
        }, limit);
    }

    @Override
    public final DeviceCounters counters() {
        return counters;
    }

    /** Whether {@link #close()} was called. */
    public final boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        PacketBuffer p;
        while ((p = rx.relaxedGet()) != null) {
            counters.dropped(DeviceCounters.Drop.CLOSED_WITH_PACKETS);
            p.free();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + name + ", mtu " + mtu + ", " + counters + (closed ? ", closed]" : "]");
    }
}
