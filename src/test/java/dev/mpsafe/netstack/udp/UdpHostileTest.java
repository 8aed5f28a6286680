package dev.mpsafe.netstack.udp;

import static dev.mpsafe.netstack.udp.UdpRig.A;
import static dev.mpsafe.netstack.udp.UdpRig.B;
import static dev.mpsafe.netstack.udp.UdpRig.at;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.GraceScheme;
import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.device.FaultInjector;
import dev.mpsafe.netstack.ip.Dispatch;
import dev.mpsafe.netstack.ip.IpDrop;
import dev.mpsafe.netstack.ip.Ipv4Counters;
import dev.mpsafe.netstack.wire.DropReason;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.netstack.wire.UdpPacket;
import dev.mpsafe.netstack.wire.UdpRepr;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile UDP and a faulty link, on the in-memory rig, under both dispatch models and every
 * scheme: each bad datagram is one counted drop, floods hold bounded memory, the stack serves
 * afterwards, the counters add up exactly to what the device received, and the pool balances.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpHostileTest {

    static Stream<Arguments> models() {
        return UdpSocketTest.models();
    }

    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /**
     * Sends a raw IPv4/UDP packet from A to B's {@code port} over the link, built right and then
     * damaged by {@code damage} (which sees the whole packet; the UDP header starts at byte 20).
     */
    static void inject(UdpRig rig, int port, byte[] data, Consumer<MemorySegment> damage) {
        UdpRepr udp = new UdpRepr(40000, port, data.length);
        Ipv4Repr ip = Ipv4Repr.of(A, B, Ipv4Packet.PROTOCOL_UDP, 64, udp.bufferLength());
        PacketBuffer p = rig.pool.allocate(64);
        MemorySegment s = p.append(ip.bufferLength());
        MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 28, data.length);
        udp.emit(UdpPacket.wrap(s, 20, udp.bufferLength()), A, B);
        ip.emit(Ipv4Packet.wrap(s, 0, ip.bufferLength()));
        damage.accept(s);
        assertTrue(rig.link.a().send(p), "the link took it");
    }

    /** Rewrites the IPv4 header checksum after a damage to the header (so only UDP is wrong). */
    static void fixIpChecksum(MemorySegment s) {
        Ipv4Packet.wrap(s, 0, s.byteSize()).fillChecksum();
    }

    @ParameterizedTest
    @MethodSource("models")
    void everyHostileDatagramIsOneCountedDropAndTheStackServesAfterwards(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7))) {
            server.configureBlocking(false);
            byte[] data = "payload!".getBytes();
            // UDP length 4: below its own header
            inject(rig, 7, data, s -> s.set(BE_SHORT, 24, (short) 4));
            // UDP length 200: past the IP payload of 16 bytes
            inject(rig, 7, data, s -> s.set(BE_SHORT, 24, (short) 200));
            // a bad checksum (one data byte changed after it was computed)
            inject(rig, 7, data, s -> s.set(ValueLayout.JAVA_BYTE, 28, (byte) 'P'));
            // fewer than 8 bytes of UDP: IP total length 24 (and the IP checksum fixed)
            inject(rig, 7, data, s -> {
                s.set(BE_SHORT, 2, (short) 24);
                fixIpChecksum(s);
            });
            // destination port 0
            inject(rig, 7, data, s -> {
                s.set(BE_SHORT, 22, (short) 0);
                UdpPacket.wrap(s, 20, 16).fillChecksum(A, B);
            });
            rig.pump();

            Ipv4Counters ip = rig.b.stack.counters();
            UdpCounters udp = rig.b.udp.counters();
            assertEquals(1, ip.drops(DropReason.UDP_LENGTH_BELOW_HEADER));
            assertEquals(1, ip.drops(DropReason.UDP_LENGTH_PAST_BUFFER));
            assertEquals(1, ip.drops(DropReason.UDP_TRUNCATED));
            assertEquals(1, ip.drops(DropReason.UDP_BAD_CHECKSUM));
            assertEquals(1, ip.drops(DropReason.UDP_ZERO_PORT));
            assertEquals(3, udp.dropped(UdpDrop.BAD_LENGTH));
            assertEquals(1, udp.dropped(UdpDrop.BAD_CHECKSUM));
            assertEquals(1, udp.dropped(UdpDrop.ZERO_PORT));
            assertEquals(1, server.counters().dropped(UdpDrop.BAD_CHECKSUM), "the checksum drop names the socket");
            assertEquals(5, udp.received());
            assertEquals(0, udp.delivered());
            assertEquals(0, ip.icmpErrorsSent(), "no error for damaged datagrams");
            assertEquals(5, ip.received());
            assertEquals(ip.received(), ip.delivered() + ip.inputDrops());
            assertNull(server.receive(ByteBuffer.allocate(64)));
            assertEquals(0, rig.pool.outstanding(), "every damaged buffer was freed");

            // A zero checksum means none (RFC 768): accepted.
            inject(rig, 7, data, s -> s.set(BE_SHORT, 26, (short) 0));
            // And a clean one.
            inject(rig, 7, "clean".getBytes(), s -> { });
            rig.pump();
            ByteBuffer b = ByteBuffer.allocate(64);
            assertNotNull(server.receive(b));
            assertArrayEquals(data, java.util.Arrays.copyOf(b.array(), b.position()));
            b.clear();
            assertNotNull(server.receive(b));
            assertEquals("clean", new String(b.array(), 0, b.position()));
            assertEquals(udp.received(), udp.delivered() + udp.droppedTotal());
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void floodsHoldBoundedMemoryAndTheStackServesAfterwards(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        // ICMP errors: 5 at once, then one per ms of the wall clock.
        try (UdpRig rig = UdpRig.create(scheme, dispatch, d -> d, d -> d, 5);
                UdpSocket stopped = rig.b.udp.open(16).bind(at(0, 9));
                UdpSocket server = rig.b.udp.open().bind(at(0, 7))) {
            int flood = 3_000;
            long start = System.nanoTime();
            for (int i = 0; i < flood; i++) {
                inject(rig, 5, new byte[32], s -> { }); // nobody is bound to port 5
                inject(rig, 9, new byte[32], s -> { }); // bound, but its reader never reads
                if (i % 256 == 255) {
                    rig.pump();
                    assertTrue(rig.pool.outstanding() <= 16 + 2 * 256 + 5,
                            "bounded: the stopped socket's 16, the batch in flight, the errors; " + rig.pool.outstanding());
                }
            }
            rig.pump();
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            UdpCounters udp = rig.b.udp.counters();
            assertEquals(flood, udp.dropped(UdpDrop.NO_PORT));
            assertEquals(flood - 16, udp.dropped(UdpDrop.QUEUE_FULL));
            assertEquals(flood - 16, stopped.counters().dropped(UdpDrop.QUEUE_FULL));
            assertEquals(16, stopped.queued());
            long errors = rig.b.stack.counters().icmpErrorsSent();
            assertTrue(errors <= 5 + elapsedMillis + 1, "rate-limited: " + errors + " errors in " + elapsedMillis + " ms");
            assertEquals(flood, errors + rig.b.stack.counters().icmpErrorsRateLimited());
            assertEquals(udp.received(), udp.delivered() + udp.droppedTotal());
            // A's side got the errors and dropped them (no socket is connected to care).
            assertEquals(16 + 0, rig.pool.outstanding(), "only the stopped socket's queue holds buffers");

            // Still serving.
            server.configureBlocking(false);
            inject(rig, 7, "still here".getBytes(), s -> { });
            rig.pump();
            ByteBuffer b = ByteBuffer.allocate(64);
            assertNotNull(server.receive(b));
            assertEquals("still here", new String(b.array(), 0, b.position()));
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void withFaultsTheCountersAddUpExactlyToWhatTheDeviceReceived(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        // A's sends go through the injector: B receives drops, corruptions, duplicates, reorders.
        List<FaultInjector> injector = new ArrayList<>();
        try (UdpRig rig = UdpRig.create(scheme, dispatch, d -> {
                    FaultInjector f = FaultInjector.builder(d).seed(2026).drop(0.05).corrupt(0.05).duplicate(0.05)
                            .reorder(0.05).build();
                    injector.add(f);
                    return f;
                }, d -> d, 50);
                UdpSocket server = rig.b.udp.open(4096).bind(at(B, 7));
                UdpSocket client = rig.a.udp.open()) {
            server.configureBlocking(false);
            int sent = 2_000;
            for (int i = 0; i < sent; i++) {
                client.send(ByteBuffer.wrap(payload(i)), at(B, 7));
                if (i % 64 == 63) {
                    rig.pump();
                }
            }
            injector.getFirst().tick(); // releases a held (reordered) packet
            rig.pump();

            Set<Integer> seen = new HashSet<>();
            int received = 0;
            ByteBuffer b = ByteBuffer.allocate(2048);
            while (server.receive(b.clear()) != null) {
                received++;
                byte[] got = java.util.Arrays.copyOf(b.array(), b.position());
                int i = ByteBuffer.wrap(got).getInt();
                assertArrayEquals(payload(i), got, "a delivered datagram is never a corrupted one");
                seen.add(i);
            }
            FaultInjector.Faults f = injector.getFirst().faults();
            assertTrue(f.dropped() > 0 && f.corrupted() > 0 && f.duplicated() > 0, f.toString());

            long deviceReceived = rig.b.device.counters().rxPackets();
            Ipv4Counters ip = rig.b.stack.counters();
            UdpCounters udp = rig.b.udp.counters();
            assertEquals(deviceReceived, ip.received(), "every packet the device received went to input");
            assertEquals(ip.received(), ip.delivered() + ip.inputDrops(), ip.snapshot().toString());
            assertEquals(udp.received(), udp.delivered() + udp.droppedTotal(), udp.toString());
            assertEquals(received, udp.delivered(), "each delivered datagram was read once");
            assertEquals(sent + f.duplicated() - f.dropped(), deviceReceived,
                    "the device received what was sent, less drops, plus duplicates");
            assertTrue(seen.size() <= sent && seen.size() >= sent - f.dropped() - f.corrupted(), seen.size() + " " + f);
        }
    }

    /**
     * A raw IPv4/UDP packet from A (port 40000) to B's {@code port}: {@code options} (a multiple
     * of 4 bytes) after the fixed IPv4 header, a UDP length covering {@code data}, then
     * {@code trailer} bytes of 0xEE inside the IP payload but after the datagram. Both checksums
     * right (UDP's over the datagram only, as RFC 768 defines it).
     */
    static byte[] udpBytes(int port, byte[] options, byte[] data, int trailer) {
        final int ihl = 20 + options.length;
        final int udpLength = UdpPacket.HEADER_LENGTH + data.length;
        byte[] b = new byte[ihl + udpLength + trailer];
        MemorySegment s = MemorySegment.ofArray(b);
        Ipv4Repr.of(A, B, Ipv4Packet.PROTOCOL_UDP, 64, udpLength + trailer).emit(Ipv4Packet.wrap(s, 0, b.length));
        System.arraycopy(options, 0, b, 20, options.length);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) (0x40 | ihl / 4));
        s.set(BE_SHORT, 2, (short) b.length);
        Ipv4Packet.wrap(s, 0, b.length).fillChecksum();
        System.arraycopy(data, 0, b, ihl + UdpPacket.HEADER_LENGTH, data.length);
        java.util.Arrays.fill(b, ihl + udpLength, b.length, (byte) 0xEE);
        new UdpRepr(40000, port, data.length).emit(UdpPacket.wrap(s, ihl, udpLength), A, B);
        return b;
    }

    static void send(UdpRig rig, byte[] bytes) {
        PacketBuffer p = rig.pool.allocate(64);
        MemorySegment.copy(bytes, 0, p.append(bytes.length), ValueLayout.JAVA_BYTE, 0, bytes.length);
        assertTrue(rig.link.a().send(p), "the link took it");
    }

    @ParameterizedTest
    @MethodSource("models")
    void aDatagramWithIpOptionsIsDeliveredWithItsOwnPayload(Dispatch dispatch, GraceScheme scheme) throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(B, 7))) {
            server.configureBlocking(false);
            byte[] routerAlert = {(byte) 148, 4, 0, 0}; // RFC 2113, IHL 6
            byte[] longest = new byte[40];              // IHL 15: 39 NOPs and an end of list
            java.util.Arrays.fill(longest, 0, 39, (byte) 1);
            byte[] first = "after a router alert".getBytes();
            byte[] second = "after forty bytes of options".getBytes();
            send(rig, udpBytes(7, routerAlert, first, 0));
            send(rig, udpBytes(7, longest, second, 0));
            rig.pump();
            ByteBuffer b = ByteBuffer.allocate(64);
            assertEquals(at(A, 40000), server.receive(b));
            assertArrayEquals(first, java.util.Arrays.copyOf(b.array(), b.position()), "not shifted by the options");
            b.clear();
            assertEquals(at(A, 40000), server.receive(b));
            assertArrayEquals(second, java.util.Arrays.copyOf(b.array(), b.position()));
            assertEquals(2, server.counters().delivered());
            assertEquals(0, rig.b.stack.counters().inputDrops(), rig.b.stack.counters().toString());
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void aUdpLengthShorterThanTheIpPayloadIgnoresTheRestAndALongerOneIsADrop(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(B, 7))) {
            server.configureBlocking(false);
            byte[] data = "exactly these".getBytes();
            // Shorter: 6 bytes after the datagram inside the IP payload are not its data (RFC 768;
            // Linux trims them). With options too, so the trim counts from the right header end.
            send(rig, udpBytes(7, new byte[0], data, 6));
            send(rig, udpBytes(7, new byte[] {1, 1, 1, 0}, data, 1));
            rig.pump();
            ByteBuffer b = ByteBuffer.allocate(64);
            for (int i = 0; i < 2; i++) {
                b.clear();
                assertNotNull(server.receive(b), "datagram " + i);
                assertArrayEquals(data, java.util.Arrays.copyOf(b.array(), b.position()), "datagram " + i
                        + ": the trailing bytes were not delivered as data");
            }
            // Longer than the IP payload by one byte: a counted drop (its checksum is right for the
            // bytes there are, so only the length is wrong).
            byte[] longer = udpBytes(7, new byte[0], data, 0);
            MemorySegment.ofArray(longer).set(BE_SHORT, 24, (short) (UdpPacket.HEADER_LENGTH + data.length + 1));
            send(rig, longer);
            rig.pump();
            assertNull(server.receive(ByteBuffer.allocate(64)));
            Ipv4Counters ip = rig.b.stack.counters();
            assertEquals(1, ip.drops(DropReason.UDP_LENGTH_PAST_BUFFER), ip.toString());
            assertEquals(1, ip.inputDrops(), ip.toString());
            assertEquals(0, ip.icmpErrorsSent(), "no error for a damaged datagram");
            assertEquals(2, server.counters().delivered());
            assertEquals(0, rig.pool.outstanding(), "every buffer went back, the trimmed and the dropped");
        }
    }

    /** Datagram {@code i}: its index, then bytes derived from it; 4 to 1,000 bytes long. */
    static byte[] payload(int i) {
        int n = 4 + (i * 37) % 997;
        ByteBuffer b = ByteBuffer.allocate(n).putInt(i);
        while (b.hasRemaining()) {
            b.put((byte) (i * 31 + b.position()));
        }
        return b.array();
    }
}
