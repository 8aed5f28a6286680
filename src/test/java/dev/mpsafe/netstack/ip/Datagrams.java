package dev.mpsafe.netstack.ip;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.netstack.wire.UdpPacket;
import dev.mpsafe.netstack.wire.UdpRepr;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Datagrams the test peer sends, built by the wire layer as byte arrays (so a test can damage them
 * before they go into a buffer), and the buffer that carries them.
 */
final class Datagrams {

    private Datagrams() {}

    /** An echo request of {@code dataLength} data bytes, derived from the sequence number. */
    static byte[] echoRequest(int src, int dst, int identifier, int sequence, int dataLength) {
        byte[] b = new byte[Ipv4Packet.MIN_HEADER_LENGTH + Icmpv4Packet.HEADER_LENGTH + dataLength];
        MemorySegment s = MemorySegment.ofArray(b);
        for (int i = 0; i < dataLength; i++) {
            b[28 + i] = (byte) (sequence * 31 + i);
        }
        Icmpv4Repr.EchoRequest echo = new Icmpv4Repr.EchoRequest(identifier, sequence, dataLength);
        echo.emit(Icmpv4Packet.wrap(s, 20, b.length - 20));
        Ipv4Repr.of(src, dst, Ipv4Packet.PROTOCOL_ICMP, 64, echo.bufferLength()).emit(Ipv4Packet.wrap(s, 0, b.length));
        return b;
    }

    /** A UDP datagram with {@code dataLength} bytes of data, checksum filled. */
    static byte[] udp(int src, int dst, int sourcePort, int destinationPort, int dataLength) {
        byte[] b = new byte[Ipv4Packet.MIN_HEADER_LENGTH + UdpPacket.HEADER_LENGTH + dataLength];
        MemorySegment s = MemorySegment.ofArray(b);
        for (int i = 0; i < dataLength; i++) {
            b[28 + i] = (byte) i;
        }
        UdpRepr udp = new UdpRepr(sourcePort, destinationPort, dataLength);
        udp.emit(UdpPacket.wrap(s, 20, b.length - 20), src, dst);
        Ipv4Repr.of(src, dst, Ipv4Packet.PROTOCOL_UDP, 64, udp.bufferLength()).emit(Ipv4Packet.wrap(s, 0, b.length));
        return b;
    }

    /** A datagram of {@code protocol} with {@code payload} opaque bytes. */
    static byte[] raw(int src, int dst, int protocol, int payload) {
        byte[] b = new byte[Ipv4Packet.MIN_HEADER_LENGTH + payload];
        for (int i = 0; i < payload; i++) {
            b[20 + i] = (byte) (0xA0 + i);
        }
        Ipv4Repr.of(src, dst, protocol, 64, payload).emit(Ipv4Packet.wrap(MemorySegment.ofArray(b), 0, b.length));
        return b;
    }

    /** The bytes in a pooled buffer with headroom, as a device would hand them over. */
    static PacketBuffer buffer(PacketPool pool, byte[] bytes) {
        PacketBuffer p = pool.allocate(64);
        MemorySegment.copy(bytes, 0, p.append(bytes.length), JAVA_BYTE, 0, bytes.length);
        return p;
    }

    static byte[] cut(byte[] bytes, int length) {
        return Arrays.copyOf(bytes, length);
    }

    static byte[] edit(byte[] bytes, Consumer<MemorySegment> change) {
        change.accept(MemorySegment.ofArray(bytes));
        return bytes;
    }

    static void setByte(MemorySegment s, int at, int value) {
        s.set(JAVA_BYTE, at, (byte) value);
    }

    /** Sets the total length and recomputes the header checksum: a consistent header that lies. */
    static void setTotalLength(MemorySegment s, int length) {
        s.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) length);
        Ipv4Packet.wrap(s, 0, 20).fillChecksum();
    }

    /** Changes header fields through the view and recomputes the header checksum. */
    static byte[] reheader(byte[] bytes, Consumer<Ipv4Packet> change) {
        Ipv4Packet ip = Ipv4Packet.wrap(MemorySegment.ofArray(bytes), 0, bytes.length);
        change.accept(ip);
        ip.fillChecksum();
        return bytes;
    }

    /** Changes ICMP fields (message at byte 20) and recomputes the ICMP checksum. */
    static byte[] reicmp(byte[] bytes, Consumer<Icmpv4Packet> change) {
        Icmpv4Packet icmp = Icmpv4Packet.wrap(MemorySegment.ofArray(bytes), 20, bytes.length - 20);
        change.accept(icmp);
        icmp.fillChecksum();
        return bytes;
    }

    /** The same datagram with its fragment fields set (header checksum recomputed). */
    static byte[] fragment(byte[] bytes, boolean moreFragments, int offset) {
        Ipv4Packet ip = Ipv4Packet.wrap(MemorySegment.ofArray(bytes), 0, bytes.length);
        Ipv4Repr r = (Ipv4Repr) Ipv4Repr.parse(ip);
        new Ipv4Repr(r.source(), r.destination(), r.protocol(), r.ttl(), r.tos(), r.identification(), false,
                moreFragments, offset, r.payloadLength()).emit(ip);
        return bytes;
    }

    /** The datagram with 4 option bytes inserted after a 20-byte header (IHL 6), checksum correct. */
    static byte[] withOption(byte[] v, byte[] option) {
        byte[] b = new byte[v.length + 4];
        System.arraycopy(v, 0, b, 0, 20);
        System.arraycopy(option, 0, b, 20, 4);
        System.arraycopy(v, 20, b, 24, v.length - 20);
        MemorySegment s = MemorySegment.ofArray(b);
        setByte(s, 0, 0x46);
        setTotalLength(s, b.length);
        Ipv4Packet.wrap(s, 0, 24).fillChecksum();
        return b;
    }
}
