package dev.mpsafe.netstack.udp;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.LinkPair;
import dev.mpsafe.netstack.ip.Dispatch;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Question (seeds 000 to 004): how many UDP datagrams per second go through our stack over the
 * in-memory link, under {@code BIG_LOCK} and {@code MPSAFE}, with each grace-period scheme doing
 * the PCB lookups; and how does that compare with the Linux kernel's loopback UDP through
 * {@link DatagramChannel}, measured in the same run?
 *
 * <p>Two hosts, A (the senders) and B (the receivers), on two in-memory links (one per flow, each
 * its own /24), sharing one packet pool. A datagram of {@value #PAYLOAD} bytes goes the whole way:
 * A's socket {@code send} (buffer, UDP header and checksum, route, IPv4 header, the link), B's
 * input ({@code Ipv4Stack.poll}: IPv4 checks, the PCB lookup in a read section, the checksum, the
 * put on the socket's queue), and B's socket {@code receive} (copy out, free). Figure:
 * datagrams received per second, all threads together.
 * <ul>
 *   <li>{@code oneFlowOneThread}: one thread does all three steps for one flow.</li>
 *   <li>{@code twoFlowsOneThread}: one thread alternates between two flows.</li>
 *   <li>{@code twoFlowsTwoThreads}: a thread per flow, each doing all three steps for its own
 *       flow (a worker per flow, as seed 001 would steer them). The threads share B's stack: its
 *       PCB table, counters, pool and, under {@code BIG_LOCK}, the giant lock. The seeds'
 *       question: {@code MPSAFE} should beat {@code BIG_LOCK} here.</li>
 *   <li>{@code oneFlowTwoThreads} (group {@code split}): seed 003's picture, one flow with the
 *       input path on one thread ({@code split:input}: send and poll) and the application on
 *       another ({@code split:reader}: a blocking receive, parked when the queue is empty and
 *       woken by the receive path). The figure is {@code split:reader}; a full queue drops.</li>
 *   <li>{@code kernel} (group): the peer. One thread sends to a {@code DatagramChannel} bound to
 *       127.0.0.1, another receives (blocking, with a timeout so an iteration can end); the figure
 *       is {@code kernel:kernelReceiver}. The scheme and dispatch parameters do not apply to it.</li>
 * </ul>
 *
 * <pre>
 *   ./mvnw -o -Pjmh verify -Djmh.filter='dev\.mpsafe\.netstack\.udp\.UdpThroughput' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class UdpThroughput {

    static final int PAYLOAD = 64;
    static final int FLOWS = 2;
    static final int PORT = 7000;

    /** The two hosts, their links and sockets. */
    @State(Scope.Benchmark)
    public static class Net {
        @Param({"MPSAFE", "BIG_LOCK"})
        Dispatch dispatch;

        @Param({"pserialize", "epoch", "smr"})
        String scheme;

        GraceDomain domain;
        PacketPool pool;
        Ipv4Stack a;
        Ipv4Stack b;
        final LinkPair[] links = new LinkPair[FLOWS];
        final int[] bIfindex = new int[FLOWS];
        final UdpSocket[] senders = new UdpSocket[FLOWS];
        final UdpSocket[] receivers = new UdpSocket[FLOWS];
        final AtomicInteger nextFlow = new AtomicInteger();

        @Setup(Level.Trial)
        public void up() throws IOException {
            domain = switch (scheme) {
                case "pserialize" -> Pserialize.create(GraceOptions.named("udp"), Pserialize.Mode.ASYMMETRIC);
                case "epoch" -> Epoch.create("udp");
                case "smr" -> Smr.create("udp", Smr.Mode.DEFAULT);
                default -> throw new IllegalArgumentException("scheme " + scheme);
            };
            pool = PacketPool.create(Smr.create("udp-pool", Smr.Mode.DEFAULT), 2048, 32L << 20);
            a = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(System::nanoTime)
                    .dispatch(dispatch).build();
            b = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(System::nanoTime)
                    .dispatch(dispatch).build();
            Udp udpA = Udp.attach(a, 49152, 65535, new SplittableRandom(1));
            Udp udpB = Udp.attach(b, 49152, 65535, new SplittableRandom(2));
            for (int i = 0; i < FLOWS; i++) {
                links[i] = LinkPair.create("udp" + i, 1500, 1024);
                int ia = a.attach(links[i].a());
                a.addAddress(ia, Ipv4Address.of(10, i, 0, 1), 24);
                bIfindex[i] = b.attach(links[i].b());
                b.addAddress(bIfindex[i], Ipv4Address.of(10, i, 0, 2), 24);
                receivers[i] = udpB.open(1024).bind(at(Ipv4Address.of(10, i, 0, 2), PORT + i));
                receivers[i].configureBlocking(false);
                senders[i] = udpA.open().connect(at(Ipv4Address.of(10, i, 0, 2), PORT + i));
                senders[i].configureBlocking(false);
            }
        }

        @TearDown(Level.Trial)
        public void down() {
            for (int i = 0; i < FLOWS; i++) {
                senders[i].close();
                receivers[i].close();
                links[i].close();
            }
            if (domain instanceof Deferring d) {
                d.barrier();
            }
            pool.checkBalanced();
            pool.close();
            if (domain instanceof Epoch e) {
                e.close();
            }
        }

        /** One datagram through both stacks on flow {@code i}; returns the bytes received. */
        int roundTrip(int i, ByteBuffer out, ByteBuffer in) throws IOException {
            senders[i].write(out.clear());
            b.poll(bIfindex[i], 1);
            in.clear();
            if (receivers[i].receive(in) == null) {
                throw new IllegalStateException("flow " + i + ": nothing received; " + b.counters());
            }
            return in.position();
        }
    }

    /** A thread's buffers and, for the per-flow benchmark, its flow. */
    @State(Scope.Thread)
    public static class Buffers {
        final ByteBuffer out = ByteBuffer.allocate(PAYLOAD);
        final ByteBuffer in = ByteBuffer.allocate(2048);
        int flow;

        @Setup(Level.Trial)
        public void pick(Net net) {
            flow = net.nextFlow.getAndIncrement() % FLOWS;
        }
    }

    @Benchmark
    @Threads(1)
    public int oneFlowOneThread(Net net, Buffers t) throws IOException {
        return net.roundTrip(0, t.out, t.in);
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(FLOWS)
    public int twoFlowsOneThread(Net net, Buffers t) throws IOException {
        return net.roundTrip(0, t.out, t.in) + net.roundTrip(1, t.out, t.in);
    }

    @Benchmark
    @Threads(FLOWS)
    public int twoFlowsTwoThreads(Net net, Buffers t) throws IOException {
        return net.roundTrip(t.flow, t.out, t.in);
    }

    @Benchmark
    @Group("split")
    @GroupThreads(1)
    public int input(Net net, Buffers t) throws IOException {
        net.senders[0].write(t.out.clear());
        return net.b.poll(net.bIfindex[0], 1);
    }

    @Benchmark
    @Group("split")
    @GroupThreads(1)
    public InetSocketAddress reader(Net net, Buffers t) throws IOException {
        t.in.clear();
        return net.receivers[0].receive(t.in, 100, TimeUnit.MILLISECONDS);
    }

    /** The kernel's loopback UDP: two DatagramChannels on 127.0.0.1. */
    @State(Scope.Group)
    public static class Kernel {
        DatagramChannel receiver;
        DatagramChannel sender;
        InetSocketAddress target;

        @Setup(Level.Trial)
        public void up() throws IOException {
            receiver = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress("127.0.0.1", 0));
            receiver.socket().setSoTimeout(100);
            target = (InetSocketAddress) receiver.getLocalAddress();
            sender = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress("127.0.0.1", 0));
            sender.connect(target);
        }

        @TearDown(Level.Trial)
        public void down() throws IOException {
            sender.close();
            receiver.close();
        }
    }

    /** A kernel thread's buffers (no dependency on {@link Net}: its parameters do not apply). */
    @State(Scope.Thread)
    public static class KernelPacket {
        final DatagramPacket packet = new DatagramPacket(new byte[2048], 2048);
        final ByteBuffer out = ByteBuffer.allocate(PAYLOAD);
    }

    @Benchmark
    @Group("kernel")
    @GroupThreads(1)
    public int kernelSender(Kernel k, KernelPacket t) throws IOException {
        return k.sender.write(t.out.clear());
    }

    @Benchmark
    @Group("kernel")
    @GroupThreads(1)
    public int kernelReceiver(Kernel k, KernelPacket p) throws IOException {
        try {
            p.packet.setLength(2048);
            k.receiver.socket().receive(p.packet);
            return p.packet.getLength();
        } catch (SocketTimeoutException e) {
            return 0; // only when the sender has stopped at the end of an iteration
        }
    }

    static InetSocketAddress at(int address, int port) {
        return new InetSocketAddress(Ipv4Address.toInetAddress(address), port);
    }
}
