package dev.mpsafe.netstack.wire;

import static dev.mpsafe.netstack.wire.WireTesting.DST;
import static dev.mpsafe.netstack.wire.WireTesting.SRC;
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

class UdpPacketTest {

    /** 192.0.2.1:5353 > 198.51.100.7:53, data "mpsafe wire", checksum 0xc84c (computed independently). */
    private static final String DATAGRAM = "14e9 0035 0013 c84c 6d70 7361 6665 2077 6972 65";

    private static UdpPacket checked(byte[] b) {
        return assertInstanceOf(UdpPacket.class, UdpPacket.check(heap(b)));
    }

    @Test
    void shouldReadVectorAndVerifyItsChecksum() {
        UdpPacket p = checked(hex(DATAGRAM));
        assertEquals(5353, p.sourcePort());
        assertEquals(53, p.destinationPort());
        assertEquals(19, p.length());
        assertEquals(0xC84C, p.checksum());
        assertEquals(11, p.payloadLength());
        assertTrue(p.verifyChecksum(SRC, DST));
        assertEquals(new UdpRepr(5353, 53, 11), UdpRepr.parse(p, SRC, DST));
        assertSame(DropReason.UDP_BAD_CHECKSUM, UdpRepr.parse(p, DST, SRC ^ 1), "addresses are in the sum");
    }

    @Test
    void shouldRoundTripOnHeapAndOffHeapWithTrailingBytesIgnored() {
        Random r = new Random(768);
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 2_000; i++) {
                UdpRepr repr = new UdpRepr(r.nextInt(0x10000), 1 + r.nextInt(0xFFFF), r.nextInt(300));
                int trailing = r.nextInt(3) == 0 ? r.nextInt(10) : 0;
                byte[] content = new byte[repr.bufferLength() + trailing];
                r.nextBytes(content);
                MemorySegment s = i % 2 == 0 ? heap(content) : WireTesting.offHeap(arena, content, 3);
                long at = i % 2 == 0 ? 0 : 3;
                int src = r.nextInt();
                int dst = r.nextInt();
                repr.emit(UdpPacket.wrap(s, at, content.length), src, dst);
                UdpPacket p = assertInstanceOf(UdpPacket.class, UdpPacket.check(s, at, content.length));
                assertEquals(repr, UdpRepr.parse(p, src, dst));
                assertTrue(p.checksum() != 0, "emit always computes a checksum (0 is sent as 0xFFFF)");
            }
        }
    }

    @Test
    void shouldSendComputedZeroAsAllOnes() {
        // Find a datagram whose checksum computes to 0, then check that it is carried as 0xFFFF.
        Random r = new Random(1);
        byte[] b = new byte[10];
        for (int i = 0; ; i++) {
            UdpRepr repr = new UdpRepr(1, 2, 2);
            b[8] = (byte) r.nextInt();
            b[9] = (byte) r.nextInt();
            repr.emit(UdpPacket.wrap(heap(b)), SRC, DST);
            if ((b[6] & 0xFF) == 0xFF && (b[7] & 0xFF) == 0xFF) {
                assertTrue(checked(b).verifyChecksum(SRC, DST));
                break;
            }
            assertTrue(i < 1_000_000, "no datagram with a zero checksum found");
        }
    }

    @Test
    void shouldAcceptZeroChecksumAsNone() {
        byte[] b = hex(DATAGRAM);
        b[6] = 0;
        b[7] = 0;
        assertEquals(new UdpRepr(5353, 53, 11), UdpRepr.parse(checked(b), SRC, DST));
    }

    @Test
    void shouldDropHostileLayouts() {
        byte[] b = hex(DATAGRAM);
        for (int n = 0; n < 8; n++) {
            assertSame(DropReason.UDP_TRUNCATED, UdpPacket.check(heap(Arrays.copyOf(b, n))), "length " + n);
        }
        for (int len : new int[] {0, 1, 7}) {
            Bytes.put16(heap(b), 4, len);
            assertSame(DropReason.UDP_LENGTH_BELOW_HEADER, UdpPacket.check(heap(b)), "length field " + len);
        }
        for (int len : new int[] {20, 0xFFFF}) {
            Bytes.put16(heap(b), 4, len);
            assertSame(DropReason.UDP_LENGTH_PAST_BUFFER, UdpPacket.check(heap(b)), "length field " + len);
        }
        Bytes.put16(heap(b), 4, 8);
        assertEquals(0, checked(b).payloadLength(), "length 8 is an empty datagram with trailing bytes");
    }

    @Test
    void shouldDropBadChecksumAndZeroDestinationPort() {
        byte[] b = hex(DATAGRAM);
        b[18] ^= 1;
        assertSame(DropReason.UDP_BAD_CHECKSUM, UdpRepr.parse(checked(b), SRC, DST));
        b[18] ^= 1;
        UdpPacket p = checked(b);
        p.setDestinationPort(0);
        p.fillChecksum(SRC, DST);
        assertSame(DropReason.UDP_ZERO_PORT, UdpRepr.parse(p, SRC, DST));
    }

    @Test
    void shouldNeverThrowFromAccessorsWhenRandomBytesPassedCheck() {
        Random r = new Random(0x0D);
        int passed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = new byte[r.nextInt(80)];
            r.nextBytes(b);
            if (b.length >= 8 && r.nextInt(4) != 0) {
                Bytes.put16(heap(b), 4, 8 + r.nextInt(b.length - 7));
            }
            if (UdpPacket.check(heap(b)) instanceof UdpPacket p) {
                passed++;
                WireTesting.callEveryAccessor(p);
                UdpRepr.parse(p, r.nextInt(), r.nextInt());
                r.nextBytes(b);  // bytes changed after the check
                WireTesting.callEveryAccessor(p);
            }
        }
        assertTrue(passed > 10_000, "passed " + passed);
    }

    @Test
    void shouldRejectEmitIntoTooSmallBufferAndFieldsOutOfRange() {
        UdpRepr repr = new UdpRepr(1, 2, 100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> repr.emit(UdpPacket.wrap(heap(new byte[107])), SRC, DST));
        assertTrue(e.getMessage().contains("107") && e.getMessage().contains("108"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new UdpRepr(1, 0, 0));
        assertTrue(e.getMessage().contains("destination port 0") && e.getMessage().contains("[1, 65535]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> checked(hex(DATAGRAM)).setLength(20));
        assertTrue(e.getMessage().contains("20") && e.getMessage().contains("19"), e.getMessage());
    }
}
