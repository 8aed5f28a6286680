package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real peer we did not write: Linux {@code ping} (iputils) inside a fresh namespace pings the
 * {@link EchoResponder} behind a TUN device, 1,000 echo requests at sizes from 0 to the MTU's
 * limit, and must report 0% loss, no duplicates and no corrupted data. Between the runs, the
 * hostile packets of {@link EchoResponderTest#hostilePackets()} are fed to the same responder
 * while it serves; each must be a counted drop, and ping must still get every answer afterwards.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PingTest {

    /** ICMP data sizes: 0 (no timestamp) .. 1472 (1500-byte MTU less 28 bytes of headers). */
    static final int[] SIZES = {0, 8, 56, 64, 100, 512, 1000, 1400, 1471, 1472};
    static final int PER_SIZE = 100;

    /** Sizes run a second time after a loss that was not the responder's (at most one per test). */
    private int retried;
    /** Replies the responder wrote during such a lost run. */
    private long retriedReplies;

    private static final Pattern SUMMARY = Pattern.compile(
            "(\\d+) packets transmitted, (\\d+) received(, \\+(\\d+) duplicates)?(, \\+(\\d+) errors)?, ([\\d.]+)% packet loss");

    NetnsFixture ns;
    Arena arena;
    Tun tun;
    EchoResponder responder;
    volatile boolean stop;
    Thread server;
    final AtomicReference<Throwable> serverFailure = new AtomicReference<>();

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        NetnsFixture.assumeCommand("ping", "iputils-ping");
        ns = NetnsFixture.create();
        arena = Arena.ofShared();
        tun = ns.openTun("tun0");
        ns.ip("link", "set", "tun0", "mtu", "1500");
        ns.up("tun0", "10.99.0.1/24"); // the kernel's side; the responder is 10.99.0.2
        responder = new EchoResponder(EchoResponderTest.US);
        MemorySegment buffer = arena.allocate(65536);
        server = Thread.ofPlatform().name("echo-responder").start(() -> {
            try {
                responder.serve(tun, buffer, () -> stop);
            } catch (Throwable t) {
                serverFailure.set(t);
            }
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns == null) {
            return;
        }
        stop = true;
        server.join(5_000);
        String name = ns.name();
        ns.close();
        arena.close();
        assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
    }

    @Test
    void shouldAnswerThousandPingsAtEverySizeWithoutLoss() throws Exception {
        long start = System.nanoTime();
        long sent = 0;
        for (int size : SIZES) {
            sent += ping(size, PER_SIZE);
        }
        assertEquals(1_000, sent);
        assertEquals(1_000 + retriedReplies, responder.replies(), responder.toString());
        assertNull(serverFailure.get());
        System.out.printf("PingTest: 1,000 echo requests in %d sizes answered in %.1f s; %s%n", SIZES.length,
                (System.nanoTime() - start) / 1e9, responder);
    }

    @Test
    void shouldStillAnswerPingAfterHostilePackets() throws Exception {
        assertEquals(50, ping(56, 50));
        Map<String, EchoResponderTest.Hostile> hostile = EchoResponderTest.hostilePackets();
        long dropsBefore = responder.totalDrops();
        MemorySegment scratch = arena.allocate(65536);
        for (int round = 0; round < 10; round++) {
            for (Map.Entry<String, EchoResponderTest.Hostile> e : hostile.entrySet()) {
                byte[] bytes = e.getValue().bytes();
                MemorySegment.copy(bytes, 0, scratch, ValueLayout.JAVA_BYTE, 0, bytes.length);
                long before = EchoResponderTest.count(responder, e.getValue().reason());
                assertEquals(0, responder.process(scratch, bytes.length), e.getKey());
                assertTrue(EchoResponderTest.count(responder, e.getValue().reason()) > before,
                        e.getKey() + " not counted as " + e.getValue().reason());
            }
        }
        assertEquals(10L * hostile.size(), responder.totalDrops() - dropsBefore);
        assertEquals(50, ping(1472, 50));
        assertEquals(100 + retriedReplies, responder.replies());
        assertNull(serverFailure.get());
    }

    /**
     * Runs {@code ping -c COUNT -s SIZE} inside and asserts its summary: all received, no
     * duplicates, no errors, 0% loss, no corrupted data.
     *
     * @return the number ping transmitted
     */
    private long ping(int size, int count) throws Exception {
        final long repliesBefore = responder.replies();
        NetnsFixture.Result r = ns.execAllowingFailure(30, "ping", "-n", "-q", "-c", Integer.toString(count),
                "-i", interval(size), "-W", "2", "-s", Integer.toString(size), "10.99.0.2");
        Matcher m = SUMMARY.matcher(r.output());
        assertTrue(m.find(), "no summary from ping -s " + size + ":\n" + r.output());
        final long answered = responder.replies() - repliesBefore;
        if (Long.parseLong(m.group(2)) < count && answered == count && retried == 0) {
            // The responder wrote a reply to every request, and ping counted one lost (seen once
            // in CI at 56 bytes on a busy 2-core machine): once some replies have come, ping waits
            // only two round trips after its last request, so a reply that reaches it late counts
            // as lost (shown with a responder delaying the last reply by 50 ms), and its socket
            // can also overrun. That is not the responder's loss: run this size once more, which
            // must be perfect.
            retried++;
            retriedReplies += answered;
            System.out.printf("PingTest: ping -s %d lost a reply the responder had written (%s); once more%n",
                    size, m.group());
            return ping(size, count);
        }
        String where = "ping -s " + size + " -c " + count + ": " + m.group() + "; " + responder;
        assertEquals(count, Long.parseLong(m.group(1)), where);
        assertEquals(count, Long.parseLong(m.group(2)), where);
        assertNull(m.group(3), where);
        assertNull(m.group(5), where);
        assertEquals("0", m.group(7), where);
        assertFalse(r.output().contains("wrong data"), r.output());
        assertEquals(0, r.exitCode(), where);
        return Long.parseLong(m.group(1));
    }

    /**
     * ping's interval for a size. At 2 ms, 100 replies of about 1.5 KB can overrun ping's own
     * socket receive buffer when ping is descheduled on a busy 2-core machine: CI once lost one
     * reply at 1471 and one at 1472 bytes although the responder had written every reply. Large
     * sizes go at 10 ms, which the receive buffer absorbs; the stack's path is the same.
     */
    static String interval(int size) {
        return size >= 1000 ? "0.01" : "0.002";
    }
}
