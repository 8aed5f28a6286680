package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.smr.Smr;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The stack itself, not a test responder, answers the Linux kernel: {@link Ipv4Stack} on a
 * {@link TunDevice} in a fresh namespace, pinged by iputils {@code ping} 1,000 times at sizes up to
 * the MTU's limit with 0% loss, no duplicates and no corrupted data. The packet pool balances
 * afterwards.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StackPingTest {

    private static final Pattern SUMMARY = Pattern.compile(
            "(\\d+) packets transmitted, (\\d+) received(, \\+(\\d+) duplicates)?(, \\+(\\d+) errors)?, ([\\d.]+)% packet loss");

    NetnsFixture ns;
    Smr smr;
    PacketPool pool;
    Ipv4Stack stack;
    TunDevice device;
    int ifindex;
    volatile boolean stop;
    Thread worker;
    final AtomicReference<Throwable> workerFailure = new AtomicReference<>();

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        NetnsFixture.assumeCommand("ping", "iputils-ping");
        ns = NetnsFixture.create();
        Tun tun = ns.openTun("tun0");
        ns.ip("link", "set", "tun0", "mtu", "1500");
        ns.up("tun0", "10.98.0.1/24"); // the kernel's side; the stack is 10.98.0.2
        smr = Smr.create("stack-ping", Smr.Mode.DEFAULT);
        pool = PacketPool.create(Smr.create("stack-ping-pool", Smr.Mode.DEFAULT), 2048, 8L << 20);
        stack = Ipv4Stack.builder(smr, pool, RouteTable.create(smr)).clock(System::nanoTime).build();
        device = TunDevice.of(tun, pool, 1500, 64);
        ifindex = stack.attach(device);
        stack.addAddress(ifindex, Ipv4Address.parse("10.98.0.2"), 24);
        worker = Thread.ofPlatform().name("stack-worker").start(() -> {
            try {
                while (!stop) {
                    if (tun.awaitReadable(50, TimeUnit.MILLISECONDS)) {
                        stack.poll(ifindex, 64);
                    }
                }
            } catch (Throwable t) {
                workerFailure.set(t);
            }
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns == null) {
            return;
        }
        stop = true;
        worker.join(5_000);
        device.close();
        String name = ns.name();
        ns.close();
        assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
        pool.checkBalanced();
        pool.close();
    }

    @Test
    void shouldAnswerThousandPingsThroughTheStack() throws Exception {
        long sent = 0;
        for (int size : PingTest.SIZES) {
            sent += ping(size, PingTest.PER_SIZE);
        }
        assertEquals(1_000, sent);
        assertNull(workerFailure.get());
        assertTrue(stack.counters().sent() >= 1_000, stack.counters().toString());
        System.out.println("StackPingTest: 1,000 echo requests answered by Ipv4Stack over TUN; " + stack.counters()
                + "; " + device.counters());
    }

    private long ping(int size, int count) throws Exception {
        NetnsFixture.Result r = ns.execAllowingFailure(30, "ping", "-n", "-q", "-c", Integer.toString(count),
                "-i", "0.002", "-W", "2", "-s", Integer.toString(size), "10.98.0.2");
        Matcher m = SUMMARY.matcher(r.output());
        assertTrue(m.find(), "no summary from ping -s " + size + ":\n" + r.output());
        String where = "ping -s " + size + " -c " + count + ": " + m.group() + "; " + stack.counters();
        assertEquals(count, Long.parseLong(m.group(1)), where);
        assertEquals(count, Long.parseLong(m.group(2)), where);
        assertNull(m.group(3), where);
        assertNull(m.group(5), where);
        assertEquals("0", m.group(7), where);
        assertFalse(r.output().contains("wrong data"), r.output());
        return Long.parseLong(m.group(1));
    }
}
