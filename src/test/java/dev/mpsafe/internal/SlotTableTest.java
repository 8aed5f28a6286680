package dev.mpsafe.internal;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The lookup of {@link SlotTable#current()}: its thread-id cache is only a hint, so threads whose
 * ids collide, dead threads' recycled slots and released slots never hand a thread a slot it does
 * not own.
 */
class SlotTableTest {

    static final class Slot extends ThreadSlot {
        @Override
        protected void resetForNewOwner() {
        }
    }

    private final SlotTable<Slot> table = new SlotTable<>(Slot.class, Slot::new);

    /** A thread (not started) whose id lands in the same cache entry as {@code other}'s. */
    private static Thread collidingWith(Thread other, Runnable body) {
        for (int i = 0; i <= 4 * SlotTable.HINT_ENTRIES; i++) {
            Thread t = new Thread(body, "colliding-" + i);
            if (((t.threadId() - other.threadId()) & (SlotTable.HINT_ENTRIES - 1)) == 0) {
                return t;
            }
        }
        throw new AssertionError("no thread id collided with " + other.threadId() + " in "
                + 4 * SlotTable.HINT_ENTRIES + " tries");
    }

    private static Slot runAndGet(Thread t, AtomicReference<Slot> result) throws InterruptedException {
        t.start();
        t.join();
        return result.get();
    }

    @Test
    void shouldReturnTheSameOwnedSlotOnEveryCall() {
        Slot first = table.current();
        assertSame(Thread.currentThread(), first.owner());
        for (int i = 0; i < 1_000; i++) {
            assertSame(first, table.current());
        }
        assertSame(first, table.currentIfRegistered());
        assertTrue(table.size() == 1, "one thread, one slot: " + table.size());
    }

    @Test
    void shouldGiveTwoLiveThreadsWithCollidingIdsTheirOwnSlots() throws Exception {
        CyclicBarrier bothRegistered = new CyclicBarrier(2);
        AtomicReference<Slot> a = new AtomicReference<>();
        AtomicReference<Slot> b = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable body = () -> {
            try {
                Slot mine = table.current();
                if (!a.compareAndSet(null, mine)) {
                    b.set(mine);
                }
                bothRegistered.await();
                // Both are alive and share a cache entry: each keeps getting its own slot.
                for (int i = 0; i < 10_000; i++) {
                    Slot again = table.current();
                    if (again != mine || again.owner() != Thread.currentThread()) {
                        throw new AssertionError("call " + i + " returned " + again + " instead of " + mine);
                    }
                }
                bothRegistered.await();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                bothRegistered.reset();
            }
        };
        Thread first = new Thread(body, "first");
        Thread second = collidingWith(first, body);
        first.start();
        second.start();
        first.join();
        second.join();
        assertNull(failure.get(), () -> "a thread got a slot it does not own: " + failure.get());
        assertNotSame(a.get(), b.get());
    }

    @Test
    void shouldNotHandARecycledSlotToAThreadThatCollidesWithItsDeadOwner() throws Exception {
        AtomicReference<Slot> deadOnes = new AtomicReference<>();
        Thread dead = new Thread(() -> deadOnes.set(table.current()), "dies");
        Slot recycled = runAndGet(dead, deadOnes); // its cache entry now points at `recycled`

        // The main thread (a different entry, unless its id collides) claims the dead thread's slot.
        Slot mine = table.current();
        assertSame(recycled, mine, "a dead thread's slot is recycled before the table grows");

        // A thread in the dead thread's cache entry finds `recycled` there, owned by us: not its own.
        AtomicReference<Slot> colliderOnes = new AtomicReference<>();
        AtomicReference<Thread> colliderOwner = new AtomicReference<>();
        Thread collider = collidingWith(dead, () -> {
            Slot s = table.current();
            colliderOnes.set(s);
            colliderOwner.set(s.owner());
        });
        Slot theirs = runAndGet(collider, colliderOnes);
        assertNotSame(mine, theirs);
        assertSame(collider, colliderOwner.get());
        assertSame(mine, table.current());
        assertSame(Thread.currentThread(), mine.owner());
    }

    /**
     * JDK 25's common-pool workers clear their thread-locals each time they go idle. A worker whose
     * cache entry another live thread holds then found no slot on its next lookup and registered a
     * new one: one more slot per idle spell, each owned by a live thread, so never recycled; every
     * writer's scan grew, and a pool's per-thread cache in the lost slot stranded its items (review
     * finding; the pool case is in SegmentPoolTest). Here the thread-local is cleared by hand.
     */
    @Test
    void shouldFindItsOwnSlotAgainAfterLosingItsThreadLocalWhileACollidingThreadHoldsTheCacheEntry()
            throws Exception {
        java.util.concurrent.CountDownLatch registered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread collider = collidingWith(Thread.currentThread(), () -> {
            table.current();
            registered.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        collider.start();
        try {
            registered.await();
            Slot mine = table.current();
            java.lang.reflect.Field f = SlotTable.class.getDeclaredField("mine");
            f.setAccessible(true);
            for (int i = 0; i < 10; i++) {
                ((ThreadLocal<?>) f.get(table)).remove(); // what the pool does to its idle workers
                assertSame(mine, table.current(), "lookup " + i + " after losing the thread-local");
            }
            assertTrue(table.size() == 2, "two live threads, two slots: " + table.size());
        } finally {
            done.countDown();
            collider.join();
        }
    }

    @Test
    void shouldNotReturnAReleasedSlotThroughTheCache() {
        Slot before = table.current();
        table.release(before);
        assertNull(before.owner());
        assertNull(table.currentIfRegistered(), "released: not registered any more");
        Slot after = table.current();
        assertSame(Thread.currentThread(), after.owner());
        assertSame(after, table.current());
    }
}
