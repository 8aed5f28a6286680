package dev.mpsafe.smr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.sync.Section;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SmrPoolTest {

    static Stream<Smr.Mode> modes() {
        return Stream.of(Smr.Mode.DEFAULT, Smr.Mode.LAZY, Smr.Mode.deferred(4));
    }

    static final class Item {
        int value;
        boolean reclaimed;
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldReuseFreedItemsOnlyAfterTheReaderThatCouldSeeThemLeft(Smr.Mode mode) throws Exception {
        Smr smr = Smr.create("pool", mode);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).build();
        List<Item> first = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            first.add(pool.allocate());
        }
        assertEquals(8, pool.stats().created());

        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (Section _ = smr.enter()) {
                inside.countDown();
                leave.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        reader.start();
        inside.await();
        for (Item it : first) {
            pool.free(it); // two full buckets, tagged while the reader is inside
        }
        Set<Item> old = Collections.newSetFromMap(new IdentityHashMap<>());
        old.addAll(first);
        for (int i = 0; i < 16; i++) {
            Item fresh = pool.allocate();
            assertTrue(!old.contains(fresh), "allocation " + i + " reused an item a reader may still see");
        }
        // Both buckets wait for the reader in the depot: the first went there when the second was
        // tagged; the second, which this thread kept for its own next refill (it allocates as well
        // as frees), was moved there by the 16th miss's look for stranded items.
        assertEquals(8, pool.stats().pending(), "both buckets wait for the reader: " + pool.stats());
        leave.countDown();
        reader.join();
        Set<Item> reused = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < 8; i++) {
            reused.add(pool.allocate());
        }
        assertEquals(old, reused, "after the reader left, the freed items come back");
        SmrPool.Stats st = pool.stats();
        assertEquals(24, st.created(), st.toString());
        assertEquals(8, st.reused(), st.toString());
        assertEquals(8, st.freed(), st.toString());
        assertEquals(2, st.bucketsTagged(), st.toString());
        assertEquals(0, st.pending(), st.toString());
    }

    @Test
    void shouldRunReclaimHookOnceGracePeriodPassedBeforeReuse() {
        Smr smr = Smr.create("hook", Smr.Mode.DEFAULT);
        AtomicInteger hooks = new AtomicInteger();
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(2).onReclaim(it -> {
            it.reclaimed = true;
            hooks.incrementAndGet();
        }).build();
        Item a = pool.allocate();
        Item b = pool.allocate();
        pool.free(a);
        assertEquals(0, hooks.get(), "not before the bucket is tagged and its goal passed");
        pool.free(b);
        assertEquals(0, hooks.get(), "tagging is not reclaiming");
        Item c = pool.allocate();
        assertTrue(c == a || c == b);
        assertTrue(c.reclaimed);
        assertEquals(2, hooks.get(), "the hook ran on the whole bucket once its goal passed");
    }

    @Test
    void shouldNeverHandOutAnItemWhoseReclaimHookDidNotRunEvenWhenTheHookThrows() {
        Smr smr = Smr.create("hook-throws", Smr.Mode.DEFAULT);
        Item[] made = new Item[8];
        AtomicInteger n = new AtomicInteger();
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, () -> made[n.getAndIncrement()] = new Item())
                .bucketSize(4).onReclaim(it -> {
                    if (it == made[1] && !it.reclaimed) {
                        it.reclaimed = true; // half-done, then fails: this one must never come back
                        throw new IllegalStateException("hook failed on purpose");
                    }
                    it.reclaimed = true;
                }).build();
        Item[] out = {pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()};
        for (Item it : out) {
            pool.free(it); // the fourth free tags the bucket
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::allocate);
        assertEquals("hook failed on purpose", e.getMessage());
        assertEquals(1, pool.stats().reclaimFailures(), pool.stats().toString());
        Set<Item> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < 3; i++) {
            Item it = pool.allocate();
            assertTrue(it.reclaimed, "handed out before its hook ran");
            assertTrue(it != made[1], "the item whose hook threw came back");
            assertTrue(seen.add(it), "handed out twice");
        }
        assertEquals(4, n.get(), "the three good items were reused, none created");
        assertTrue(pool.allocate() != made[1], "a new item, not the discarded one");
    }

    @Test
    void shouldRefuseAReclaimHookThatAllocatesFromItsOwnPoolWithoutLosingItems() {
        Smr smr = Smr.create("hook-reenters", Smr.Mode.DEFAULT);
        AtomicReference<SmrPool<Item>> self = new AtomicReference<>();
        AtomicInteger hookCalls = new AtomicInteger();
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(2).onReclaim(it -> {
            if (hookCalls.getAndIncrement() == 0) {
                self.get().allocate(); // not allowed: refills the cache being refilled
            }
            it.reclaimed = true;
        }).build();
        self.set(pool);
        Item a = pool.allocate();
        Item b = pool.allocate();
        pool.free(a);
        pool.free(b); // tags the bucket
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::allocate);
        assertTrue(e.getMessage().contains("onReclaim hook allocated from the pool it belongs to"), e.getMessage());
        Item next = pool.allocate(); // the other item: requeued, then hooked
        assertTrue(next == a || next == b);
        assertTrue(next.reclaimed);
        assertEquals(1, pool.stats().reclaimFailures(), pool.stats().toString());
    }

    @Test
    void shouldBoundIdleItemsAndDropTheRestToTheGc() {
        Smr smr = Smr.create("bound", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).maxIdle(8).build();
        // keep every goal from passing: the depot can only fill
        try (Section _ = smr.enter()) {
            for (int i = 0; i < 40; i++) {
                pool.free(new Item());
            }
        }
        SmrPool.Stats st = pool.stats();
        assertEquals(8, st.pending(), "the depot keeps at most maxIdle: " + st);
        assertEquals(32, st.dropped(), "the rest is dropped and counted: " + st);
        assertEquals(8, st.idleHighWater(), st.toString());
    }

    @Test
    void shouldKeepTheIdleBoundWhenAFlushReturnsCachedItems() {
        Smr smr = Smr.create("flush-bound", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).maxIdle(8).build();
        for (int i = 0; i < 8; i++) {
            pool.free(new Item()); // two tagged buckets: the depot is at its bound
        }
        pool.allocate(); // takes a bucket (its goal passed: no readers), hands out one, caches three
        for (int i = 0; i < 4; i++) {
            pool.free(new Item()); // back to the bound
        }
        pool.flush(); // the three cached safe items would pass the bound
        SmrPool.Stats st = pool.stats();
        assertTrue(st.pending() + st.ready() <= 8, "the depot passed maxIdle: " + st);
        assertTrue(st.idleHighWater() <= 8, st.toString());
        assertEquals(3, st.dropped(), "the three were dropped to the GC and counted: " + st);
        assertEquals(12, st.freed(), "freed counts each object once: " + st);
        assertTrue(st.reused() >= 0, st.toString());
    }

    @Test
    void shouldTakeAFreedItemExactlyOnceWhenTaggingIsRefusedInsideASection() {
        // maxDelta 4: inside a section, the fifth advance would have to wait for that section.
        Smr smr = Smr.create(dev.mpsafe.sync.GraceOptions.named("refused"), Smr.Mode.DEFAULT, 0, 4, true, null);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(1).build();
        List<Item> freed = new ArrayList<>();
        Item refused = null;
        dev.mpsafe.sync.Participant p = smr.register();
        p.enter();
        try {
            for (int i = 0; i < 20 && refused == null; i++) {
                Item it = new Item();
                try {
                    pool.free(it);
                    freed.add(it);
                } catch (IllegalStateException e) {
                    assertTrue(e.getMessage().contains("inside a section"), e.getMessage());
                    refused = it;
                }
            }
        } finally {
            p.exit();
        }
        assertTrue(refused != null, "tagging was never refused inside the section");
        pool.free(refused); // not taken before, so this is its first free, not a double one
        freed.add(refused);
        Set<Item> out = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < freed.size(); i++) {
            Item it = pool.allocate();
            assertTrue(out.add(it), "handed out twice");
        }
        Set<Item> expected = Collections.newSetFromMap(new IdentityHashMap<>());
        expected.addAll(freed);
        assertEquals(expected, out, "every freed item comes back exactly once");
        Item extra = pool.allocate();
        assertTrue(!expected.contains(extra), "a freed item was held twice and came back again");
        assertEquals(0, pool.stats().reused() - freed.size(), pool.stats().toString());
    }

    @Test
    void shouldRefuseALocalHandleUsedByAnotherThreadWhenAssertionsEnabled() throws Exception {
        assertTrue(SmrPool.class.desiredAssertionStatus(), "tests run with -ea (see pom.xml)");
        Smr smr = Smr.create("local", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.create(smr, Item::new);
        SmrPool.Local<Item> mine = pool.local();
        Item it = mine.allocate();
        mine.free(it);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread other = new Thread(() -> {
            try {
                mine.allocate();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "not-the-owner");
        other.start();
        other.join();
        assertTrue(failure.get() instanceof IllegalStateException, String.valueOf(failure.get()));
        assertTrue(failure.get().getMessage().contains("'not-the-owner'")
                && failure.get().getMessage().contains("'" + Thread.currentThread().getName() + "'"),
                failure.get().getMessage());
    }

    @Test
    void shouldInheritDeadThreadsCachedItems() throws Exception {
        Smr smr = Smr.create("inherit", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(8).build();
        AtomicReference<Item> freedByDeadThread = new AtomicReference<>();
        Thread t = new Thread(() -> {
            Item it = pool.allocate();
            freedByDeadThread.set(it);
            pool.free(it); // stays in this thread's partly filled free bucket
        });
        t.start();
        t.join();
        assertEquals(1, pool.stats().cached());
        pool.flush(); // this thread inherits the dead thread's cache; flush tags the partial bucket
        assertSame(freedByDeadThread.get(), pool.allocate(), "the item outlived its thread");
    }

    @Test
    void shouldRejectBadArgumentsWithClearMessages() {
        Smr smr = Smr.create("args", Smr.Mode.DEFAULT);
        assertThrows(NullPointerException.class, () -> SmrPool.create(null, Item::new));
        assertThrows(NullPointerException.class, () -> SmrPool.create(smr, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SmrPool.builder(smr, Item::new).bucketSize(0));
        assertTrue(e.getMessage().contains("bucketSize must be within [1, 65536], got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SmrPool.builder(smr, Item::new).maxIdle(-1));
        assertTrue(e.getMessage().contains("got -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SmrPool.builder(smr, Item::new).bucketSize(64).maxIdle(10).build());
        assertTrue(e.getMessage().contains("maxIdle 10 is below bucketSize 64"), e.getMessage());
        SmrPool.builder(smr, Item::new).bucketSize(64).maxIdle(0).build(); // never reuses: allowed
        SmrPool<Item> pool = SmrPool.create(smr, Item::new);
        NullPointerException npe = assertThrows(NullPointerException.class, () -> pool.free(null));
        assertEquals("item", npe.getMessage());
        SmrPool<Item> broken = SmrPool.create(smr, () -> null);
        npe = assertThrows(NullPointerException.class, broken::allocate);
        assertTrue(npe.getMessage().contains("factory returned null"), npe.getMessage());
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldNeverHandOutOneItemTwiceUnderConcurrentUse(Smr.Mode mode) throws Exception {
        Smr smr = Smr.create("concurrent", mode); // DEFERRED: several writers share goals
        SmrPool<AtomicInteger> pool = SmrPool.<AtomicInteger>builder(smr, AtomicInteger::new).bucketSize(8).build();
        int threads = 4;
        AtomicReference<String> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            ts.add(new Thread(() -> {
                List<AtomicInteger> held = new ArrayList<>();
                for (int i = 0; i < 50_000; i++) {
                    AtomicInteger it = pool.allocate();
                    if (!it.compareAndSet(0, 1)) {
                        failure.compareAndSet(null, "handed out while owned by another thread");
                    }
                    held.add(it);
                    if (held.size() > 20 || (i & 3) == 0) {
                        AtomicInteger back = held.remove(0);
                        back.set(0);
                        pool.free(back);
                    }
                }
            }));
        }
        ts.forEach(Thread::start);
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(null, failure.get());
        SmrPool.Stats st = pool.stats();
        assertTrue(st.reused() > 0, "the pool recycled: " + st);
        assertTrue(st.bucketsTagged() > 0, st.toString());
    }

    /** Waits (bounded) until {@code t} parks; false if it did not within 10 s. */
    static boolean awaitParked(Thread t) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Thread.State st = t.getState();
            if (st == Thread.State.TIMED_WAITING || st == Thread.State.WAITING) {
                return true;
            }
            Thread.onSpinWait();
        }
        return false;
    }

    /** freed = pending + ready + cached + reused + dropped + reclaimFailures, for a quiescent pool. */
    static void assertBalanced(SmrPool.Stats st) {
        assertEquals(st.freed(), st.pending() + st.ready() + st.cached() + st.reused() + st.dropped()
                + st.reclaimFailures(), "every freed object is accounted for once: " + st);
    }

    @Test
    void shouldNotDeadlockAReaderThatAllocatesWhileAWriterWaitsForItInAdvance() throws Exception {
        // maxDelta 4: the writer's fifth tagging advance() must wait for the reader's section.
        Smr smr = Smr.create(dev.mpsafe.sync.GraceOptions.named("no-deadlock"), Smr.Mode.DEFAULT, 0, 4, true, null);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(1).build();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> readerFailure = new AtomicReference<>();
        CountDownLatch readerDone = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (Section _ = smr.enter()) {
                inside.countDown();
                go.await();
                Item it = pool.allocate(); // allowed inside a section; never blocks
                pool.free(it); // its tagging is refused inside the section, and absorbed
                readerDone.countDown();
            } catch (Throwable t) {
                readerFailure.set(t);
            }
        }, "reader-in-section");
        reader.setDaemon(true); // on a deadlock, the failed test must not keep the JVM alive
        reader.start();
        inside.await();
        Thread writer = new Thread(() -> {
            for (int i = 0; i < 10; i++) {
                pool.free(new Item()); // bucketSize 1: each free tags, until advance() must wait
            }
        }, "writer");
        writer.setDaemon(true);
        writer.start();
        assertTrue(awaitParked(writer), "the writer never reached advance()'s forced wait: " + writer.getState());
        go.countDown();
        assertTrue(readerDone.await(10, java.util.concurrent.TimeUnit.SECONDS),
                "deadlock: the reader's allocate/free is stuck (reader " + reader.getState() + ", writer "
                        + writer.getState() + ", failure " + readerFailure.get() + ")");
        reader.join(10_000);
        writer.join(10_000); // the reader left its section: the forced wait ends
        assertTrue(!writer.isAlive(), "the writer still waits after the reader left");
        assertEquals(null, readerFailure.get());
        pool.flush(); // this thread's cache is empty; the dead threads' caches are counted as cached
        SmrPool.Stats st = pool.stats();
        assertEquals(11, st.freed(), st.toString());
        assertBalanced(st);
    }

    /** Moves the domain's write and read sequences to {@code seq}, as a long busy life would (test only). */
    static void ageDomain(Smr smr, long seq) throws Exception {
        for (String field : new String[] {"wr", "rd", "tick"}) {
            java.lang.reflect.Field f = Smr.class.getDeclaredField(field);
            f.setAccessible(true);
            ((dev.mpsafe.internal.PaddedLong) f.get(smr)).svValue(seq);
        }
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldReuseABucketWhoseGoalWasLeftUnpolledWhileTheDomainAdvancedPastTheWrapWindow(Smr.Mode mode)
            throws Exception {
        Smr smr = Smr.create("stale-goal", mode);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(1).build();
        Item freed = new Item();
        pool.free(freed); // tagged with goal 1 (DEFERRED: the next sequence), left pending
        assertEquals(1, pool.stats().pending());
        // A shared domain's other writers and pollers advance it 2^46 + 10 times meanwhile; no reader
        // stays behind, so rd follows wr. The pending goal now reads as ahead of wr.
        ageDomain(smr, (1L << 46) + 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> smr.poll(1));
        assertTrue(e.getMessage().contains("is ahead of the write sequence"), "the public contract stays: "
                + e.getMessage());
        assertSame(freed, pool.allocate(), "the stale goal counts as passed: the bucket is reused");
        pool.allocate(); // and the pool keeps working
        SmrPool.Stats st = pool.stats();
        assertEquals(1, st.reused(), st.toString());
        assertBalanced(st);
    }

    /** On this thread: a window of 4 live objects, then {@code rounds} times allocate one and free the oldest. */
    private static void churnOneThread(SmrPool<Item> pool, int rounds) {
        Item[] window = new Item[4];
        for (int i = 0; i < 4; i++) {
            window[i] = pool.allocate();
        }
        for (int i = 0; i < rounds; i++) {
            Item it = pool.allocate();
            pool.free(window[i & 3]);
            window[i & 3] = it;
        }
    }

    /**
     * A thread that allocates as well as frees keeps its last tagged bucket for its own next
     * refill: steady churn on one thread recycles its own objects and queues nothing in the depot
     * (where every bucket exchange takes the depot's one lock). Without the own bucket, each full
     * bucket would wait in the depot: pending would be 4 here.
     */
    @Test
    void shouldRecycleAnAllocatingThreadsOwnBucketWithoutTheDepot() {
        Smr smr = Smr.create("own", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).build();
        churnOneThread(pool, 1_000);
        SmrPool.Stats st = pool.stats();
        assertEquals(0, st.pending(), "nothing waits in the depot: " + st);
        assertEquals(0, st.ready(), st.toString());
        assertTrue(st.created() <= 12, "live window, alloc, free and own bucket at most: " + st);
        assertTrue(st.reused() >= 1_000 - 12, st.toString());
        assertBalanced(st);
        pool.flush();
        SmrPool.Stats flushed = pool.stats();
        assertEquals(0, flushed.cached(), "flush hands the own bucket to the depot too: " + flushed);
        assertBalanced(flushed);
    }

    /** maxIdle 0 is a pool that never reuses: not through the depot, and not through a kept bucket. */
    @Test
    void shouldNeverReuseWithAZeroIdleBoundEvenThroughTheThreadsOwnBucket() {
        Smr smr = Smr.create("never", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).maxIdle(0).build();
        churnOneThread(pool, 100);
        SmrPool.Stats st = pool.stats();
        assertEquals(0, st.reused(), st.toString());
        assertEquals(104, st.created(), st.toString());
        assertBalanced(st);
    }

    /**
     * A thread that only frees keeps no tagged bucket: its buckets go to the depot, where the
     * threads that allocate find them. Were it to keep one, 4 of these 8 objects would be stranded
     * in a cache no allocation ever looks at.
     */
    @Test
    void shouldHandAFreeOnlyThreadsBucketsToTheDepot() throws Exception {
        Smr smr = Smr.create("free-only", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).build();
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            items.add(pool.allocate());
        }
        Thread freer = new Thread(() -> items.forEach(pool::free), "freer");
        freer.start();
        freer.join();
        SmrPool.Stats st = pool.stats();
        assertEquals(8, st.pending(), "both buckets in the depot: " + st);
        assertEquals(0, st.cached(), st.toString());
        Set<Item> reused = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < 8; i++) {
            reused.add(pool.allocate());
        }
        assertTrue(reused.containsAll(items), "the allocating thread got the freer's objects back: " + pool.stats());
    }

    /**
     * A thread that kept its own bucket and then ended: the bucket comes back to the others with
     * the rest of its cache, by the dead-cache scan.
     */
    @Test
    void shouldRecoverTheOwnBucketOfADeadThread() throws Exception {
        Smr smr = Smr.create("own-dead", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).build();
        pool.allocate(); // this thread registers first, so it will never inherit the helper's cache
        Set<Item> freedByHelper = Collections.newSetFromMap(new IdentityHashMap<>());
        Thread helper = new Thread(() -> {
            pool.allocate(); // a refill: the helper allocates, so it keeps its next tagged bucket
            for (int i = 0; i < 4; i++) {
                Item it = new Item();
                freedByHelper.add(it);
                pool.free(it);
            }
        }, "helper");
        helper.start();
        helper.join();
        SmrPool.Stats before = pool.stats();
        assertEquals(0, before.pending(), "the helper kept its tagged bucket: " + before);
        assertEquals(4, before.cached(), before.toString());
        assertEquals(freedByHelper, allocateUntilBack(pool, freedByHelper),
                "the dead thread's own bucket came back: " + pool.stats());
        assertBalanced(pool.stats());
    }

    /**
     * Allocates (up to 64 times) until every object of {@code freed} came back, and returns those
     * that did. The scan for dead caches is rate-limited to one per max(16, bucketSize) refill
     * misses, so it takes a few allocations.
     */
    private static Set<Item> allocateUntilBack(SmrPool<Item> pool, Set<Item> freed) {
        Set<Item> back = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < 64 && back.size() < freed.size(); i++) {
            Item it = pool.allocate();
            if (freed.contains(it)) {
                back.add(it);
            }
        }
        return back;
    }

    @Test
    void shouldRecoverItemsCachedByADeadThreadWhileOnlyRegisteredThreadsUseThePool() throws Exception {
        Smr smr = Smr.create("recover", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(8).build();
        pool.allocate(); // this thread registers first, so it will never inherit the helper's cache
        Set<Item> freedByHelper = Collections.newSetFromMap(new IdentityHashMap<>());
        Thread helper = new Thread(() -> {
            for (int i = 0; i < 7; i++) {
                Item it = new Item();
                freedByHelper.add(it);
                pool.free(it); // 7 of a bucket of 8: they stay in the helper's free array
            }
        }, "helper");
        helper.start();
        helper.join();
        assertEquals(7, pool.stats().cached());
        pool.flush();
        assertEquals(freedByHelper, allocateUntilBack(pool, freedByHelper),
                "the dead thread's objects came back: " + pool.stats());
        SmrPool.Stats st = pool.stats();
        assertTrue(st.reused() >= 7, st.toString());
        assertEquals(0, st.cached() + st.pending() + st.ready(), st.toString());
        assertBalanced(st);
    }

    @Test
    void shouldRefuseADoubleFreeStillInTheThreadsCacheWhenAssertionsEnabled() {
        assertTrue(SmrPool.class.desiredAssertionStatus(), "tests run with -ea (see pom.xml)");
        Smr smr = Smr.create("double-free", Smr.Mode.DEFAULT);
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(2).build();
        Item x = pool.allocate();
        pool.free(x);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.free(x));
        assertTrue(e.getMessage().contains("SmrPool 'double-free': double free of")
                && e.getMessage().contains("free bucket"), e.getMessage());
        assertEquals(1, pool.stats().freed(), "the refused free took nothing: " + pool.stats());
        Item y = new Item();
        pool.free(y); // fills and tags the bucket {x, y}
        Item first = pool.allocate(); // takes the bucket: one handed out, the other in the alloc bucket
        Item cached = first == x ? y : x;
        SmrPool.Local<Item> local = pool.local();
        e = assertThrows(IllegalStateException.class, () -> local.free(cached));
        assertTrue(e.getMessage().contains("double free") && e.getMessage().contains("alloc bucket"), e.getMessage());
        Item second = pool.allocate();
        assertSame(cached, second);
        assertTrue(first != second, "one object handed out twice");
        SmrPool.Stats st = pool.stats();
        assertEquals(2, st.freed(), st.toString());
        assertEquals(2, st.reused(), st.toString());
        assertBalanced(st);
    }

    @Test
    void shouldBalanceItsCountersThroughDropsFlushesAndFailingHooks() {
        Smr smr = Smr.create("balance", Smr.Mode.DEFAULT);
        AtomicInteger hooks = new AtomicInteger();
        SmrPool<Item> pool = SmrPool.<Item>builder(smr, Item::new).bucketSize(4).maxIdle(8).onReclaim(it -> {
            if (hooks.incrementAndGet() % 7 == 0) {
                throw new IllegalStateException("hook failed on purpose");
            }
        }).build();
        java.util.Random random = new java.util.Random(1);
        List<Item> live = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            int op = random.nextInt(10);
            try {
                if (op < 5) {
                    live.add(pool.allocate());
                } else if (op < 9 && !live.isEmpty()) {
                    pool.free(live.remove(live.size() - 1));
                } else {
                    pool.flush();
                }
            } catch (IllegalStateException e) {
                assertEquals("hook failed on purpose", e.getMessage());
            }
        }
        SmrPool.Stats st = pool.stats();
        assertTrue(st.reclaimFailures() > 0 && st.dropped() > 0, "the run exercised failures and drops: " + st);
        assertBalanced(st);
        assertEquals(live.size(), st.created() + st.reused() - st.freed(), "objects out: " + st);
    }
}
