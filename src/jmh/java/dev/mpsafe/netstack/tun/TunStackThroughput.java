package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.smr.Smr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Question: how many ICMP echo exchanges per second does our stack serve over a real TUN device,
 * against the single-syscall ceiling: the naive loop that writes one packet and reads one packet
 * per syscall, with the Linux kernel answering?
 *
 * <p>All in one fresh namespace. One operation is one request and its reply.
 * <ul>
 *   <li>{@code ceilingNaiveLoop} (the baseline): the device alone. Write an echo request to the
 *       kernel's address on TUN interface {@code ceil0}, read the kernel's reply: two syscalls per
 *       exchange, and the kernel's ICMP does the answering.</li>
 *   <li>{@code stackInline}: the roles swapped; the kernel asks and {@link Ipv4Stack} answers on
 *       TUN interface {@code st0}. The benchmark thread sends a request from a raw ICMP socket in
 *       the namespace to the stack's address (the kernel routes it to {@code st0}), runs
 *       {@link Ipv4Stack#poll} (the TUN device's {@code read(2)}, validation, the reply built in
 *       place, a route lookup in an SMR read section, the TUN device's {@code write(2)}), then
 *       receives the reply on the raw socket. Everything on one thread: four syscalls.</li>
 *   <li>{@code stackWorker}: as deployed ({@code bin/netstack}): the stack runs on its own worker
 *       thread, waiting in {@code poll(2)} on the device; the benchmark thread is the kernel's
 *       client, one exchange at a time.</li>
 *   <li>{@code stackWorkerBurst}: the client keeps {@value #BURST} requests in flight, so the
 *       worker finds several packets per wake-up.</li>
 * </ul>
 * The stack's figures include the kernel client's own {@code sendto}/{@code recv}, which the
 * ceiling does not pay, so a ratio near 1 means the stack costs no more than the device's own
 * syscalls.
 *
 * <p>Needs root (it creates its own namespace, {@code mpsafe-PID-N}, and deletes it in the trial's
 * tear-down). The packet pool must balance at the end of each trial.
 * <pre>
 *   ./mvnw -o -Pjmh verify -Djmh.filter='dev\.mpsafe\.netstack\.tun\.TunStackThroughput' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
public class TunStackThroughput {

    static final int DATA = 56; // ping's default: 84-byte packets
    static final int BURST = 8;
    static final int STACK = Ipv4Address.of(10, 98, 3, 2);
    static final int KERNEL = Ipv4Address.of(10, 98, 3, 1);

    /** The namespace, the ceiling's device, the stack on its device and the kernel's raw socket. */
    @State(Scope.Benchmark)
    public static class Host {
        NetnsFixture ns;
        Tun ceiling;
        Tun stackTun;
        Smr smr;
        PacketPool pool;
        Ipv4Stack stack;
        TunDevice stackDevice;
        int ifindex;
        RawIcmpSocket kernel;
        Arena arena;
        MemorySegment ceilingRequest;
        int ceilingLength;
        MemorySegment request;
        int requestLength;
        MemorySegment reply;

        @Setup(Level.Trial)
        public void up() throws IOException {
            String why = NetnsFixture.whyUnavailable();
            if (why != null) {
                throw new IllegalStateException(why);
            }
            ns = NetnsFixture.create();
            ceiling = ns.openTun("ceil0");
            ns.up("ceil0", "10.98.1.1/24");
            stackTun = ns.openTun("st0");
            smr = Smr.create("tun-stack", Smr.Mode.DEFAULT);
            pool = PacketPool.create(Smr.create("tun-stack-pool", Smr.Mode.DEFAULT), 2048, 8L << 20);
            stack = Ipv4Stack.builder(smr, pool, RouteTable.create(smr)).clock(System::nanoTime).build();
            stackDevice = TunDevice.of(stackTun, pool, 1500, Ipv4Stack.HEADROOM);
            ifindex = stack.attach(stackDevice);
            stack.addAddress(ifindex, STACK, 24);
            ns.up("st0", "10.98.3.1/24");
            kernel = RawIcmpSocket.open(ns, 1000);

            arena = Arena.ofShared();
            ceilingRequest = arena.allocate(2048);
            ceilingLength = TunPackets.echoRequest(ceilingRequest, Ipv4Address.of(10, 98, 1, 2),
                    Ipv4Address.of(10, 98, 1, 1), 1000, 1, DATA);
            Icmpv4Repr.EchoRequest echo = new Icmpv4Repr.EchoRequest(0x4d50, 1, DATA);
            request = arena.allocate(2048);
            requestLength = echo.bufferLength();
            echo.emit(Icmpv4Packet.wrap(request, 0, requestLength));
            reply = arena.allocate(2048);
        }

        @TearDown(Level.Trial)
        public void down() {
            kernel.close();
            ns.close(); // closes both TUN descriptors
            arena.close();
            pool.checkBalanced();
            pool.close();
        }

        /** The kernel's side: one echo request to the stack. */
        void ask() {
            try {
                kernel.send(STACK, request, requestLength);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The kernel's side: the stack's echo reply (fails after a second without one). */
        int answer() {
            try {
                int n = kernel.receive(reply);
                if (RawIcmpSocket.icmpType(reply) != Icmpv4Packet.TYPE_ECHO_REPLY) {
                    throw new IllegalStateException("expected an echo reply, got ICMP type " + RawIcmpSocket.icmpType(reply));
                }
                return n;
            } catch (IOException e) {
                throw new UncheckedIOException("no reply; stack counters " + stack.counters(), e);
            }
        }
    }

    /** The stack's worker thread, as {@code bin/netstack} runs it: it sleeps in poll(2) when idle. */
    @State(Scope.Benchmark)
    public static class Worker {
        volatile boolean stop;
        Thread thread;

        /** How long the worker keeps polling the device without sleeping after its last packet. */
        long busyPollNanos() {
            return 0;
        }

        @Setup(Level.Trial)
        public void start(Host host) {
            long busy = busyPollNanos();
            thread = Thread.ofPlatform().name("stack-worker").start(() -> {
                try {
                    long last = 0;
                    while (!stop) {
                        if (host.stackDevice.isDown()) { // the interface went away: do not spin
                            throw host.stackDevice.failure();
                        }
                        if (host.stack.poll(host.ifindex, 64) > 0) {
                            last = busy == 0 ? 0 : System.nanoTime();
                        } else if (busy != 0 && System.nanoTime() - last < busy) {
                            Thread.onSpinWait();
                        } else {
                            host.stackTun.awaitReadable(50, TimeUnit.MILLISECONDS);
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            stop = true;
            thread.join();
        }
    }

    /** As {@link Worker}, but it polls the device for 50 us after each packet before it sleeps. */
    @State(Scope.Benchmark)
    public static class BusyPollWorker extends Worker {
        @Override
        long busyPollNanos() {
            return 50_000;
        }
    }

    @Benchmark
    public int ceilingNaiveLoop(Host host) throws IOException {
        return TunThroughput.roundTrip(host.ceiling, host.ceilingRequest, host.ceilingLength, host.reply);
    }

    @Benchmark
    public int stackInline(Host host) throws IOException {
        host.ask();
        while (host.stack.poll(host.ifindex, 1) == 0) {
            host.stackTun.awaitReadable(1, TimeUnit.SECONDS);
        }
        return host.answer();
    }

    @Benchmark
    public int stackWorker(Host host, Worker worker) {
        host.ask();
        return host.answer();
    }

    @Benchmark
    public int stackBusyPollWorker(Host host, BusyPollWorker worker) {
        host.ask();
        return host.answer();
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int stackWorkerBurst(Host host, Worker worker) {
        for (int i = 0; i < BURST; i++) {
            host.ask();
        }
        int sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += host.answer();
        }
        return sum;
    }
}
