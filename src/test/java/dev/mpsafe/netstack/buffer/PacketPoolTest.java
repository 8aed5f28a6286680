package dev.mpsafe.netstack.buffer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.smr.SegmentPool;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.smr.SmrTestHooks;
import dev.mpsafe.sync.Section;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Leak accounting, ownership checks, copies and grace-period reuse of {@link PacketPool}. */
class PacketPoolTest {

    private static PacketPool pool(String name, int size, long maxBytes) {
        return PacketPool.create(Smr.create(name, Smr.Mode.DEFAULT), size, maxBytes);
    }

    private static void closeBalanced(PacketPool pool) {
        pool.close();
        assertEquals(0, pool.outstanding(), pool.toString());
        pool.checkBalanced();
    }

    @Test
    void shouldLeaveTheBufferLiveAndOwnedWhenTheSegmentPoolRefusesItsFree() {
        // advance() refuses to wait inside the caller's own section once it is maxDelta ahead; with
        // buckets of one, every free advances, so a free inside a section soon meets the refusal.
        Smr smr = SmrTestHooks.withMaxDelta("refusing", 2);
        PacketPool pool = PacketPool.of(SegmentPool.builder(smr, 128).bucketSize(1).maxBytes(1 << 16).build());
        List<PacketBuffer> held = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            held.add(pool.allocate(0));
        }
        PacketBuffer refused = null;
        try (Section s = smr.enter()) {
            for (PacketBuffer b : held) {
                try {
                    pool.free(b);
                } catch (IllegalStateException e) {
                    assertTrue(e.getMessage().contains("inside a section"), e.getMessage());
                    refused = b;
                    break;
                }
            }
        }
        assertNotNull(refused, "no free was refused inside the section: " + pool);
        held = held.subList(held.indexOf(refused), held.size());
        assertEquals(held.size(), pool.outstanding(), "the refused buffer still counts as outstanding");
        refused.append(4).set(JAVA_BYTE, 0, (byte) 1); // still live: no use-after-free exception
        held.forEach(pool::free); // the refused one again: no double-free report
        closeBalanced(pool);
    }

    @Test
    void shouldRefuseACopyThatDoesNotFitBeforeAllocating() {
        PacketPool big = pool("big", 512, 1 << 16);
        PacketPool small = pool("small", 128, 1 << 16);
        PacketBuffer original = big.allocate(16);
        original.append(200);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> small.tryCopy(original));
        assertTrue(e.getMessage().contains("200 bytes at headroom 16") && e.getMessage().contains("hold 128 bytes"),
                e.getMessage());
        assertEquals(0, small.outstanding(), "the refused copy allocated nothing");
        original.free();
        closeBalanced(big);
        closeBalanced(small);
    }

    /**
     * create() names its own parameter, bufferSize (it said "segmentSize", the segment pool's), and
     * refuses a maxBytes below one stride: the buffer size rounded up to 64 bytes, so 100 bytes
     * hold no 100-byte buffer, and 128 hold one. Nothing is created when it refuses.
     */
    @Test
    void shouldRefuseCreateArgumentsNamingBufferSizeAndTheStride() {
        Smr smr = Smr.create("sizes", Smr.Mode.DEFAULT);
        for (int bad : new int[] {0, -1, Integer.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PacketPool.create(smr, bad, 1 << 16));
            assertEquals("bufferSize must be > 0, got " + bad, e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PacketPool.create(smr, 100, 100));
        assertTrue(e.getMessage().contains("maxBytes 100") && e.getMessage().contains("128 with alignment 64"),
                e.getMessage());
        PacketPool one = PacketPool.create(smr, 100, 128);
        PacketBuffer b = one.allocate(0);
        assertNull(one.tryAllocate(0), "128 bytes hold one 100-byte buffer");
        b.free();
        closeBalanced(one);
    }

    @Test
    void shouldCountAllocatedFreedAndOutstanding() {
        PacketPool pool = pool("counts", 128, 1 << 16);
        List<PacketBuffer> held = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            held.add(pool.allocate(i));
        }
        assertEquals(10, pool.allocated());
        assertEquals(0, pool.freed());
        assertEquals(10, pool.outstanding());
        for (int i = 0; i < 4; i++) {
            pool.free(held.remove(held.size() - 1));
        }
        assertEquals(10, pool.allocated());
        assertEquals(4, pool.freed());
        assertEquals(6, pool.outstanding());
        held.forEach(PacketBuffer::free);
        assertEquals(0, pool.outstanding());
        closeBalanced(pool);
    }

    @Test
    void shouldReportALeakNamingTheCounts() {
        PacketPool pool = pool("leaky", 128, 1 << 16);
        PacketBuffer a = pool.allocate(0);
        PacketBuffer b = pool.allocate(0);
        PacketBuffer c = pool.allocate(0);
        a.free();
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::checkBalanced);
        assertTrue(e.getMessage().contains("'leaky'") && e.getMessage().contains("2 buffers outstanding")
                && e.getMessage().contains("allocated 3, freed 1"), e.getMessage());
        b.free();
        c.free();
        closeBalanced(pool);
    }

    @Test
    void shouldRefuseForeignNullAndClosedFrees() {
        PacketPool mine = pool("mine", 128, 1 << 16);
        PacketPool other = pool("other", 128, 1 << 16);
        PacketBuffer theirs = other.allocate(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mine.free(theirs));
        assertTrue(e.getMessage().contains("from pool 'other' freed into pool 'mine'"), e.getMessage());
        assertTrue(!theirs.isFreed(), "a refused free changes nothing");
        assertThrows(NullPointerException.class, () -> mine.free(null));
        theirs.free();
        closeBalanced(other);

        PacketBuffer late = mine.allocate(0);
        mine.close();
        IllegalStateException s = assertThrows(IllegalStateException.class, late::free);
        assertTrue(s.getMessage().contains("closed"), s.getMessage());
        assertTrue(!late.isFreed(), "a free refused by a closed pool leaves the buffer live");
        assertEquals(1, mine.outstanding(), "and the leak stays visible");
        assertThrows(IllegalStateException.class, () -> mine.allocate(0));
    }

    @Test
    void shouldCopyHeadroomAndDataIntoAnIndependentBuffer() {
        PacketPool pool = pool("copies", 128, 1 << 16);
        PacketBuffer original = pool.allocate(24);
        MemorySegment bytes = original.append(40);
        for (int i = 0; i < 40; i++) {
            bytes.set(JAVA_BYTE, i, (byte) (i * 3));
        }
        PacketBuffer copy = pool.tryCopy(original);
        assertNotNull(copy);
        assertEquals(24, copy.headroom());
        assertEquals(40, copy.length());
        assertEquals(-1, copy.data().mismatch(original.data()), "same bytes");
        assertNotEquals(original.data().address(), copy.data().address(), "another segment");
        copy.data().set(JAVA_BYTE, 0, (byte) 99);
        assertEquals(0, original.data().get(JAVA_BYTE, 0), "writing the copy leaves the original alone");
        assertEquals(2, pool.outstanding());
        original.free();
        copy.free();
        closeBalanced(pool);
    }

    @Test
    void shouldReturnNullFromTryAllocateAndTryCopyWhenExhausted() {
        PacketPool pool = PacketPool.of(SegmentPool.builder(Smr.create("small", Smr.Mode.DEFAULT), 512)
                .slabBytes(1024).maxBytes(1024).build());
        PacketBuffer a = pool.allocate(0);
        PacketBuffer b = pool.tryAllocate(0);
        assertNotNull(b);
        assertNull(pool.tryAllocate(0));
        assertNull(pool.tryCopy(a));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.allocate(0));
        assertTrue(e.getMessage().contains("exhausted"), e.getMessage());
        assertEquals(2, pool.allocated(), "failed allocations are not counted");
        a.free();
        b.free();
        closeBalanced(pool);
    }

    @Test
    void shouldReuseAFreedSegmentOnlyAfterAGracePeriod() throws Exception {
        Smr smr = Smr.create("grace", Smr.Mode.DEFAULT);
        PacketPool pool = PacketPool.of(SegmentPool.builder(smr, 128).bucketSize(1).build());
        PacketBuffer a = pool.allocate(0);
        long address = a.data().address();

        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (Section _ = smr.enter()) {
                inside.countDown();
                leave.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, "packet-reader");
        reader.start();
        inside.await();

        a.free(); // a reader that found the packet before this may still read it
        PacketBuffer during = pool.allocate(0);
        assertNotEquals(address, during.data().address(), "reused while a section may still see it");
        leave.countDown();
        reader.join();
        PacketBuffer after = pool.allocate(0);
        assertEquals(address, after.data().address(), "reused once the grace period passed");
        during.free();
        after.free();
        closeBalanced(pool);
    }

    /**
     * Every buffer freed by another thread that stays alive sits in that thread's segment-pool
     * cache (16 frees, fewer than a bucket of 32, so never tagged): outstanding() is 0, cached()
     * and toString() say where they are, and nothing can be allocated until that thread flushes.
     */
    @Test
    void shouldAllocateAgainWhatALiveThreadFreedOnceItFlushed() throws Exception {
        PacketPool pool = pool("cross-thread", 2048, 16 * 2048);
        List<PacketBuffer> all = new ArrayList<>();
        for (PacketBuffer b; (b = pool.tryAllocate(0)) != null; ) {
            all.add(b);
        }
        assertEquals(16, all.size());
        CountDownLatch freed = new CountDownLatch(1);
        CountDownLatch flush = new CountDownLatch(1);
        CountDownLatch flushed = new CountDownLatch(1);
        CountDownLatch end = new CountDownLatch(1);
        Thread freer = Thread.ofPlatform().start(() -> {
            try {
                all.forEach(PacketBuffer::free); // as a socket reader frees what an input thread allocated
                freed.countDown();
                flush.await();
                pool.flush();
                flushed.countDown();
                end.await(); // alive throughout, as a parked reader is
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            freed.await();
            assertEquals(0, pool.outstanding());
            assertEquals(16, pool.cached(), pool.toString());
            assertTrue(pool.toString().contains("cached in threads 16"), pool.toString());
            assertNull(pool.tryAllocate(0), "stranded in the freeing thread's cache");
            IllegalStateException exhausted = assertThrows(IllegalStateException.class, () -> pool.allocate(0));
            assertTrue(exhausted.getMessage().contains("live threads' caches"), exhausted.getMessage());

            flush.countDown();
            flushed.await();
            assertEquals(0, pool.cached(), pool.toString());
            List<PacketBuffer> again = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                again.add(pool.allocate(0)); // waits for the grace period of the flushed bucket
            }
            again.forEach(PacketBuffer::free);
        } finally {
            end.countDown();
            freer.join();
        }
        pool.flush(); // this thread's frees back too, and a flush on a closed pool does nothing:
        closeBalanced(pool);
        pool.flush();
    }

    @Test
    void shouldLetExactlyOneOfTwoRacingFreesWin() throws Exception {
        PacketPool pool = pool("race", 64, 1 << 16);
        int rounds = 2_000;
        AtomicInteger wins = new AtomicInteger();
        AtomicInteger refusals = new AtomicInteger();
        PacketBuffer[] shared = new PacketBuffer[1];
        CyclicBarrier barrier = new CyclicBarrier(2, () -> shared[0] = pool.allocate(0));
        Runnable racer = () -> {
            try {
                for (int i = 0; i < rounds; i++) {
                    barrier.await(); // the barrier action allocates; the barrier publishes it
                    try {
                        shared[0].free();
                        wins.incrementAndGet();
                    } catch (IllegalStateException e) {
                        refusals.incrementAndGet();
                    }
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        Thread t1 = new Thread(racer, "free-racer-1");
        Thread t2 = new Thread(racer, "free-racer-2");
        t1.start();
        t2.start();
        t1.join();
        t2.join();
        assertEquals(rounds, wins.get(), "exactly one free per buffer succeeded");
        assertEquals(rounds, refusals.get(), "the other was refused");
        assertEquals(rounds, pool.freed());
        closeBalanced(pool);
    }
}
