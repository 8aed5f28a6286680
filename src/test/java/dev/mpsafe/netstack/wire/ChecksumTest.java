package dev.mpsafe.netstack.wire;

import static dev.mpsafe.netstack.wire.WireTesting.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {

    /** Byte-at-a-time reference: the RFC 1071 definition, written as plainly as possible. */
    private static int referenceSum(byte[] b, int from, int to) {
        long acc = 0;
        for (int i = from; i < to; i += 2) {
            int hi = b[i] & 0xFF;
            int lo = i + 1 < to ? b[i + 1] & 0xFF : 0;
            acc += hi << 8 | lo;
        }
        while (acc > 0xFFFF) {
            acc = (acc & 0xFFFF) + (acc >>> 16);
        }
        return (int) acc;
    }

    @Test
    void shouldMatchRfc1071NumericalExample() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2; the checksum is its complement.
        MemorySegment s = MemorySegment.ofArray(hex("0001 f203 f4f5 f6f7"));
        assertEquals(0xDDF2, Checksum.sum(s, 0, 8));
        assertEquals(0x220D, Checksum.checksum(s, 0, 8));
    }

    @Test
    void shouldMatchCapturedIpv4Header() {
        // A captured UDP packet's header, 192.168.0.1 > 192.168.0.199, checksum b861 on the wire.
        byte[] header = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
        assertEquals(0xFFFF, Checksum.sum(MemorySegment.ofArray(header), 0, 20), "a correct header sums to 0xFFFF");
        header[10] = 0;
        header[11] = 0;
        assertEquals(0xB861, Checksum.checksum(MemorySegment.ofArray(header), 0, 20));
    }

    @Test
    void shouldMatchUdpVectorWithPseudoHeader() {
        // Vector computed by an independent byte-wise implementation: 192.0.2.1:5353 > 198.51.100.7:53,
        // data "mpsafe wire" (odd length, so the pad byte matters).
        byte[] udp = hex("14e9 0035 0013 0000 6d70 7361 6665 2077 6972 65");
        int pseudo = Checksum.pseudoHeaderSum(WireTesting.SRC, WireTesting.DST, 17, udp.length);
        int c = Checksum.complement(Checksum.add(pseudo, Checksum.sum(MemorySegment.ofArray(udp), 0, udp.length)));
        assertEquals(0xC84C, c);
    }

    @Test
    void shouldMatchTcpSynVectorWithPseudoHeader() {
        // 10.0.0.1:40000 > 10.0.0.2:80 SYN, seq 0x01020304, window 65535, MSS 1460.
        byte[] tcp = hex("9c40 0050 0102 0304 0000 0000 6002 ffff 0000 0000 0204 05b4");
        int pseudo = Checksum.pseudoHeaderSum(Ipv4Address.of(10, 0, 0, 1), Ipv4Address.of(10, 0, 0, 2), 6, tcp.length);
        assertEquals(0xE38D, Checksum.complement(Checksum.add(pseudo, Checksum.sum(MemorySegment.ofArray(tcp), 0, tcp.length))));
    }

    @Test
    void shouldPadOddLengthWithZeroByte() {
        MemorySegment s = MemorySegment.ofArray(hex("ab"));
        assertEquals(0xAB00, Checksum.sum(s, 0, 1));
        assertEquals(0, Checksum.sum(s, 0, 0));
    }

    @Test
    void shouldAgreeWithReferenceForEveryLengthAndOffsetOnHeapAndOffHeap() {
        Random r = new Random(1071);
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 2_000; i++) {
                byte[] b = new byte[1 + r.nextInt(300)];
                r.nextBytes(b);
                int from = r.nextInt(b.length);
                int to = from + r.nextInt(b.length - from + 1);
                int expected = referenceSum(b, from, to);
                assertEquals(expected, Checksum.sum(MemorySegment.ofArray(b), from, to - from), "heap");
                MemorySegment off = WireTesting.offHeap(arena, b, 3);
                assertEquals(expected, Checksum.sum(off, 3 + from, to - from), "off-heap");
            }
        }
    }

    @Test
    void shouldSumToAllOnesWhenChecksumIsInPlace() {
        Random r = new Random(7);
        for (int i = 0; i < 1_000; i++) {
            byte[] b = new byte[2 + 2 * r.nextInt(40)];
            r.nextBytes(b);
            b[0] = 0;
            b[1] = 0;
            int c = Checksum.checksum(MemorySegment.ofArray(b), 0, b.length);
            b[0] = (byte) (c >>> 8);
            b[1] = (byte) c;
            assertEquals(0xFFFF, Checksum.sum(MemorySegment.ofArray(b), 0, b.length));
        }
    }

    @Test
    void shouldEqualFullRecomputeWhenOneWordIsUpdatedIncrementally() {
        Random r = new Random(1624);
        for (int i = 0; i < 20_000; i++) {
            byte[] h = randomHeaderWithChecksum(r);
            MemorySegment s = MemorySegment.ofArray(h);
            int old = Bytes.u16(s, 10);
            int word = 2 * r.nextInt(10);
            if (word == 10) {
                continue; // the checksum field itself
            }
            int oldWord = (h[word] & 0xFF) << 8 | (h[word + 1] & 0xFF);
            int newWord = r.nextInt(4) == 0 ? new int[] {0, 0xFFFF, oldWord, oldWord ^ 1}[r.nextInt(4)] : r.nextInt(0x10000);
            h[word] = (byte) (newWord >>> 8);
            h[word + 1] = (byte) newWord;
            int incremental = Checksum.update16(old, oldWord, newWord);
            assertEquals(fullChecksum(h), incremental, "word " + word + ": " + oldWord + " -> " + newWord);
        }
    }

    @Test
    void shouldEqualFullRecomputeWhenAnAddressIsUpdatedIncrementally() {
        Random r = new Random(3022);
        for (int i = 0; i < 20_000; i++) {
            byte[] h = randomHeaderWithChecksum(r);
            MemorySegment s = MemorySegment.ofArray(h);
            int old = Bytes.u16(s, 10);
            int at = r.nextBoolean() ? 12 : 16;
            int oldAddress = Bytes.i32(s, at);
            int newAddress = r.nextInt();
            Bytes.put32(s, at, newAddress);
            assertEquals(fullChecksum(h), Checksum.update32(old, oldAddress, newAddress));
        }
    }

    @Test
    void shouldKeepChecksumValidWhenTtlIsDecremented() {
        Random r = new Random(791);
        int decremented = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] h = randomHeaderWithChecksum(r);
            h[0] = 0x45;
            h[2] = 0;
            h[3] = 20;
            h[10] = 0;
            h[11] = 0;
            int c = Checksum.checksum(MemorySegment.ofArray(h), 0, 20);
            h[10] = (byte) (c >>> 8);
            h[11] = (byte) c;
            Ipv4Packet p = WireTesting.checkedIpv4(MemorySegment.ofArray(h));
            if (p.ttl() == 0) {
                continue;
            }
            int ttl = p.ttl();
            assertEquals(ttl - 1, p.decrementTtl());
            assertTrue(p.verifyChecksum(), p::toString);
            assertEquals(fullChecksum(h), p.checksum());
            decremented++;
        }
        assertTrue(decremented > 19_000, "decremented " + decremented);
    }

    @Test
    void shouldRejectRangeOutsideSegmentNamingBounds() {
        MemorySegment s = MemorySegment.ofArray(new byte[10]);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> Checksum.sum(s, 4, 7));
        assertTrue(e.getMessage().contains("4") && e.getMessage().contains("7") && e.getMessage().contains("10"),
                e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.sum(s, -1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.sum(s, 0, -1));
    }

    @Test
    void shouldRejectPseudoHeaderFieldsOutOfRangeNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checksum.pseudoHeaderSum(0, 0, 256, 8));
        assertTrue(e.getMessage().contains("protocol 256") && e.getMessage().contains("255"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Checksum.pseudoHeaderSum(0, 0, 17, 65_536));
        assertTrue(e.getMessage().contains("65536") && e.getMessage().contains("65535"), e.getMessage());
    }

    @Test
    void shouldFoldEndAroundCarry() {
        assertEquals(0, Checksum.fold(0));
        assertEquals(0xFFFF, Checksum.fold(0xFFFF));
        assertEquals(1, Checksum.fold(0x10000));
        assertEquals(0xFFFF, Checksum.fold(0x1FFFE));
        assertEquals(0xFFFF, Checksum.add(0xFFFF, 0));
        assertEquals(2, Checksum.add(0xFFFF, 2), "0xFFFF is negative zero");
    }

    /** 20 random bytes whose checksum field (offset 10) holds the correct checksum. */
    private static byte[] randomHeaderWithChecksum(Random r) {
        byte[] h = new byte[20];
        do {
            r.nextBytes(h);
        } while (referenceSum(h, 0, 20) == 0);
        h[10] = 0;
        h[11] = 0;
        int c = fullChecksum(h);
        h[10] = (byte) (c >>> 8);
        h[11] = (byte) c;
        return h;
    }

    /** The checksum of a 20-byte header computed from scratch, ignoring what field 10 holds. */
    private static int fullChecksum(byte[] header) {
        byte[] copy = header.clone();
        copy[10] = 0;
        copy[11] = 0;
        return ~referenceSum(copy, 0, copy.length) & 0xFFFF;
    }
}
