package dev.mpsafe.netstack.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.smr.Smr;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link Device} contract, run against every implementation: in-order delivery with the bytes
 * intact, both receive forms, drops counted and freed (MTU, full queue, closed), close frees what
 * is queued, bugs in the caller throw. Every test ends with the pool balanced.
 */
abstract class DeviceContractTest {

    static final int MTU = 1500;
    static final int CAPACITY = 8;

    /** What a test sends into and receives from; {@code all} closes everything. */
    record Fixture(Device sender, Device receiver, AutoCloseable all) {
    }

    @TempDir
    Path dir;
    PacketPool pool;
    private Fixture fixture;

    /** A device (or pair) with the given MTU and queue capacity. */
    abstract Fixture open(String name, int mtu, int capacity) throws Exception;

    @BeforeEach
    void setUp() throws Exception {
        pool = PacketPool.create(Smr.create("device-contract", Smr.Mode.DEFAULT), 2048, 4 << 20);
        fixture = open("dev0", MTU, CAPACITY);
    }

    @AfterEach
    void closeAndBalance() throws Exception {
        fixture.all().close();
        pool.close();
        pool.checkBalanced();
    }

    Device sender() {
        return fixture.sender();
    }

    Device receiver() {
        return fixture.receiver();
    }

    private static void freeAll(PacketBuffer[] batch, int from, int n) {
        for (int i = from; i < from + n; i++) {
            batch[i].free();
            batch[i] = null;
        }
    }

    @Test
    void shouldDeliverPacketsInOrderWithTheirBytesIntoABatch() {
        List<byte[]> sent = new ArrayList<>();
        long bytes = 0;
        for (int seq = 0; seq < CAPACITY; seq++) {
            PacketBuffer p = Packets.echo(pool, 7, seq, seq * 100);
            sent.add(Packets.bytes(p));
            bytes += p.length();
            assertTrue(sender().send(p), "accepted");
        }
        PacketBuffer[] batch = new PacketBuffer[CAPACITY + 4];
        int n = receiver().receive(batch, 3, 5);
        assertEquals(5, n, "at most the batch length");
        assertNull(batch[2]);
        assertNull(batch[8]);
        int m = receiver().receive(batch, 0, batch.length);
        assertEquals(CAPACITY - 5, m);
        // The first call put packets 0..4 at 3..7; the second overwrote 0..2 with 5..7.
        for (int i = 0; i < 3; i++) {
            assertEquals(5 + i, Packets.sequence(batch[i]));
            assertArrayEquals(sent.get(5 + i), Packets.bytes(batch[i]));
        }
        for (int i = 3; i < 8; i++) {
            assertEquals(i - 3, Packets.sequence(batch[i]));
            assertArrayEquals(sent.get(i - 3), Packets.bytes(batch[i]));
            assertTrue(Packets.valid(batch[i].data()));
        }
        freeAll(batch, 0, 8);
        assertEquals(0, receiver().receive(batch, 0, batch.length), "empty");
        assertEquals(CAPACITY, sender().counters().txPackets());
        assertEquals(bytes, sender().counters().txBytes());
        assertEquals(CAPACITY, receiver().counters().rxPackets());
        assertEquals(bytes, receiver().counters().rxBytes());
        assertEquals(0, sender().counters().drops());
    }

    @Test
    void shouldHandPacketsToASinkUpToTheLimit() {
        for (int seq = 0; seq < 5; seq++) {
            sender().send(Packets.echo(pool, 1, seq, 10));
        }
        List<PacketBuffer> got = new ArrayList<>();
        assertEquals(0, receiver().receive(got::add, 0));
        assertEquals(3, receiver().receive(got::add, 3));
        assertEquals(2, receiver().receive(got::add, 100));
        assertEquals(0, receiver().receive(got::add, 100));
        for (int i = 0; i < 5; i++) {
            assertEquals(i, Packets.sequence(got.get(i)));
            got.get(i).free();
        }
        assertEquals(5, receiver().counters().rxPackets());
    }

    @Test
    void shouldDropAndFreeAPacketLongerThanTheMtu() {
        assertEquals(MTU, sender().mtu());
        PacketBuffer exact = Packets.echo(pool, 1, 1, MTU - Packets.OVERHEAD);
        PacketBuffer over = Packets.echo(pool, 1, 2, MTU - Packets.OVERHEAD + 1);
        assertTrue(sender().send(exact));
        assertFalse(sender().send(over));
        assertTrue(over.isFreed(), "the device freed what it dropped");
        assertEquals(1, sender().counters().drops(DeviceCounters.Drop.TOO_BIG));
        PacketBuffer[] batch = new PacketBuffer[2];
        assertEquals(1, receiver().receive(batch, 0, 2));
        assertEquals(MTU, batch[0].length());
        batch[0].free();
    }

    @Test
    void shouldCountAndFreeDropsWhenTheQueueIsFull() {
        for (int seq = 0; seq < CAPACITY + 3; seq++) {
            PacketBuffer p = Packets.echo(pool, 1, seq, 0);
            assertEquals(seq < CAPACITY, sender().send(p), "packet " + seq);
        }
        assertEquals(3, sender().counters().drops(DeviceCounters.Drop.QUEUE_FULL));
        assertEquals(CAPACITY, pool.outstanding(), "the dropped ones were freed at once");
        PacketBuffer[] batch = new PacketBuffer[CAPACITY + 3];
        assertEquals(CAPACITY, receiver().receive(batch, 0, batch.length));
        for (int i = 0; i < CAPACITY; i++) {
            assertEquals(i, Packets.sequence(batch[i]), "the first ones, in order");
        }
        freeAll(batch, 0, CAPACITY);
    }

    @Test
    void shouldFreeQueuedPacketsOnCloseAndDropLaterSends() throws Exception {
        for (int seq = 0; seq < 3; seq++) {
            sender().send(Packets.echo(pool, 1, seq, 20));
        }
        assertEquals(3, pool.outstanding());
        fixture.all().close();
        assertEquals(0, pool.outstanding(), "close freed the queued packets");
        PacketBuffer late = Packets.echo(pool, 1, 9, 0);
        assertFalse(sender().send(late), "a send after close is refused");
        assertTrue(late.isFreed(), "and freed");
        assertEquals(1, sender().counters().drops(DeviceCounters.Drop.DOWN));
        assertEquals(0, receiver().receive(new PacketBuffer[4], 0, 4));
        assertEquals(0, receiver().receive(p -> { }, 4));
        fixture.all().close(); // idempotent
    }

    /**
     * {@code send} never throws for the packet's size, not even 0: an empty packet is either
     * accepted (and arrives empty) or counted as a drop and freed.
     */
    @Test
    void shouldNotThrowForAnEmptyPacket() {
        PacketBuffer empty = pool.allocate(Packets.HEADROOM);
        boolean accepted = sender().send(empty);
        PacketBuffer[] batch = new PacketBuffer[2];
        if (accepted) {
            assertEquals(1, receiver().receive(batch, 0, 2));
            assertEquals(0, batch[0].length());
            batch[0].free();
        } else {
            assertTrue(empty.isFreed(), "a refused packet is freed");
            assertEquals(1, sender().counters().drops(), sender().counters().toString());
        }
    }

    @Test
    void shouldThrowForCallerBugsAndChangeNothing() {
        assertThrows(NullPointerException.class, () -> sender().send(null));
        PacketBuffer freed = pool.allocate(0);
        freed.free();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> sender().send(freed));
        assertTrue(e.getMessage().contains("used after free"), e.getMessage());
        PacketBuffer[] batch = new PacketBuffer[4];
        assertThrows(IndexOutOfBoundsException.class, () -> receiver().receive(batch, 3, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> receiver().receive(batch, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> receiver().receive(p -> { }, -1));
        assertThrows(NullPointerException.class, () -> receiver().receive(null, 1));
        assertEquals(0, sender().counters().drops() + sender().counters().txPackets());
    }

    @Test
    void shouldNameTheDevice() {
        assertTrue(sender().name().startsWith("dev0"), sender().name());
        assertSame(sender().counters(), sender().counters(), "live counters");
    }
}
