package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.device.FaultInjector;
import dev.mpsafe.netstack.device.PcapWriter;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.smr.Smr;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stack itself, not a test responder, answers the Linux kernel: {@link Ipv4Stack} on a
 * {@link TunDevice} in a fresh namespace, pinged by iputils {@code ping} 1,000 times at sizes up to
 * the MTU's limit with 0% loss, no duplicates and no corrupted data, with a trace tshark accepts;
 * and through a 5% fault injector, losing exactly what it drops. The packet pool balances after
 * each.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StackPingTest {

    private static final Pattern SUMMARY = Pattern.compile(
            "(\\d+) packets transmitted, (\\d+) received(, \\+(\\d+) duplicates)?(, \\+(\\d+) errors)?, ([\\d.]+)% packet loss");

    @TempDir
    Path dir;
    NetnsFixture ns;
    Tun tun;
    Smr smr;
    PacketPool pool;
    Ipv4Stack stack;
    Device device;
    int ifindex;
    volatile boolean stop;
    Thread worker;
    final AtomicReference<Throwable> workerFailure = new AtomicReference<>();
    /** Requests of a ping run once more because ping counted a late reply lost (see ping); 0 or one run's. */
    long rerunRequests;

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        NetnsFixture.assumeCommand("ping", "iputils-ping");
        ns = NetnsFixture.create();
        tun = ns.openTun("tun0");
        ns.ip("link", "set", "tun0", "mtu", "1500");
        smr = Smr.create("stack-ping", Smr.Mode.DEFAULT);
        pool = PacketPool.create(Smr.create("stack-ping-pool", Smr.Mode.DEFAULT), 2048, 8L << 20);
        stack = Ipv4Stack.builder(smr, pool, RouteTable.create(smr)).clock(System::nanoTime).build();
    }

    /** Attaches {@code chain} (whose innermost device is the TUN device), brings the link up, starts the worker. */
    void start(Device chain) throws Exception {
        device = chain;
        TunDevice tunDevice = innermost(chain);
        ifindex = stack.attach(device);
        stack.addAddress(ifindex, Ipv4Address.parse("10.98.0.2"), 24);
        ns.up("tun0", "10.98.0.1/24"); // the kernel's side; the stack is 10.98.0.2
        worker = Thread.ofPlatform().name("stack-worker").start(() -> {
            try {
                while (!stop && !tunDevice.isDown()) { // down: poll would report ready forever
                    if (tun.awaitReadable(50, TimeUnit.MILLISECONDS)) {
                        stack.poll(ifindex, 64);
                    }
                }
                if (tunDevice.isDown()) {
                    throw tunDevice.failure();
                }
            } catch (Throwable t) {
                workerFailure.set(t);
            }
        });
    }

    /** The {@link TunDevice} under the middleware of {@code chain}. */
    static TunDevice innermost(Device chain) {
        Device d = chain;
        while (!(d instanceof TunDevice)) {
            d = switch (d) {
                case PcapWriter w -> w.inner();
                case FaultInjector f -> f.inner();
                default -> throw new IllegalArgumentException("no TunDevice under " + chain);
            };
        }
        return (TunDevice) d;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns == null) {
            return;
        }
        stop = true;
        if (worker != null) {
            worker.join(5_000);
        }
        if (device != null) {
            device.close();
        } else {
            tun.close();
        }
        String name = ns.name();
        ns.close();
        assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
        pool.checkBalanced();
        pool.close();
    }

    /**
     * 1,000 pings through the stack, 0% loss; the trace of every packet sent and received, written
     * by {@link PcapWriter}, is read by tshark with checksum validation on: 0 malformed packets, 0
     * bad checksums, and 1,000 echo requests and 1,000 replies in it.
     */
    @Test
    void shouldAnswerThousandPingsThroughTheStackWithATraceTsharkAccepts() throws Exception {
        Path trace = dir.resolve("stack-ping.pcap");
        start(PcapWriter.open(TunDevice.of(tun, pool, 1500, 64), trace, System::nanoTime,
                PcapWriter.Resolution.NANOSECONDS));
        long sent = 0;
        for (int size : PingTest.SIZES) {
            sent += ping(size, PingTest.PER_SIZE, false);
        }
        assertEquals(1_000, sent);
        stop = true;
        worker.join(5_000); // the worker counts a reply after the kernel has it: join before reading counters
        assertNull(workerFailure.get());
        assertEquals(1_000 + rerunRequests, stack.counters().sent(), stack.counters().toString());
        System.out.println("StackPingTest: 1,000 echo requests answered by Ipv4Stack over TUN; " + stack.counters()
                + "; " + device.counters());
        device.close(); // flushes the trace
        device = null;
        Path tshark = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "tshark")).filter(Files::isExecutable)
                .findFirst().orElse(null);
        assumeTrue(tshark != null, "tshark is not on PATH: the trace check is skipped "
                + "(apt-get install -y --no-install-recommends tshark; .ci/run installs it)");
        Process p = new ProcessBuilder(tshark.toString(), "-r", trace.toString(), "-o", "ip.check_checksum:TRUE",
                "-V").redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out.length() > 2000 ? out.substring(0, 2000) : out);
        assertEquals(0, count(out, "(?i)malformed"), "malformed packets in the stack's trace");
        assertEquals(0, count(out, "(?i)checksum status: Bad|\\[Bad|incorrect"), "bad checksums in the stack's trace");
        assertEquals(1_000 + rerunRequests, count(out, "Type: 8 \\(Echo \\(ping\\) request\\)"), "echo requests in the trace");
        assertEquals(1_000 + rerunRequests, count(out, "Type: 0 \\(Echo \\(ping\\) reply\\)"), "echo replies in the trace");
        assertEquals(4 * (1_000 + rerunRequests), count(out, "(?i)checksum status: Good"),
                "IPv4 and ICMP checksums verified in every frame, two per frame");
    }

    /**
     * The fault path: the stack's replies go through a {@link FaultInjector} dropping 5% (seeded).
     * The loss ping reports equals the injector's drop count exactly, and is consistent with 5% of
     * 1,000 (within 4.5 standard deviations of the binomial: 50 ± 31). A round in which ping counts
     * fewer replies than the injector let through (a late reply, see {@link #ping}) runs again, at
     * most twice in the test; the counts compared are those of the ten rounds kept.
     */
    @Test
    void shouldLoseWhatTheFaultInjectorDropsAndNothingElse() throws Exception {
        FaultInjector faults = FaultInjector.builder(TunDevice.of(tun, pool, 1500, 64)).seed(2026).drop(0.05).build();
        start(faults);
        long lost = 0;
        long dropped = 0;
        int reruns = 0;
        for (int round = 0; round < 10; round++) {
            FaultInjector.Faults before = faults.faults();
            long got = ping(56, 100, true);
            FaultInjector.Faults after = injectorTook(faults, before.passed() + before.dropped() + 100);
            long passed = after.passed() - before.passed();
            if (got < passed && reruns < 2) {
                // ping counted a reply lost that the injector let through: once some replies have
                // come, ping waits only two round trips after its last request, so a reply sent a
                // little late on a busy machine counts as lost although it arrives (see ping()). Not
                // the stack's loss, nor the injector's: run the round again. A loss inside the
                // stack, before the injector, still shows, as a ping loss with no drop to match.
                reruns++;
                System.out.printf("StackPingTest: ping counted %d of %d passed replies lost (late); round %d once more%n",
                        passed - got, passed, round);
                round--;
                continue;
            }
            lost += 100 - got;
            dropped += after.dropped() - before.dropped();
        }
        stop = true;
        worker.join(5_000);
        assertNull(workerFailure.get());
        assertEquals(dropped, lost, "ping's losses are exactly the injected drops; " + faults.faults());
        double sd = Math.sqrt(1_000 * 0.05 * 0.95);
        assertTrue(Math.abs(lost - 50) <= 4.5 * sd, lost + " of 1,000 lost at a 5% drop rate");
        System.out.println("StackPingTest: 5% drop injected, ping lost " + lost + " of 1,000; " + faults.faults());
    }

    /**
     * The injector's counts once it has passed or dropped {@code target} replies in all (waiting up
     * to 2 s for the worker, which may still be answering the round's last requests).
     */
    private static FaultInjector.Faults injectorTook(FaultInjector faults, long target) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        FaultInjector.Faults f;
        while ((f = faults.faults()).passed() + f.dropped() < target && System.nanoTime() - deadline < 0) {
            Thread.sleep(10); // polls a counter that has no signal to wait on
        }
        return f;
    }

    /** Whether the stack's device took {@code target} packets in all, waiting up to 2 s for the worker. */
    private boolean stackSent(long target) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (stack.counters().sent() < target) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(10); // the worker counts a reply once its device took it
        }
        return true;
    }

    private static int count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /**
     * Runs ping inside the namespace and checks its summary: no duplicates, no errors, no corrupted
     * data, and (unless {@code lossAllowed}) every request answered.
     *
     * @return the number of replies ping received
     */
    private long ping(int size, int count, boolean lossAllowed) throws Exception {
        final long sentBefore = stack.counters().sent();
        NetnsFixture.Result r = ns.execAllowingFailure(30, "ping", "-n", "-q", "-c", Integer.toString(count),
                "-i", PingTest.interval(size), "-W", "1", "-s", Integer.toString(size), "10.98.0.2");
        Matcher m = SUMMARY.matcher(r.output());
        assertTrue(m.find(), "no summary from ping -s " + size + ":\n" + r.output());
        final long transmitted = Long.parseLong(m.group(1));
        if (!lossAllowed && Long.parseLong(m.group(2)) < transmitted && rerunRequests == 0
                && stackSent(sentBefore + transmitted)) {
            // Once some replies have come, ping waits only two round trips (well under a
            // millisecond here) after its last request, so a reply the stack sends a little late,
            // with the machine busy, counts as lost although it arrives. (-w instead of -W is no
            // cure: ping then sends more requests until count replies came.) The stack answered
            // every request, so it is not the stack's loss: run this size once more, which must
            // be perfect.
            rerunRequests = transmitted;
            System.out.printf("StackPingTest: ping -s %d counted a reply lost that the stack had sent (%s); once more%n",
                    size, m.group());
            return ping(size, count, false);
        }
        String where = "ping -s " + size + " -c " + count + ": " + m.group() + "; " + stack.counters();
        assertEquals(count, Long.parseLong(m.group(1)), where);
        if (!lossAllowed) {
            assertEquals(count, Long.parseLong(m.group(2)), where);
            assertEquals("0", m.group(7), where);
        }
        assertNull(m.group(3), where);
        assertNull(m.group(5), where);
        assertFalse(r.output().contains("wrong data"), r.output());
        return Long.parseLong(m.group(2));
    }

}
