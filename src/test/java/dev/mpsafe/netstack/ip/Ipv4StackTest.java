package dev.mpsafe.netstack.ip;

import static dev.mpsafe.netstack.ip.Datagrams.buffer;
import static dev.mpsafe.netstack.ip.Datagrams.cut;
import static dev.mpsafe.netstack.ip.Datagrams.echoRequest;
import static dev.mpsafe.netstack.ip.Datagrams.edit;
import static dev.mpsafe.netstack.ip.Datagrams.fragment;
import static dev.mpsafe.netstack.ip.Datagrams.raw;
import static dev.mpsafe.netstack.ip.Datagrams.reheader;
import static dev.mpsafe.netstack.ip.Datagrams.reicmp;
import static dev.mpsafe.netstack.ip.Datagrams.setByte;
import static dev.mpsafe.netstack.ip.Datagrams.setTotalLength;
import static dev.mpsafe.netstack.ip.Datagrams.udp;
import static dev.mpsafe.netstack.ip.Datagrams.withOption;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.netstack.GraceScheme;
import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.LinkPair;
import dev.mpsafe.netstack.device.Loopback;
import dev.mpsafe.netstack.udp.Udp;
import dev.mpsafe.netstack.udp.UdpSocket;
import dev.mpsafe.netstack.wire.DropReason;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceDomain;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The IPv4 layer over a {@link LinkPair}: end {@code a} is the stack's interface, end {@code b} is
 * the test acting as the peer host. Every answer is checked with the wire layer (both checksums),
 * every refusal is one drop under its reason, and every test ends with the pool balanced.
 */
class Ipv4StackTest {

    static final int US = Ipv4Address.of(10, 0, 0, 1);
    static final int PEER = Ipv4Address.of(10, 0, 0, 2);
    static final int BURST = 5;
    static final long INTERVAL = 1_000_000;

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private GraceDomain domain;
    private PacketPool pool;
    private LinkPair link;
    private Ipv4Stack stack;
    private int ifindex;

    private void up(GraceScheme scheme) {
        up(scheme, BURST, INTERVAL);
    }

    private void up(GraceScheme scheme, int burst, long interval) {
        domain = scheme.create("ip");
        pool = PacketPool.create(Smr.create("ip-pool", Smr.Mode.DEFAULT), 2048, 4L << 20);
        link = LinkPair.create("ip", 1500, 256);
        stack = Ipv4Stack.builder(domain, pool, RouteTable.create(domain))
                .clock(now::get).icmpErrorRate(burst, interval).build();
        ifindex = stack.attach(link.a());
        stack.addAddress(ifindex, US, 24);
    }

    private void up() {
        up(GraceScheme.SMR_DEFAULT);
    }

    @AfterEach
    void down() {
        if (link != null) {
            link.close();
        }
        if (pool != null) {
            pool.checkBalanced();
            pool.close();
        }
        if (domain instanceof Epoch e) {
            e.close();
        }
    }

    /** The peer sends {@code bytes}; the stack polls them in; returns what came back, as bytes. */
    private List<byte[]> exchange(byte[]... datagrams) {
        for (byte[] d : datagrams) {
            assertTrue(link.b().send(buffer(pool, d)));
        }
        int n = 0;
        while (n < datagrams.length) {
            int got = stack.poll(ifindex, 64);
            assertTrue(got > 0, "the stack received " + n + " of " + datagrams.length);
            n += got;
        }
        List<byte[]> answers = new ArrayList<>();
        PacketBuffer[] batch = new PacketBuffer[64];
        for (int got; (got = link.b().receive(batch, 0, batch.length)) > 0; ) {
            for (int i = 0; i < got; i++) {
                answers.add(batch[i].data().toArray(JAVA_BYTE));
                batch[i].free();
            }
        }
        return answers;
    }

    /** Parses an answer with the wire layer, both checksums verified; fails otherwise. */
    private static Icmpv4Repr icmp(byte[] bytes, int expectedSource, int expectedDestination) {
        Ipv4Packet ip = assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(MemorySegment.ofArray(bytes)));
        Ipv4Repr header = assertInstanceOf(Ipv4Repr.class, Ipv4Repr.parse(ip));
        assertEquals(expectedSource, header.source(), "source");
        assertEquals(expectedDestination, header.destination(), "destination");
        assertEquals(Ipv4Packet.PROTOCOL_ICMP, header.protocol());
        assertEquals(Ipv4Stack.DEFAULT_TTL, header.ttl());
        assertEquals(20, ip.headerLength());
        assertEquals(bytes.length, ip.totalLength());
        assertFalse(header.moreFragments() || header.fragmentOffset() != 0);
        Icmpv4Packet icmp = assertInstanceOf(Icmpv4Packet.class, Icmpv4Packet.check(ip.payload()));
        return assertInstanceOf(Icmpv4Repr.class, Icmpv4Repr.parse(icmp));
    }

    private void assertEveryPacketAccounted() {
        Ipv4Counters c = stack.counters();
        assertEquals(c.received(), c.delivered() + c.inputDrops(), c.toString());
    }

    // --- echo -------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldAnswerEchoRequestWithValidReply(GraceScheme scheme) {
        up(scheme);
        List<byte[]> answers = exchange(echoRequest(PEER, US, 0x1234, 7, 56));
        assertEquals(1, answers.size());
        byte[] reply = answers.getFirst();
        assertEquals(new Icmpv4Repr.EchoReply(0x1234, 7, 56), icmp(reply, US, PEER));
        for (int i = 0; i < 56; i++) {
            assertEquals((byte) (7 * 31 + i), reply[28 + i], "data byte " + i);
        }
        Ipv4Counters c = stack.counters();
        assertEquals(1, c.received());
        assertEquals(1, c.delivered());
        assertEquals(1, c.sent());
        assertEquals(0, c.inputDrops() + c.outputDrops(), c.toString());
    }

    @Test
    void shouldAnswerEchoAtEverySizeUpToTheMtu() {
        up();
        for (int size = 0; size <= 1472; size++) {
            List<byte[]> answers = exchange(echoRequest(PEER, US, 1, size & 0xFFFF, size));
            assertEquals(1, answers.size(), "size " + size);
            assertEquals(new Icmpv4Repr.EchoReply(1, size, size), icmp(answers.getFirst(), US, PEER), "size " + size);
            assertArrayEquals(echoRequestData(size), java.util.Arrays.copyOfRange(answers.getFirst(), 28, 28 + size));
        }
        assertEquals(1473, stack.counters().sent());
        assertEveryPacketAccounted();
    }

    private static byte[] echoRequestData(int size) {
        return java.util.Arrays.copyOfRange(echoRequest(PEER, US, 1, size, size), 28, 28 + size);
    }

    @Test
    void shouldAnswerEchoRequestCarryingOptionsWithPlainHeader() {
        up();
        byte[] request = withOption(echoRequest(PEER, US, 5, 6, 32), new byte[] {1, 1, 1, 0}); // NOP NOP NOP EOL
        List<byte[]> answers = exchange(request);
        assertEquals(1, answers.size());
        assertEquals(new Icmpv4Repr.EchoReply(5, 6, 32), icmp(answers.getFirst(), US, PEER));
    }

    @Test
    void shouldIgnoreLinkPaddingAfterTotalLength() {
        up();
        byte[] request = echoRequest(PEER, US, 5, 6, 0);
        byte[] padded = java.util.Arrays.copyOf(request, request.length + 18); // Ethernet minimum frame
        List<byte[]> answers = exchange(padded);
        assertEquals(1, answers.size());
        assertEquals(request.length, answers.getFirst().length);
        assertEquals(new Icmpv4Repr.EchoReply(5, 6, 0), icmp(answers.getFirst(), US, PEER));
    }

    @Test
    void shouldDeliverDatagramsReceivedWithTtlZeroOrOne() {
        // RFC 1122 3.2.1.7: a host must not discard a datagram only because its TTL is below 2.
        up();
        for (int ttl : new int[] {0, 1}) {
            List<byte[]> answers = exchange(reheader(echoRequest(PEER, US, 9, ttl, 16), ip -> ip.setTtl(ttl)));
            assertEquals(1, answers.size(), "TTL " + ttl + " echo request answered");
            assertEquals(new Icmpv4Repr.EchoReply(9, ttl, 16), icmp(answers.getFirst(), US, PEER),
                    "the reply carries our own TTL, not the request's");
            byte[] datagram = reheader(udp(PEER, US, 40000, 9, 8), ip -> ip.setTtl(ttl));
            answers = exchange(datagram);
            assertEquals(1, answers.size(), "TTL " + ttl + " UDP reaches UDP, which finds no socket");
            assertEquals(new Icmpv4Repr.DestinationUnreachable(Icmpv4Packet.UNREACHABLE_PORT, 0, 28),
                    icmp(answers.getFirst(), US, PEER));
        }
        Ipv4Counters c = stack.counters();
        assertEquals(2, c.delivered());
        assertEquals(2, c.drops(IpDrop.PORT_UNREACHABLE));
        assertEquals(2, c.inputDrops(), "the two datagrams for a closed port, nothing for the TTL; " + c);
        assertEveryPacketAccounted();
    }

    // --- ICMP errors ------------------------------------------------------------------------------

    @Test
    void shouldSendPortUnreachableQuotingHeaderAndEightBytes() {
        up();
        byte[] datagram = udp(PEER, US, 40000, 9, 100);
        List<byte[]> answers = exchange(datagram);
        assertEquals(1, answers.size());
        byte[] error = answers.getFirst();
        assertEquals(new Icmpv4Repr.DestinationUnreachable(Icmpv4Packet.UNREACHABLE_PORT, 0, 28), icmp(error, US, PEER));
        assertArrayEquals(java.util.Arrays.copyOf(datagram, 28), java.util.Arrays.copyOfRange(error, 28, 56),
                "quotes the header as received and the first 8 bytes of its payload");
        assertEquals(1, stack.counters().drops(IpDrop.PORT_UNREACHABLE));
        assertEquals(1, stack.counters().icmpErrorsSent());
        assertEveryPacketAccounted();
    }

    @Test
    void shouldSendProtocolUnreachableForUnknownProtocol() {
        up();
        for (int protocol : new int[] {Ipv4Packet.PROTOCOL_TCP, 47, 253}) {
            byte[] datagram = raw(PEER, US, protocol, 40);
            List<byte[]> answers = exchange(datagram);
            assertEquals(1, answers.size(), "protocol " + protocol);
            assertEquals(new Icmpv4Repr.DestinationUnreachable(Icmpv4Packet.UNREACHABLE_PROTOCOL, 0, 28),
                    icmp(answers.getFirst(), US, PEER));
            assertArrayEquals(java.util.Arrays.copyOf(datagram, 28),
                    java.util.Arrays.copyOfRange(answers.getFirst(), 28, 56));
        }
        assertEquals(3, stack.counters().drops(IpDrop.PROTOCOL_UNREACHABLE));
    }

    @Test
    void shouldRateLimitErrorsToTheBucketWithinOneTick() {
        up();
        byte[][] burst = new byte[20][];
        for (int i = 0; i < burst.length; i++) {
            burst[i] = udp(PEER, US, 40000 + i, 9, 8);
        }
        assertEquals(BURST, exchange(burst).size());
        Ipv4Counters c = stack.counters();
        assertEquals(BURST, c.icmpErrorsSent());
        assertEquals(20 - BURST, c.icmpErrorsRateLimited());
        assertEquals(20, c.drops(IpDrop.PORT_UNREACHABLE));
        // Half an interval later: still nothing; a whole one: one token.
        now.addAndGet(INTERVAL / 2);
        assertEquals(0, exchange(udp(PEER, US, 1, 9, 8)).size());
        now.addAndGet(INTERVAL / 2);
        assertEquals(1, exchange(udp(PEER, US, 1, 9, 8), udp(PEER, US, 2, 9, 8)).size());
        // Long idle: the bucket refills to BURST, never more.
        now.addAndGet(1000 * INTERVAL);
        assertEquals(BURST, exchange(burst).size());
        // Echo is not an error and is never limited.
        assertEquals(10, exchange(java.util.stream.IntStream.range(0, 10)
                .mapToObj(i -> echoRequest(PEER, US, 1, i, 8)).toArray(byte[][]::new)).size());
        assertEveryPacketAccounted();
    }

    @Test
    void shouldSendNoErrorForAnIcmpError() {
        up();
        byte[] error = portUnreachableQuoting(udp(US, PEER, 1, 9, 8));
        byte[] unknownType = reicmp(echoRequest(PEER, US, 1, 1, 8), icmp -> icmp.setType(13));
        assertEquals(0, exchange(error, unknownType).size());
        assertEquals(1, stack.counters().drops(IpDrop.ICMP_UNHANDLED));
        assertEquals(1, stack.counters().drops(DropReason.ICMP_UNSUPPORTED_TYPE));
        assertEquals(0, stack.counters().icmpErrorsSent() + stack.counters().icmpErrorsRateLimited());
        assertEveryPacketAccounted();
    }

    /** A port unreachable from PEER to US quoting the first 28 bytes of {@code offending}. */
    private static byte[] portUnreachableQuoting(byte[] offending) {
        byte[] error = new byte[20 + 8 + 28];
        System.arraycopy(offending, 0, error, 28, 28);
        MemorySegment s = MemorySegment.ofArray(error);
        new Icmpv4Repr.DestinationUnreachable(Icmpv4Packet.UNREACHABLE_PORT, 0, 28).emit(Icmpv4Packet.wrap(s, 20, 36));
        Ipv4Repr.of(PEER, US, Ipv4Packet.PROTOCOL_ICMP, 64, 36).emit(Ipv4Packet.wrap(s, 0, error.length));
        return error;
    }

    /**
     * What the docs say delivered() counts: an answered echo request, a UDP datagram a socket took,
     * and a destination unreachable quoting UDP handed to the UDP transport; and that replies carry
     * the TTL the builder set.
     */
    @Test
    void shouldCountEachProtocolsConsumptionAsDeliveredAndSendWithTheBuilderTtl() throws IOException {
        domain = GraceScheme.SMR_DEFAULT.create("ip");
        pool = PacketPool.create(Smr.create("ip-pool", Smr.Mode.DEFAULT), 2048, 4L << 20);
        link = LinkPair.create("ip", 1500, 256);
        stack = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(now::get).ttl(7).build();
        ifindex = stack.attach(link.a());
        stack.addAddress(ifindex, US, 24);
        Ipv4Counters c = stack.counters();
        List<byte[]> replies = exchange(echoRequest(PEER, US, 1, 1, 8));
        assertEquals(1, replies.size());
        Ipv4Repr reply = assertInstanceOf(Ipv4Repr.class,
                Ipv4Repr.parse((Ipv4Packet) Ipv4Packet.check(MemorySegment.ofArray(replies.getFirst()))));
        assertEquals(7, reply.ttl(), "the builder's TTL");
        assertEquals(1, c.delivered(), "the echo request; " + c);
        try (UdpSocket server = Udp.attach(stack).open().bind(new InetSocketAddress(9))) {
            assertEquals(0, exchange(udp(PEER, US, 40000, 9, 8)).size());
            assertEquals(2, c.delivered(), "the datagram the socket took; " + c);
            assertEquals(0, exchange(portUnreachableQuoting(udp(US, PEER, 9, 53, 8))).size());
            assertEquals(3, c.delivered(), "the unreachable handed to UDP; " + c);
            assertNotNull(server.receive(ByteBuffer.allocate(16)), "the datagram was queued");
        }
        assertEveryPacketAccounted();
    }

    /**
     * A UDP transport (a public SPI) that throws, from input and from unreachable: the exception
     * reaches the caller of poll unchanged, and the packet is freed, not leaked (input "consumes
     * the packet whatever happens"). Before, the datagram's buffer was neither freed nor handed on.
     */
    @Test
    void shouldFreeThePacketAndPassTheExceptionOnWhenTheTransportThrows() {
        up();
        IllegalStateException bug = new IllegalStateException("transport bug");
        stack.attachUdp(new UdpInput() {
            @Override
            public Verdict input(int source, int destination, int ipHeaderLength,
                    dev.mpsafe.netstack.wire.UdpPacket udp, PacketBuffer packet) {
                throw bug;
            }

            @Override
            public void unreachable(int code, int localAddress, int localPort, int remoteAddress, int remotePort) {
                throw bug;
            }
        });
        byte[][] inputs = {udp(PEER, US, 40000, 9, 8), portUnreachableQuoting(udp(US, PEER, 9, 53, 8))};
        for (byte[] d : inputs) {
            assertTrue(link.b().send(buffer(pool, d)));
            assertSame(bug, assertThrows(IllegalStateException.class, () -> stack.poll(ifindex, 64)));
            assertEquals(0, pool.outstanding(), "the packet that met the throwing transport was not freed: " + pool);
        }
        assertEquals(1, exchange(echoRequest(PEER, US, 1, 1, 8)).size(), "the stack still answers");
    }

    @Test
    void shouldDropIcmpErrorsSentToABroadcastAddress() {
        up();
        byte[] offending = udp(US, PEER, 1, 9, 8);
        List<byte[]> errors = new ArrayList<>();
        for (int to : new int[] {-1, Ipv4Address.of(10, 0, 0, 255)}) {
            for (int type : new int[] {Icmpv4Packet.TYPE_DESTINATION_UNREACHABLE, Icmpv4Packet.TYPE_TIME_EXCEEDED}) {
                byte[] error = new byte[20 + 8 + 28];
                System.arraycopy(offending, 0, error, 28, 28);
                MemorySegment s = MemorySegment.ofArray(error);
                Icmpv4Repr repr = type == Icmpv4Packet.TYPE_TIME_EXCEEDED ? new Icmpv4Repr.TimeExceeded(0, 28)
                        : new Icmpv4Repr.DestinationUnreachable(Icmpv4Packet.UNREACHABLE_PORT, 0, 28);
                repr.emit(Icmpv4Packet.wrap(s, 20, 36));
                Ipv4Repr.of(PEER, to, Ipv4Packet.PROTOCOL_ICMP, 64, 36).emit(Ipv4Packet.wrap(s, 0, error.length));
                errors.add(error);
            }
        }
        assertEquals(0, exchange(errors.toArray(byte[][]::new)).size());
        Ipv4Counters c = stack.counters();
        assertEquals(4, c.drops(IpDrop.ICMP_ERROR_TO_BROADCAST), c.toString());
        assertEquals(4, c.inputDrops(), c.toString());
        assertEveryPacketAccounted();
    }

    @Test
    void shouldSendNoErrorForAFragment() {
        up();
        assertEquals(0, exchange(fragment(udp(PEER, US, 1, 9, 16), true, 0),
                fragment(raw(PEER, US, 99, 16), false, 64)).size());
        assertEquals(2, stack.counters().drops(IpDrop.FRAGMENT));
        assertEquals(0, stack.counters().icmpErrorsSent() + stack.counters().icmpErrorsRateLimited());
    }

    @Test
    void shouldSendNoErrorOrEchoForBroadcast() {
        up();
        int subnet = Ipv4Address.of(10, 0, 0, 255);
        assertEquals(0, exchange(udp(PEER, -1, 1, 9, 8), udp(PEER, subnet, 1, 9, 8), raw(PEER, subnet, 99, 8),
                echoRequest(PEER, subnet, 1, 1, 8)).size());
        Ipv4Counters c = stack.counters();
        assertEquals(2, c.drops(IpDrop.PORT_UNREACHABLE));
        assertEquals(1, c.drops(IpDrop.PROTOCOL_UNREACHABLE));
        assertEquals(1, c.drops(IpDrop.ECHO_TO_BROADCAST));
        assertEquals(3, c.icmpErrorsWithheld());
        assertEquals(0, c.icmpErrorsSent());
        // Nor for a datagram from a broadcast or multicast source: dropped first.
        assertEquals(0, exchange(udp(subnet, US, 1, 9, 8), udp(Ipv4Address.of(224, 0, 0, 1), US, 1, 9, 8)).size());
        assertEquals(2, c.drops(IpDrop.MARTIAN_BROADCAST_OR_MULTICAST));
        assertEveryPacketAccounted();
    }

    // --- martian sources ---------------------------------------------------------------------------

    /** A source no real sender on a link can have, and the reason it must be counted under. */
    record Martian(String name, int source, IpDrop reason) {
    }

    static List<Martian> martians(int second) {
        return List.of(
                new Martian("loopback 127.0.0.1", Ipv4Address.of(127, 0, 0, 1), IpDrop.MARTIAN_LOOPBACK),
                new Martian("loopback 127.255.255.254", Ipv4Address.of(127, 255, 255, 254), IpDrop.MARTIAN_LOOPBACK),
                new Martian("this network 0.0.0.1", Ipv4Address.of(0, 0, 0, 1), IpDrop.MARTIAN_THIS_NETWORK),
                new Martian("this network 0.200.0.7", Ipv4Address.of(0, 200, 0, 7), IpDrop.MARTIAN_THIS_NETWORK),
                new Martian("0.0.0.0 to a unicast address", 0, IpDrop.MARTIAN_THIS_NETWORK),
                new Martian("limited broadcast", -1, IpDrop.MARTIAN_BROADCAST_OR_MULTICAST),
                new Martian("directed broadcast of our prefix", Ipv4Address.of(10, 0, 0, 255),
                        IpDrop.MARTIAN_BROADCAST_OR_MULTICAST),
                new Martian("directed broadcast of our second prefix", Ipv4Address.of(172, 16, 255, 255),
                        IpDrop.MARTIAN_BROADCAST_OR_MULTICAST),
                new Martian("multicast 224.0.0.1", Ipv4Address.of(224, 0, 0, 1), IpDrop.MARTIAN_BROADCAST_OR_MULTICAST),
                new Martian("multicast 239.255.255.250", Ipv4Address.of(239, 255, 255, 250),
                        IpDrop.MARTIAN_BROADCAST_OR_MULTICAST),
                new Martian("class E 240.0.0.1", Ipv4Address.of(240, 0, 0, 1), IpDrop.MARTIAN_BROADCAST_OR_MULTICAST),
                new Martian("our own address", US, IpDrop.MARTIAN_OURS),
                new Martian("our second address", second, IpDrop.MARTIAN_OURS));
    }

    @Test
    void shouldDropMartianSourcesSilentlyEachUnderItsReason() {
        up();
        int second = Ipv4Address.of(172, 16, 5, 1);
        stack.addAddress(ifindex, second, 16);
        Ipv4Counters c = stack.counters();
        List<Martian> martians = martians(second);
        for (Martian m : martians) {
            long drops = c.inputDrops();
            long reason = c.drops(m.reason());
            // An echo request (would be answered), UDP to a closed port and an unknown protocol
            // (would earn errors): each is dropped before anything looks at it.
            assertEquals(0, exchange(echoRequest(m.source(), US, 1, 1, 8), udp(m.source(), US, 40000, 9, 8),
                    raw(m.source(), US, 253, 8)).size(), m.name() + " was answered");
            assertEquals(drops + 3, c.inputDrops(), m.name() + ": not one drop each; " + c);
            assertEquals(reason + 3, c.drops(m.reason()), m.name() + ": not counted as " + m.reason() + "; " + c);
        }
        assertEquals(3L * martians.size(), c.martianSources());
        assertEquals(0, c.icmpErrorsSent() + c.icmpErrorsRateLimited() + c.icmpErrorsWithheld(),
                "silently: no error was even considered; " + c);
        assertEquals(0, c.delivered());
        assertEquals(1, exchange(echoRequest(PEER, US, 3, 4, 8)).size(), "a real peer is still answered");
        assertEveryPacketAccounted();
    }

    @Test
    void shouldAcceptTheZeroSourceOnlyToTheLimitedBroadcast() {
        // A host that has no address yet (a BOOTP or DHCP client) sends from 0.0.0.0 to
        // 255.255.255.255 (RFC 1122 3.2.1.3 (a)); nothing else may come from 0.0.0.0.
        up();
        Ipv4Counters c = stack.counters();
        assertEquals(0, exchange(udp(0, -1, 68, 67, 8), raw(0, -1, 253, 8)).size());
        assertEquals(1, c.drops(IpDrop.PORT_UNREACHABLE), "reached UDP; " + c);
        assertEquals(1, c.drops(IpDrop.PROTOCOL_UNREACHABLE), "reached the protocol switch; " + c);
        assertEquals(2, c.icmpErrorsWithheld(), "no error to 0.0.0.0 or for a broadcast");
        assertEquals(0, c.martianSources());
        assertEquals(0, exchange(udp(0, Ipv4Address.of(10, 0, 0, 255), 68, 67, 8), udp(0, US, 68, 67, 8)).size());
        assertEquals(2, c.drops(IpDrop.MARTIAN_THIS_NETWORK), "to a directed broadcast or to us: martian; " + c);
        assertEveryPacketAccounted();
    }

    @Test
    void shouldAcceptLoopbackAndOwnSourcesOnALoopbackInterface() {
        up();
        int localhost = Ipv4Address.of(127, 0, 0, 1);
        try (Loopback lo = Loopback.create("lo", 65535, 64)) {
            int loIndex = stack.attach(lo);
            stack.addAddress(loIndex, localhost, 8);
            Ipv4Counters c = stack.counters();
            // 127.0.0.1 to itself, in on lo: answered, and the reply comes back in on lo.
            stack.input(loIndex, buffer(pool, echoRequest(localhost, localhost, 1, 1, 8)));
            assertEquals(1, c.delivered(), c.toString());
            assertEquals(1, stack.poll(loIndex, 64), "the reply went out on lo");
            assertEquals(1, c.drops(IpDrop.ICMP_UNHANDLED), "and came back in as an echo reply; " + c);
            // One of our other addresses as the source, in on lo: accepted and answered, but the
            // reply from 127.0.0.1 would leave by the link (the route to US), so output drops it.
            stack.input(loIndex, buffer(pool, echoRequest(US, localhost, 2, 2, 8)));
            assertEquals(2, c.delivered(), c.toString());
            assertEquals(1, c.drops(IpDrop.LOOPBACK_OFF_HOST), "no 127.0.0.1 source on the link; " + c);
            PacketBuffer[] got = new PacketBuffer[1];
            assertEquals(0, link.b().receive(got, 0, 1), "the reply left by the link");
            assertEquals(0, c.martianSources(), c.toString());
            // The same 127.0.0.1 source arriving on the link is a martian.
            assertEquals(0, exchange(echoRequest(localhost, US, 3, 3, 8)).size());
            assertEquals(1, c.drops(IpDrop.MARTIAN_LOOPBACK));
            assertEveryPacketAccounted();
        }
    }

    /**
     * RFC 1122 3.2.1.3 (g) on the API side: a 127/8 address is refused on an interface that is not
     * loopback, and a socket bound to 127.0.0.1 cannot send or connect off the host (Linux answers
     * EINVAL), with nothing changed, sent or consumed; to 127.0.0.1 itself it still sends.
     */
    @Test
    void shouldRefuseLoopbackAddressesOffLoopbackAndLoopbackSourcedSendsOffTheHost() throws IOException {
        up();
        int localhost = Ipv4Address.of(127, 0, 0, 1);
        int routesBefore = stack.routes().size();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> stack.addAddress(ifindex, Ipv4Address.of(127, 0, 0, 2), 8));
        assertTrue(e.getMessage().contains("127.0.0.2/8") && e.getMessage().contains("not loopback"), e.getMessage());
        assertEquals(routesBefore, stack.routes().size(), "a route was added for the refused address");
        assertEquals(1, stack.iface(ifindex).addresses().size());
        try (Loopback lo = Loopback.create("lo", 65535, 64)) {
            int loIndex = stack.attach(lo);
            stack.addAddress(loIndex, localhost, 8);
            try (UdpSocket s = Udp.attach(stack).open().bind(
                    new InetSocketAddress(Ipv4Address.toInetAddress(localhost), 9))) {
                ByteBuffer data = ByteBuffer.wrap(new byte[] {1, 2, 3});
                InetSocketAddress peer = new InetSocketAddress(Ipv4Address.toInetAddress(PEER), 53);
                java.net.SocketException send = assertThrows(java.net.SocketException.class, () -> s.send(data, peer));
                assertTrue(send.getMessage().contains("127.0.0.1") && send.getMessage().contains("10."), send.getMessage());
                assertEquals(0, data.position(), "nothing consumed");
                assertThrows(java.net.SocketException.class, () -> s.connect(peer));
                assertNull(s.getRemoteAddress(), "a refused connect changed nothing");
                PacketBuffer[] got = new PacketBuffer[1];
                assertEquals(0, link.b().receive(got, 0, 1), "something left by the link");
                assertEquals(0, stack.counters().drops(IpDrop.LOOPBACK_OFF_HOST), "refused before output");
                assertEquals(3, s.send(data, new InetSocketAddress(Ipv4Address.toInetAddress(localhost), 9)),
                        "to 127.0.0.1 itself it still sends");
            }
        }
        assertEveryPacketAccounted();
    }

    /**
     * RFC 1122 3.2.1.3 (g): 127/8 never appears outside a host. From the link, a datagram to 127/8
     * is a martian destination, silently dropped whether or not a loopback interface holds the
     * address (before, one to 127.0.0.1 was answered from 127.0.0.1 out of the link).
     */
    @Test
    void shouldDropLoopbackDestinationsFromTheLinkSilently() throws IOException {
        up();
        int localhost = Ipv4Address.of(127, 0, 0, 1);
        Ipv4Counters c = stack.counters();
        assertEquals(0, exchange(echoRequest(PEER, Ipv4Address.of(127, 0, 0, 5), 1, 1, 8)).size());
        assertEquals(1, c.drops(IpDrop.MARTIAN_DESTINATION), "with no loopback interface; " + c);
        try (Loopback lo = Loopback.create("lo", 65535, 64)) {
            int loIndex = stack.attach(lo);
            stack.addAddress(loIndex, localhost, 8);
            try (UdpSocket local = Udp.attach(stack).open().bind(
                    new InetSocketAddress(Ipv4Address.toInetAddress(localhost), 9))) {
                assertEquals(0, exchange(echoRequest(PEER, localhost, 1, 1, 8), udp(PEER, localhost, 40000, 9, 8),
                        raw(PEER, localhost, 253, 8)).size(), "answered from the link");
                assertNull(local.configureBlocking(false).receive(ByteBuffer.allocate(16)),
                        "a socket bound to 127.0.0.1 heard the link");
            }
            assertEquals(4, c.drops(IpDrop.MARTIAN_DESTINATION), c.toString());
            assertEquals(0, c.delivered() + c.sent() + c.outputDrops(), "nothing answered, not even tried; " + c);
            assertEquals(0, c.icmpErrorsSent() + c.icmpErrorsRateLimited() + c.icmpErrorsWithheld(),
                    "silently: no error was even considered; " + c);
            // On lo the same destination is ours: answered, and the reply goes out on lo.
            stack.input(loIndex, buffer(pool, echoRequest(localhost, localhost, 2, 2, 8)));
            assertEquals(1, c.delivered(), c.toString());
            assertEquals(1, stack.poll(loIndex, 64), "the reply went out on lo");
            assertEveryPacketAccounted();
        }
    }

    /** Output refuses to put a 127/8 source or destination on an interface that is not loopback. */
    @Test
    void shouldNotSendLoopbackAddressesOutOfTheLink() {
        up();
        stack.routes().add(Route.via(0, 0, PEER, ifindex)); // a default route: 127/8 would follow it
        int localhost = Ipv4Address.of(127, 0, 0, 1);
        PacketBuffer fromLoopback = pool.allocate(64);
        fromLoopback.append(8);
        assertFalse(stack.output(localhost, PEER, 200, fromLoopback));
        PacketBuffer toLoopback = pool.allocate(64);
        toLoopback.append(8);
        assertFalse(stack.output(0, localhost, 200, toLoopback));
        Ipv4Counters c = stack.counters();
        assertEquals(2, c.drops(IpDrop.LOOPBACK_OFF_HOST), c.toString());
        assertEquals(2, c.outputDrops());
        assertEquals(0, c.sent());
        PacketBuffer[] got = new PacketBuffer[1];
        assertEquals(0, link.b().receive(got, 0, 1), "a loopback address reached the link");
        assertNull(stack.pathTo(localhost), "a path to 127.0.0.1 out of the link");
        assertEquals(ifindex, stack.pathTo(PEER).ifindex());
    }

    /**
     * With 10.0.0.1/24 and 192.0.2.1/24 on one interface, a neighbour on the second prefix is sent
     * to from 192.0.2.1 (it has no route back to 10.0.0.1), by pathTo, by output with source 0,
     * and through a gateway on that prefix; a destination on neither prefix takes the first.
     */
    @Test
    void shouldSendFromTheAddressWhosePrefixHoldsTheNextHop() {
        up();
        int second = Ipv4Address.of(192, 0, 2, 1);
        int neighbour = Ipv4Address.of(192, 0, 2, 7);
        int gateway = Ipv4Address.of(192, 0, 2, 254);
        int far = Ipv4Address.of(198, 51, 100, 9);
        int other = Ipv4Address.of(203, 0, 113, 9);
        stack.addAddress(ifindex, second, 24);
        stack.routes().add(Route.via(Ipv4Address.of(198, 51, 100, 0), 24, gateway, ifindex));
        stack.routes().add(Route.onLink(Ipv4Address.of(203, 0, 113, 0), 24, ifindex));
        assertEquals(second, stack.pathTo(neighbour).source(), "pathTo an on-link neighbour of the second prefix");
        assertEquals(second, stack.pathTo(far).source(), "pathTo through a gateway on the second prefix");
        assertEquals(US, stack.pathTo(PEER).source(), "pathTo a neighbour of the first prefix");
        assertEquals(US, stack.pathTo(other).source(), "pathTo a prefix no address is on");
        int[] destinations = {neighbour, far, PEER, other};
        int[] sources = {second, second, US, US};
        for (int i = 0; i < destinations.length; i++) {
            PacketBuffer p = pool.allocate(64);
            p.append(8);
            assertTrue(stack.output(0, destinations[i], 200, p));
            PacketBuffer[] got = new PacketBuffer[1];
            assertEquals(1, link.b().receive(got, 0, 1));
            Ipv4Repr header = assertInstanceOf(Ipv4Repr.class,
                    Ipv4Repr.parse(Ipv4Packet.wrap(got[0].data())));
            got[0].free();
            assertEquals(Ipv4Address.format(sources[i]), Ipv4Address.format(header.source()),
                    "source of output(0, " + Ipv4Address.format(destinations[i]) + ")");
        }
    }

    // --- hostile input ------------------------------------------------------------------------------

    /** Every hostile layout of issue 7, with the one reason it must be counted under. */
    static Map<String, Map.Entry<byte[], Object>> hostile() {
        Map<String, Map.Entry<byte[], Object>> m = new LinkedHashMap<>();
        Supplier<byte[]> valid = () -> echoRequest(PEER, US, 99, 1, 56);
        m.put("empty", Map.entry(new byte[0], DropReason.IPV4_TRUNCATED));
        m.put("truncated header (19 bytes)", Map.entry(cut(valid.get(), 19), DropReason.IPV4_TRUNCATED));
        m.put("version 6", Map.entry(edit(valid.get(), s -> setByte(s, 0, 0x65)), DropReason.IPV4_BAD_VERSION));
        m.put("IHL 4", Map.entry(edit(valid.get(), s -> setByte(s, 0, 0x44)), DropReason.IPV4_HEADER_TOO_SHORT));
        m.put("IHL 0", Map.entry(edit(valid.get(), s -> setByte(s, 0, 0x40)), DropReason.IPV4_HEADER_TOO_SHORT));
        m.put("IHL 15 past a 40-byte buffer", Map.entry(cut(edit(valid.get(), s -> setByte(s, 0, 0x4F)), 40),
                DropReason.IPV4_HEADER_PAST_BUFFER));
        m.put("total length above the buffer", Map.entry(edit(valid.get(), s -> setTotalLength(s, 200)),
                DropReason.IPV4_TOTAL_LENGTH_PAST_BUFFER));
        m.put("total length below the header", Map.entry(edit(valid.get(), s -> setTotalLength(s, 12)),
                DropReason.IPV4_TOTAL_LENGTH_BELOW_HEADER));
        m.put("bad IPv4 checksum", Map.entry(edit(valid.get(), s -> setByte(s, 10, s.get(JAVA_BYTE, 10) ^ 0x5A)),
                DropReason.IPV4_BAD_CHECKSUM));
        m.put("option running past the header", Map.entry(withOption(valid.get(), new byte[] {7, 12, 4, 0}),
                DropReason.IPV4_BAD_OPTION));
        m.put("option of length 1", Map.entry(withOption(valid.get(), new byte[] {7, 1, 0, 0}),
                DropReason.IPV4_BAD_OPTION));
        m.put("first fragment (MF)", Map.entry(fragment(valid.get(), true, 0), IpDrop.FRAGMENT));
        m.put("last fragment (offset 64)", Map.entry(fragment(valid.get(), false, 64), IpDrop.FRAGMENT));
        m.put("overlapping fragment (offset 8, MF)", Map.entry(fragment(valid.get(), true, 8), IpDrop.FRAGMENT));
        m.put("endless fragment (offset 65528, MF)", Map.entry(fragment(valid.get(), true, 65528), IpDrop.FRAGMENT));
        m.put("not for us", Map.entry(reheader(valid.get(), ip -> ip.setDestination(Ipv4Address.of(10, 0, 0, 3))),
                IpDrop.NOT_FOR_US));
        m.put("multicast destination", Map.entry(reheader(valid.get(), ip -> ip.setDestination(
                Ipv4Address.of(224, 0, 0, 1))), IpDrop.NOT_FOR_US));
        m.put("limited broadcast source", Map.entry(reheader(valid.get(), ip -> ip.setSource(-1)),
                IpDrop.MARTIAN_BROADCAST_OR_MULTICAST));
        m.put("ICMP truncated (4 bytes)", Map.entry(cut(reheader(valid.get(), ip -> {
            Datagrams.setTotalLength(ip.segment(), 24);
        }), 24), DropReason.ICMP_TRUNCATED));
        m.put("bad ICMP checksum", Map.entry(edit(valid.get(), s -> setByte(s, 22, s.get(JAVA_BYTE, 22) ^ 0x33)),
                DropReason.ICMP_BAD_CHECKSUM));
        m.put("ICMP timestamp request (type 13)", Map.entry(reicmp(valid.get(), icmp -> icmp.setType(13)),
                DropReason.ICMP_UNSUPPORTED_TYPE));
        m.put("echo request with code 1", Map.entry(reicmp(valid.get(), icmp -> icmp.setCode(1)),
                DropReason.ICMP_BAD_CODE));
        m.put("unreachable quoting no header", Map.entry(reicmp(valid.get(), icmp -> {
            icmp.setType(3);
            icmp.setCode(3);
        }), DropReason.ICMP_BAD_ERROR_DATA));
        m.put("echo reply", Map.entry(reicmp(valid.get(), icmp -> icmp.setType(0)), IpDrop.ICMP_UNHANDLED));
        m.put("UDP truncated (4 bytes)", Map.entry(cut(reheader(udp(PEER, US, 1, 9, 0), ip -> {
            Datagrams.setTotalLength(ip.segment(), 24);
        }), 24), DropReason.UDP_TRUNCATED));
        m.put("UDP bad checksum", Map.entry(edit(udp(PEER, US, 1, 9, 8), s -> setByte(s, 30, s.get(JAVA_BYTE, 30) ^ 1)),
                DropReason.UDP_BAD_CHECKSUM));
        m.put("UDP length past the datagram", Map.entry(edit(udp(PEER, US, 1, 9, 8), s -> setByte(s, 25, 200)),
                DropReason.UDP_LENGTH_PAST_BUFFER));
        return m;
    }

    private static long count(Ipv4Counters c, Object reason) {
        return reason instanceof DropReason d ? c.drops(d) : c.drops((IpDrop) reason);
    }

    @Test
    void shouldCountEachHostilePacketAsOneDropThenStillAnswerEcho() {
        up();
        Ipv4Counters c = stack.counters();
        for (var e : hostile().entrySet()) {
            Object reason = e.getValue().getValue();
            long before = c.inputDrops();
            long reasonBefore = count(c, reason);
            assertEquals(0, exchange(e.getValue().getKey()).size(), e.getKey() + " was answered");
            assertEquals(before + 1, c.inputDrops(), e.getKey() + ": not exactly one drop; " + c);
            assertEquals(reasonBefore + 1, count(c, reason), e.getKey() + ": not counted as " + reason + "; " + c);
        }
        assertEquals(0, c.icmpErrorsSent(), "no hostile packet earns an ICMP error");
        assertEquals(hostile().size(), c.received());
        List<byte[]> answers = exchange(echoRequest(PEER, US, 3, 4, 1472));
        assertEquals(1, answers.size());
        assertEquals(new Icmpv4Repr.EchoReply(3, 4, 1472), icmp(answers.getFirst(), US, PEER));
        assertEveryPacketAccounted();
    }

    @Test
    void shouldSurviveRandomBytesAndRandomDamage() {
        up();
        java.util.SplittableRandom random = new java.util.SplittableRandom(0x1BADB002L);
        for (int i = 0; i < 5_000; i++) {
            byte[] bytes;
            if (i % 2 == 0) {
                bytes = new byte[random.nextInt(0, 200)];
                random.nextBytes(bytes);
                if (bytes.length > 0) {
                    bytes[0] = (byte) (0x45 + random.nextInt(0, 11)); // mostly version 4
                }
            } else {
                bytes = random.nextBoolean() ? echoRequest(PEER, US, 1, i, random.nextInt(0, 100))
                        : udp(PEER, US, 1, 9, random.nextInt(0, 100));
                bytes[random.nextInt(0, bytes.length)] ^= (byte) random.nextInt(1, 256);
            }
            exchange(bytes);
        }
        now.addAndGet(1000 * INTERVAL);
        assertEquals(1, exchange(echoRequest(PEER, US, 3, 4, 56)).size());
        assertEveryPacketAccounted();
    }

    // --- output and configuration -------------------------------------------------------------------

    @Test
    void shouldRouteOutputAndFillTheHeader() {
        up();
        PacketBuffer p = pool.allocate(64);
        MemorySegment payload = p.append(30);
        payload.fill((byte) 0x5C);
        assertTrue(stack.output(0, PEER, 200, p));
        PacketBuffer[] got = new PacketBuffer[1];
        assertEquals(1, link.b().receive(got, 0, 1));
        Ipv4Packet ip = assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(got[0].data()));
        Ipv4Repr header = assertInstanceOf(Ipv4Repr.class, Ipv4Repr.parse(ip));
        assertEquals(US, header.source());
        assertEquals(PEER, header.destination());
        assertEquals(200, header.protocol());
        assertEquals(30, header.payloadLength());
        got[0].free();
    }

    @Test
    void shouldCountOutputDrops() {
        up();
        PacketBuffer noRoute = pool.allocate(64);
        noRoute.append(8);
        assertFalse(stack.output(0, Ipv4Address.of(192, 0, 2, 9), 200, noRoute));
        PacketBuffer tooBig = pool.allocate(64);
        tooBig.append(1481);
        assertFalse(stack.output(0, PEER, 200, tooBig));
        Ipv4Counters c = stack.counters();
        assertEquals(1, c.drops(IpDrop.NO_ROUTE));
        assertEquals(1, c.drops(IpDrop.MTU_EXCEEDED));
        assertEquals(2, c.outputDrops());
        // A reply with no route back is an output drop, after the request counted as delivered.
        assertEquals(0, exchange(echoRequest(Ipv4Address.of(192, 0, 2, 9), US, 1, 1, 8)).size());
        assertEquals(2, c.drops(IpDrop.NO_ROUTE));
        assertEquals(1, c.delivered());
    }

    /**
     * {@code icmpErrorRate(1, Long.MAX_VALUE)}: one error, never refilled. Ten datagrams to a
     * closed port get exactly one port unreachable (the bucket's arithmetic wrapped and granted
     * all ten before), and a day later still none. A setting whose span overflows is refused by
     * the builder itself, naming both values and the limit.
     */
    @Test
    void shouldSendOneErrorThenNoneWhenTheBucketNeverRefills() {
        up(GraceScheme.SMR_DEFAULT, 1, Long.MAX_VALUE);
        byte[][] ten = new byte[10][];
        for (int i = 0; i < ten.length; i++) {
            ten[i] = udp(PEER, US, 40000 + i, 9, 8);
        }
        assertEquals(1, exchange(ten).size());
        now.addAndGet(86_400_000_000_000L);
        assertEquals(0, exchange(ten).size());
        assertEquals(1, stack.counters().icmpErrorsSent());
        assertEquals(19, stack.counters().icmpErrorsRateLimited());
        assertEveryPacketAccounted();
        var e = assertThrows(IllegalArgumentException.class,
                () -> Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).icmpErrorRate(2, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("burst 2 * interval " + Long.MAX_VALUE + " ns exceeds " + Long.MAX_VALUE),
                e.getMessage());
    }

    @Test
    void shouldRefuseBadArgumentsNamingValueAndLimit() {
        up();
        PacketBuffer p = pool.allocate(10);
        p.append(8);
        var e = assertThrows(IllegalArgumentException.class, () -> stack.output(0, PEER, 1, p));
        assertTrue(e.getMessage().contains("headroom 10 below the 20"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> stack.output(0, PEER, 256, p));
        assertTrue(e.getMessage().contains("protocol 256 outside 0..255"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> stack.input(7, p));
        assertTrue(e.getMessage().contains("interface index 7 outside 1..1"), e.getMessage());
        p.free(); // the caller kept ownership after each refusal
        e = assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, US, 24));
        assertTrue(e.getMessage().contains("already assigned"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, Ipv4Address.of(10, 0, 1, 1), 33));
        assertTrue(e.getMessage().contains("prefix length 33 outside 1..32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, Ipv4Address.of(224, 0, 0, 1), 24));
        assertTrue(e.getMessage().contains("not unicast"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> stack.poll(ifindex, -1));
        assertTrue(e.getMessage().contains("max -1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> stack.attach(link.a()));
        assertThrows(IllegalStateException.class, () -> Ipv4Stack.builder(domain, pool, stack.routes()).build());
        assertEquals(1, stack.routes().size(), "only the first address's on-link route");
    }

    /**
     * An address equal to its prefix's directed broadcast or network address names no host
     * (before, 10.0.0.255/24 was assigned: the stack counted it both as ours and as a broadcast).
     * /31 and /32 have neither, so every address of theirs is a host's.
     */
    @Test
    void shouldRefuseTheNetworkAndBroadcastAddressOfItsOwnPrefix() {
        up();
        int routes = stack.routes().size();
        var e = assertThrows(IllegalArgumentException.class,
                () -> stack.addAddress(ifindex, Ipv4Address.of(192, 168, 1, 255), 24));
        assertTrue(e.getMessage().contains("192.168.1.255") && e.getMessage().contains("192.168.1.0/24")
                && e.getMessage().contains("broadcast"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, Ipv4Address.of(192, 168, 1, 0), 24));
        assertTrue(e.getMessage().contains("192.168.1.0 is the network address of its prefix 192.168.1.0/24"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, Ipv4Address.of(172, 16, 0, 3), 30));
        assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, Ipv4Address.of(172, 16, 0, 4), 30));
        assertThrows(IllegalArgumentException.class, () -> stack.addAddress(ifindex, Ipv4Address.of(11, 255, 255, 255), 8));
        assertEquals(routes, stack.routes().size(), "a refused address added a route");
        assertEquals(List.of(new InterfaceAddress(US, 24)), stack.iface(ifindex).addresses());
        assertFalse(stack.isLocalAddress(Ipv4Address.of(192, 168, 1, 255)));
        // Host bits neither all zero nor all one, and /31 (RFC 3021) and /32: accepted.
        stack.addAddress(ifindex, Ipv4Address.of(172, 16, 0, 5), 30);
        stack.addAddress(ifindex, Ipv4Address.of(172, 17, 0, 0), 31);
        stack.addAddress(ifindex, Ipv4Address.of(172, 17, 0, 3), 31);
        stack.addAddress(ifindex, Ipv4Address.of(172, 18, 0, 255), 32);
        assertEquals(5, stack.iface(ifindex).addresses().size());
    }

    @Test
    void shouldAddOnLinkRouteWithAddress() {
        up();
        assertEquals(Route.onLink(Ipv4Address.of(10, 0, 0, 0), 24, ifindex),
                stack.routes().resolve(PEER));
        stack.addAddress(ifindex, Ipv4Address.of(172, 16, 5, 1), 16);
        assertEquals(Route.onLink(Ipv4Address.of(172, 16, 0, 0), 16, ifindex),
                stack.routes().resolve(Ipv4Address.of(172, 16, 9, 9)));
        assertEquals(List.of(new InterfaceAddress(US, 24), new InterfaceAddress(Ipv4Address.of(172, 16, 5, 1), 16)),
                stack.iface(ifindex).addresses());
        // The second address answers too, from itself.
        List<byte[]> answers = exchange(echoRequest(PEER, Ipv4Address.of(172, 16, 5, 1), 1, 1, 8));
        assertEquals(1, answers.size());
        icmp(answers.getFirst(), Ipv4Address.of(172, 16, 5, 1), PEER);
    }
}
