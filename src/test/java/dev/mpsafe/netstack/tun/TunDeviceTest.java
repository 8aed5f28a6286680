package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.DeviceCounters;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.smr.Smr;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link TunDevice} against the kernel, each test in its own network namespace (root only; skipped
 * with the reason elsewhere): a deleted interface takes the device down instead of letting its
 * worker spin, an interface that is only administratively down does not, a packet longer than the
 * device's MTU is dropped rather than handed up, and the packet pool balances after each test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunDeviceTest {

    static final int KERNEL = Ipv4Address.of(10, 98, 4, 1);
    static final int US = Ipv4Address.of(10, 98, 4, 2);

    NetnsFixture ns;
    Tun tun;
    PacketPool pool;
    TunDevice device;

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        ns = NetnsFixture.create();
        tun = ns.openTun("tun0");
        pool = PacketPool.create(Smr.create("tun-device-test", Smr.Mode.DEFAULT), 2048, 1L << 20);
        device = TunDevice.of(tun, pool, 1500, 64);
        ns.up("tun0", "10.98.4.1/24");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns == null) {
            return;
        }
        device.close();
        String name = ns.name();
        ns.close();
        assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
        pool.checkBalanced();
        pool.close();
    }

    /** An echo request to the kernel's side, in a pool buffer. */
    PacketBuffer echoRequest(int sequence) {
        PacketBuffer p = pool.allocate(64);
        int length = TunPackets.echoRequest(p.append(p.tailroom()), US, KERNEL, 0x4d50, sequence, 56);
        p.trimBack(p.length() - length);
        return p;
    }

    /**
     * After {@code ip link del}, poll reports the descriptor ready at once and every read fails
     * with EBADFD. The worker loop every user of the device runs (wait, receive, check the device)
     * must end within a round or two, not spin; the device reports the error with its errno, reads
     * no more, and drops sends as DOWN.
     */
    @Test
    void shouldGoDownAndEndTheWorkerLoopWhenTheInterfaceIsDeleted() throws Exception {
        ns.ip("link", "del", "tun0");
        int rounds = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!device.isDown() && rounds < 1_000 && System.nanoTime() - deadline < 0) {
            if (tun.awaitReadable(100, TimeUnit.MILLISECONDS)) {
                device.receive(PacketBuffer::free, 64);
            }
            rounds++;
        }
        assertTrue(device.isDown(), "the device is still up after " + rounds
                + " rounds of the worker loop with the interface gone: a worker would spin");
        assertTrue(rounds <= 2, rounds + " rounds before the device went down");
        ErrnoException e = assertInstanceOf(ErrnoException.class, device.failure());
        assertEquals(77, e.errno());
        assertTrue(e.getMessage().startsWith("read(tun0) failed: errno 77 EBADFD"), e.getMessage());
        assertTrue(device.toString().contains("down: read(tun0) failed"), device.toString());
        long ioErrors = device.counters().drops(DeviceCounters.Drop.IO_ERROR);
        assertEquals(1, ioErrors, device.counters().toString());

        assertTrue(tun.awaitReadable(0, TimeUnit.MILLISECONDS), "poll still reports the error");
        assertEquals(0, device.receive(PacketBuffer::free, 64));
        assertEquals(0, device.receive(new PacketBuffer[4], 0, 4));
        assertEquals(ioErrors, device.counters().drops(DeviceCounters.Drop.IO_ERROR), "no read after down");
        PacketBuffer late = echoRequest(1);
        assertFalse(device.send(late));
        assertTrue(late.isFreed());
        assertEquals(1, device.counters().drops(DeviceCounters.Drop.DOWN));
        assertEquals(0, pool.outstanding());
    }

    /**
     * {@code ip link set down} makes writes fail with EIO, but {@code ip link set up} undoes it:
     * the failed send is a counted IO_ERROR drop, the device stays up, and the kernel answers the
     * next request once the link is up again.
     */
    @Test
    void shouldStayUpWhenTheInterfaceIsOnlySetDown() throws Exception {
        ns.ip("link", "set", "tun0", "down");
        PacketBuffer refused = echoRequest(1);
        assertFalse(device.send(refused));
        assertTrue(refused.isFreed());
        assertEquals(1, device.counters().drops(DeviceCounters.Drop.IO_ERROR), device.counters().toString());
        assertFalse(device.isDown(), "EIO from a down link is not persistent");
        assertNull(device.failure());

        ns.ip("link", "set", "tun0", "up"); // the address stayed
        assertTrue(device.send(echoRequest(2)));
        PacketBuffer reply = receiveOne();
        assertEquals(0, reply.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 20), "an ICMP echo reply (type 0)");
        reply.free();
        assertFalse(device.isDown());
    }

    /**
     * An empty packet is no packet to TUN ({@link Tun#write} refuses length 0): the device counts
     * it as an INVALID drop and frees it, never throws (the {@code Device} contract), and stays up.
     */
    @Test
    void shouldCountAnEmptyPacketAsADropAndFreeIt() {
        PacketBuffer empty = pool.allocate(64);
        assertEquals(0, empty.length());
        assertFalse(device.send(empty));
        assertTrue(empty.isFreed(), "the device freed what it dropped");
        assertEquals(1, device.counters().drops(DeviceCounters.Drop.INVALID), device.counters().toString());
        assertEquals(1, device.counters().drops());
        assertEquals(0, device.counters().txPackets());
        assertFalse(device.isDown());
    }

    /**
     * Bytes that are no IP packet (version nibble 0) are refused by the kernel with EINVAL: an
     * INVALID drop, not an IO_ERROR, and the device stays up. A send after close() is a DOWN drop.
     */
    @Test
    void shouldCountBytesTheKernelRefusesAsInvalidAndASendAfterCloseAsDown() {
        PacketBuffer junk = pool.allocate(64);
        junk.append(20).fill((byte) 0);
        assertFalse(device.send(junk));
        assertTrue(junk.isFreed());
        assertEquals(1, device.counters().drops(DeviceCounters.Drop.INVALID), device.counters().toString());
        assertEquals(0, device.counters().drops(DeviceCounters.Drop.IO_ERROR), device.counters().toString());
        assertFalse(device.isDown(), "EINVAL is about the packet, not the device");

        device.close();
        PacketBuffer late = echoRequest(1);
        assertFalse(device.send(late));
        assertTrue(late.isFreed());
        assertEquals(1, device.counters().drops(DeviceCounters.Drop.DOWN), device.counters().toString());
        assertNull(device.failure(), "closing the device is no failure");
    }

    /**
     * A read window of exactly the MTU cannot tell a packet of the MTU from a longer one the
     * kernel cut to fit, so the pool's buffers must hold headroom + MTU + 1 bytes. A refused
     * device is not created and leaves the TUN open (before the fix headroom + MTU was enough).
     */
    @Test
    void shouldRefuseBuffersWithNoRoomForOneByteMoreThanTheMtu() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TunDevice.of(tun, pool, 2048 - 64, 64));
        assertEquals("headroom 64 + MTU 1984 + 1 = 2049 bytes do not fit the pool's buffers of 2048 bytes"
                + " (a read needs one byte more than the MTU to see a packet longer than it)", e.getMessage());
        assertTrue(tun.isOpen(), "nothing half-applied");
        TunDevice fits = TunDevice.of(tun, pool, 2048 - 64 - 1, 64);
        assertEquals(1983, fits.mtu());
        e = assertThrows(IllegalArgumentException.class, () -> TunDevice.of(tun, pool, 1500, -1));
        assertTrue(e.getMessage().contains("headroom -1"), e.getMessage());
    }

    /**
     * The kernel interface's MTU (1500) is larger than the device's (900), and the buffers leave
     * 960 bytes after the headroom: a 1400-byte reply used to be cut to 960 bytes and a 950-byte one
     * passed up whole, both counted as received. Each is a TOO_BIG drop now, freed; a reply of
     * exactly the MTU still arrives.
     */
    @Test
    void shouldDropAPacketLongerThanTheMtuInsteadOfHandingItUp() throws Exception {
        try (PacketPool small = PacketPool.create(Smr.create("tun-device-small", Smr.Mode.DEFAULT), 1024, 1L << 20)) {
            TunDevice narrow = TunDevice.of(tun, small, 900, 64);
            for (int length : new int[] {1400, 950, 900}) {
                PacketBuffer request = pool.allocate(64);
                int written = TunPackets.echoRequest(request.append(request.tailroom()), US, KERNEL, 0x4d50, length,
                        length - 28);
                request.trimBack(request.length() - written);
                assertTrue(device.send(request), "the 1500-byte device sends the " + length + "-byte request");
            }
            List<Integer> lengths = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (narrow.counters().rxPackets() + narrow.counters().drops() < 3 && System.nanoTime() - deadline < 0) {
                if (tun.awaitReadable(100, TimeUnit.MILLISECONDS)) {
                    narrow.receive(p -> {
                        lengths.add(p.length());
                        p.free();
                    }, 8);
                }
            }
            assertEquals(List.of(900), lengths, "only the reply of the MTU is handed up; " + narrow.counters());
            assertEquals(2, narrow.counters().drops(DeviceCounters.Drop.TOO_BIG), narrow.counters().toString());
            assertEquals(2, narrow.counters().drops(), narrow.counters().toString());
            assertEquals(900, narrow.counters().rxBytes());
            assertFalse(narrow.isDown(), "a long packet is about the packet, not the device");
            assertEquals(0, small.outstanding(), "the dropped packets' buffers were freed");
            small.checkBalanced();
        }
    }

    /** Waits (with a deadline) for one packet from the kernel. */
    PacketBuffer receiveOne() throws Exception {
        PacketBuffer[] batch = new PacketBuffer[1];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() - deadline < 0) {
            if (tun.awaitReadable(100, TimeUnit.MILLISECONDS) && device.receive(batch, 0, 1) == 1) {
                return batch[0];
            }
        }
        throw new AssertionError("no packet from the kernel in 5 s; " + device.counters());
    }
}
