package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.LinkPair;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.smr.Smr;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Question: how many ICMP echo requests per second does the IPv4 layer turn into replies, through
 * the in-memory link, at 1 and 2 threads?
 *
 * <p>One operation is a whole round trip on the calling thread: the peer takes a buffer from the
 * pool and copies a 64-byte request (56 bytes of data, ping's default) into it, sends it on its
 * end of a {@link LinkPair}; the stack polls it in, checks it, rewrites it into the reply in place
 * and sends it through output (route lookup in an SMR read section, header, checksum); the peer
 * receives the reply and frees it. One stack is shared; each thread has its own link and interface
 * (a device has one receiving thread at a time), with its own /24, so the threads share the stack's
 * interface array, route table, counters and pool.
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.netstack\.ip\.EchoThroughput\..*' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 * The nested classes set the thread counts 1 and 2. For a scaling run on a larger machine, pass
 * {@code -t N} (at most {@value #LINKS}) to {@code OneThread}: the host attaches a link per possible
 * thread, and each thread takes the next one.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public abstract class EchoThroughput {

    @Threads(1)
    public static class OneThread extends EchoThroughput {
    }

    @Threads(2)
    public static class TwoThreads extends EchoThroughput {
    }

    static final int LINKS = 16; // one per thread, for -t up to 16
    static final int DATA = 56;

    /** The stack, its pool and one link per thread. */
    @State(Scope.Benchmark)
    public static class Host {
        Smr smr;
        PacketPool pool;
        Ipv4Stack stack;
        final LinkPair[] links = new LinkPair[LINKS];
        final int[] ifindex = new int[LINKS];
        final AtomicInteger nextThread = new AtomicInteger();

        @Setup(Level.Trial)
        public void up() {
            smr = Smr.create("echo", Smr.Mode.DEFAULT);
            pool = PacketPool.create(smr, 2048, 16L << 20);
            stack = Ipv4Stack.builder(smr, pool, RouteTable.create(smr)).clock(() -> 0L).build();
            for (int i = 0; i < LINKS; i++) {
                links[i] = LinkPair.create("echo" + i, 1500, 64);
                ifindex[i] = stack.attach(links[i].a());
                stack.addAddress(ifindex[i], Ipv4Address.of(10, i, 0, 1), 24);
            }
        }

        @TearDown(Level.Trial)
        public void down() {
            for (LinkPair l : links) {
                l.close();
            }
            pool.checkBalanced();
            pool.close();
        }
    }

    /** One thread's link end, interface and request bytes. */
    @State(Scope.Thread)
    public static class Peer {
        LinkPair.Endpoint end;
        int ifindex;
        MemorySegment request;
        final PacketBuffer[] batch = new PacketBuffer[1];

        @Setup(Level.Trial)
        public void up(Host host) {
            int i = host.nextThread.getAndIncrement();
            if (i >= LINKS) {
                throw new IllegalStateException("thread " + (i + 1) + " of a run with more than " + LINKS
                        + " threads: the host has a link for at most " + LINKS + " (-t " + LINKS + ")");
            }
            end = host.links[i].b();
            ifindex = host.ifindex[i];
            byte[] b = new byte[28 + DATA];
            MemorySegment s = MemorySegment.ofArray(b);
            Icmpv4Repr.EchoRequest echo = new Icmpv4Repr.EchoRequest(0x4242, 1, DATA);
            echo.emit(Icmpv4Packet.wrap(s, 20, 8 + DATA));
            Ipv4Repr.of(Ipv4Address.of(10, i, 0, 2), Ipv4Address.of(10, i, 0, 1), Ipv4Packet.PROTOCOL_ICMP, 64,
                    echo.bufferLength()).emit(Ipv4Packet.wrap(s, 0, b.length));
            request = s;
        }
    }

    @Benchmark
    public int echo(Host host, Peer peer) {
        PacketBuffer p = host.pool.allocate(64);
        MemorySegment.copy(peer.request, 0, p.append((int) peer.request.byteSize()), 0, peer.request.byteSize());
        peer.end.send(p);
        host.stack.poll(peer.ifindex, 1);
        int got = peer.end.receive(peer.batch, 0, 1);
        if (got == 1) {
            int length = peer.batch[0].length();
            peer.batch[0].free();
            return length;
        }
        throw new IllegalStateException("no reply: " + host.stack.counters());
    }
}
