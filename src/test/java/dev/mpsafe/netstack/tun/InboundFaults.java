package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.device.DeviceCounters;
import dev.mpsafe.netstack.device.FaultInjector;
import dev.mpsafe.netstack.device.Loopback;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A middleware device that damages what the stack receives: {@link FaultInjector} damages only
 * the send direction, so each {@code receive} here takes the inner device's packets, sends them
 * through an injector whose inner device is a {@link Loopback}, ticks the injector (a packet held
 * for reordering goes out after the next one or at this tick), and hands the stack what comes out
 * of the loopback. Sends pass straight to the inner device.
 *
 * <pre>
 *   stack <- receive <- Loopback <- FaultInjector.send <- inner.receive (TUN: what Linux sent)
 *   stack -> send ---------------------------------------> inner.send
 * </pre>
 *
 * <p>{@link #handed()} counts the packets given to the stack: the figure the stack's input
 * counters must add up to.
 *
 * <p>Thread safety: as {@link Device}; {@link #handed()} is exact once the receiving thread has
 * stopped (and joined).
 */
final class InboundFaults implements Device {

    private final Device inner;
    private final Loopback loop;
    private final FaultInjector faults;
    private final Consumer<PacketBuffer> intoFaults;
    /** Written by the one receiving thread only. */
    private long handed;
    private long fromInner;

    /**
     * @param settings configures the injector over the loopback (seed, rates)
     */
    InboundFaults(Device inner, UnaryOperator<FaultInjector.Builder> settings) {
        this.inner = inner;
        this.loop = Loopback.create(inner.name() + "-rx-faults", inner.mtu(), 1024);
        this.faults = settings.apply(FaultInjector.builder(loop)).build();
        this.intoFaults = p -> {
            fromInner++;
            faults.send(p);
        };
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public boolean send(PacketBuffer packet) {
        return inner.send(packet);
    }

    @Override
    public int receive(PacketBuffer[] batch, int offset, int length) {
        inner.receive(intoFaults, length);
        faults.tick();
        int n = loop.receive(batch, offset, length);
        handed += n;
        return n;
    }

    @Override
    public int receive(Consumer<? super PacketBuffer> sink, int limit) {
        inner.receive(intoFaults, limit);
        faults.tick();
        int n = loop.receive(sink, limit);
        handed += n;
        return n;
    }

    /** Packets handed to the stack. */
    long handed() {
        return handed;
    }

    /** Packets taken from the inner device (before the faults). */
    long fromInner() {
        return fromInner;
    }

    /** Packets waiting in the loopback or held by the injector, not yet handed over. */
    long pending() {
        DeviceCounters c = loop.counters();
        return c.txPackets() - c.rxPackets() + faults.holding();
    }

    /** Packets the loopback refused (its queue full); 0 unless the stack stopped polling. */
    long loopDrops() {
        return loop.counters().drops();
    }

    /** What the injector did to the received packets. */
    FaultInjector.Faults faults() {
        return faults.faults();
    }

    @Override
    public DeviceCounters counters() {
        return inner.counters();
    }

    /** Frees what the injector and the loopback hold, then closes the inner device. */
    @Override
    public void close() {
        faults.close(); // closes the loopback too
        inner.close();
    }
}
