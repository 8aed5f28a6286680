package dev.mpsafe.netstack.device;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import java.lang.foreign.MemorySegment;

/**
 * Valid IPv4 + ICMP echo packets built by the wire layer, the way the stack will build them: the
 * ICMP message appended, then the IPv4 header prepended into the headroom. The ICMP identifier and
 * sequence number name each packet, so tests can tell which ones arrived.
 */
final class Packets {

    static final int SRC = Ipv4Address.of(192, 0, 2, 1);
    static final int DST = Ipv4Address.of(198, 51, 100, 7);
    static final int HEADROOM = 64;
    /** IPv4 and ICMP headers. */
    static final int OVERHEAD = Ipv4Packet.MIN_HEADER_LENGTH + Icmpv4Packet.HEADER_LENGTH;

    private Packets() {}

    /** An echo request (or reply) with {@code dataLength} bytes of data derived from the sequence. */
    static PacketBuffer echo(PacketPool pool, int identifier, int sequence, int dataLength, boolean reply) {
        PacketBuffer p = pool.allocate(HEADROOM);
        MemorySegment icmp = p.append(Icmpv4Packet.HEADER_LENGTH + dataLength);
        for (int i = 0; i < dataLength; i++) {
            icmp.set(JAVA_BYTE, Icmpv4Packet.HEADER_LENGTH + i, (byte) (sequence * 31 + i));
        }
        Icmpv4Repr.EchoRequest request = new Icmpv4Repr.EchoRequest(identifier, sequence, dataLength);
        Icmpv4Repr message = reply ? request.reply() : request;
        message.emit(Icmpv4Packet.wrap(icmp));
        p.prepend(Ipv4Packet.MIN_HEADER_LENGTH);
        Ipv4Repr.of(reply ? DST : SRC, reply ? SRC : DST, Ipv4Packet.PROTOCOL_ICMP, 64, message.bufferLength())
                .emit(Ipv4Packet.wrap(p.data()));
        return p;
    }

    static PacketBuffer echo(PacketPool pool, int identifier, int sequence, int dataLength) {
        return echo(pool, identifier, sequence, dataLength, false);
    }

    /** The ICMP identifier of a packet made by {@link #echo}. */
    static int identifier(PacketBuffer p) {
        return u16(p.data(), Ipv4Packet.MIN_HEADER_LENGTH + 4);
    }

    /** The ICMP sequence number of a packet made by {@link #echo}. */
    static int sequence(PacketBuffer p) {
        return u16(p.data(), Ipv4Packet.MIN_HEADER_LENGTH + 6);
    }

    /** Whether the bytes still check and parse as IPv4 carrying an ICMP message, both checksums good. */
    static boolean valid(MemorySegment bytes) {
        if (!(Ipv4Packet.check(bytes) instanceof Ipv4Packet ip) || !(Ipv4Repr.parse(ip) instanceof Ipv4Repr)) {
            return false;
        }
        return ip.protocol() == Ipv4Packet.PROTOCOL_ICMP && Icmpv4Packet.check(ip.payload()) instanceof Icmpv4Packet icmp
                && Icmpv4Repr.parse(icmp) instanceof Icmpv4Repr;
    }

    static byte[] bytes(PacketBuffer p) {
        return p.data().toArray(JAVA_BYTE);
    }

    private static int u16(MemorySegment s, long at) {
        return (s.get(JAVA_BYTE, at) & 0xFF) << 8 | s.get(JAVA_BYTE, at + 1) & 0xFF;
    }
}
