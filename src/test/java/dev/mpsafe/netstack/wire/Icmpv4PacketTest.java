package dev.mpsafe.netstack.wire;

import static dev.mpsafe.netstack.wire.WireTesting.heap;
import static dev.mpsafe.netstack.wire.WireTesting.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Icmpv4PacketTest {

    /** Echo request, identifier 0x1234, sequence 1, data "abcdefgh", checksum 0x5435 (computed independently). */
    private static final String ECHO = "0800 5435 1234 0001 6162 6364 6566 6768";

    private static Icmpv4Packet checked(byte[] b) {
        return assertInstanceOf(Icmpv4Packet.class, Icmpv4Packet.check(heap(b)));
    }

    /** A destination-unreachable message quoting a valid IPv4 header and 8 bytes. */
    private static byte[] unreachable(int code, int quoteLength) {
        byte[] b = new byte[8 + quoteLength];
        byte[] quoted = new byte[28];
        Ipv4Repr.of(WireTesting.DST, WireTesting.SRC, 17, 64, 8).emit(Ipv4Packet.wrap(heap(quoted)));
        System.arraycopy(quoted, 0, b, 8, Math.min(28, quoteLength));
        new Icmpv4Repr.DestinationUnreachable(code, 0, quoteLength).emit(Icmpv4Packet.wrap(heap(b)));
        return b;
    }

    @Test
    void shouldReadEchoRequestVector() {
        Icmpv4Packet p = checked(hex(ECHO));
        assertEquals(Icmpv4Packet.TYPE_ECHO_REQUEST, p.type());
        assertEquals(0, p.code());
        assertEquals(0x5435, p.checksum());
        assertEquals(0x1234, p.echoIdentifier());
        assertEquals(1, p.echoSequence());
        assertEquals(8, p.dataLength());
        assertEquals(8, p.dataOffset());
        assertTrue(p.verifyChecksum());
        assertEquals(new Icmpv4Repr.EchoRequest(0x1234, 1, 8), Icmpv4Repr.parse(p));
    }

    @Test
    void shouldAnswerEchoRequestInPlaceWithValidReply() {
        byte[] b = hex(ECHO);
        Icmpv4Packet p = checked(b);
        Icmpv4Repr.EchoRequest request = assertInstanceOf(Icmpv4Repr.EchoRequest.class, Icmpv4Repr.parse(p));
        request.reply().emit(p); // the data stays where it is
        assertEquals(new Icmpv4Repr.EchoReply(0x1234, 1, 8), Icmpv4Repr.parse(checked(b)));
        assertEquals("abcdefgh", new String(Arrays.copyOfRange(b, 8, 16), java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void shouldRoundTripEveryReprOnHeapAndOffHeap() {
        Random r = new Random(792);
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 2_000; i++) {
                int data = 28 + r.nextInt(100);
                Icmpv4Repr repr = switch (r.nextInt(4)) {
                    case 0 -> new Icmpv4Repr.EchoRequest(r.nextInt(0x10000), r.nextInt(0x10000), r.nextInt(100));
                    case 1 -> new Icmpv4Repr.EchoReply(r.nextInt(0x10000), r.nextInt(0x10000), r.nextInt(100));
                    case 2 -> {
                        int code = r.nextInt(16);
                        yield new Icmpv4Repr.DestinationUnreachable(code, code == 4 ? r.nextInt(0x10000) : 0, data);
                    }
                    default -> new Icmpv4Repr.TimeExceeded(r.nextInt(2), data);
                };
                byte[] content = new byte[repr.bufferLength()];
                r.nextBytes(content);
                byte[] quoted = new byte[28];
                Ipv4Repr.of(1, 2, 6, 1, 8).emit(Ipv4Packet.wrap(heap(quoted)));
                System.arraycopy(quoted, 0, content, 8, Math.min(28, repr.dataLength()));
                MemorySegment s = i % 2 == 0 ? heap(content) : WireTesting.offHeap(arena, content, 5);
                long at = i % 2 == 0 ? 0 : 5;
                repr.emit(Icmpv4Packet.wrap(s, at, repr.bufferLength()));
                Icmpv4Packet p = assertInstanceOf(Icmpv4Packet.class, Icmpv4Packet.check(s, at, repr.bufferLength()));
                assertEquals(repr, Icmpv4Repr.parse(p));
                assertEquals(8, repr.headerLength());
            }
        }
    }

    @Test
    void shouldDropTruncatedHeader() {
        for (int n = 0; n < 8; n++) {
            assertSame(DropReason.ICMP_TRUNCATED, Icmpv4Packet.check(heap(Arrays.copyOf(hex(ECHO), n))), "length " + n);
        }
        assertInstanceOf(Icmpv4Packet.class, Icmpv4Packet.check(heap(new byte[8])));
    }

    @Test
    void shouldDropMessageLongerThanAnyIpv4Payload() {
        assertSame(DropReason.ICMP_TOO_LONG, Icmpv4Packet.check(heap(new byte[Icmpv4Packet.MAX_LENGTH + 1])));
    }

    @Test
    void shouldDropBadChecksum() {
        byte[] b = hex(ECHO);
        b[15] ^= 0x20;
        assertSame(DropReason.ICMP_BAD_CHECKSUM, Icmpv4Repr.parse(checked(b)));
    }

    @Test
    void shouldDropUnsupportedTypeAndBadCode() {
        byte[] b = hex(ECHO);
        Icmpv4Packet p = checked(b);
        p.setType(Icmpv4Packet.TYPE_REDIRECT);
        p.fillChecksum();
        assertSame(DropReason.ICMP_UNSUPPORTED_TYPE, Icmpv4Repr.parse(p));
        p.setType(Icmpv4Packet.TYPE_ECHO_REQUEST);
        p.setCode(1);
        p.fillChecksum();
        assertSame(DropReason.ICMP_BAD_CODE, Icmpv4Repr.parse(p));

        byte[] u = unreachable(3, 28);
        Icmpv4Packet q = checked(u);
        q.setCode(16);
        q.fillChecksum();
        assertSame(DropReason.ICMP_BAD_CODE, Icmpv4Repr.parse(q));
        q.setType(Icmpv4Packet.TYPE_TIME_EXCEEDED);
        q.setCode(2);
        q.fillChecksum();
        assertSame(DropReason.ICMP_BAD_CODE, Icmpv4Repr.parse(q));
    }

    @Test
    void shouldDropErrorThatDoesNotQuoteHeaderAndEightBytes() {
        byte[] b = unreachable(Icmpv4Packet.UNREACHABLE_PORT, 28);
        assertEquals(new Icmpv4Repr.DestinationUnreachable(3, 0, 28), Icmpv4Repr.parse(checked(b)));

        byte[] shorter = Arrays.copyOf(b, 8 + 27); // one byte of the quoted payload missing
        Icmpv4Packet p = checked(shorter);
        p.fillChecksum();
        assertSame(DropReason.ICMP_BAD_ERROR_DATA, Icmpv4Repr.parse(p));

        byte[] notIpv4 = b.clone();
        notIpv4[8] = 0x65;                        // version 6
        Icmpv4Packet q = checked(notIpv4);
        q.fillChecksum();
        assertSame(DropReason.ICMP_BAD_ERROR_DATA, Icmpv4Repr.parse(q));
        notIpv4[8] = 0x46;                        // IHL 6: needs 24 + 8 quoted bytes, has 28
        q.fillChecksum();
        assertSame(DropReason.ICMP_BAD_ERROR_DATA, Icmpv4Repr.parse(q));
        notIpv4[8] = 0x44;                        // IHL 4
        q.fillChecksum();
        assertSame(DropReason.ICMP_BAD_ERROR_DATA, Icmpv4Repr.parse(q));
    }

    @Test
    void shouldCarryNextHopMtuOnlyForFragmentationNeeded() {
        byte[] b = unreachable(Icmpv4Packet.UNREACHABLE_FRAGMENTATION_NEEDED, 28);
        Icmpv4Packet p = checked(b);
        p.setRestOfHeader(1400);
        p.fillChecksum();
        assertEquals(1400, p.nextHopMtu());
        assertEquals(new Icmpv4Repr.DestinationUnreachable(4, 1400, 28), Icmpv4Repr.parse(p));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Icmpv4Repr.DestinationUnreachable(3, 1400, 28));
        assertTrue(e.getMessage().contains("next-hop MTU 1400"), e.getMessage());
    }

    @Test
    void shouldNeverThrowFromAccessorsWhenRandomBytesPassedCheck() {
        Random r = new Random(0x1C);
        int passed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = new byte[r.nextInt(80)];
            r.nextBytes(b);
            if (r.nextBoolean() && b.length > 8) {
                b[0] = (byte) new int[] {0, 3, 8, 11}[r.nextInt(4)];
                b[1] = (byte) r.nextInt(3);
            }
            if (Icmpv4Packet.check(heap(b)) instanceof Icmpv4Packet p) {
                passed++;
                WireTesting.callEveryAccessor(p);
                p.fillChecksum();
                Icmpv4Repr.parse(p);
            }
        }
        assertTrue(passed > 15_000, "passed " + passed);
    }

    @Test
    void shouldRejectEmitIntoTooSmallBufferAndFieldsOutOfRange() {
        Icmpv4Repr repr = new Icmpv4Repr.EchoReply(1, 2, 56);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> repr.emit(Icmpv4Packet.wrap(heap(new byte[63]))));
        assertTrue(e.getMessage().contains("63") && e.getMessage().contains("64"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Icmpv4Repr.EchoRequest(65_536, 0, 0));
        assertTrue(e.getMessage().contains("identifier 65536") && e.getMessage().contains("65535"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Icmpv4Repr.TimeExceeded(0, 27));
        assertTrue(e.getMessage().contains("data length 27") && e.getMessage().contains("28"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Icmpv4Packet.wrap(heap(new byte[7])));
        assertTrue(e.getMessage().contains("8") && e.getMessage().contains("7"), e.getMessage());
    }
}
