package dev.mpsafe.netstack.wire;

import static dev.mpsafe.netstack.wire.WireTesting.heap;
import static dev.mpsafe.netstack.wire.WireTesting.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TcpPacketTest {

    private static final int A = Ipv4Address.of(10, 0, 0, 1);
    private static final int B = Ipv4Address.of(10, 0, 0, 2);

    /** 10.0.0.1:40000 > 10.0.0.2:80 SYN, seq 0x01020304, window 65535, MSS 1460, checksum 0xe38d. */
    private static final String SYN = "9c40 0050 0102 0304 0000 0000 6002 ffff e38d 0000 0204 05b4";

    private static TcpPacket checked(byte[] b) {
        return assertInstanceOf(TcpPacket.class, TcpPacket.check(heap(b)));
    }

    @Test
    void shouldReadSynVector() {
        TcpPacket p = checked(hex(SYN));
        assertEquals(40000, p.sourcePort());
        assertEquals(80, p.destinationPort());
        assertEquals(0x01020304, p.sequenceNumber());
        assertEquals(0, p.acknowledgmentNumber());
        assertEquals(24, p.headerLength());
        assertEquals(TcpPacket.SYN, p.flags());
        assertTrue(p.syn());
        assertFalse(p.ack() || p.fin() || p.rst() || p.psh() || p.urg() || p.ece() || p.cwr());
        assertEquals(65535, p.window());
        assertEquals(0xE38D, p.checksum());
        assertEquals(0, p.payloadLength());
        assertTrue(p.verifyChecksum(A, B));
        int at = p.firstOption();
        assertEquals(TcpPacket.OPTION_MSS, p.optionKind(at));
        assertArrayEquals(hex("05b4"), WireTesting.bytes(p.optionData(at), 0, 2));
        assertEquals(-1, p.nextOption(at));
        assertEquals(new TcpRepr(40000, 80, 0x01020304, 0, TcpPacket.SYN, 65535, 0, 1460,
                TcpRepr.NO_WINDOW_SCALE, false, 0), TcpRepr.parse(p, A, B));
    }

    @Test
    void shouldRoundTripRandomReprsOnHeapAndOffHeap() {
        Random r = new Random(9293);
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 2_000; i++) {
                TcpRepr repr = new TcpRepr(1 + r.nextInt(0xFFFF), 1 + r.nextInt(0xFFFF), r.nextInt(), r.nextInt(),
                        r.nextInt(256), r.nextInt(0x10000), r.nextInt(0x10000),
                        r.nextBoolean() ? TcpRepr.NO_MSS : 1 + r.nextInt(0xFFFF),
                        r.nextBoolean() ? TcpRepr.NO_WINDOW_SCALE : r.nextInt(15),
                        r.nextBoolean(), r.nextInt(200));
                byte[] content = new byte[repr.bufferLength()];
                r.nextBytes(content);
                MemorySegment s = i % 2 == 0 ? heap(content) : WireTesting.offHeap(arena, content, 1);
                long at = i % 2 == 0 ? 0 : 1;
                repr.emit(TcpPacket.wrap(s, at, content.length), A, B);
                TcpPacket p = assertInstanceOf(TcpPacket.class, TcpPacket.check(s, at, content.length));
                assertEquals(repr, TcpRepr.parse(p, A, B));
                assertEquals(repr.headerLength(), p.headerLength());
                assertEquals(0, p.headerLength() % 4);
            }
        }
    }

    @Test
    void shouldClampWindowScaleAboveFourteenAndSkipUnknownOptions() {
        // data offset 9: WS 15, timestamps (kind 8, length 10), SACK permitted, NOP padding.
        byte[] b = Arrays.copyOf(hex(SYN), 36);
        b[12] = (byte) 0x90;
        byte[] options = hex("03030f 080a0000000100000000 0402 01");
        System.arraycopy(options, 0, b, 20, options.length);
        TcpPacket p = checked(b);
        p.fillChecksum(A, B);
        TcpRepr repr = assertInstanceOf(TcpRepr.class, TcpRepr.parse(p, A, B));
        assertEquals(14, repr.windowScale());
        assertTrue(repr.sackPermitted());
        assertEquals(TcpRepr.NO_MSS, repr.maxSegmentSize());
    }

    @Test
    void shouldDropHostileLayouts() {
        byte[] b = hex(SYN);
        for (int n = 0; n < 20; n++) {
            assertSame(DropReason.TCP_TRUNCATED, TcpPacket.check(heap(Arrays.copyOf(b, n))), "length " + n);
        }
        for (int offset = 0; offset < 5; offset++) {
            b[12] = (byte) (offset << 4);
            assertSame(DropReason.TCP_HEADER_TOO_SHORT, TcpPacket.check(heap(b)), "data offset " + offset);
        }
        b[12] = 0x70; // 28 bytes in a 24-byte segment
        assertSame(DropReason.TCP_HEADER_PAST_BUFFER, TcpPacket.check(heap(b)));
        b[12] = 0x60;
        b[21] = 5; // MSS option claiming 5 bytes in a 4-byte option region
        assertSame(DropReason.TCP_BAD_OPTION, TcpPacket.check(heap(b)));
        b[21] = 1;
        assertSame(DropReason.TCP_BAD_OPTION, TcpPacket.check(heap(b)));
        b[21] = 0;
        assertSame(DropReason.TCP_BAD_OPTION, TcpPacket.check(heap(b)));
        assertSame(DropReason.TCP_TOO_LONG, TcpPacket.check(heap(new byte[TcpPacket.MAX_LENGTH + 1])));
    }

    @Test
    void shouldDropBadChecksumZeroPortsAndWrongKnownOptionLengths() {
        byte[] b = hex(SYN);
        b[17] ^= 1;
        assertSame(DropReason.TCP_BAD_CHECKSUM, TcpRepr.parse(checked(b), A, B));
        assertSame(DropReason.TCP_BAD_CHECKSUM, TcpRepr.parse(checked(hex(SYN)), B, A ^ 0x100));

        TcpPacket p = checked(hex(SYN));
        p.setSourcePort(0);
        p.fillChecksum(A, B);
        assertSame(DropReason.TCP_ZERO_PORT, TcpRepr.parse(p, A, B));

        byte[] c = hex(SYN);
        c[20] = TcpPacket.OPTION_WINDOW_SCALE; // window scale of length 4
        TcpPacket q = checked(c);
        q.fillChecksum(A, B);
        assertSame(DropReason.TCP_BAD_OPTION, TcpRepr.parse(q, A, B));
    }

    @Test
    void shouldNeverThrowFromAccessorsWhenRandomBytesPassedCheck() {
        Random r = new Random(0x7C);
        int passed = 0;
        for (int i = 0; i < 30_000; i++) {
            byte[] b;
            if (r.nextInt(8) == 0) {
                b = new byte[r.nextInt(90)];
                r.nextBytes(b);
            } else {
                b = WireTesting.randomTcp(r);
            }
            if (TcpPacket.check(heap(b)) instanceof TcpPacket p) {
                passed++;
                WireTesting.callEveryAccessor(p);
                if (r.nextBoolean()) {
                    p.fillChecksum(A, B);
                }
                TcpRepr.parse(p, A, B);
                r.nextBytes(b);  // bytes changed after the check
                WireTesting.callEveryAccessor(p);
            }
        }
        assertTrue(passed > 10_000, "passed " + passed);
    }

    @Test
    void shouldRejectEmitIntoWrongSizeViewAndFieldsOutOfRange() {
        TcpRepr repr = new TcpRepr(1, 2, 0, 0, TcpPacket.ACK, 100, 0, TcpRepr.NO_MSS, 7, true, 10);
        assertEquals(28, repr.headerLength());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> repr.emit(TcpPacket.wrap(heap(new byte[39])), A, B));
        assertTrue(e.getMessage().contains("39") && e.getMessage().contains("38"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new TcpRepr(1, 2, 0, 0, 0, 0, 0, TcpRepr.NO_MSS, 15, false, 0));
        assertTrue(e.getMessage().contains("window scale 15") && e.getMessage().contains("14"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TcpPacket.wrap(heap(new byte[19])));
        assertTrue(e.getMessage().contains("20") && e.getMessage().contains("19"), e.getMessage());
    }
}
