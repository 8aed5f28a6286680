package dev.mpsafe.netstack.udp;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.netstack.GraceScheme;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.device.LinkPair;
import dev.mpsafe.netstack.ip.Dispatch;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import java.net.InetSocketAddress;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Two hosts on an in-memory link: A (10.0.0.1) and B (10.0.0.2), each an {@link Ipv4Stack} with
 * {@link Udp}, sharing one packet pool. Packets move when a test calls {@link #pump()} or while a
 * pump thread runs ({@link #startPump()}); one thread receives from each device at a time.
 * {@link #close()} stops the pump, closes the link, waits for deferred reclamation and checks that
 * the pool balances.
 */
final class UdpRig implements AutoCloseable {

    static final int A = Ipv4Address.of(10, 0, 0, 1);
    static final int B = Ipv4Address.of(10, 0, 0, 2);

    /** One host. */
    static final class Host {
        final Ipv4Stack stack;
        final Udp udp;
        final Device device;
        final int ifindex;

        Host(Ipv4Stack stack, Udp udp, Device device, int ifindex) {
            this.stack = stack;
            this.udp = udp;
            this.device = device;
            this.ifindex = ifindex;
        }
    }

    final GraceDomain domain;
    final PacketPool pool;
    final LinkPair link;
    final Host a;
    final Host b;
    private volatile boolean stop;
    private Thread pump;
    final AtomicReference<Throwable> pumpFailure = new AtomicReference<>();

    private UdpRig(GraceScheme scheme, Dispatch dispatch, Function<Device, Device> wrapA, Function<Device, Device> wrapB,
            int icmpBurst, int buffers) {
        domain = scheme.create("udp");
        pool = PacketPool.create(Smr.create("udp-pool", Smr.Mode.DEFAULT), 2048, buffers * 2048L);
        link = LinkPair.create("udp", 1500, 1024);
        a = host(dispatch, wrapA.apply(link.a()), A, icmpBurst, 1);
        b = host(dispatch, wrapB.apply(link.b()), B, icmpBurst, 2);
    }

    private Host host(Dispatch dispatch, Device device, int address, int icmpBurst, long seed) {
        Ipv4Stack s = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(System::nanoTime)
                .icmpErrorRate(icmpBurst, 1_000_000).dispatch(dispatch).build();
        int ifindex = s.attach(device);
        s.addAddress(ifindex, address, 24);
        Udp udp = Udp.attach(s, 49152, 65535, new SplittableRandom(seed));
        return new Host(s, udp, device, ifindex);
    }

    static UdpRig create(GraceScheme scheme, Dispatch dispatch) {
        return new UdpRig(scheme, dispatch, d -> d, d -> d, 50, 4096);
    }

    /** A rig whose pool holds only {@code buffers} packet buffers of 2048 bytes. */
    static UdpRig withBuffers(GraceScheme scheme, Dispatch dispatch, int buffers) {
        return new UdpRig(scheme, dispatch, d -> d, d -> d, 50, buffers);
    }

    /**
     * Each host's device wrapped (a fault injector damages what its host sends); ICMP errors
     * limited to {@code icmpBurst} at once.
     */
    static UdpRig create(GraceScheme scheme, Dispatch dispatch, Function<Device, Device> wrapA,
            Function<Device, Device> wrapB, int icmpBurst) {
        return new UdpRig(scheme, dispatch, wrapA, wrapB, icmpBurst, 4096);
    }

    /** Polls both hosts until neither device has a packet; returns how many were processed. */
    int pump() {
        int total = 0;
        int n;
        do {
            n = a.stack.poll(a.ifindex, 64) + b.stack.poll(b.ifindex, 64);
            total += n;
        } while (n > 0);
        return total;
    }

    /** Polls both hosts on a thread of its own until {@link #close()}. */
    void startPump() {
        pump = Thread.ofPlatform().name("udp-rig-pump").start(() -> {
            try {
                while (!stop) {
                    if (pump() == 0) {
                        Thread.onSpinWait();
                        Thread.yield();
                    }
                }
            } catch (Throwable t) {
                pumpFailure.set(t);
            }
        });
    }

    static InetSocketAddress at(int address, int port) {
        return new InetSocketAddress(Ipv4Address.toInetAddress(address), port);
    }

    /** Waits for deferred reclamation (closed sockets' queues) to finish. */
    void quiesce() {
        if (domain instanceof Deferring d) {
            d.barrier();
        }
    }

    @Override
    public void close() {
        stop = true;
        if (pump != null) {
            try {
                pump.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (a.device != link.a()) {
            a.device.close(); // a wrapper: frees what it holds
        }
        if (b.device != link.b()) {
            b.device.close();
        }
        link.close();
        quiesce();
        try {
            if (pumpFailure.get() != null) {
                throw new AssertionError("the pump failed", pumpFailure.get());
            }
            pool.checkBalanced();
        } finally {
            pool.close();
            if (domain instanceof Epoch e) {
                e.close();
            }
        }
    }
}
