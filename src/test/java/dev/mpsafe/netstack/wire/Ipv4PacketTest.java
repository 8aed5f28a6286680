package dev.mpsafe.netstack.wire;

import static dev.mpsafe.netstack.wire.WireTesting.checkedIpv4;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Ipv4PacketTest {

    /** A captured header (UDP, 192.168.0.1 > 192.168.0.199, DF, TTL 64, total 115, checksum b861). */
    private static final String CAPTURED = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7";

    private static byte[] captured() {
        return Arrays.copyOf(hex(CAPTURED), 115);
    }

    /** A valid 20-byte-header packet with {@code payload} bytes, checksum filled in. */
    private static byte[] valid(int payload) {
        byte[] b = new byte[20 + payload];
        Ipv4Repr.of(WireTesting.SRC, WireTesting.DST, 17, 64, payload).emit(Ipv4Packet.wrap(heap(b)));
        return b;
    }

    private static DropReason dropOf(byte[] b) {
        return assertInstanceOf(DropReason.class, Ipv4Packet.check(heap(b)));
    }

    // --- reading ---------------------------------------------------------------------------------

    @Test
    void shouldReadEveryFieldOfCapturedHeader() {
        Ipv4Packet p = checkedIpv4(heap(captured()));
        assertEquals(4, p.version());
        assertEquals(20, p.headerLength());
        assertEquals(0, p.tos());
        assertEquals(115, p.totalLength());
        assertEquals(0, p.identification());
        assertTrue(p.dontFragment());
        assertFalse(p.moreFragments());
        assertFalse(p.reservedFlag());
        assertFalse(p.isFragment());
        assertEquals(0, p.fragmentOffset());
        assertEquals(64, p.ttl());
        assertEquals(Ipv4Packet.PROTOCOL_UDP, p.protocol());
        assertEquals(0xB861, p.checksum());
        assertEquals("192.168.0.1", Ipv4Address.format(p.source()));
        assertEquals("192.168.0.199", Ipv4Address.format(p.destination()));
        assertEquals(95, p.payloadLength());
        assertEquals(20, p.payloadOffset());
        assertEquals(0, p.optionsLength());
        assertEquals(-1, p.firstOption());
        assertTrue(p.verifyChecksum());
        Ipv4Repr r = assertInstanceOf(Ipv4Repr.class, Ipv4Repr.parse(p));
        assertEquals(new Ipv4Repr(Ipv4Address.parse("192.168.0.1"), Ipv4Address.parse("192.168.0.199"),
                17, 64, 0, 0, true, false, 0, 95), r);
    }

    @Test
    void shouldReadDscpEcnAndFragmentFields() {
        byte[] b = valid(16);
        MemorySegment s = heap(b);
        b[1] = (byte) (46 << 2 | 3);               // EF, CE
        Bytes.put16(s, 6, 0x8000 | 0x2000 | 185);  // reserved, MF, offset 185 * 8
        Ipv4Packet p = checkedIpv4(s);
        assertEquals(46, p.dscp());
        assertEquals(3, p.ecn());
        assertTrue(p.reservedFlag());
        assertTrue(p.moreFragments());
        assertFalse(p.dontFragment());
        assertEquals(1480, p.fragmentOffset());
        assertTrue(p.isFragment());
        Bytes.put16(s, 6, 0x0001);                  // last fragment: offset 8, no MF
        assertTrue(p.isFragment());
        assertFalse(p.moreFragments());
        assertEquals(8, p.fragmentOffset());
    }

    @Test
    void shouldExcludeLinkPaddingFromPayload() {
        byte[] b = Arrays.copyOf(valid(10), 20 + 10 + 18); // an Ethernet minimum frame pads short packets
        Ipv4Packet p = checkedIpv4(heap(b));
        assertEquals(48, p.bufferLength());
        assertEquals(10, p.payloadLength());
        assertEquals(10, p.payload().byteSize());
    }

    @Test
    void shouldWalkOptionsWithCursor() {
        // IHL 8: NOP, record route (kind 7, length 7, pointer 4, one empty slot), NOP, EOL, padding.
        byte[] b = new byte[32 + 4];
        b[0] = 0x48;
        b[3] = 36;
        byte[] options = hex("01 0707 04 00000000 01 00 00 00");
        System.arraycopy(options, 0, b, 20, options.length);
        Ipv4Packet p = checkedIpv4(heap(b));
        assertEquals(12, p.optionsLength());
        int at = p.firstOption();
        assertEquals(20, at);
        assertEquals(Ipv4Packet.OPTION_NOP, p.optionKind(at));
        assertEquals(1, p.optionLength(at));
        assertEquals(0, p.optionData(at).byteSize());
        at = p.nextOption(at);
        assertEquals(21, at);
        assertEquals(7, p.optionKind(at));
        assertEquals(7, p.optionLength(at));
        assertArrayEquals(hex("04 00000000"), WireTesting.bytes(p.optionData(at), 0, 5));
        at = p.nextOption(at);
        assertEquals(28, at);
        assertEquals(-1, p.nextOption(at), "EOL ends the list");
        assertEquals(4, p.payloadLength());
        assertEquals(32, p.payloadOffset());

        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> p.optionKind(32));
        assertTrue(e.getMessage().contains("32") && e.getMessage().contains("[20, 32)"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> p.nextOption(19));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> p.optionLength(23)); // mid-option: kind 4, length 0
        assertTrue(bad.getMessage().contains("23"), bad.getMessage());
    }

    // --- round trip ------------------------------------------------------------------------------

    @Test
    void shouldRoundTripRandomReprsOnHeapAndOffHeap() {
        Random r = new Random(791);
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 2_000; i++) {
                Ipv4Repr repr = new Ipv4Repr(r.nextInt(), r.nextInt(), r.nextInt(256), r.nextInt(256),
                        r.nextInt(256), r.nextInt(0x10000), r.nextBoolean(), r.nextBoolean(),
                        8 * r.nextInt(0x2000), r.nextInt(200));
                int at = r.nextInt(9);
                MemorySegment s = i % 2 == 0 ? MemorySegment.ofArray(new byte[at + repr.bufferLength()])
                        : arena.allocate(at + repr.bufferLength());
                repr.emit(Ipv4Packet.wrap(s, at, repr.bufferLength()));
                Ipv4Packet p = assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(s, at, repr.bufferLength()));
                assertEquals(repr, Ipv4Repr.parse(p));
                assertEquals(20, repr.headerLength());
                assertEquals(repr.bufferLength(), p.totalLength());
            }
        }
    }

    @Test
    void shouldParseTtlZeroAndLeaveTheDecisionToTheIpLayer() {
        byte[] b = valid(0);
        Ipv4Packet p = checkedIpv4(heap(b));
        p.setTtl(0);
        p.fillChecksum();
        Ipv4Repr r = assertInstanceOf(Ipv4Repr.class, Ipv4Repr.parse(p));
        assertEquals(0, r.ttl());
        IllegalStateException e = assertThrows(IllegalStateException.class, p::decrementTtl);
        assertTrue(e.getMessage().contains("TTL is 0"), e.getMessage());
    }

    // --- hostile input ---------------------------------------------------------------------------

    @Test
    void shouldDropTruncatedHeaderWhenBelowTwentyBytes() {
        byte[] full = valid(0);
        for (int n = 0; n < 20; n++) {
            assertSame(DropReason.IPV4_TRUNCATED, dropOf(Arrays.copyOf(full, n)), "length " + n);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 5, 6, 15})
    void shouldDropWhenVersionIsNotFour(int version) {
        byte[] b = valid(8);
        b[0] = (byte) (version << 4 | 5);
        assertSame(DropReason.IPV4_BAD_VERSION, dropOf(b));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void shouldDropWhenIhlBelowFive(int ihl) {
        byte[] b = valid(8);
        b[0] = (byte) (0x40 | ihl);
        assertSame(DropReason.IPV4_HEADER_TOO_SHORT, dropOf(b));
    }

    @Test
    void shouldDropWhenIhlRunsBeyondBuffer() {
        byte[] b = valid(20);     // 40 bytes
        b[0] = 0x4B;              // IHL 11: 44 bytes
        assertSame(DropReason.IPV4_HEADER_PAST_BUFFER, dropOf(b));
        b[0] = 0x4F;
        assertSame(DropReason.IPV4_HEADER_PAST_BUFFER, dropOf(b));
    }

    @Test
    void shouldDropWhenTotalLengthAboveBuffer() {
        byte[] b = valid(20);
        Bytes.put16(heap(b), 2, 41);
        assertSame(DropReason.IPV4_TOTAL_LENGTH_PAST_BUFFER, dropOf(b));
        Bytes.put16(heap(b), 2, 0xFFFF);
        assertSame(DropReason.IPV4_TOTAL_LENGTH_PAST_BUFFER, dropOf(b));
    }

    @Test
    void shouldDropWhenTotalLengthBelowHeader() {
        byte[] b = valid(20);
        for (int total : new int[] {0, 1, 19}) {
            Bytes.put16(heap(b), 2, total);
            assertSame(DropReason.IPV4_TOTAL_LENGTH_BELOW_HEADER, dropOf(b), "total " + total);
        }
        b[0] = 0x46;                       // IHL 6 with a NOP option word
        Arrays.fill(b, 20, 24, (byte) 1);
        Bytes.put16(heap(b), 2, 23);
        assertSame(DropReason.IPV4_TOTAL_LENGTH_BELOW_HEADER, dropOf(b));
        Bytes.put16(heap(b), 2, 24);
        assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(heap(b)), "total = header length is a packet with no payload");
    }

    @Test
    void shouldDropWhenOptionRunsPastHeader() {
        byte[] b = new byte[40];
        b[0] = 0x46;                        // options at 20..23
        b[3] = 40;
        b[20] = 7;                          // record route claiming 8 bytes in a 4-byte option region
        b[21] = 8;
        assertSame(DropReason.IPV4_BAD_OPTION, dropOf(b));
        b[21] = 5;                          // runs one byte past 24
        assertSame(DropReason.IPV4_BAD_OPTION, dropOf(b));
        b[21] = 4;                          // exactly fills the region
        assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(heap(b)));
    }

    @Test
    void shouldDropWhenOptionLengthBelowTwoOrMissing() {
        byte[] b = new byte[40];
        b[0] = 0x46;
        b[3] = 40;
        b[20] = 7;
        for (int len : new int[] {0, 1}) {
            b[21] = (byte) len;
            assertSame(DropReason.IPV4_BAD_OPTION, dropOf(b), "length " + len);
        }
        Arrays.fill(b, 20, 23, (byte) 1);   // three NOPs, then a kind whose length byte is past the header
        b[23] = (byte) 0x94;
        assertSame(DropReason.IPV4_BAD_OPTION, dropOf(b));
    }

    @Test
    void shouldDropBadChecksumInParse() {
        byte[] b = valid(12);
        b[11] ^= 0x01;
        Ipv4Packet p = checkedIpv4(heap(b));
        assertFalse(p.verifyChecksum());
        assertSame(DropReason.IPV4_BAD_CHECKSUM, Ipv4Repr.parse(p));
        b[11] ^= 0x01;
        b[8] = 1;                            // TTL changed without updating the checksum
        assertSame(DropReason.IPV4_BAD_CHECKSUM, Ipv4Repr.parse(p));
    }

    // --- no accessor throws ----------------------------------------------------------------------

    @Test
    void shouldNeverThrowFromAccessorsWhenRandomBytesPassedCheck() {
        Random r = new Random(0x1F0);
        int passed = 0;
        int parsedReprs = 0;
        for (int i = 0; i < 30_000; i++) {
            byte[] b = r.nextInt(8) == 0 ? randomBytes(r) : WireTesting.randomIpv4(r);
            if (Ipv4Packet.check(heap(b)) instanceof Ipv4Packet p) {
                passed++;
                WireTesting.callEveryAccessor(p);
                if (r.nextBoolean()) {
                    p.fillChecksum();
                }
                if (Ipv4Repr.parse(p) instanceof Ipv4Repr) {
                    parsedReprs++;
                }
                // Bytes changed after the check (another writer, or our own setters) must not make
                // an accessor throw either: the regions are clamped to the buffer.
                r.nextBytes(b);
                WireTesting.callEveryAccessor(p);
            }
        }
        assertTrue(passed > 10_000, "only " + passed + " passed check");
        assertTrue(parsedReprs > 5_000, "only " + parsedReprs + " parsed");
    }

    @Test
    void shouldNeverThrowFromAccessorsOfWrappedGarbage() {
        Random r = new Random(99);
        for (int i = 0; i < 5_000; i++) {
            byte[] b = new byte[20 + r.nextInt(60)];
            r.nextBytes(b);
            WireTesting.callEveryAccessor(Ipv4Packet.wrap(heap(b)));
        }
    }

    private static byte[] randomBytes(Random r) {
        byte[] b = new byte[r.nextInt(90)];
        r.nextBytes(b);
        return b;
    }

    // --- bad arguments from our own code ---------------------------------------------------------

    @Test
    void shouldRejectEmitIntoTooSmallBufferNamingBothSizes() {
        Ipv4Repr repr = Ipv4Repr.of(1, 2, 17, 64, 100);
        byte[] b = new byte[119];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> repr.emit(Ipv4Packet.wrap(heap(b))));
        assertTrue(e.getMessage().contains("119") && e.getMessage().contains("120"), e.getMessage());
        assertTrue(Arrays.equals(new byte[119], b), "nothing is written when emit refuses");
    }

    @Test
    void shouldRejectWrapBelowFixedHeader() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ipv4Packet.wrap(heap(new byte[19])));
        assertTrue(e.getMessage().contains("20") && e.getMessage().contains("19"), e.getMessage());
        IndexOutOfBoundsException o = assertThrows(IndexOutOfBoundsException.class,
                () -> Ipv4Packet.check(heap(new byte[30]), 20, 20));
        assertTrue(o.getMessage().contains("30"), o.getMessage());
    }

    @Test
    void shouldRejectReprFieldsOutOfRangeNamingValueAndLimit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ipv4Repr.of(1, 2, 17, 256, 0));
        assertTrue(e.getMessage().contains("ttl 256") && e.getMessage().contains("255"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ipv4Repr.of(1, 2, 17, 64, 65_516));
        assertTrue(e.getMessage().contains("65516") && e.getMessage().contains("65515"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Ipv4Repr(1, 2, 17, 64, 0, 0, false, true, 12, 0));
        assertTrue(e.getMessage().contains("12") && e.getMessage().contains("multiple of 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> checkedIpv4(heap(valid(0))).setTtl(-1));
        assertTrue(e.getMessage().contains("ttl -1"), e.getMessage());
    }

    @Test
    void shouldParseAndFormatAddresses() {
        assertEquals(0xC0000201, Ipv4Address.parse("192.0.2.1"));
        assertEquals("255.255.255.255", Ipv4Address.format(-1));
        assertEquals(Ipv4Address.of(10, 1, 2, 3), Ipv4Address.parse("10.1.2.3"));
        for (String bad : new String[] {"1.2.3", "1.2.3.4.5", "1.2.3.256", "a.b.c.d", "1..2.3", "-1.2.3.4"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ipv4Address.parse(bad));
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
    }
}
