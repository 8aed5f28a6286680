package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.wire.Ipv4Address;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Question: how many packets per second go through the TUN path, one syscall per packet on one
 * queue (the naive loop), against the same loop on several queues of an {@code IFF_MULTI_QUEUE}
 * interface, one thread each?
 *
 * <p>One operation: write an ICMP echo request to the kernel's address on the TUN interface, then
 * read the kernel's echo reply (one {@code write(2)} and one {@code read(2)}, plus a
 * {@code poll(2)} only if the reply is not queued yet). The kernel is the echo responder, so the
 * figure is the whole round trip through the TUN driver and the kernel's IP and ICMP input and
 * output, per packet pair. Figure: operations (request-reply pairs) per second, all threads
 * together.
 * <ul>
 *   <li>{@code naiveOneThread}: the single-syscall loop on a single-queue interface: the
 *       baseline.</li>
 *   <li>{@code singleQueueTwoThreads}: two threads on the same descriptor: what threads alone give
 *       (each may read the other's reply).</li>
 *   <li>{@code pipelinedOneThread}: one thread writes {@value #BURST} requests, then reads the
 *       {@value #BURST} replies: the same syscalls as the naive loop, in bursts, so the kernel's
 *       wake-ups and the caches see batches.</li>
 *   <li>{@code multiQueueTwoThreads}: two threads, each on its own queue of one multi-queue
 *       interface with its own flow (source address); the kernel steers each flow's replies to
 *       the queue that wrote it.</li>
 * </ul>
 *
 * <p>Needs root (it creates its own network namespace, {@code mpsafe-PID-N}, and deletes it in
 * the trial's tear-down). Run it briefly:
 * <pre>
 *   ./mvnw -o -Pjmh verify -Djmh.filter='dev\.mpsafe\.netstack\.tun\.TunThroughput' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 3 -r 1s"
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class TunThroughput {

    static final int QUEUES = 2;
    static final int DATA = 56; // ping's default: 84-byte packets
    static final int BURST = 8;

    NetnsFixture ns;
    Tun single;
    List<Tun> queues;
    final AtomicInteger nextThread = new AtomicInteger();

    @Setup(Level.Trial)
    public void create() throws IOException {
        String why = NetnsFixture.whyUnavailable();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        ns = NetnsFixture.create();
        single = ns.openTun("sq0");
        ns.up("sq0", "10.98.1.1/24");
        queues = ns.openQueues("mq0", QUEUES);
        ns.up("mq0", "10.98.2.1/24");
    }

    @TearDown(Level.Trial)
    public void close() {
        ns.close();
    }

    /** One thread's flow: its requests to each interface and its reply buffer. */
    @State(Scope.Thread)
    public static class Flow {
        Arena arena;
        int index;
        MemorySegment toSingle;
        int singleLength;
        MemorySegment toQueue;
        int queueLength;
        MemorySegment reply;

        @Setup(Level.Trial)
        public void create(TunThroughput bench) {
            index = bench.nextThread.getAndIncrement();
            arena = Arena.ofShared();
            toSingle = arena.allocate(2048);
            singleLength = TunPackets.echoRequest(toSingle, Ipv4Address.of(10, 98, 1, 2 + index),
                    Ipv4Address.of(10, 98, 1, 1), 1000 + index, 1, DATA);
            toQueue = arena.allocate(2048);
            queueLength = TunPackets.echoRequest(toQueue, Ipv4Address.of(10, 98, 2, 2 + index),
                    Ipv4Address.of(10, 98, 2, 1), 2000 + index, 1, DATA);
            reply = arena.allocate(2048);
        }

        @TearDown(Level.Trial)
        public void close() {
            arena.close();
        }
    }

    @Benchmark
    @Threads(1)
    public int naiveOneThread(Flow flow) throws IOException {
        return roundTrip(single, flow.toSingle, flow.singleLength, flow.reply);
    }

    @Benchmark
    @Threads(2)
    public int singleQueueTwoThreads(Flow flow) throws IOException {
        return roundTrip(single, flow.toSingle, flow.singleLength, flow.reply);
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(BURST)
    public int pipelinedOneThread(Flow flow) throws IOException {
        for (int i = 0; i < BURST; i++) {
            single.write(flow.toSingle, 0, flow.singleLength);
        }
        int sum = 0;
        for (int i = 0; i < BURST; i++) {
            int n = single.read(flow.reply);
            sum += n == Tun.NO_PACKET ? single.receive(flow.reply, 1, TimeUnit.SECONDS) : n;
        }
        return sum;
    }

    @Benchmark
    @Threads(QUEUES)
    public int multiQueueTwoThreads(Flow flow) throws IOException {
        return roundTrip(queues.get(flow.index % QUEUES), flow.toQueue, flow.queueLength, flow.reply);
    }

    /** One write, one read (a poll first only if the reply is not queued yet). */
    static int roundTrip(Tun tun, MemorySegment request, int length, MemorySegment reply) throws IOException {
        tun.write(request, 0, length);
        int n = tun.read(reply);
        if (n == Tun.NO_PACKET) {
            n = tun.receive(reply, 1, TimeUnit.SECONDS);
        }
        return n;
    }
}
