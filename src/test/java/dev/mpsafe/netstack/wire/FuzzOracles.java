package dev.mpsafe.netstack.wire;

import java.lang.foreign.MemorySegment;

/**
 * What every parser must do with any bytes, shared by the Jazzer targets and the seeded mutation
 * test: {@code check} and {@code parse} return an outcome and never throw; after a successful
 * check no accessor throws; a repr that parsed emits bytes that check and parse back to the same
 * repr. Each method throws {@link AssertionError} (or lets the unexpected exception through) on a
 * violation.
 */
final class FuzzOracles {

    private FuzzOracles() {}

    static void ipv4(byte[] input) {
        MemorySegment s = MemorySegment.ofArray(input);
        if (!(Ipv4Packet.check(s) instanceof Ipv4Packet p)) {
            return;
        }
        WireTesting.callEveryAccessor(p);
        if (Ipv4Repr.parse(p) instanceof Ipv4Repr r) {
            byte[] out = new byte[r.bufferLength()];
            r.emit(Ipv4Packet.wrap(MemorySegment.ofArray(out)));
            if (!(Ipv4Packet.check(MemorySegment.ofArray(out)) instanceof Ipv4Packet again)
                    || !r.equals(Ipv4Repr.parse(again))) {
                throw new AssertionError("emitted " + r + " does not read back");
            }
        }
        // The IP payload is where the transport parsers start.
        MemorySegment payload = p.payload();
        switch (p.protocol()) {
            case Ipv4Packet.PROTOCOL_ICMP -> icmpv4(payload);
            case Ipv4Packet.PROTOCOL_UDP -> udp(payload, p.source(), p.destination());
            case Ipv4Packet.PROTOCOL_TCP -> tcp(payload, p.source(), p.destination());
            default -> { }
        }
    }

    static void icmpv4(byte[] input) {
        icmpv4(MemorySegment.ofArray(input));
    }

    static void udp(byte[] input) {
        udp(MemorySegment.ofArray(input), WireTesting.SRC, WireTesting.DST);
    }

    static void tcp(byte[] input) {
        tcp(MemorySegment.ofArray(input), WireTesting.SRC, WireTesting.DST);
    }

    private static void icmpv4(MemorySegment s) {
        if (!(Icmpv4Packet.check(s) instanceof Icmpv4Packet p)) {
            return;
        }
        WireTesting.callEveryAccessor(p);
        if (Icmpv4Repr.parse(p) instanceof Icmpv4Repr r) {
            byte[] out = new byte[r.bufferLength()];
            MemorySegment.copy(s, 0, MemorySegment.ofArray(out), 0, out.length); // the data stays as it was
            r.emit(Icmpv4Packet.wrap(MemorySegment.ofArray(out)));
            if (!(Icmpv4Packet.check(MemorySegment.ofArray(out)) instanceof Icmpv4Packet again)
                    || !r.equals(Icmpv4Repr.parse(again))) {
                throw new AssertionError("emitted " + r + " does not read back");
            }
        }
    }

    private static void udp(MemorySegment s, int source, int destination) {
        if (!(UdpPacket.check(s) instanceof UdpPacket p)) {
            return;
        }
        WireTesting.callEveryAccessor(p);
        if (UdpRepr.parse(p, source, destination) instanceof UdpRepr r) {
            byte[] out = new byte[r.bufferLength()];
            r.emit(UdpPacket.wrap(MemorySegment.ofArray(out)), source, destination);
            if (!(UdpPacket.check(MemorySegment.ofArray(out)) instanceof UdpPacket again)
                    || !r.equals(UdpRepr.parse(again, source, destination))) {
                throw new AssertionError("emitted " + r + " does not read back");
            }
        }
    }

    private static void tcp(MemorySegment s, int source, int destination) {
        if (!(TcpPacket.check(s) instanceof TcpPacket p)) {
            return;
        }
        WireTesting.callEveryAccessor(p);
        if (TcpRepr.parse(p, source, destination) instanceof TcpRepr r) {
            byte[] out = new byte[r.bufferLength()];
            r.emit(TcpPacket.wrap(MemorySegment.ofArray(out)), source, destination);
            if (!(TcpPacket.check(MemorySegment.ofArray(out)) instanceof TcpPacket again)
                    || !r.equals(TcpRepr.parse(again, source, destination))) {
                throw new AssertionError("emitted " + r + " does not read back");
            }
        }
    }
}
