package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The device against the real kernel, each test in its own network namespace (root only; skipped
 * with the reason elsewhere). The kernel is the peer: a packet written to the TUN is an IP packet
 * the kernel receives, and the kernel's own echo reply comes back through a read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunTest {

    static final int KERNEL = Ipv4Address.of(10, 98, 0, 1);
    static final int US = Ipv4Address.of(10, 98, 0, 2);

    NetnsFixture ns;
    Arena arena;
    MemorySegment buffer;

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        ns = NetnsFixture.create();
        arena = Arena.ofShared();
        buffer = arena.allocate(2048);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns != null) {
            String name = ns.name();
            ns.close();
            assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
            arena.close();
        }
    }

    @Test
    void shouldResolveNamePatternWhenKernelPicksNumber() throws Exception {
        Tun tun = ns.openTun("mpt%d");
        assertEquals("mpt0", tun.name());
        assertTrue(ns.ip("link", "show", "mpt0").output().contains("mpt0"));
        assertEquals("Tun[mpt0]", tun.toString());
    }

    @Test
    void shouldGetKernelsEchoReplyWhenWritingRequest() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        drain(tun);
        for (int seq = 0; seq < 20; seq++) {
            int size = 13 * seq;
            int length = TunPackets.echoRequest(buffer, US, KERNEL, 0x4242, seq, size);
            tun.write(buffer, 0, length);
            int n = tun.receive(buffer, 2, TimeUnit.SECONDS);
            assertEquals(length, n, "reply length for seq " + seq);
            Ipv4Packet ip = assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(buffer, 0, n));
            Ipv4Repr header = assertInstanceOf(Ipv4Repr.class, Ipv4Repr.parse(ip));
            assertEquals(KERNEL, header.source());
            assertEquals(US, header.destination());
            Icmpv4Packet icmp = assertInstanceOf(Icmpv4Packet.class, Icmpv4Packet.check(ip.payload()));
            assertEquals(new Icmpv4Repr.EchoReply(0x4242, seq, size), Icmpv4Repr.parse(icmp));
        }
    }

    @Test
    void shouldReturnNoPacketWhenTimeoutPasses() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        drain(tun);
        assertEquals(Tun.NO_PACKET, tun.read(buffer));
        long start = System.nanoTime();
        assertEquals(Tun.NO_PACKET, tun.receive(buffer, 100, TimeUnit.MILLISECONDS));
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMillis >= 95 && tookMillis < 2_000, "receive(100 ms) took " + tookMillis + " ms");
        assertFalse(tun.awaitReadable(0, TimeUnit.MILLISECONDS));
    }

    @Test
    void shouldWakeWaitingReaderWhenClosed() throws Exception {
        Tun tun = ns.openTun("tun0");
        CompletableFuture<Throwable> reader = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name("tun-reader").start(() -> {
            try {
                tun.receive(buffer, -1, TimeUnit.MILLISECONDS); // no timeout
                reader.complete(null);
            } catch (Throwable e) {
                reader.complete(e);
            }
        });
        Thread.sleep(200); // let it reach poll(2)
        assertFalse(reader.isDone(), "the reader returned without a packet: " + reader.getNow(null));
        long start = System.nanoTime();
        tun.close();
        Throwable thrown = reader.get(5, TimeUnit.SECONDS);
        t.join(5_000);
        assertInstanceOf(AsynchronousCloseException.class, thrown);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2), "close took too long to wake the reader");
        assertFalse(tun.isOpen());
        tun.close(); // idempotent
        assertThrows(ClosedChannelException.class, () -> tun.read(buffer));
        assertThrows(ClosedChannelException.class, () -> tun.write(buffer, 0, 20));
        // the interface went with its only descriptor
        assertFalse(ns.execAllowingFailure(10, "ip", "link", "show", "tun0").exitCode() == 0);
    }

    @Test
    void shouldNameSyscallAndErrnoWhenNameBusy() throws Exception {
        ns.openTun("busy0");
        ErrnoException e = assertThrows(ErrnoException.class, () -> ns.openTun("busy0"));
        assertEquals(16, e.errno());
        assertEquals("EBUSY", e.errnoName());
        assertTrue(e.getMessage().startsWith("ioctl(TUNSETIFF, \"busy0\") failed: errno 16 EBUSY (Device or resource busy)"),
                e.getMessage());
    }

    @Test
    void shouldNameErrnoWhenWritingNonIpBytes() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        buffer.fill((byte) 0);
        ErrnoException e = assertThrows(ErrnoException.class, () -> tun.write(buffer, 0, 40));
        assertEquals(22, e.errno());
        assertTrue(e.getMessage().startsWith("write(tun0, 40 bytes) failed: errno 22 EINVAL"), e.getMessage());
    }

    @Test
    void shouldReportBadStateWhenInterfaceDeleted() throws Exception {
        Tun tun = ns.openTun("gone0");
        ns.ip("link", "del", "gone0");
        assertTrue(tun.awaitReadable(1, TimeUnit.SECONDS), "poll should report the error at once");
        ErrnoException e = assertThrows(ErrnoException.class, () -> tun.read(buffer));
        assertEquals(77, e.errno());
        assertTrue(e.getMessage().contains("EBADFD") && e.getMessage().contains("deleted"), e.getMessage());
    }

    @Test
    void shouldRejectHeapBuffersAndBadRanges() throws Exception {
        Tun tun = ns.openTun("tun0");
        MemorySegment heap = MemorySegment.ofArray(new byte[100]);
        assertThrows(IllegalArgumentException.class, () -> tun.read(heap));
        assertThrows(IllegalArgumentException.class, () -> tun.write(heap, 0, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> tun.write(buffer, 2040, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> tun.write(buffer, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> tun.read(buffer.asReadOnly()));
    }

    @Test
    void shouldTruncateWhenBufferShorterThanPacket() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        drain(tun);
        int length = TunPackets.echoRequest(buffer, US, KERNEL, 1, 1, 200);
        tun.write(buffer, 0, length);
        MemorySegment small = arena.allocate(100);
        assertTrue(tun.awaitReadable(2, TimeUnit.SECONDS));
        int n = tun.read(small);
        assertEquals(100, n, "read into 100 bytes returned " + n + " of " + length);
        assertEquals(Tun.NO_PACKET, tun.read(buffer), "the rest of a truncated packet must not come as another");
    }

    @Test
    void shouldKeepEachFlowOnItsQueueWhenMultiQueue() throws Exception {
        List<Tun> queues = ns.openQueues("mq0", 2);
        assertEquals(2, queues.size());
        assertTrue(queues.stream().allMatch(q -> q.isMultiQueue() && q.name().equals("mq0")));
        ns.up("mq0", "10.98.0.1/24");
        for (Tun q : queues) {
            drain(q);
        }
        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < 2; i++) {
                Tun q = queues.get(i);
                int source = Ipv4Address.of(10, 98, 0, 2 + i);
                int length = TunPackets.echoRequest(buffer, source, KERNEL, 100 + i, round, 32);
                q.write(buffer, 0, length);
                assertEquals(length, q.receive(buffer, 2, TimeUnit.SECONDS), "queue " + i + " round " + round);
                Ipv4Packet ip = (Ipv4Packet) Ipv4Packet.check(buffer, 0, length);
                assertEquals(source, ip.destination(), "queue " + i + " got another flow's reply");
            }
        }
        // the interface stays while one queue is open
        queues.get(0).close();
        assertEquals(0, ns.execAllowingFailure(10, "ip", "link", "show", "mq0").exitCode());
        queues.get(1).close();
        assertFalse(ns.execAllowingFailure(10, "ip", "link", "show", "mq0").exitCode() == 0);
    }

    /** Reads whatever the kernel queued while the link came up. */
    private void drain(Tun tun) throws Exception {
        while (tun.receive(buffer, 20, TimeUnit.MILLISECONDS) != Tun.NO_PACKET) {
            // discard
        }
    }
}
