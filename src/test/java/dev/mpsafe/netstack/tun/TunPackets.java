package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import java.lang.foreign.MemorySegment;

/** Packets the TUN tests and benchmarks write, built with the wire layer's reprs. */
final class TunPackets {

    private TunPackets() {
    }

    /**
     * Writes an IPv4 echo request from {@code source} to {@code destination} at the start of
     * {@code buffer}, its data the bytes {@code 0, 1, 2, ...} (mod 256).
     *
     * @return the packet's length
     */
    static int echoRequest(MemorySegment buffer, int source, int destination, int identifier, int sequence,
            int dataLength) {
        Icmpv4Repr.EchoRequest echo = new Icmpv4Repr.EchoRequest(identifier, sequence, dataLength);
        Ipv4Repr ip = new Ipv4Repr(source, destination, Ipv4Packet.PROTOCOL_ICMP, 64, 0, sequence, true, false, 0,
                echo.bufferLength());
        int length = ip.bufferLength();
        for (int i = 0; i < dataLength; i++) {
            buffer.set(java.lang.foreign.ValueLayout.JAVA_BYTE, ip.headerLength() + Icmpv4Packet.HEADER_LENGTH + i,
                    (byte) i);
        }
        Ipv4Packet view = Ipv4Packet.wrap(buffer, 0, length);
        ip.emit(view);
        echo.emit(Icmpv4Packet.wrap(buffer, ip.headerLength(), echo.bufferLength()));
        return length;
    }
}
