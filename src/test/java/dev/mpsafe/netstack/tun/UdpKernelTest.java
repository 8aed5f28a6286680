package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.device.FaultInjector;
import dev.mpsafe.netstack.device.PcapWriter;
import dev.mpsafe.netstack.ip.Dispatch;
import dev.mpsafe.netstack.ip.IpDrop;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.udp.Udp;
import dev.mpsafe.netstack.udp.UdpDrop;
import dev.mpsafe.netstack.udp.UdpSocket;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Our UDP against Linux's own: {@link Udp} on an {@link Ipv4Stack} on a {@link TunDevice} in a
 * fresh namespace, serving a UDP echo on port 7, with the kernel's UDP as the peer: a JDK
 * {@link DatagramChannel} created inside the namespace (a socket belongs to the namespace of the
 * thread that creates it: {@link NetnsFixture#inside}), and {@code socat}, a tool we did not write.
 * Every test runs under both dispatch models, writes a pcap that tshark reads with checksum
 * validation on, and ends with the packet pool balanced.
 *
 * <ul>
 *   <li>10,000 datagrams of every size from 1 to 1,472 bytes (the most a 1,500-byte MTU carries
 *       unfragmented) come back with their SHA-256 intact, none lost, none extra;</li>
 *   <li>socat's datagrams come back byte for byte;</li>
 *   <li>a closed port makes Linux's connected socket throw {@link PortUnreachableException} and
 *       socat print "Connection refused": the stack's ICMP port unreachable is one Linux accepts;</li>
 *   <li>through seeded faults on both directions, every packet the stack got is accounted for
 *       exactly, and no damaged datagram is ever echoed.</li>
 * </ul>
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpKernelTest {

    static final int KERNEL = Ipv4Address.of(10, 98, 1, 1);
    static final int STACK = Ipv4Address.of(10, 98, 1, 2);
    static final String STACK_TEXT = "10.98.1.2";
    static final int MTU = 1500;
    /** The largest UDP payload a 1,500-byte MTU carries without fragments: 1500 - 20 - 8. */
    static final int MAX_PAYLOAD = MTU - 20 - 8;
    static final int ECHO_PORT = 7;
    static final int CLOSED_PORT = 9;
    /** Datagrams Linux has in flight at once: well inside every queue on the path (256 at the echo socket). */
    static final int WINDOW = 8;

    @org.junit.jupiter.api.io.TempDir
    Path dir;
    NetnsFixture ns;
    Tun tun;
    GraceDomain domain;
    PacketPool pool;
    Ipv4Stack stack;
    Udp udp;
    Device device;
    int ifindex;
    Runnable tick = () -> { };
    volatile boolean stop;
    Thread worker;
    UdpSocket echo;
    Thread echoThread;
    TunDevice tunDevice;
    final AtomicLong echoed = new AtomicLong();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final List<DatagramChannel> channels = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        ns = NetnsFixture.create();
        tun = ns.openTun("tun0");
        ns.ip("link", "set", "tun0", "mtu", Integer.toString(MTU));
        domain = Smr.create("udp-kernel", Smr.Mode.DEFAULT);
        pool = PacketPool.create(Smr.create("udp-kernel-pool", Smr.Mode.DEFAULT), 2048, 8L << 20);
    }

    /**
     * Builds the stack with {@code dispatch} on {@code chain} (whose innermost device is the TUN
     * device), binds the echo service to port 7, brings the link up and starts the worker and the
     * echo thread.
     */
    void start(Dispatch dispatch, Device chain) throws Exception {
        device = chain;
        stack = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(System::nanoTime)
                .dispatch(dispatch).build();
        ifindex = stack.attach(device);
        stack.addAddress(ifindex, STACK, 24);
        udp = Udp.attach(stack);
        echo = udp.open().bind(new InetSocketAddress(ECHO_PORT));
        ns.up("tun0", "10.98.1.1/24"); // the kernel's side; the stack is 10.98.1.2
        TunDevice tunDevice = this.tunDevice; // made by traced(), under every chain these tests build
        worker = Thread.ofPlatform().name("udp-kernel-worker").start(() -> {
            try {
                while (!stop) {
                    if (tunDevice.isDown()) { // the interface went away: poll would report ready forever
                        throw tunDevice.failure();
                    }
                    // Polled on every round, readable or not, so the fault injectors' ticks release
                    // what they hold for reordering even when Linux has stopped sending.
                    tun.awaitReadable(20, TimeUnit.MILLISECONDS);
                    stack.poll(ifindex, 64);
                    tick.run();
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        echoThread = Thread.ofPlatform().name("udp-kernel-echo").start(() -> {
            ByteBuffer b = ByteBuffer.allocateDirect(2048);
            try {
                while (true) {
                    b.clear();
                    InetSocketAddress from = echo.receive(b); // parks until a datagram comes
                    echo.send(b.flip(), from);
                    echoed.incrementAndGet();
                }
            } catch (ClosedChannelException e) { // AsynchronousCloseException included: tearDown closed it
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }

    /** Stops the worker and the echo service, so that every counter is final. Idempotent. */
    void stopStack() throws Exception {
        stop = true;
        if (worker != null) {
            worker.join(5_000);
            assertFalse(worker.isAlive(), "the worker did not stop");
        }
        if (echo != null) {
            echo.close(); // wakes the echo thread; what is still queued is freed after a grace period
            echoThread.join(5_000);
            assertFalse(echoThread.isAlive(), "the echo thread did not stop");
        }
        if (failure.get() != null) {
            throw new AssertionError("the worker or the echo service failed", failure.get());
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns == null) {
            return;
        }
        try {
            stopStack();
        } finally {
            for (DatagramChannel c : channels) {
                c.close();
            }
            if (domain instanceof Deferring d) {
                d.barrier(); // the closed socket's queue is freed by a deferred callback
            }
            if (device != null) {
                device.close();
            } else if (tun != null) {
                tun.close();
            }
            String name = ns.name();
            ns.close();
            assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
            pool.checkBalanced();
            pool.close();
        }
    }

    /** A pcap of everything between the stack and the TUN device, written to {@code name}. */
    PcapWriter traced(String name) throws IOException {
        tunDevice = TunDevice.of(tun, pool, MTU, 64);
        return PcapWriter.open(tunDevice, dir.resolve(name), System::nanoTime,
                PcapWriter.Resolution.NANOSECONDS);
    }

    /** Linux's UDP: an IPv4 DatagramChannel created inside the namespace, connected to the stack's {@code port}. */
    DatagramChannel kernelChannel(int port) throws IOException {
        DatagramChannel c = ns.inside(() -> DatagramChannel.open(StandardProtocolFamily.INET));
        channels.add(c);
        c.connect(new InetSocketAddress(STACK_TEXT, port));
        return c;
    }

    // --- 1. echo ---------------------------------------------------------------------------------

    /**
     * Linux sends 10,000 datagrams, 8 in flight at most, of sizes cycling through every value from
     * 1 to 1,472 bytes; every reply's SHA-256 matches a datagram in flight, none is lost (each gets
     * 5 s), none is extra. The stack's counters show exactly 10,000 received, delivered, echoed and
     * sent, no drop; tshark finds 20,000 UDP frames with good checksums, nothing malformed.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void shouldEchoTenThousandDatagramsFromLinuxWithNoneLost(Dispatch dispatch) throws Exception {
        start(dispatch, traced("echo.pcap"));
        DatagramChannel linux = kernelChannel(ECHO_PORT);
        long began = System.nanoTime();
        Exchange x = Exchange.run(linux, 10_000, i -> 1 + (int) ((i * 7919L) % MAX_PAYLOAD), 2026, WINDOW,
                TimeUnit.SECONDS.toNanos(5), false);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
        assertEquals(10_000, x.answered, x.toString());
        assertEquals(0, x.lost, x.toString());
        assertEquals(0, x.duplicates, x.toString());
        assertEquals(0, x.corrupt, x.toString());
        assertEquals(1, x.smallest);
        assertEquals(MAX_PAYLOAD, x.largest);
        stopStack();
        assertEquals(10_000, udp.counters().received(), udp.counters().toString());
        assertEquals(10_000, udp.counters().delivered(), udp.counters().toString());
        assertEquals(10_000, udp.counters().sent(), udp.counters().toString());
        assertEquals(0, udp.counters().droppedTotal(), udp.counters().toString());
        assertEquals(10_000, echoed.get());
        assertEquals(10_000, echo.counters().delivered());
        assertEquals(10_000, stack.counters().received(), stack.counters().toString());
        assertEquals(10_000, stack.counters().delivered(), stack.counters().toString());
        assertEquals(0, stack.counters().inputDrops(), stack.counters().toString());
        System.out.println("UdpKernelTest " + dispatch + ": 10,000 datagrams of 1.." + MAX_PAYLOAD
                + " bytes echoed to Linux in " + millis + " ms, none lost; " + x + "; " + stack.counters() + "; udp "
                + udp.counters());
        Tshark t = Tshark.read(closeDevice("echo.pcap"));
        t.assertClean();
        assertEquals(20_000, t.udp, t.toString());
        assertEquals(10_000, t.udpFrom(KERNEL), t.toString());
        assertEquals(20_000, t.frames, t.toString());
    }

    /**
     * socat, a UDP client we did not write, sends one datagram per run (1, 64, 1,000 and 1,472
     * bytes of seeded random data) and prints the reply: the bytes come back exactly.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void shouldEchoSocatsDatagramsByteForByte(Dispatch dispatch) throws Exception {
        NetnsFixture.assumeCommand("socat", "socat");
        start(dispatch, traced("socat.pcap"));
        int[] sizes = {1, 64, 1_000, MAX_PAYLOAD};
        SplittableRandom random = new SplittableRandom(862);
        for (int size : sizes) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            Socat r = Socat.run(ns, data, "-t", "1", "-T", "5", "-", "UDP:" + STACK_TEXT + ":" + ECHO_PORT);
            assertEquals(0, r.exit(), "socat exited " + r.exit() + ": " + r.stderr());
            assertTrue(Arrays.equals(data, r.stdout()), "socat got " + r.stdout().length + " bytes back for "
                    + size + " sent, or different bytes; stderr: " + r.stderr());
        }
        stopStack();
        assertEquals(sizes.length, udp.counters().delivered(), udp.counters().toString());
        assertEquals(sizes.length, udp.counters().sent(), udp.counters().toString());
        assertEquals(0, udp.counters().droppedTotal(), udp.counters().toString());
        Tshark t = Tshark.read(closeDevice("socat.pcap"));
        t.assertClean();
        assertEquals(2 * sizes.length, t.udp, t.toString());
        assertEquals(sizes.length, t.udpFrom(KERNEL), t.toString());
    }

    // --- 2. closed port ------------------------------------------------------------------------

    /**
     * Three datagrams from Linux's connected socket to port 9, where nothing listens: after each,
     * the socket reports connection refused ({@link PortUnreachableException} from {@code read}),
     * as Linux does when the ICMP port unreachable it receives quotes that socket's datagram, and
     * the kernel's own ICMP counters show three destination unreachables taken in, no ICMP error.
     * The stack counted three NO_PORT drops and sent three ICMP errors.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void shouldMakeLinuxSeeConnectionRefusedOnAClosedPort(Dispatch dispatch) throws Exception {
        start(dispatch, traced("closed.pcap"));
        Map<String, Long> before = kernelIcmp();
        DatagramChannel linux = kernelChannel(CLOSED_PORT);
        linux.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            linux.register(selector, SelectionKey.OP_READ);
            for (int i = 0; i < 3; i++) {
                ByteBuffer b = ByteBuffer.wrap(("to a closed port " + i).getBytes(StandardCharsets.US_ASCII));
                assertEquals(b.remaining(), linux.write(b));
                // A pending socket error makes the channel ready: the read then reports it.
                assertNotEquals(0, selector.select(5_000), "no ICMP error reached Linux's socket within 5 s; "
                        + stack.counters());
                selector.selectedKeys().clear();
                try {
                    int n = linux.read(ByteBuffer.allocate(64));
                    fail("Linux's read returned " + n + " instead of reporting port unreachable; " + stack.counters());
                } catch (PortUnreachableException expected) {
                    // ECONNREFUSED: the kernel matched our ICMP error to its socket
                }
            }
        }
        stopStack();
        assertEquals(3, udp.counters().received(), udp.counters().toString());
        assertEquals(3, udp.counters().dropped(UdpDrop.NO_PORT), udp.counters().toString());
        assertEquals(0, udp.counters().delivered(), udp.counters().toString());
        assertEquals(3, stack.counters().icmpErrorsSent(), stack.counters().toString());
        assertEquals(3, stack.counters().drops(IpDrop.PORT_UNREACHABLE), stack.counters().toString());
        Map<String, Long> after = kernelIcmp();
        assertEquals(3, after.get("InDestUnreachs") - before.get("InDestUnreachs"), "Linux's Icmp: " + after);
        assertEquals(before.get("InErrors"), after.get("InErrors"), "Linux's Icmp: " + after);
        assertEquals(before.get("InCsumErrors"), after.get("InCsumErrors"), "Linux's Icmp: " + after);
        Tshark t = Tshark.read(closeDevice("closed.pcap"));
        t.assertClean();
        assertEquals(3, t.udp, t.toString());
        assertEquals(3, t.icmp, t.toString());
        assertEquals(6, t.frames, t.toString());
    }

    /** socat sending to the closed port reports "Connection refused" and fails; the stack counted the drop. */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void shouldMakeSocatSeeConnectionRefusedOnAClosedPort(Dispatch dispatch) throws Exception {
        NetnsFixture.assumeCommand("socat", "socat");
        start(dispatch, traced("socat-closed.pcap"));
        Socat r = Socat.run(ns, "anyone there?\n".getBytes(StandardCharsets.US_ASCII), "-t", "1", "-T", "5", "-",
                "UDP:" + STACK_TEXT + ":" + CLOSED_PORT);
        assertNotEquals(0, r.exit(), "socat should fail; stderr: " + r.stderr());
        assertTrue(r.stderr().contains("Connection refused"), r.stderr());
        assertEquals(0, r.stdout().length);
        stopStack();
        assertEquals(1, udp.counters().dropped(UdpDrop.NO_PORT), udp.counters().toString());
        assertEquals(1, stack.counters().icmpErrorsSent(), stack.counters().toString());
        Tshark t = Tshark.read(closeDevice("socat-closed.pcap"));
        t.assertClean();
        assertEquals(1, t.udp, t.toString());
        assertEquals(1, t.icmp, t.toString());
    }

    // --- 4. faults -------------------------------------------------------------------------------

    /**
     * Faults on both directions, seeded: what Linux sends is dropped (3%), corrupted (3%: one byte
     * flipped), duplicated (2%) and reordered (2%) before the stack sees it; the stack's replies
     * are dropped (2%), duplicated (2%) and reordered (2%) on the way out (not corrupted, so the
     * trace stays one tshark must find clean: the pcap records the wire Linux sees). Linux sends
     * 2,000 datagrams of 4 to 1,472 bytes, each unique, and gives up on a reply after 200 ms.
     *
     * <p>Every packet handed to the stack is accounted for exactly: IPv4 delivered + input drops
     * = handed over = taken from TUN − dropped + duplicated; UDP received = delivered + dropped;
     * every delivered datagram was echoed; each corrupted packet is one input drop (a checksum
     * caught it). Linux got exactly the replies the stack sent, less those dropped on the way,
     * plus the duplicates; every one carries the digest of a datagram Linux sent: damage is lost,
     * never accepted.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void shouldAccountForEveryPacketThroughSeededFaults(Dispatch dispatch) throws Exception {
        PcapWriter pcap = traced("faults.pcap");
        InboundFaults in = new InboundFaults(pcap,
                b -> b.seed(2026).drop(0.03).corrupt(0.03).duplicate(0.02).reorder(0.02));
        FaultInjector out = FaultInjector.builder(in).seed(768).drop(0.02).duplicate(0.02).reorder(0.02).build();
        tick = out::tick;
        start(dispatch, out);
        DatagramChannel linux = kernelChannel(ECHO_PORT);
        Exchange x = Exchange.run(linux, 2_000, i -> 4 + (int) ((i * 7919L) % (MAX_PAYLOAD - 3)), 7, WINDOW,
                TimeUnit.MILLISECONDS.toNanos(200), true);
        stopStack();
        FaultInjector.Faults fin = in.faults();
        FaultInjector.Faults fout = out.faults();
        String where = x + "; in " + fin + "; out " + fout + "; " + stack.counters() + "; udp " + udp.counters();
        System.out.println("UdpKernelTest " + dispatch + " faults: " + where);

        // Damage is never accepted, and every reply Linux got is accounted for.
        assertEquals(0, x.corrupt, "Linux got a reply whose digest matches nothing it sent; " + where);
        assertEquals(2_000, x.answered + x.lost, where);
        assertTrue(x.lost > 0 && x.lost < 300, "lost " + x.lost + " of 2,000; " + where);
        assertEquals(0, in.pending() + out.holding(), "packets still held after the worker stopped");
        assertEquals(udp.counters().sent() - fout.dropped() + fout.duplicated(), x.answered + x.duplicates, where);

        // The stack's input: what the device handed over adds up exactly.
        assertEquals(0, in.loopDrops(), where);
        assertEquals(in.fromInner() - fin.dropped() + fin.duplicated(), in.handed(), where);
        assertEquals(in.handed(), stack.counters().received(), where);
        assertEquals(in.handed(), stack.counters().delivered() + stack.counters().inputDrops(), where);
        assertEquals(fin.corrupted(), stack.counters().inputDrops(),
                "each corrupted packet should be exactly one input drop (an IPv4 or UDP checksum); " + where);
        assertEquals(udp.counters().received(), udp.counters().delivered() + udp.counters().droppedTotal(), where);
        assertEquals(udp.counters().delivered(), echoed.get(), where);
        assertEquals(udp.counters().delivered(), udp.counters().sent(), where);
        assertEquals(udp.counters().delivered(), stack.counters().delivered(), where);
        assertTrue(fin.dropped() > 0 && fin.corrupted() > 0 && fin.duplicated() > 0 && fin.reordered() > 0, where);
        assertTrue(fout.dropped() > 0 && fout.duplicated() > 0 && fout.reordered() > 0, where);

        Tshark t = Tshark.read(closeDevice("faults.pcap"));
        t.assertClean();
        assertEquals(2_000, t.udpFrom(KERNEL), t.toString());
        assertEquals(in.fromInner(), t.udpFrom(KERNEL), t.toString());
        assertEquals(x.answered + x.duplicates, t.udpFrom(STACK), t.toString());
    }

    /** Closes the device chain (flushing the trace) and returns the trace's path. */
    Path closeDevice(String trace) {
        device.close();
        device = null;
        tun = null;
        return dir.resolve(trace);
    }

    /** Linux's ICMP counters inside the namespace ({@code Icmp:} lines of /proc/net/snmp). */
    Map<String, Long> kernelIcmp() throws IOException {
        List<String> lines = ns.exec(10, "cat", "/proc/net/snmp").output().lines()
                .filter(l -> l.startsWith("Icmp:")).toList();
        assertEquals(2, lines.size(), "Icmp: lines of /proc/net/snmp: " + lines);
        String[] names = lines.get(0).split("\\s+");
        String[] values = lines.get(1).split("\\s+");
        Map<String, Long> m = new HashMap<>();
        for (int i = 1; i < names.length; i++) {
            m.put(names[i], Long.parseLong(values[i]));
        }
        return m;
    }

    // --- Linux's side ----------------------------------------------------------------------------

    /**
     * Linux sends {@code count} datagrams through a connected channel, at most {@code window} in
     * flight, and matches each reply by its SHA-256 to one in flight. A datagram unanswered after
     * {@code lossNanos} is counted lost; a reply to it after that moves it back to answered
     * (late). A reply matching a datagram already answered is a duplicate; one matching nothing
     * sent is corrupt. Unless {@code lossAllowed}, a loss, a duplicate or a corrupt reply fails the
     * exchange at once. After the last datagram, replies are collected until 300 ms pass without one.
     */
    static final class Exchange {
        int answered;
        int lost;
        int late;
        int duplicates;
        int corrupt;
        int smallest = Integer.MAX_VALUE;
        int largest;

        private record InFlight(String digest, int sequence, long deadline) {}

        static Exchange run(DatagramChannel channel, int count, IntUnaryOperator sizeOf, long seed, int window,
                long lossNanos, boolean lossAllowed) throws IOException {
            Exchange x = new Exchange();
            MessageDigest sha = sha256();
            SplittableRandom random = new SplittableRandom(seed);
            Map<String, Integer> sent = new HashMap<>();
            Map<String, Integer> given = new HashMap<>(); // digests of datagrams declared lost
            List<InFlight> inFlight = new ArrayList<>();
            ByteBuffer out = ByteBuffer.allocateDirect(2048);
            ByteBuffer in = ByteBuffer.allocateDirect(2048);
            channel.configureBlocking(false);
            try (Selector selector = Selector.open()) {
                channel.register(selector, SelectionKey.OP_READ);
                int next = 0;
                while (next < count || !inFlight.isEmpty()) {
                    long now = System.nanoTime();
                    for (int i = 0; i < inFlight.size(); i++) {
                        InFlight f = inFlight.get(i);
                        if (now - f.deadline >= 0) {
                            inFlight.remove(i--);
                            x.lost++;
                            given.merge(f.digest, 1, Integer::sum);
                            if (!lossAllowed) {
                                fail("datagram " + f.sequence + " got no reply within "
                                        + TimeUnit.NANOSECONDS.toMillis(lossNanos) + " ms; " + x);
                            }
                        }
                    }
                    if (next < count && inFlight.size() < window) {
                        int size = sizeOf.applyAsInt(next);
                        byte[] payload = new byte[size];
                        random.nextBytes(payload);
                        if (size >= 4) { // the sequence number makes each payload (and digest) unique
                            ByteBuffer.wrap(payload).putInt(next);
                        }
                        String digest = HexFormat.of().formatHex(sha.digest(payload));
                        sent.merge(digest, 1, Integer::sum);
                        inFlight.add(new InFlight(digest, next, now + lossNanos));
                        x.smallest = Math.min(x.smallest, size);
                        x.largest = Math.max(x.largest, size);
                        out.clear().put(payload).flip();
                        assertEquals(size, channel.write(out), "Linux's socket took a short write");
                        next++;
                    } else {
                        long wait = inFlight.isEmpty() ? 1 : inFlight.getFirst().deadline - now;
                        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
                        selector.selectedKeys().clear();
                    }
                    x.collect(channel, in, sha, sent, given, inFlight);
                    if (!lossAllowed && (x.corrupt > 0 || x.duplicates > 0)) {
                        fail("a reply that is not one datagram in flight, on the clean path; " + x);
                    }
                }
                // Late replies and duplicates still on their way.
                long quietUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                while (System.nanoTime() - quietUntil < 0) {
                    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(quietUntil - System.nanoTime())));
                    selector.selectedKeys().clear();
                    if (x.collect(channel, in, sha, sent, given, inFlight) > 0) {
                        quietUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                    }
                }
            }
            return x;
        }

        /** Reads every reply waiting; returns how many. */
        private int collect(DatagramChannel channel, ByteBuffer in, MessageDigest sha, Map<String, Integer> sent,
                Map<String, Integer> given, List<InFlight> inFlight) throws IOException {
            int n = 0;
            while (true) {
                in.clear();
                if (channel.read(in) == 0 && in.position() == 0) {
                    // read returns 0 both for "nothing waiting" and for an empty datagram: we never
                    // send an empty one, so an empty read means none was waiting
                    return n;
                }
                n++;
                byte[] reply = new byte[in.flip().remaining()];
                in.get(reply);
                String digest = HexFormat.of().formatHex(sha.digest(reply));
                boolean matched = false;
                for (int i = 0; i < inFlight.size(); i++) {
                    if (inFlight.get(i).digest.equals(digest)) {
                        inFlight.remove(i);
                        matched = true;
                        break;
                    }
                }
                if (matched) {
                    answered++;
                } else if (given.getOrDefault(digest, 0) > 0) {
                    given.merge(digest, -1, Integer::sum);
                    lost--;
                    late++;
                    answered++;
                } else if (sent.containsKey(digest)) {
                    duplicates++;
                } else {
                    corrupt++;
                }
            }
        }

        private static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new AssertionError(e);
            }
        }

        @Override
        public String toString() {
            return "Linux: " + answered + " answered (" + late + " late), " + lost + " lost, " + duplicates
                    + " duplicate replies, " + corrupt + " corrupt";
        }
    }

    /** One socat run inside the namespace: the exit status, what it printed, and its messages. */
    record Socat(int exit, byte[] stdout, String stderr) {

        static Socat run(NetnsFixture ns, byte[] input, String... args) throws Exception {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns.name(), "socat"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).start();
            byte[][] err = new byte[1][];
            Thread errReader = Thread.ofPlatform().start(() -> {
                try {
                    err[0] = p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    err[0] = ("(stderr lost: " + e + ")").getBytes(StandardCharsets.UTF_8);
                }
            });
            // One write of at most a pipe's atomic size: socat reads it in one go, one datagram.
            p.getOutputStream().write(input);
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("socat did not finish in 20 s");
            }
            errReader.join(5_000);
            return new Socat(p.exitValue(), out, new String(err[0], StandardCharsets.UTF_8));
        }
    }

    /**
     * tshark's reading of a trace with IPv4, UDP and ICMP checksum validation on: per frame its
     * protocol stack, source address, checksum statuses (0 bad, 1 good, 2 unverified), the
     * malformed marker and expert severities.
     */
    static final class Tshark {
        /** Wireshark's PI_ERROR expert severity. */
        private static final String ERROR_SEVERITY = "8388608";

        int frames;
        int udp;
        int icmp;
        int badChecksums;
        int goodChecksums;
        int malformed;
        int expertErrors;
        final Map<Integer, Integer> udpBySource = new HashMap<>();
        final List<String> flagged = new ArrayList<>();

        static Tshark read(Path trace) throws Exception {
            Path tshark = NetnsFixture.findOnPath("tshark");
            assumeTrue(tshark != null, "tshark is not on PATH: the trace check is skipped "
                    + "(apt-get install -y --no-install-recommends tshark; .ci/run installs it)");
            Process p = new ProcessBuilder(tshark.toString(), "-r", trace.toString(), "-o", "ip.check_checksum:TRUE",
                    "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
                    "-e", "frame.protocols", "-e", "ip.src", "-e", "ip.checksum.status", "-e", "udp.checksum.status",
                    "-e", "icmp.checksum.status", "-e", "_ws.malformed", "-e", "_ws.expert.severity")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start(); // stderr: only "running as root"
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark did not finish in 60 s");
            assertEquals(0, p.exitValue(), "tshark exited " + p.exitValue());
            Tshark t = new Tshark();
            out.lines().forEach(t::frame);
            return t;
        }

        private void frame(String line) {
            String[] f = line.split("\\|", -1);
            assertEquals(7, f.length, "tshark line: " + line);
            frames++;
            boolean flag = false;
            if (f[0].startsWith("raw:ip:udp")) {
                udp++;
                udpBySource.merge(Ipv4Address.parse(f[1].split(",")[0]), 1, Integer::sum);
            } else if (f[0].startsWith("raw:ip:icmp")) {
                icmp++;
            }
            for (int i = 2; i <= 4; i++) {
                for (String status : f[i].split(",")) {
                    if (status.equals("0")) {
                        badChecksums++;
                        flag = true;
                    } else if (status.equals("1")) {
                        goodChecksums++;
                    }
                }
            }
            if (!f[5].isEmpty()) {
                malformed++;
                flag = true;
            }
            if (Arrays.asList(f[6].split(",")).contains(ERROR_SEVERITY)) {
                expertErrors++;
                flag = true;
            }
            if (flag && flagged.size() < 5) {
                flagged.add("frame " + frames + ": " + line);
            }
        }

        int udpFrom(int source) {
            return udpBySource.getOrDefault(source, 0);
        }

        /** 0 malformed, 0 bad checksums, no expert error; and at least the IPv4 checksum of each frame verified. */
        void assertClean() {
            assertEquals(0, malformed, "malformed frames: " + this);
            assertEquals(0, badChecksums, "bad checksums: " + this);
            assertEquals(0, expertErrors, "frames tshark flags as errors: " + this);
            assertTrue(goodChecksums >= frames, "checksums verified good: " + this);
        }

        @Override
        public String toString() {
            return "tshark: " + frames + " frames, " + udp + " UDP, " + icmp + " ICMP, " + goodChecksums
                    + " checksums good, " + badChecksums + " bad, " + malformed + " malformed, " + expertErrors
                    + " expert errors" + (flagged.isEmpty() ? "" : "; first flagged: " + flagged);
        }
    }
}
