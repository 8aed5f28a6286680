package dev.mpsafe.netstack.buffer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.smr.Smr;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every window operation of {@link PacketBuffer}, its refusals, and use after free. */
class PacketBufferTest {

    private static final int SIZE = 256;

    private PacketPool pool;

    @BeforeEach
    void createPool() {
        pool = PacketPool.create(Smr.create("buffer-test", Smr.Mode.DEFAULT), SIZE, 1 << 20);
    }

    @AfterEach
    void poolBalances() {
        pool.close();
        assertEquals(0, pool.outstanding(), pool.toString());
        pool.checkBalanced();
    }

    /** The window as (headroom, length, tailroom). */
    private static void assertWindow(PacketBuffer b, int headroom, int length, int tailroom) {
        assertEquals(headroom, b.headroom(), "headroom");
        assertEquals(length, b.length(), "length");
        assertEquals(tailroom, b.tailroom(), "tailroom");
        assertEquals(SIZE, headroom + length + tailroom, "the three parts cover the segment");
        assertEquals(length, b.data().byteSize(), "data() is the window");
    }

    @Test
    void shouldStartWithEmptyWindowAfterHeadroom() {
        PacketBuffer b = pool.allocate(64);
        assertEquals(SIZE, b.capacity());
        assertSame(pool, b.pool());
        assertWindow(b, 64, 0, SIZE - 64);
        b.free();
        PacketBuffer all = pool.allocate(SIZE);
        assertWindow(all, SIZE, 0, 0);
        all.free();
        PacketBuffer none = pool.allocate(0);
        assertWindow(none, 0, 0, SIZE);
        none.free();
    }

    @Test
    void shouldPrependHeaderInPlaceWithoutMovingPayload() {
        PacketBuffer b = pool.allocate(40);
        MemorySegment payload = b.append(10);
        for (int i = 0; i < 10; i++) {
            payload.set(JAVA_BYTE, i, (byte) (100 + i));
        }
        long payloadAddress = b.data().address();
        MemorySegment header = b.prepend(20);
        assertEquals(20, header.byteSize());
        header.fill((byte) 7);
        assertWindow(b, 20, 30, SIZE - 50);
        MemorySegment data = b.data();
        assertEquals(payloadAddress - 20, data.address(), "the window grew to the left, nothing moved");
        assertEquals(header.address(), data.address(), "prepend returned the new front bytes");
        for (int i = 0; i < 20; i++) {
            assertEquals(7, data.get(JAVA_BYTE, i));
        }
        for (int i = 0; i < 10; i++) {
            assertEquals(100 + i, data.get(JAVA_BYTE, 20 + i), "payload byte " + i);
        }
        b.prepend(20);
        assertWindow(b, 0, 50, SIZE - 50);
        b.free();
    }

    @Test
    void shouldAppendIntoTailroomAndReturnTheNewBytes() {
        PacketBuffer b = pool.allocate(16);
        MemorySegment first = b.append(100);
        MemorySegment second = b.append(SIZE - 116);
        assertEquals(first.address() + 100, second.address());
        assertWindow(b, 16, SIZE - 16, 0);
        assertEquals(0, b.append(0).byteSize(), "appending nothing to a full buffer is allowed");
        b.free();
    }

    @Test
    void shouldTrimFrontAndBackIntoHeadroomAndTailroom() {
        PacketBuffer b = pool.allocate(10);
        MemorySegment bytes = b.append(50);
        for (int i = 0; i < 50; i++) {
            bytes.set(JAVA_BYTE, i, (byte) i);
        }
        b.trimFront(20); // a consumed header
        assertWindow(b, 30, 30, SIZE - 60);
        assertEquals(20, b.data().get(JAVA_BYTE, 0));
        b.trimBack(5); // link padding
        assertWindow(b, 30, 25, SIZE - 55);
        assertEquals(44, b.data().get(JAVA_BYTE, 24));
        b.trimFront(25);
        assertWindow(b, 55, 0, SIZE - 55);
        b.trimBack(0);
        b.trimFront(0);
        assertWindow(b, 55, 0, SIZE - 55);
        // The trimmed front bytes are headroom again: prepend gets them back unchanged.
        assertEquals(44, b.prepend(1).get(JAVA_BYTE, 0));
        b.free();
    }

    /** A refusal: the exception type, every fragment in its message, and an unchanged window. */
    private static void assertRefused(PacketBuffer b, Class<? extends RuntimeException> type, Executable call,
            String... fragments) {
        int headroom = b.headroom();
        int length = b.length();
        RuntimeException e = assertThrows(type, call);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "'" + e.getMessage() + "' lacks '" + f + "'");
        }
        assertEquals(headroom, b.headroom(), "a refused call changed the headroom");
        assertEquals(length, b.length(), "a refused call changed the length");
    }

    @Test
    void shouldRefuseNegativeCountsNamingTheValueAndChangeNothing() {
        PacketBuffer b = pool.allocate(32);
        b.append(8);
        assertRefused(b, IllegalArgumentException.class, () -> b.prepend(-1), "prepend", "-1", ">= 0");
        assertRefused(b, IllegalArgumentException.class, () -> b.append(-2), "append", "-2");
        assertRefused(b, IllegalArgumentException.class, () -> b.trimFront(-3), "trimFront", "-3");
        assertRefused(b, IllegalArgumentException.class, () -> b.trimBack(Integer.MIN_VALUE), "trimBack",
                String.valueOf(Integer.MIN_VALUE));
        b.free();
    }

    @Test
    void shouldRefuseCountsBeyondTheRoomNamingValueAndLimitAndChangeNothing() {
        PacketBuffer b = pool.allocate(32);
        b.append(8);
        assertRefused(b, IndexOutOfBoundsException.class, () -> b.prepend(33), "prepend 33", "only 32", "headroom");
        assertRefused(b, IndexOutOfBoundsException.class, () -> b.append(SIZE - 40 + 1), "append 217", "only 216",
                "tailroom");
        assertRefused(b, IndexOutOfBoundsException.class, () -> b.trimFront(9), "trimFront 9", "only 8", "length");
        assertRefused(b, IndexOutOfBoundsException.class, () -> b.trimBack(9), "trimBack 9", "only 8", "length");
        assertRefused(b, IndexOutOfBoundsException.class, () -> b.append(Integer.MAX_VALUE), "append 2147483647");
        b.free();
    }

    @Test
    void shouldRefuseHeadroomOutsideTheBuffer() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.allocate(-1));
        assertTrue(e.getMessage().contains("headroom -1") && e.getMessage().contains("[0, 256]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pool.allocate(SIZE + 1));
        assertTrue(e.getMessage().contains("headroom 257"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> pool.tryAllocate(SIZE + 1));
        assertEquals(0, pool.allocated(), "a refused allocate allocates nothing");
    }

    @Test
    void shouldThrowUseAfterFreeFromEveryWindowMethod() {
        PacketBuffer b = pool.allocate(32);
        b.append(8);
        b.free();
        assertTrue(b.isFreed());
        List<Executable> calls = List.of(b::length, b::headroom, b::tailroom, b::data, () -> b.prepend(1),
                () -> b.append(1), () -> b.trimFront(1), () -> b.trimBack(1), () -> pool.tryCopy(b));
        for (Executable call : calls) {
            IllegalStateException e = assertThrows(IllegalStateException.class, call);
            assertTrue(e.getMessage().contains("used after free"), e.getMessage());
        }
        assertEquals(SIZE, b.capacity(), "capacity and pool stay readable");
        assertSame(pool, b.pool());
        assertEquals("PacketBuffer[freed]", b.toString());
    }

    @Test
    void shouldDetectDoubleFreeEvenAfterTheSegmentWasReused() {
        PacketBuffer b = pool.allocate(0);
        b.free();
        // The next allocation may get the same segment back (after a grace period); the stale
        // object must still refuse, and must not free the new owner's buffer.
        PacketBuffer next = pool.allocate(0);
        for (Consumer<PacketBuffer> free : List.<Consumer<PacketBuffer>>of(PacketBuffer::free, pool::free)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> free.accept(b));
            assertTrue(e.getMessage().contains("double free"), e.getMessage());
        }
        assertFalse(next.isFreed());
        assertEquals(1, pool.outstanding());
        next.free();
    }
}
