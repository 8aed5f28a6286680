package dev.mpsafe.netstack.udp;

import static dev.mpsafe.netstack.udp.UdpRig.A;
import static dev.mpsafe.netstack.udp.UdpRig.B;
import static dev.mpsafe.netstack.udp.UdpRig.at;
import static dev.mpsafe.testing.ThreadWaits.stackOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.GraceScheme;
import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.ip.Dispatch;
import dev.mpsafe.netstack.ip.IpDrop;
import dev.mpsafe.netstack.ip.Route;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.testing.ThreadWaits;
import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * UDP sockets end to end between two stacks on an in-memory link, under both dispatch models and
 * every grace-period scheme: the DatagramChannel-like API, counters, errors, and that the packet
 * pool balances after each test ({@link UdpRig#close()}).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class UdpSocketTest {

    static Stream<Arguments> models() {
        List<Arguments> all = new ArrayList<>();
        for (Dispatch d : Dispatch.values()) {
            for (GraceScheme s : GraceScheme.values()) {
                all.add(Arguments.of(d, s));
            }
        }
        return all.stream();
    }

    static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    static String text(ByteBuffer b) {
        b.flip();
        return StandardCharsets.UTF_8.decode(b).toString();
    }

    @ParameterizedTest
    @MethodSource("models")
    void datagramsGoBothWaysWithTheirSenders(Dispatch dispatch, GraceScheme scheme) throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7));
                UdpSocket client = rig.a.udp.open()) {
            server.configureBlocking(false);
            client.configureBlocking(false);
            assertEquals(5, client.send(text("hello"), at(B, 7)));
            InetSocketAddress local = client.getLocalAddress();
            assertNotNull(local, "send binds an unbound socket");
            assertTrue(local.getPort() >= 49152, local.toString());
            rig.pump();

            ByteBuffer got = ByteBuffer.allocate(100);
            InetSocketAddress from = server.receive(got);
            assertEquals(at(A, local.getPort()), from);
            assertEquals("hello", text(got));
            assertNull(server.receive(ByteBuffer.allocate(100)), "one datagram, received once");

            server.send(text("world"), from);
            rig.pump();
            ByteBuffer back = ByteBuffer.allocate(100);
            assertEquals(at(B, 7), client.receive(back));
            assertEquals("world", text(back));

            assertEquals(1, server.counters().received());
            assertEquals(1, server.counters().delivered());
            assertEquals(1, server.counters().sent());
            assertEquals(1, rig.b.udp.counters().delivered());
            assertEquals(1, rig.a.udp.counters().sent());
            assertEquals(0, rig.b.udp.counters().droppedTotal());
        }
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void zeroLengthAndMtuSizedDatagramsArriveWhole(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(B, 9000));
                UdpSocket client = rig.a.udp.open()) {
            server.configureBlocking(false);
            byte[] big = new byte[1500 - 28];
            for (int i = 0; i < big.length; i++) {
                big[i] = (byte) (i * 31 + 7);
            }
            client.send(ByteBuffer.allocate(0), at(B, 9000));
            client.send(ByteBuffer.wrap(big), at(B, 9000));
            rig.pump();
            ByteBuffer empty = ByteBuffer.allocate(10);
            assertNotNull(server.receive(empty));
            assertEquals(0, empty.position());
            ByteBuffer whole = ByteBuffer.allocate(2000);
            assertNotNull(server.receive(whole));
            assertEquals(big.length, whole.position());
            assertEquals(ByteBuffer.wrap(big), whole.flip());
        }
    }

    @Test
    void aDatagramLargerThanAPacketBufferIsRefusedWithTheLimitAndLeaksNothing() throws Exception {
        dev.mpsafe.sync.GraceDomain domain = GraceScheme.SMR_DEFAULT.create("jumbo");
        dev.mpsafe.netstack.buffer.PacketPool pool = dev.mpsafe.netstack.buffer.PacketPool.create(
                dev.mpsafe.smr.Smr.create("jumbo-pool", dev.mpsafe.smr.Smr.Mode.DEFAULT), 2048, 1L << 20);
        dev.mpsafe.netstack.device.LinkPair link = dev.mpsafe.netstack.device.LinkPair.create("jumbo", 9000, 64);
        dev.mpsafe.netstack.ip.Ipv4Stack s = dev.mpsafe.netstack.ip.Ipv4Stack
                .builder(domain, pool, dev.mpsafe.netstack.ip.RouteTable.create(domain)).clock(System::nanoTime).build();
        int ifindex = s.attach(link.a());
        s.addAddress(ifindex, A, 24);
        Udp udp = Udp.attach(s, 49152, 65535, new java.util.SplittableRandom(1));
        try (UdpSocket client = udp.open()) {
            ByteBuffer big = ByteBuffer.allocate(2000); // fits the 9000-byte MTU, not a 2048-byte buffer
            SocketException e = assertThrows(SocketException.class, () -> client.send(big, at(B, 7)));
            assertTrue(e.getMessage().contains("datagram of 2000 bytes is above 1984"), e.getMessage());
            assertEquals(0, big.position(), "nothing consumed");
            assertEquals(1984, client.send(ByteBuffer.allocate(1984), at(B, 7)), "the limit itself is sent");
        }
        link.b().receive(p -> p.free(), 64); // drop what reached the other end
        assertEquals(0, pool.outstanding(), "a refused send leaks no buffer");
    }

    /**
     * A device whose MTU is above 65,535: the cap is then what one IPv4 datagram carries, 65,507
     * bytes of data, refused with send's SocketException (before, the cap was UDP's 65,527 and a
     * 65,508-byte send escaped as IP output's IllegalArgumentException).
     */
    @Test
    void aDatagramAboveWhatIpv4CarriesIsRefusedWhateverTheMtu() throws Exception {
        dev.mpsafe.sync.GraceDomain domain = GraceScheme.SMR_DEFAULT.create("huge");
        dev.mpsafe.netstack.buffer.PacketPool pool = dev.mpsafe.netstack.buffer.PacketPool.create(
                dev.mpsafe.smr.Smr.create("huge-pool", dev.mpsafe.smr.Smr.Mode.DEFAULT), 128 << 10, 1L << 20);
        dev.mpsafe.netstack.device.LinkPair link = dev.mpsafe.netstack.device.LinkPair.create("huge", 65535, 64);
        dev.mpsafe.netstack.ip.Ipv4Stack s = dev.mpsafe.netstack.ip.Ipv4Stack
                .builder(domain, pool, dev.mpsafe.netstack.ip.RouteTable.create(domain)).clock(System::nanoTime).build();
        int ifindex = s.attach(new LargeMtu(link.a(), 100_000));
        s.addAddress(ifindex, A, 24);
        Udp udp = Udp.attach(s, 49152, 65535, new java.util.SplittableRandom(1));
        try (UdpSocket client = udp.open()) {
            ByteBuffer big = ByteBuffer.allocate(65508); // UdpSocket.MAX_DATA_LENGTH + 1
            SocketException e = assertThrows(SocketException.class, () -> client.send(big, at(B, 7)));
            assertTrue(e.getMessage().contains("datagram of 65508 bytes is above 65507"), e.getMessage());
            assertEquals(0, big.position(), "nothing consumed");
            assertEquals(65507, client.send(ByteBuffer.allocate(65507), at(B, 7)), "the limit itself is sent");
            assertEquals(1, s.counters().sent(), s.counters().toString());
        } finally {
            link.b().receive(p -> p.free(), 64); // drop what reached the other end
            link.close();
        }
        assertEquals(0, pool.outstanding(), "a refused send leaks no buffer");
        pool.checkBalanced();
        pool.close();
    }

    /** A device that reports {@code mtu} (above what LinkPair accepts) and otherwise is {@code inner}. */
    private record LargeMtu(dev.mpsafe.netstack.device.Device inner, int mtu)
            implements dev.mpsafe.netstack.device.Device {
        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public boolean send(dev.mpsafe.netstack.buffer.PacketBuffer packet) {
            return inner.send(packet);
        }

        @Override
        public int receive(dev.mpsafe.netstack.buffer.PacketBuffer[] batch, int offset, int length) {
            return inner.receive(batch, offset, length);
        }

        @Override
        public int receive(java.util.function.Consumer<? super dev.mpsafe.netstack.buffer.PacketBuffer> sink, int limit) {
            return inner.receive(sink, limit);
        }

        @Override
        public dev.mpsafe.netstack.device.DeviceCounters counters() {
            return inner.counters();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void aStackRefusesPacketBuffersTooSmallForItsIcmpErrors() {
        dev.mpsafe.sync.GraceDomain domain = GraceScheme.SMR_DEFAULT.create("tiny");
        dev.mpsafe.netstack.buffer.PacketPool pool = dev.mpsafe.netstack.buffer.PacketPool.create(
                dev.mpsafe.smr.Smr.create("tiny-pool", dev.mpsafe.smr.Smr.Mode.DEFAULT), 128, 1L << 20);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.mpsafe.netstack.ip.Ipv4Stack
                .builder(domain, pool, dev.mpsafe.netstack.ip.RouteTable.create(domain)).clock(System::nanoTime).build());
        assertTrue(e.getMessage().contains("packet buffers of 128 bytes are below 140"), e.getMessage());
    }

    @Test
    void closeInsideASectionOfADomainThatCannotDeferChangesNothing() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, Dispatch.MPSAFE);
                UdpSocket server = rig.b.udp.open().bind(at(B, 7))) {
            dev.mpsafe.sync.Participant p = rig.domain.register();
            p.enter();
            try {
                IllegalStateException e = assertThrows(IllegalStateException.class, server::close);
                assertTrue(e.getMessage().contains("inside a read section"), e.getMessage());
            } finally {
                p.exit();
                p.release();
            }
            assertTrue(server.isOpen(), "a refused close leaves the socket open");
            server.close();
            assertFalse(server.isOpen());
            try (UdpSocket again = rig.b.udp.open().bind(at(B, 7))) {
                assertTrue(again.isOpen(), "the port was freed by the real close");
            }
        }
    }

    @Test
    void aDatagramLongerThanTheBufferIsTruncatedAsDatagramChannelDoes() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.EPOCH, Dispatch.MPSAFE);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7));
                UdpSocket client = rig.a.udp.open()) {
            server.configureBlocking(false);
            client.send(text("0123456789"), at(B, 7));
            client.send(text("next"), at(B, 7));
            rig.pump();
            ByteBuffer small = ByteBuffer.allocate(4);
            assertNotNull(server.receive(small));
            assertEquals("0123", text(small));
            ByteBuffer b = ByteBuffer.allocate(10);
            assertNotNull(server.receive(b));
            assertEquals("next", text(b), "the rest of the first datagram was discarded");
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void aConnectedSocketHearsOnlyItsPeerAndLearnsOfAClosedPort(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(B, 7));
                UdpSocket other = rig.b.udp.open().bind(at(B, 8));
                UdpSocket client = rig.a.udp.open()) {
            client.configureBlocking(false);
            client.connect(at(B, 7));
            assertEquals(at(B, 7), client.getRemoteAddress());
            assertEquals(A, Ipv4Address.of((Inet4Address) client.getLocalAddress().getAddress()), "connect picks the route's source");
            client.write(text("ping"));
            rig.pump();
            ByteBuffer in = ByteBuffer.allocate(64);
            InetSocketAddress from = server.receive(in);
            assertEquals(client.getLocalAddress(), from);
            server.send(text("pong"), from);
            other.send(text("stranger"), from); // not the peer: the exact PCB does not match it
            rig.pump();
            ByteBuffer r = ByteBuffer.allocate(64);
            assertEquals(4, client.read(r));
            assertEquals("pong", text(r));
            assertEquals(0, client.read(ByteBuffer.allocate(64)), "the stranger's datagram was not delivered");
            assertEquals(1, rig.a.udp.counters().dropped(UdpDrop.NO_PORT));

            // The peer goes away: port unreachable comes back and is reported once.
            server.close();
            rig.quiesce();
            client.write(text("anyone?"));
            rig.pump();
            assertEquals(1, rig.b.stack.counters().drops(IpDrop.PORT_UNREACHABLE));
            assertEquals(1, rig.a.udp.counters().errorsReported());
            assertThrows(PortUnreachableException.class, () -> client.read(ByteBuffer.allocate(64)));
            assertEquals(0, client.read(ByteBuffer.allocate(64)), "reported once");
            assertThrows(AlreadyConnectedException.class, () -> client.send(text("x"), at(B, 8)));
            assertThrows(AlreadyConnectedException.class, () -> client.connect(at(B, 8)));
        }
    }

    /**
     * Sends one datagram from A's connected {@code client} and takes it off the link, as host B
     * would, before B's stack sees it: the offending datagram an ICMP error quotes.
     */
    static byte[] sentAndTakenOffTheLink(UdpRig rig, UdpSocket client) throws Exception {
        client.write(text("x"));
        dev.mpsafe.netstack.buffer.PacketBuffer[] sent = new dev.mpsafe.netstack.buffer.PacketBuffer[1];
        assertEquals(1, rig.link.b().receive(sent, 0, 1), "the datagram, taken off the link as B would");
        byte[] offending = sent[0].data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        sent[0].free();
        return offending;
    }

    /**
     * ICMP port unreachable from {@code from} to {@code to}, quoting the header and first 8 bytes
     * of {@code offending} (RFC 792), both checksums right.
     */
    static dev.mpsafe.netstack.buffer.PacketBuffer portUnreachable(UdpRig rig, int from, int to, byte[] offending) {
        final int quoted = 28;
        dev.mpsafe.netstack.buffer.PacketBuffer p = rig.pool.allocate(64);
        java.lang.foreign.MemorySegment s = p.append(20 + 8 + quoted);
        java.lang.foreign.MemorySegment.copy(offending, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, 28, quoted);
        new dev.mpsafe.netstack.wire.Icmpv4Repr.DestinationUnreachable(
                dev.mpsafe.netstack.wire.Icmpv4Packet.UNREACHABLE_PORT, 0, quoted)
                .emit(dev.mpsafe.netstack.wire.Icmpv4Packet.wrap(s, 20, 8 + quoted));
        dev.mpsafe.netstack.wire.Ipv4Repr.of(from, to, dev.mpsafe.netstack.wire.Ipv4Packet.PROTOCOL_ICMP, 64, 8 + quoted)
                .emit(dev.mpsafe.netstack.wire.Ipv4Packet.wrap(s, 0, s.byteSize()));
        return p;
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void anIcmpErrorToABroadcastAddressIsDroppedAndNeverReported(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, dispatch);
                UdpSocket client = rig.a.udp.open()) {
            client.configureBlocking(false);
            client.connect(at(B, 7));
            byte[] offending = sentAndTakenOffTheLink(rig, client);
            // RFC 1122 3.2.2: an ICMP error is never sent to a broadcast (or multicast) address.
            assertTrue(rig.link.b().send(portUnreachable(rig, B, -1, offending)));
            assertTrue(rig.link.b().send(portUnreachable(rig, B, Ipv4Address.of(10, 0, 0, 255), offending)));
            rig.pump();
            assertEquals(2, rig.a.stack.counters().drops(IpDrop.ICMP_ERROR_TO_BROADCAST),
                    rig.a.stack.counters().toString());
            assertEquals(0, rig.a.udp.counters().errorsReported());
            assertEquals(0, client.read(ByteBuffer.allocate(8)), "no error reported to the socket");
            assertEquals(0, rig.a.stack.counters().delivered());
            // The same error sent to the socket's own address is reported: the two above could have been.
            assertTrue(rig.link.b().send(portUnreachable(rig, B, A, offending)));
            rig.pump();
            assertEquals(1, rig.a.udp.counters().errorsReported());
            assertThrows(PortUnreachableException.class, () -> client.read(ByteBuffer.allocate(8)));
        }
    }

    /**
     * A run of ICMP errors takes one place in the receive queue, not one each: every error used to
     * queue a wake-up marker, so errors to a socket nobody was reading (a peer's port
     * unreachables, or forged ones) filled its queue, and the peer's datagrams were then dropped as
     * QUEUE_FULL. Now only an error that finds none pending queues a marker (Linux keeps one
     * pending error per socket too).
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void aRunOfIcmpErrorsTakesOnePlaceInTheReceiveQueue(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(B, 7));
                UdpSocket client = rig.a.udp.open(4)) {
            client.configureBlocking(false);
            client.connect(at(B, 7));
            byte[] offending = sentAndTakenOffTheLink(rig, client);
            for (int i = 0; i < 10; i++) {
                assertTrue(rig.link.b().send(portUnreachable(rig, B, A, offending)));
            }
            rig.pump();
            assertEquals(10, rig.a.udp.counters().errorsReported());
            for (int i = 0; i < 4; i++) {
                server.send(text("d" + i), client.getLocalAddress());
            }
            rig.pump();
            assertEquals(1, rig.a.udp.counters().dropped(UdpDrop.QUEUE_FULL),
                    "three datagrams fit beside the one marker: " + rig.a.udp.counters());
            for (int i = 0; i < 3; i++) {
                ByteBuffer r = ByteBuffer.allocate(8);
                assertEquals(2, client.read(r), "datagram " + i);
                assertEquals("d" + i, text(r));
            }
            assertThrows(PortUnreachableException.class, () -> client.read(ByteBuffer.allocate(8)),
                    "the pending error, once the queue is empty");
            assertEquals(0, client.read(ByteBuffer.allocate(8)), "reported once");
        }
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void anUnconnectedSocketGetsNoIcmpErrors(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_LAZY, dispatch);
                UdpSocket client = rig.a.udp.open()) {
            client.configureBlocking(false);
            client.send(text("x"), at(B, 9));
            rig.pump();
            assertEquals(1, rig.b.stack.counters().icmpErrorsSent());
            assertEquals(0, rig.a.udp.counters().errorsReported());
            assertNull(client.receive(ByteBuffer.allocate(8)));
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void aParkedReaderIsWokenByTheReceivePath(Dispatch dispatch, GraceScheme scheme) throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7));
                UdpSocket client = rig.a.udp.open()) {
            rig.startPump();
            Thread[] reader = new Thread[1];
            CompletableFuture<String> got = CompletableFuture.supplyAsync(() -> {
                ByteBuffer b = ByteBuffer.allocate(64);
                try {
                    server.receive(b); // blocking
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                return text(b);
            }, r -> reader[0] = Thread.ofPlatform().start(r));
            waitUntilParked(reader[0]);
            client.send(text("wake"), at(B, 7));
            assertEquals("wake", got.get(10, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void closeWakesAParkedReaderAndInterruptCloses(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.EPOCH, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7));
                UdpSocket other = rig.b.udp.open().bind(at(0, 8))) {
            Thread[] first = new Thread[1];
            CompletableFuture<Throwable> closed = receiveFailure(server, first);
            waitUntilParked(first[0]);
            server.close();
            assertInstanceOf(AsynchronousCloseException.class, closed.get(10, TimeUnit.SECONDS));
            assertThrows(ClosedChannelException.class, () -> server.receive(ByteBuffer.allocate(8)));

            Thread[] reader = new Thread[1];
            CompletableFuture<Throwable> interrupted = new CompletableFuture<>();
            reader[0] = Thread.ofPlatform().start(() -> {
                try {
                    other.receive(ByteBuffer.allocate(8));
                    interrupted.complete(null);
                } catch (Throwable t) {
                    interrupted.complete(Thread.currentThread().isInterrupted() ? t
                            : new AssertionError("the interrupt status was not kept", t));
                }
            });
            waitUntilParked(reader[0]);
            reader[0].interrupt();
            assertInstanceOf(ClosedByInterruptException.class, interrupted.get(10, TimeUnit.SECONDS));
            assertFalse(other.isOpen(), "an interrupt closes the socket, as for an interruptible channel");
        }
    }

    /**
     * A receive that never waits is not a blocking operation: with the interrupt status set it
     * returns what is queued (or null), keeps the socket open and the status set, as
     * DatagramChannel's non-blocking receive does. Before, it closed the socket and threw
     * ClosedByInterruptException, losing the queued datagram.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void aReceiveThatNeverWaitsIgnoresAPendingInterrupt(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.EPOCH, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7));
                UdpSocket client = rig.a.udp.open()) {
            client.send(text("abc"), at(B, 7));
            rig.pump();
            server.configureBlocking(false);
            ByteBuffer got = ByteBuffer.allocate(16);
            Thread.currentThread().interrupt();
            try {
                assertNotNull(server.receive(got), "the queued datagram");
                assertNull(server.receive(got), "nothing more queued: null, not an exception");
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status was touched");
                server.configureBlocking(true);
                assertNull(server.receive(got, 0, TimeUnit.SECONDS), "a zero timeout does not wait either");
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
            assertTrue(server.isOpen(), "a receive that never waits closed the socket");
            assertEquals(3, got.position());
        }
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void receiveWithATimeoutReturnsNullWhenNothingCame(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7))) {
            long start = System.nanoTime();
            assertNull(server.receive(ByteBuffer.allocate(8), 50, TimeUnit.MILLISECONDS));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(50), "waited the timeout");
            server.configureBlocking(false);
            assertNull(server.receive(ByteBuffer.allocate(8)));
            assertThrows(IllegalArgumentException.class, () -> server.receive(ByteBuffer.allocate(8), -1,
                    TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void aFullQueueDropsAndCountsWithBoundedMemoryAndServesAfterwards(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket server = rig.b.udp.open(4).bind(at(0, 7));
                UdpSocket client = rig.a.udp.open()) {
            server.configureBlocking(false);
            for (int i = 0; i < 200; i++) {
                client.send(text("flood " + i), at(B, 7));
                if (i % 32 == 31) {
                    rig.pump();
                }
            }
            rig.pump();
            assertEquals(200, server.counters().received());
            assertEquals(4, server.counters().delivered());
            assertEquals(196, server.counters().dropped(UdpDrop.QUEUE_FULL));
            assertEquals(196, rig.b.udp.counters().dropped(UdpDrop.QUEUE_FULL));
            assertEquals(196, rig.b.stack.counters().drops(IpDrop.UDP_QUEUE_FULL));
            assertEquals(4, server.queued());
            assertEquals(4, rig.pool.outstanding(), "only the queued datagrams hold buffers");
            for (int i = 0; i < 4; i++) {
                ByteBuffer b = ByteBuffer.allocate(64);
                assertNotNull(server.receive(b));
                assertEquals("flood " + i, text(b), "the first four, in order");
            }
            client.send(text("after"), at(B, 7));
            rig.pump();
            ByteBuffer b = ByteBuffer.allocate(64);
            assertNotNull(server.receive(b));
            assertEquals("after", text(b));
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void closingFreesWhatIsQueued(Dispatch dispatch, GraceScheme scheme) throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket client = rig.a.udp.open()) {
            UdpSocket server = rig.b.udp.open().bind(at(0, 7));
            for (int i = 0; i < 10; i++) {
                client.send(text("q" + i), at(B, 7));
            }
            rig.pump();
            assertEquals(10, server.queued());
            server.close();
            rig.quiesce();
            assertEquals(0, rig.pool.outstanding(), "the queued buffers went back after the grace period");
            assertEquals(0, rig.b.udp.sockets());
            assertThrows(ClosedChannelException.class, () -> server.send(text("x"), at(A, 1)));
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void closingWhileAnotherThreadDeliversLeaksNothingAndNoWorkerThrows(Dispatch dispatch, GraceScheme scheme)
            throws Exception {
        // The rig's pump thread is the input worker: it runs both stacks' input, so it delivers to
        // the server's queue while this thread closes the server and a third thread reads from it.
        // A throwable out of the pump fails the test in rig.close(), which also checks the pool.
        try (UdpRig rig = UdpRig.create(scheme, dispatch);
                UdpSocket client = rig.a.udp.open()) {
            client.configureBlocking(false);
            rig.startPump();
            List<UdpSocket> closed = new ArrayList<>();
            int sent = 0;
            for (int round = 0; round < 4; round++) {
                UdpSocket server = rig.b.udp.open(32).bind(at(0, 7));
                closed.add(server);
                Thread[] reader = new Thread[1];
                CompletableFuture<Throwable> ended = new CompletableFuture<>();
                reader[0] = Thread.ofPlatform().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(64);
                    try {
                        while (true) {
                            server.receive(b.clear());
                        }
                    } catch (Throwable t) {
                        ended.complete(t);
                    }
                });
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (server.counters().received() < 64 && System.nanoTime() < deadline) {
                    sent += client.send(text("d"), at(B, 7));
                }
                assertTrue(server.counters().received() >= 64, "the worker is delivering: " + server.counters());
                for (int i = 0; i < 64; i++) {
                    sent += client.send(text("d"), at(B, 7)); // in flight while the socket closes
                }
                server.close();
                for (int i = 0; i < 64; i++) {
                    sent += client.send(text("d"), at(B, 7)); // after: no socket on the port
                }
                Throwable t = ended.get(10, TimeUnit.SECONDS);
                assertTrue(t instanceof AsynchronousCloseException || t instanceof ClosedChannelException,
                        "the reader ends with the close, not with " + t);
            }
            assertTrue(sent > 0);
            // Wait (bounded) until the worker has taken in everything A sent, then the counts close.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (rig.b.stack.counters().received() < rig.a.stack.counters().sent() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(rig.a.stack.counters().sent(), rig.b.stack.counters().received(), "the worker stalled");
            rig.quiesce();
            for (UdpSocket server : closed) {
                SocketCounters c = server.counters();
                long dropped = 0;
                for (UdpDrop why : UdpDrop.values()) {
                    dropped += c.dropped(why);
                }
                assertEquals(c.received(), c.delivered() + dropped, c.toString());
            }
            assertEquals(0, rig.b.udp.sockets());
            assertEquals(rig.b.stack.counters().received(),
                    rig.b.stack.counters().delivered() + rig.b.stack.counters().inputDrops());
            assertNull(rig.pumpFailure.get(), "the worker threw");
        } // rig.close(): the pool balances
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void closingAfterTheEpochWasClosedStillFreesWhatIsQueued(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.EPOCH, dispatch);
                UdpSocket client = rig.a.udp.open()) {
            UdpSocket server = rig.b.udp.open().bind(at(0, 7));
            for (int i = 0; i < 10; i++) {
                client.send(text("q" + i), at(B, 7));
            }
            rig.pump();
            assertEquals(10, server.queued());
            ((dev.mpsafe.epoch.Epoch) rig.domain).close(); // refuses deferred callbacks from now on
            server.close();
            assertFalse(server.isOpen());
            assertEquals(0, rig.pool.outstanding(), "the queued buffers went back although the epoch defers no more");
            assertEquals(0, rig.b.udp.sockets(), "the port was unlinked");
            try (UdpSocket again = rig.b.udp.open().bind(at(0, 7))) {
                assertTrue(again.isOpen(), "and can be bound again");
            }
        }
    }

    @Test
    void closeInsideASectionOfAClosedEpochChangesNothing() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.EPOCH, Dispatch.MPSAFE);
                UdpSocket client = rig.a.udp.open()) {
            UdpSocket server = rig.b.udp.open().bind(at(B, 7));
            client.send(text("held"), at(B, 7));
            rig.pump();
            ((dev.mpsafe.epoch.Epoch) rig.domain).close();
            try (dev.mpsafe.sync.Section _ = rig.domain.enter()) {
                IllegalStateException e = assertThrows(IllegalStateException.class, server::close);
                assertTrue(e.getMessage().contains("is closed"), e.getMessage());
            }
            assertTrue(server.isOpen(), "a refused close leaves the socket open");
            assertEquals(1, server.queued(), "and its queue as it was");
            assertEquals(1, rig.b.udp.sockets(), "and its port bound");
            server.close();
            assertEquals(0, rig.pool.outstanding());
            assertEquals(0, rig.b.udp.sockets());
        }
    }

    /**
     * close() is idempotent, also inside a section of a domain that cannot defer: a second close
     * has nothing to unlink and waits for nothing (it threw "cannot defer" before, its check ran
     * before it looked whether the socket was closed), and neither does the close of a socket that
     * was never bound.
     */
    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void closeOfAClosedOrNeverBoundSocketInsideASectionWaitsForNothing(GraceScheme scheme) throws Exception {
        try (UdpRig rig = UdpRig.create(scheme, Dispatch.MPSAFE)) {
            UdpSocket bound = rig.b.udp.open().bind(at(B, 7));
            UdpSocket unbound = rig.b.udp.open();
            bound.close();
            try (dev.mpsafe.sync.Section _ = rig.domain.enter()) {
                bound.close(); // threw IllegalStateException under pserialize and SMR
                unbound.close(); // so did this, although there was nothing to unlink
            }
            assertFalse(bound.isOpen());
            assertFalse(unbound.isOpen(), "the never-bound socket was closed inside the section");
            assertThrows(ClosedChannelException.class, () -> unbound.bind(at(B, 8)), "and stays closed");
            assertEquals(0, rig.b.udp.sockets());
        }
    }

    /**
     * Two closes of one socket under an epoch at its pending-callback bound: the first (outside a
     * section) waits in Epoch.call() for room that only the end of a reader's section makes; the
     * reader then closes the socket from inside that section. It used to block on the lock the
     * first close held across its unlink: each waited for the other. Now a close inside a section
     * never waits for another close; it returns with the socket closed.
     */
    @Test
    void aSecondCloseInsideAnEpochSectionDoesNotWaitForAFirstCloseAtThePendingBound() throws Exception {
        AtBound b = AtBound.create("close-bound", true);
        dev.mpsafe.epoch.Epoch epoch = b.epoch;
        dev.mpsafe.netstack.buffer.PacketPool pool = b.pool;
        Udp udp = b.udp;
        UdpSocket s = b.socket;
        java.util.concurrent.CountDownLatch atBound = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch firstCloseWaits = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = Thread.ofPlatform().daemon().name("close-in-section").start(() -> {
            try (dev.mpsafe.sync.Section _ = epoch.enter()) {
                epoch.call(() -> { }); // accepted inside a section: pending = 1 = the bound
                atBound.countDown();
                firstCloseWaits.await();
                s.close(); // allowed inside a section of a Deferring domain
                if (s.isOpen()) {
                    failure.set(new AssertionError("close() inside the section returned with the socket open"));
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        assertTrue(atBound.await(10, TimeUnit.SECONDS));
        Thread closer = startFirstClose(s, failure);
        // Until the first close waits in Epoch.call() for room, which the reader's section holds back.
        awaitInRelieve(closer);
        firstCloseWaits.countDown();
        reader.join(10_000);
        closer.join(10_000);
        boolean stuck = reader.isAlive() || closer.isAlive();
        try {
            assertFalse(stuck, "the two closes deadlocked: the close inside the section " + stackOf(reader)
                    + "; the close outside " + stackOf(closer));
            assertNull(failure.get(), () -> "a close failed: " + failure.get());
            assertFalse(s.isOpen());
            assertEquals(0, udp.sockets(), "the first close unlinked the socket");
        } finally {
            if (!stuck) { // else closing the epoch would wait for the stuck threads too
                epoch.close();
                pool.checkBalanced();
                pool.close();
            }
        }
    }

    /**
     * As above, but the second close runs in a callback of the same epoch, on its domain thread:
     * the first close waits in Epoch.call() for room, and only the domain thread can make it, by
     * finishing the callback that is closing. That callback used to block on the lock the first
     * close held across its unlink. Now a close in a callback never waits for another close.
     */
    @Test
    void aSecondCloseInACallbackOfTheEpochDoesNotWaitForAFirstCloseAtThePendingBound() throws Exception {
        AtBound b = AtBound.create("close-callback", true);
        java.util.concurrent.CountDownLatch firstCloseWaits = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        CloseInCallback closeInCallback = new CloseInCallback(b.socket, new java.util.concurrent.CountDownLatch(0), failure);
        java.util.concurrent.CountDownLatch atBound = new java.util.concurrent.CountDownLatch(1);
        Thread reader = Thread.ofPlatform().daemon().name("hold-the-epoch").start(() -> {
            try (dev.mpsafe.sync.Section _ = b.epoch.enter()) {
                b.epoch.call(closeInCallback); // accepted inside a section: pending = 1 = the bound
                atBound.countDown();
                firstCloseWaits.await(); // the section ends only once the first close waits for room
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        assertTrue(atBound.await(10, TimeUnit.SECONDS));
        Thread closer = startFirstClose(b.socket, failure);
        awaitInRelieve(closer);
        firstCloseWaits.countDown(); // the callback becomes ready; the domain thread runs it
        assertBothClosesEnded(b, closeInCallback, closer, failure, "the epoch's domain thread",
                t -> t != null && t != closer && t != reader);
    }

    /**
     * As above, with callbacks on the callers' threads (caller-run mode): a third thread's
     * {@code poll()} runs the callback that closes, and the first close waits in Epoch.call() for
     * room that only the end of that callback makes. Epoch.inCallback() is true there because the
     * poller holds the dispatch, so the second close returns at once, as on the domain thread.
     *
     * <p>The callback is already running when the first close begins, unlike in the test above: in
     * this mode the first close's own wait for room dispatches ready callbacks too, so a callback
     * that became ready only while it waited could run on the first close's thread instead of the
     * poller's (which cannot deadlock: its close would find closeLock held by its own thread).
     * Running the callback first and letting it close only once the first close waits pins it to
     * the poller; the callback still counts as pending while it runs, so the first close waits at
     * the bound all the same.
     */
    @Test
    void aSecondCloseInACallbackRunByPollOnItsCallerDoesNotWaitForAFirstCloseAtThePendingBound()
            throws Exception {
        AtBound b = AtBound.create("close-caller-run", false);
        java.util.concurrent.CountDownLatch firstCloseWaits = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        CloseInCallback closeInCallback = new CloseInCallback(b.socket, firstCloseWaits, failure);
        b.epoch.call(closeInCallback); // pending = 1 = the bound
        Thread poller = Thread.ofPlatform().daemon().name("poll-runs-callbacks").start(() -> {
            // Two advances make the callback ready; each poll() makes one, then runs what is ready.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (closeInCallback.closed.getCount() > 0) {
                if (System.nanoTime() - deadline > 0) {
                    failure.set(new AssertionError("poll() never ran the callback: " + b.epoch));
                    return;
                }
                b.epoch.poll();
                Thread.onSpinWait();
            }
        });
        assertTrue(closeInCallback.running.await(10, TimeUnit.SECONDS), () -> "the callback never ran: " + failure.get());
        Thread closer = startFirstClose(b.socket, failure);
        awaitInRelieve(closer); // pending is 1 while the callback runs: the first close waits for room
        firstCloseWaits.countDown(); // the callback now closes, on the poller's thread
        assertBothClosesEnded(b, closeInCallback, closer, failure, "poll() on the poller's thread",
                t -> t == poller);
    }

    /**
     * A callback that closes {@code socket} once {@code mayClose} opens, and records the thread it
     * ran on and how its close ended.
     */
    private static final class CloseInCallback implements Runnable {
        private final UdpSocket socket;
        private final java.util.concurrent.CountDownLatch mayClose;
        private final java.util.concurrent.atomic.AtomicReference<Throwable> failure;
        /** Opens when the callback begins; {@link #thread} is set then. */
        final java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
        /** Opens when its close has returned (or failed, into {@code failure}). */
        final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        volatile Thread thread;

        CloseInCallback(UdpSocket socket, java.util.concurrent.CountDownLatch mayClose,
                java.util.concurrent.atomic.AtomicReference<Throwable> failure) {
            this.socket = socket;
            this.mayClose = mayClose;
            this.failure = failure;
        }

        @Override
        public void run() {
            thread = Thread.currentThread();
            running.countDown();
            try {
                mayClose.await();
                socket.close();
                if (socket.isOpen()) {
                    failure.set(new AssertionError("close() in the callback returned with the socket open"));
                }
            } catch (Throwable t) {
                failure.set(t);
            }
            closed.countDown();
        }
    }

    /**
     * Waits (10 s at most each) for the close in {@code callback} and, if it ended, for the first
     * close, then checks that both ended, on the expected threads, with the socket closed and
     * unlinked; closes the epoch and the pool unless a thread is stuck.
     *
     * @param where the thread that was to run the callback, for the message
     */
    private static void assertBothClosesEnded(AtBound b, CloseInCallback callback, Thread closer,
            java.util.concurrent.atomic.AtomicReference<Throwable> failure, String where,
            java.util.function.Predicate<Thread> ranWhereExpected) throws InterruptedException {
        boolean ran = callback.closed.await(10, TimeUnit.SECONDS);
        if (ran) { // else the first close waits for room that the stuck callback holds: no use waiting
            closer.join(10_000);
        }
        Thread callbackThread = callback.thread;
        boolean stuck = !ran || closer.isAlive();
        try {
            assertFalse(stuck, "the two closes deadlocked: the close in the callback "
                    + (callbackThread == null ? "(the callback never ran)" : stackOf(callbackThread))
                    + "; the close outside " + stackOf(closer));
            assertNull(failure.get(), () -> "a close failed: " + failure.get());
            assertTrue(ranWhereExpected.test(callbackThread), "the callback ran on " + where + ", not " + callbackThread);
            assertFalse(b.socket.isOpen());
            assertEquals(0, b.udp.sockets(), "the first close unlinked the socket");
        } finally {
            if (!stuck) { // else closing the epoch would wait for the stuck threads too
                b.epoch.close();
                b.pool.checkBalanced();
                b.pool.close();
            }
        }
    }

    /**
     * An epoch that takes one pending callback, runs callbacks on its own thread or (if
     * {@code callbacksOnDomainThread} is false) on its callers', a stack on it, and a socket bound
     * to port 7.
     */
    private record AtBound(dev.mpsafe.epoch.Epoch epoch, dev.mpsafe.netstack.buffer.PacketPool pool, Udp udp,
            UdpSocket socket) {
        static AtBound create(String name, boolean callbacksOnDomainThread) throws Exception {
            dev.mpsafe.epoch.Epoch epoch = dev.mpsafe.epoch.Epoch.create(dev.mpsafe.sync.GraceOptions.named(name)
                    .withMaxPendingCallbacks(1).withCallbacksOnDomainThread(callbacksOnDomainThread));
            dev.mpsafe.netstack.buffer.PacketPool pool = dev.mpsafe.netstack.buffer.PacketPool.create(
                    dev.mpsafe.smr.Smr.create(name + "-pool", dev.mpsafe.smr.Smr.Mode.DEFAULT), 2048, 1L << 20);
            dev.mpsafe.netstack.ip.Ipv4Stack stack = dev.mpsafe.netstack.ip.Ipv4Stack
                    .builder(epoch, pool, dev.mpsafe.netstack.ip.RouteTable.create(epoch)).clock(System::nanoTime)
                    .dispatch(Dispatch.MPSAFE).build();
            Udp udp = Udp.attach(stack);
            return new AtBound(epoch, pool, udp, udp.open().bind(new InetSocketAddress(7)));
        }
    }

    /** Closes {@code s} on a new thread, outside any section; what it throws goes to {@code failure}. */
    private static Thread startFirstClose(UdpSocket s, java.util.concurrent.atomic.AtomicReference<Throwable> failure) {
        return Thread.ofPlatform().daemon().name("close-outside").start(() -> {
            try {
                s.close();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
    }

    /** Waits (10 s at most) until {@code closer} waits in Epoch.call() for room at the pending bound. */
    private static void awaitInRelieve(Thread closer) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!inFrame(closer, "relieve")) {
            assertTrue(System.nanoTime() < deadline, "the first close never waited at the bound: " + stackOf(closer));
            Thread.sleep(1); // polls a condition (a stack frame) that has no signal to wait on
        }
    }

    private static boolean inFrame(Thread t, String method) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().equals(method) && e.getClassName().equals("dev.mpsafe.epoch.Epoch")) {
                return true;
            }
        }
        return false;
    }

    /**
     * A second close outside a section still returns only after the first has unlinked the socket
     * (Channel.close): here the first waits for a grace period that a reader's section holds back.
     */
    @Test
    void aSecondCloseOutsideASectionReturnsOnlyAfterTheFirstHasUnlinked() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.PSERIALIZE_FENCED, Dispatch.MPSAFE)) {
            UdpSocket s = rig.b.udp.open().bind(at(B, 7));
            java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch leave = new java.util.concurrent.CountDownLatch(1);
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (dev.mpsafe.sync.Section _ = rig.domain.enter()) {
                    inside.countDown();
                    leave.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(inside.await(10, TimeUnit.SECONDS));
            Thread first = Thread.ofPlatform().daemon().name("first-close").start(s::close);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (s.isOpen()) { // the first close has marked it; it now waits for the grace period
                assertTrue(System.nanoTime() < deadline, "the first close never started: " + stackOf(first));
                Thread.sleep(1);
            }
            FutureTask<Void> second = new FutureTask<>(s::close, null);
            Thread secondThread = Thread.ofPlatform().daemon().name("second-close").start(second);
            // Parked in close() means waiting on closeLock, which the first close holds until its
            // unlink: stateLock, the only other lock close() takes, is free (the first close let it
            // go before it began to wait for the grace period; bind, connect and send, which also
            // take it, do not run here).
            ThreadWaits.awaitIn(secondThread, UdpSocket.class, "close", Thread.State.WAITING);
            assertFalse(second.isDone(), "the second close returned before the first had unlinked");
            leave.countDown();
            second.get(10, TimeUnit.SECONDS);
            assertEquals(0, rig.b.udp.sockets(), "after the second close returns, the port is free");
            first.join(10_000);
            reader.join(10_000);
        }
    }

    @Test
    void bindRefusesWhatItCannotGiveAndNothingIsHalfApplied() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, Dispatch.MPSAFE);
                UdpSocket first = rig.b.udp.open().bind(at(0, 53));
                UdpSocket second = rig.b.udp.open()) {
            BindException inUse = assertThrows(BindException.class, () -> second.bind(at(B, 53)));
            assertTrue(inUse.getMessage().contains("53"), inUse.getMessage());
            BindException notOurs = assertThrows(BindException.class, () -> second.bind(at(A, 53)));
            assertTrue(notOurs.getMessage().contains("10.0.0.1"), notOurs.getMessage());
            assertNull(second.getLocalAddress(), "still unbound");
            second.bind(at(B, 54));
            assertThrows(AlreadyBoundException.class, () -> second.bind(at(B, 55)));
            assertEquals(2, rig.b.udp.sockets());
        }
    }

    @Test
    void ephemeralPortsRunOutWithAnErrorNamingTheRange() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, Dispatch.MPSAFE)) {
            Udp small = null;
            // a third stack on its own with a tiny range
            var stack = dev.mpsafe.netstack.ip.Ipv4Stack.builder(rig.domain, rig.pool,
                    dev.mpsafe.netstack.ip.RouteTable.create(rig.domain)).clock(System::nanoTime).build();
            small = Udp.attach(stack, 40000, 40002, new java.util.SplittableRandom(3));
            List<UdpSocket> open = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    open.add(small.open().bind(null));
                }
                UdpSocket one = small.open();
                BindException e = assertThrows(BindException.class, () -> one.bind(null));
                assertTrue(e.getMessage().contains("40000") && e.getMessage().contains("40002"), e.getMessage());
                one.close();
            } finally {
                open.forEach(UdpSocket::close);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void aBroadcastSendIsRefusedNamingTheAddressUntilSetBroadcast(Dispatch dispatch) throws Exception {
        int directed = Ipv4Address.of(10, 0, 0, 255);
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, dispatch);
                UdpSocket server = rig.b.udp.open().bind(at(0, 7));
                UdpSocket client = rig.a.udp.open();
                UdpSocket connecting = rig.a.udp.open()) {
            server.configureBlocking(false);
            assertFalse(client.getBroadcast(), "off by default, as SO_BROADCAST");
            ByteBuffer data = text("all");
            for (int to : new int[] {-1, directed}) {
                var e = assertThrows(BroadcastNotEnabledException.class, () -> client.send(data, at(to, 7)));
                assertEquals(to, e.address());
                assertTrue(e.getMessage().contains(Ipv4Address.format(to)) && e.getMessage().contains("setBroadcast(true)"),
                        e.getMessage());
                assertEquals(0, data.position(), "nothing consumed");
            }
            assertNull(client.getLocalAddress(), "a refused send does not even bind");
            var c = assertThrows(BroadcastNotEnabledException.class, () -> connecting.connect(at(directed, 7)));
            assertEquals(directed, c.address());
            assertFalse(connecting.isConnected());
            assertNull(connecting.getLocalAddress(), "a refused connect does not bind");
            assertEquals(0, rig.a.udp.counters().sent());
            assertEquals(0, rig.a.stack.counters().sent());

            assertTrue(client.setBroadcast(true).getBroadcast());
            assertEquals(3, client.send(data, at(directed, 7)));
            rig.pump();
            ByteBuffer got = ByteBuffer.allocate(16);
            assertEquals(client.getLocalAddress().getPort(), server.receive(got).getPort());
            assertEquals("all", text(got));

            connecting.setBroadcast(true).connect(at(directed, 7));
            assertEquals(2, connecting.write(text("to")));
            connecting.setBroadcast(false);
            assertThrows(BroadcastNotEnabledException.class, () -> connecting.write(text("no")));
            client.setBroadcast(false);
            assertThrows(BroadcastNotEnabledException.class, () -> client.send(text("no"), at(directed, 7)));
            assertEquals(3, client.send(text("one"), at(B, 7)), "unicast needs no option");
        }
    }

    @Test
    void sendRefusesWhatItCannotSendAndConsumesNothing() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, Dispatch.BIG_LOCK);
                UdpSocket s = rig.a.udp.open()) {
            ByteBuffer tooBig = ByteBuffer.allocate(1500 - 28 + 1);
            SocketException e = assertThrows(SocketException.class, () -> s.send(tooBig, at(B, 7)));
            assertTrue(e.getMessage().contains("1473") && e.getMessage().contains("1472"), e.getMessage());
            assertEquals(0, tooBig.position(), "nothing consumed");
            assertThrows(NoRouteToHostException.class, () -> s.send(text("x"), at(0x08080808, 53)));
            assertThrows(NotYetConnectedException.class, () -> s.write(text("x")));
            assertThrows(NotYetConnectedException.class, () -> s.read(ByteBuffer.allocate(1)));
            assertThrows(IllegalArgumentException.class, () -> s.send(text("x"), at(B, 0)));
            assertThrows(java.nio.channels.UnresolvedAddressException.class,
                    () -> s.send(text("x"), InetSocketAddress.createUnresolved("nowhere", 7)));
            assertEquals(0, rig.a.udp.counters().sent());
        }
    }

    /**
     * 0.0.0.0 is refused by send as by connect, before anything is bound or consumed (it went on
     * the wire before); 127/8 with no loopback interface has no path, even under a default route.
     */
    @Test
    void sendRefusesTheWildcardAndLoopbackDestinationsAndNothingLeaves() throws Exception {
        try (UdpRig rig = UdpRig.create(GraceScheme.SMR_DEFAULT, Dispatch.MPSAFE);
                UdpSocket s = rig.a.udp.open()) {
            rig.a.stack.routes().add(Route.via(0, 0, B, rig.a.ifindex)); // a default route
            ByteBuffer data = text("x");
            var e = assertThrows(IllegalArgumentException.class, () -> s.send(data, at(0, 9)));
            assertTrue(e.getMessage().contains("0.0.0.0:9"), e.getMessage());
            assertEquals(0, data.position(), "nothing consumed");
            assertNull(s.getLocalAddress(), "a refused send does not even bind");
            assertThrows(IllegalArgumentException.class, () -> s.connect(at(0, 9)), "as connect refuses it");
            var lo = assertThrows(NoRouteToHostException.class,
                    () -> s.send(data, at(Ipv4Address.of(127, 0, 0, 1), 9)));
            assertTrue(lo.getMessage().contains("127.0.0.1"), lo.getMessage());
            assertEquals(0, data.position(), "nothing consumed");
            assertThrows(NoRouteToHostException.class, () -> s.connect(at(Ipv4Address.of(127, 0, 0, 1), 9)));
            rig.pump();
            assertEquals(0, rig.a.stack.counters().sent(), rig.a.stack.counters().toString());
            assertEquals(0, rig.b.stack.counters().received(), "something reached the wire");
            assertEquals(0, rig.a.udp.counters().sent());
        }
    }

    // --- readers that free but never allocate -----------------------------------------------------

    /**
     * A reader frees each datagram's buffer (copyOut) on its own thread, never allocates, and then
     * parks for the next one. Before, what it freed stayed in its segment-pool cache (fewer than a
     * bucket of 32, so never tagged) where no other thread could reach it: after 16 datagrams through
     * a pool of 16 buffers the pool said 0 outstanding, yet the sender had none ("no packet buffer
     * to send from"). A reader now flushes its cache before it parks.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void aReaderParkedAfterFreeingLeavesTheSenderItsBuffers(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.withBuffers(GraceScheme.SMR_DEFAULT, dispatch, 16);
                UdpSocket server = rig.b.udp.open().bind(at(B, 7));
                UdpSocket client = rig.a.udp.open()) {
            AtomicInteger received = new AtomicInteger();
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            Thread reader = Thread.ofPlatform().start(() -> readUntilClosed(server, received, ended));
            for (int i = 0; i < 16; i++) {
                assertEquals(4, client.send(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), at(B, 7)), "datagram " + i);
                rig.pump();
            }
            awaitReceivedAndParked(List.of(reader), received, 16);
            assertEquals(0, rig.pool.outstanding(), "the reader freed all 16");
            // All 16 segments are carved: what the reader freed is the sender's only source. A
            // blocking send waits for their grace period, so nothing here races it.
            try {
                assertEquals(1, client.send(ByteBuffer.wrap(new byte[] {5}), at(B, 7)));
            } catch (IOException e) {
                throw new AssertionError("0 of 16 buffers outstanding, yet none to send from: " + rig.pool
                        + ", " + rig.pool.segments(), e);
            }
            rig.pump();
            awaitReceivedAndParked(List.of(reader), received, 17);
            server.close();
            assertInstanceOf(AsynchronousCloseException.class, ended.get(10, TimeUnit.SECONDS));
        }
    }

    /**
     * The design's reader model: a virtual thread per socket. Sixteen readers that each freed 16
     * datagrams and parked held all 256 buffers of a pool (8 buckets) in their caches before; every
     * one of them can now be allocated again.
     */
    @ParameterizedTest
    @EnumSource(Dispatch.class)
    void sixteenParkedVirtualThreadReadersStrandNoneOfThePool(Dispatch dispatch) throws Exception {
        try (UdpRig rig = UdpRig.withBuffers(GraceScheme.SMR_DEFAULT, dispatch, 256);
                UdpSocket client = rig.a.udp.open()) {
            List<UdpSocket> servers = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            List<CompletableFuture<Throwable>> ended = new ArrayList<>();
            AtomicInteger received = new AtomicInteger();
            try {
                for (int s = 0; s < 16; s++) {
                    UdpSocket server = rig.b.udp.open().bind(at(B, 1000 + s));
                    servers.add(server);
                    CompletableFuture<Throwable> end = new CompletableFuture<>();
                    ended.add(end);
                    readers.add(Thread.ofVirtual().start(() -> readUntilClosed(server, received, end)));
                }
                for (int s = 0; s < 16; s++) {
                    for (int i = 0; i < 16; i++) {
                        assertEquals(1, client.send(ByteBuffer.wrap(new byte[] {7}), at(B, 1000 + s)));
                    }
                    rig.pump();
                }
                awaitReceivedAndParked(readers, received, 256);
                assertEquals(0, rig.pool.outstanding(), "the readers freed all 256");
                List<PacketBuffer> again = new ArrayList<>();
                try {
                    for (int i = 0; i < 256; i++) {
                        again.add(rig.pool.allocate(0)); // waits for the grace period of what was flushed
                    }
                } catch (IllegalStateException e) {
                    throw new AssertionError("got " + again.size() + " of 256 buffers with 0 outstanding: "
                            + rig.pool + ", " + rig.pool.segments(), e);
                } finally {
                    again.forEach(PacketBuffer::free);
                }
            } finally {
                servers.forEach(UdpSocket::close);
            }
            for (CompletableFuture<Throwable> end : ended) {
                assertInstanceOf(AsynchronousCloseException.class, end.get(10, TimeUnit.SECONDS));
            }
        }
    }

    /** Receives until the socket closes, counting datagrams; completes {@code ended} with what ended it. */
    private static void readUntilClosed(UdpSocket s, AtomicInteger received, CompletableFuture<Throwable> ended) {
        ByteBuffer dst = ByteBuffer.allocate(64);
        try {
            while (true) {
                dst.clear();
                s.receive(dst);
                received.incrementAndGet();
            }
        } catch (Throwable t) {
            ended.complete(t);
        }
    }

    /**
     * Waits until the readers got {@code n} datagrams in all, then until each is parked in its next
     * receive (nothing else holds a lock they take by then, so WAITING means parked for data).
     */
    private static void awaitReceivedAndParked(List<Thread> readers, AtomicInteger received, int n) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (received.get() < n && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(n, received.get(), "datagrams the readers got");
        readers.forEach(UdpSocketTest::waitUntilParked);
    }

    /**
     * Waits until {@code reader}, which does nothing but one receive, is parked in it (WAITING or
     * TIMED_WAITING: in the pcq, or on the giant lock's condition).
     */
    static void waitUntilParked(Thread reader) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Thread.State state;
        while ((state = reader.getState()) != Thread.State.WAITING && state != Thread.State.TIMED_WAITING
                && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING,
                "the reader did not park: " + state);
    }

    static CompletableFuture<Throwable> receiveFailure(UdpSocket s, Thread[] reader) {
        CompletableFuture<Throwable> f = new CompletableFuture<>();
        reader[0] = Thread.ofPlatform().start(() -> {
            try {
                s.receive(ByteBuffer.allocate(8));
                f.complete(null);
            } catch (Throwable t) {
                f.complete(t);
            }
        });
        return f;
    }
}
