package dev.mpsafe.netstack.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.smr.Smr;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What only a {@link LinkPair} does: two directions, half-closed links, and many senders at once. */
class LinkPairTest {

    private static PacketPool pool(String name, long maxBytes) {
        return PacketPool.create(Smr.create(name, Smr.Mode.DEFAULT), 256, maxBytes);
    }

    @Test
    void shouldCarryBothDirectionsIndependently() {
        PacketPool pool = pool("duplex", 1 << 20);
        try (LinkPair link = LinkPair.create("duplex", 1500, 4)) {
            assertSame(link.b(), link.a().peer());
            assertEquals("duplex.a", link.a().name());
            assertEquals("duplex.b", link.b().name());
            link.a().send(Packets.echo(pool, 1, 10, 8));
            link.b().send(Packets.echo(pool, 2, 20, 8, true));
            PacketBuffer[] one = new PacketBuffer[1];
            assertEquals(1, link.a().receive(one, 0, 1));
            assertEquals(2, Packets.identifier(one[0]), "a receives what b sent");
            one[0].free();
            assertEquals(1, link.b().receive(one, 0, 1));
            assertEquals(1, Packets.identifier(one[0]), "b receives what a sent");
            one[0].free();
        }
        pool.close();
        pool.checkBalanced();
    }

    @Test
    void shouldDropOnFullInOneDirectionWithoutTouchingTheOther() {
        PacketPool pool = pool("full", 1 << 20);
        try (LinkPair link = LinkPair.create("full", 1500, 2)) {
            for (int i = 0; i < 5; i++) {
                link.a().send(Packets.echo(pool, 1, i, 0));
            }
            assertTrue(link.b().send(Packets.echo(pool, 2, 0, 0)), "the other direction has room");
            assertEquals(3, link.a().counters().drops(DeviceCounters.Drop.QUEUE_FULL), "counted on the sender");
            assertEquals(0, link.b().counters().drops());
            assertEquals(2, link.a().counters().txPackets());
            assertEquals(3, pool.outstanding(), "two queued towards b, one towards a");
        } // close frees the three queued packets
        pool.close();
        pool.checkBalanced();
    }

    @Test
    void shouldRefuseSendsBothWaysOnceOneEndClosesAndKeepWhatItSent() {
        PacketPool pool = pool("half", 1 << 20);
        LinkPair link = LinkPair.create("half", 1500, 4);
        link.a().send(Packets.echo(pool, 1, 1, 0)); // towards b
        link.b().send(Packets.echo(pool, 2, 1, 0)); // towards a
        link.a().close();
        assertEquals(1, link.a().counters().drops(DeviceCounters.Drop.CLOSED_WITH_PACKETS));
        assertFalse(link.b().send(Packets.echo(pool, 2, 2, 0)), "peer down");
        assertEquals(1, link.b().counters().drops(DeviceCounters.Drop.DOWN));
        PacketBuffer[] one = new PacketBuffer[1];
        assertEquals(1, link.b().receive(one, 0, 1), "b still gets what a sent before closing");
        one[0].free();
        link.close();
        pool.close();
        pool.checkBalanced();
    }

    @Test
    void shouldRefuseBadMtuAndCapacity() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LinkPair.create("x", 67, 1));
        assertTrue(e.getMessage().contains("mtu 67") && e.getMessage().contains("[68, 65535]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LinkPair.create("x", 65536, 1));
        assertThrows(IllegalArgumentException.class, () -> LinkPair.create("x", 1500, 0));
        assertThrows(IllegalArgumentException.class, () -> Loopback.create("x", 1500, -1));
    }

    /**
     * Several senders, one receiver, queue big enough for everything: every packet arrives exactly
     * once, each sender's packets in the order it sent them (pcq is FIFO in claim order).
     */
    @Test
    void shouldLoseAndDuplicateNothingWithManySendersAndOneReceiver() throws Exception {
        int senders = 4;
        int perSender = 10_000;
        PacketPool pool = pool("many", 16L << 20); // 40,000 buffers of 256 bytes fit
        try (LinkPair link = LinkPair.create("many", 1500, senders * perSender)) {
            Result r = run(link, pool, senders, perSender);
            assertEquals(0, r.dropped, "no queue was ever full");
            assertEquals(senders * perSender, r.received);
            assertEquals(senders * perSender, link.b().counters().rxPackets());
        }
        pool.close();
        pool.checkBalanced();
    }

    /**
     * The same with a small queue: senders outrun the receiver, so some packets are dropped; each
     * one is either received exactly once or counted as a drop, never both, never neither.
     */
    @Test
    void shouldAccountForEveryPacketWhenTheQueueOverflows() throws Exception {
        int senders = 4;
        int perSender = 10_000;
        PacketPool pool = pool("overflow", 4L << 20);
        try (LinkPair link = LinkPair.create("overflow", 1500, 64)) {
            Result r = run(link, pool, senders, perSender);
            assertEquals(senders * perSender, r.received + r.dropped);
            assertEquals(r.dropped, link.a().counters().drops(DeviceCounters.Drop.QUEUE_FULL));
            assertEquals(r.received, link.a().counters().txPackets());
        }
        pool.close();
        pool.checkBalanced();
    }

    private record Result(long received, long dropped) {
    }

    private static Result run(LinkPair link, PacketPool pool, int senders, int perSender) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int id = s;
            Thread t = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                for (int seq = 0; seq < perSender; seq++) {
                    link.a().send(Packets.echo(pool, id, seq, seq % 64));
                }
            }, "sender-" + s);
            t.start();
            threads.add(t);
        }
        boolean[][] seen = new boolean[senders][perSender];
        int[] last = new int[senders];
        java.util.Arrays.fill(last, -1);
        long received = 0;
        PacketBuffer[] batch = new PacketBuffer[32];
        start.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            int n = link.b().receive(batch, 0, batch.length);
            for (int i = 0; i < n; i++) {
                PacketBuffer p = batch[i];
                int id = Packets.identifier(p);
                int seq = Packets.sequence(p);
                assertFalse(seen[id][seq], "duplicate " + id + "/" + seq);
                seen[id][seq] = true;
                assertTrue(seq > last[id], "sender " + id + ": " + seq + " after " + last[id]);
                last[id] = seq;
                assertTrue(Packets.valid(p.data()), "bytes intact");
                p.free();
                received++;
            }
            long dropped = link.a().counters().drops();
            if (received + dropped == (long) senders * perSender && threads.stream().noneMatch(Thread::isAlive)) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "received " + received + ", dropped " + dropped);
            if (n == 0) {
                Thread.yield();
            }
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, link.b().receive(batch, 0, batch.length), "nothing left over");
        return new Result(received, link.a().counters().drops());
    }
}
