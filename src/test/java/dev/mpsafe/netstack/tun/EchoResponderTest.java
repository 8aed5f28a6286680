package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mpsafe.netstack.wire.DropReason;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The responder's decision on its own, no device, no privileges: a request becomes a valid reply in
 * place; each hostile packet the issue lists is a drop counted under its reason, and never throws.
 * {@link #hostilePackets()} is shared with {@code PingTest}, which feeds the same bytes to a
 * responder that is answering the kernel's ping at the time.
 */
class EchoResponderTest {

    static final int US = Ipv4Address.of(10, 99, 0, 2);
    static final int PEER = Ipv4Address.of(10, 99, 0, 1);

    @Test
    void shouldTurnRequestIntoReplyInPlace() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(2048);
            int length = TunPackets.echoRequest(buffer, PEER, US, 0x1234, 7, 56);
            EchoResponder responder = new EchoResponder(US);
            assertEquals(length, responder.process(buffer, length));
            Ipv4Packet ip = (Ipv4Packet) Ipv4Packet.check(buffer, 0, length);
            Ipv4Repr header = (Ipv4Repr) Ipv4Repr.parse(ip);
            assertEquals(US, header.source());
            assertEquals(PEER, header.destination());
            Icmpv4Repr reply = (Icmpv4Repr) Icmpv4Repr.parse((Icmpv4Packet) Icmpv4Packet.check(ip.payload()));
            assertEquals(new Icmpv4Repr.EchoReply(0x1234, 7, 56), reply);
            for (int i = 0; i < 56; i++) {
                assertEquals((byte) i, buffer.get(ValueLayout.JAVA_BYTE, 28 + i), "data byte " + i);
            }
            assertEquals(1, responder.replies());
            assertEquals(0, responder.totalDrops());
        }
    }

    @Test
    void shouldCountEachHostilePacketAsItsDrop() {
        EchoResponder responder = new EchoResponder(US);
        try (Arena arena = Arena.ofConfined()) {
            for (Map.Entry<String, Hostile> e : hostilePackets().entrySet()) {
                Hostile h = e.getValue();
                MemorySegment buffer = arena.allocate(Math.max(1, h.bytes().length));
                MemorySegment.copy(h.bytes(), 0, buffer, ValueLayout.JAVA_BYTE, 0, h.bytes().length);
                long before = responder.totalDrops();
                long reasonBefore = count(responder, h.reason());
                assertEquals(0, responder.process(buffer, h.bytes().length), e.getKey() + " was answered");
                assertEquals(before + 1, responder.totalDrops(), e.getKey() + ": not exactly one drop");
                assertEquals(reasonBefore + 1, count(responder, h.reason()), e.getKey() + ": not counted as "
                        + h.reason() + "; " + responder);
            }
        }
        assertEquals(0, responder.replies());
        assertEquals(hostilePackets().size(), responder.totalDrops());
    }

    static long count(EchoResponder responder, Object reason) {
        return reason instanceof DropReason d ? responder.drops(d) : responder.drops((EchoResponder.Local) reason);
    }

    /** Hostile bytes and the drop each must be counted as (a {@code DropReason} or a {@code Local}). */
    record Hostile(byte[] bytes, Object reason) {}

    /** Every hostile IPv4/ICMP layout of issue 7, in a fixed order, by name. */
    static Map<String, Hostile> hostilePackets() {
        Map<String, Hostile> m = new LinkedHashMap<>();
        m.put("empty", new Hostile(new byte[0], DropReason.IPV4_TRUNCATED));
        m.put("truncated header (19 bytes)", new Hostile(cut(valid(), 19), DropReason.IPV4_TRUNCATED));
        m.put("version 6", new Hostile(edit(valid(), s -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x65)),
                DropReason.IPV4_BAD_VERSION));
        m.put("IHL 4", new Hostile(edit(valid(), s -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x44)),
                DropReason.IPV4_HEADER_TOO_SHORT));
        m.put("IHL 0", new Hostile(edit(valid(), s -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x40)),
                DropReason.IPV4_HEADER_TOO_SHORT));
        m.put("IHL 15 beyond a 40-byte buffer", new Hostile(cut(edit(valid(),
                s -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x4F)), 40), DropReason.IPV4_HEADER_PAST_BUFFER));
        m.put("total length above the buffer", new Hostile(edit(valid(), s -> setTotalLength(s, 200)),
                DropReason.IPV4_TOTAL_LENGTH_PAST_BUFFER));
        m.put("total length below the header", new Hostile(edit(valid(), s -> setTotalLength(s, 12)),
                DropReason.IPV4_TOTAL_LENGTH_BELOW_HEADER));
        m.put("bad IPv4 checksum", new Hostile(edit(valid(), s -> s.set(ValueLayout.JAVA_BYTE, 10,
                (byte) (s.get(ValueLayout.JAVA_BYTE, 10) ^ 0x5A))), DropReason.IPV4_BAD_CHECKSUM));
        m.put("option running past the header", new Hostile(withOption(new byte[] {7, 12, 4, 0}),
                DropReason.IPV4_BAD_OPTION));
        m.put("option of length 1", new Hostile(withOption(new byte[] {7, 1, 0, 0}), DropReason.IPV4_BAD_OPTION));
        m.put("TTL 0", new Hostile(edit(valid(), s -> reheader(s, ip -> ip.setTtl(0))), EchoResponder.Local.TTL_ZERO));
        m.put("first fragment (MF)", new Hostile(fragment(true, 0), EchoResponder.Local.FRAGMENT));
        m.put("overlapping fragment (offset 8, MF)", new Hostile(fragment(true, 8), EchoResponder.Local.FRAGMENT));
        m.put("endless fragment (offset 65528, MF)", new Hostile(fragment(true, 65528), EchoResponder.Local.FRAGMENT));
        m.put("not for us", new Hostile(edit(valid(), s -> reheader(s, ip -> ip.setDestination(
                Ipv4Address.of(10, 99, 0, 3)))), EchoResponder.Local.NOT_FOR_US));
        m.put("UDP, not ICMP", new Hostile(edit(valid(), s -> reheader(s, ip -> ip.setProtocol(17))),
                EchoResponder.Local.NOT_ICMP));
        m.put("ICMP truncated (4 bytes)", new Hostile(ipWithIcmpBytes(new byte[] {8, 0, 0, 0}),
                DropReason.ICMP_TRUNCATED));
        m.put("bad ICMP checksum", new Hostile(edit(valid(), s -> s.set(ValueLayout.JAVA_BYTE, 22,
                (byte) (s.get(ValueLayout.JAVA_BYTE, 22) ^ 0x33))), DropReason.ICMP_BAD_CHECKSUM));
        m.put("ICMP timestamp request (type 13)", new Hostile(edit(valid(), s -> reicmp(s, icmp -> icmp.setType(13))),
                DropReason.ICMP_UNSUPPORTED_TYPE));
        m.put("echo request with code 1", new Hostile(edit(valid(), s -> reicmp(s, icmp -> icmp.setCode(1))),
                DropReason.ICMP_BAD_CODE));
        m.put("echo reply", new Hostile(edit(valid(), s -> reicmp(s, icmp -> icmp.setType(0))),
                EchoResponder.Local.NOT_ECHO_REQUEST));
        return m;
    }

    private static byte[] valid() {
        MemorySegment s = MemorySegment.ofArray(new byte[84]);
        int length = TunPackets.echoRequest(s, PEER, US, 99, 1, 56);
        return s.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] cut(byte[] bytes, int length) {
        return java.util.Arrays.copyOf(bytes, length);
    }

    private static byte[] edit(byte[] bytes, Consumer<MemorySegment> change) {
        change.accept(MemorySegment.ofArray(bytes));
        return bytes;
    }

    private static void setTotalLength(MemorySegment s, int length) {
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 2, (short) length);
        Ipv4Packet.wrap(s, 0, 20).fillChecksum(); // a consistent header that lies about its length
    }

    /** Changes a header field and recomputes the header checksum, so only the change is wrong. */
    private static void reheader(MemorySegment s, Consumer<Ipv4Packet> change) {
        Ipv4Packet ip = Ipv4Packet.wrap(s, 0, s.byteSize());
        change.accept(ip);
        ip.fillChecksum();
    }

    /** Changes an ICMP field and recomputes the ICMP checksum. */
    private static void reicmp(MemorySegment s, Consumer<Icmpv4Packet> change) {
        Icmpv4Packet icmp = Icmpv4Packet.wrap(s, 20, s.byteSize() - 20);
        change.accept(icmp);
        icmp.fillChecksum();
    }

    /** A valid request whose header carries 4 bytes of {@code option} (IHL 6), checksum correct. */
    private static byte[] withOption(byte[] option) {
        byte[] v = valid();
        byte[] b = new byte[v.length + 4];
        System.arraycopy(v, 0, b, 0, 20);
        System.arraycopy(option, 0, b, 20, 4);
        System.arraycopy(v, 20, b, 24, v.length - 20);
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x46);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 2, (short) b.length);
        Ipv4Packet.wrap(s, 0, 24).fillChecksum();
        return b;
    }

    private static byte[] fragment(boolean moreFragments, int offset) {
        byte[] b = valid();
        MemorySegment s = MemorySegment.ofArray(b);
        Ipv4Packet ip = Ipv4Packet.wrap(s, 0, b.length);
        Ipv4Repr r = (Ipv4Repr) Ipv4Repr.parse(ip);
        new Ipv4Repr(r.source(), r.destination(), r.protocol(), r.ttl(), r.tos(), r.identification(), false,
                moreFragments, offset, r.payloadLength()).emit(ip);
        return b;
    }

    private static byte[] ipWithIcmpBytes(byte[] icmp) {
        byte[] b = new byte[20 + icmp.length];
        MemorySegment s = MemorySegment.ofArray(b);
        Ipv4Repr.of(PEER, US, Ipv4Packet.PROTOCOL_ICMP, 64, icmp.length).emit(Ipv4Packet.wrap(s, 0, b.length));
        System.arraycopy(icmp, 0, b, 20, icmp.length);
        return b;
    }
}
