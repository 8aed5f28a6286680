package dev.mpsafe.pcq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PcqTest {

    // --- capacity ------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 7, 100, 1000, 65_535, 65_536, 65_537, 100_000})
    void shouldHoldExactlyCapacityItemsWhenAnyCapacityIsGiven(int capacity) {
        Pcq<Integer> q = Pcq.create(capacity);
        assertEquals(capacity, q.maxItems());
        for (int i = 0; i < capacity; i++) {
            assertTrue(q.put(i), "put #" + i + " of " + capacity);
        }
        assertFalse(q.put(-1), "put beyond capacity");
        assertEquals(capacity, q.size());
        for (int i = 0; i < capacity; i++) {
            assertEquals(i, q.get());
        }
        assertNull(q.get());
        assertEquals(0, q.size());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE, (1 << 30) + 1, Integer.MAX_VALUE})
    void shouldRejectCapacityWhenOutOfRange(int capacity) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pcq.create(capacity));
        assertTrue(e.getMessage().contains(String.valueOf(capacity)), e.getMessage());
        assertTrue(e.getMessage().contains(String.valueOf(Pcq.MAX_CAPACITY)), e.getMessage());
    }

    // --- put/get/peek edges --------------------------------------------------------------------

    @Test
    void shouldRejectNullWithClearMessage() {
        Pcq<Object> q = Pcq.create(4);
        NullPointerException e = assertThrows(NullPointerException.class, () -> q.put(null));
        assertTrue(e.getMessage().contains("null"), e.getMessage());
        assertThrows(NullPointerException.class, () -> q.offer(null));
        assertThrows(NullPointerException.class, () -> q.add(null));
        assertEquals(0, q.size(), "a rejected null must not claim a slot");
        assertNull(q.get());
    }

    @Test
    void shouldWorkWithCapacityOne() {
        Pcq<String> q = Pcq.create(1);
        assertNull(q.peek());
        assertTrue(q.put("a"));
        assertFalse(q.put("b"));
        assertEquals("a", q.peek());
        assertEquals(1, q.size());
        assertEquals("a", q.get());
        assertTrue(q.isEmpty());
        assertTrue(q.put("c"));
        assertEquals("c", q.relaxedGet());
        assertNull(q.relaxedGet());
    }

    @Test
    void shouldKeepFifoOrderAcrossManyLaps() {
        Pcq<Integer> q = Pcq.create(3);
        int next = 0;
        int expected = 0;
        for (int lap = 0; lap < 1000; lap++) {
            while (q.put(next)) {
                next++;
            }
            assertEquals(3, q.size());
            for (int i = 0; i < 2; i++) {
                assertEquals(expected++, q.get());
            }
        }
        while (!q.isEmpty()) {
            assertEquals(expected++, q.get());
        }
        assertEquals(next, expected);
    }

    @Test
    void shouldReportFullOnAddWithCapacityInMessage() {
        Pcq<Integer> q = Pcq.create(2);
        q.add(1);
        q.add(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> q.add(3));
        assertTrue(e.getMessage().contains("2"), e.getMessage());
        assertEquals(2, q.size());
    }

    @Test
    void shouldPeekWithoutRemoving() {
        Pcq<Integer> q = Pcq.create(5);
        q.put(7);
        q.put(8);
        assertEquals(7, q.peek());
        assertEquals(7, q.relaxedPeek());
        assertEquals(7, q.element());
        assertEquals(2, q.size());
        assertEquals(7, q.remove());
        assertEquals(8, q.poll());
        assertNull(q.poll());
        assertNull(q.relaxedPeek());
    }

    // --- drain ---------------------------------------------------------------------------------

    @Test
    void shouldDrainUpToLimit() {
        Pcq<Integer> q = Pcq.create(10);
        for (int i = 0; i < 10; i++) {
            q.put(i);
        }
        List<Integer> out = new ArrayList<>();
        assertEquals(0, q.drain(out::add, 0));
        assertEquals(4, q.drain(out::add, 4));
        assertEquals(List.of(0, 1, 2, 3), out);
        assertEquals(6, q.size());
        assertEquals(6, q.drain(out::add, 100));
        assertEquals(10, out.size());
        assertEquals(0, q.drain(out::add, 100));
        assertTrue(q.isEmpty());
    }

    @Test
    void shouldRejectNegativeDrainLimit() {
        Pcq<Integer> q = Pcq.create(2);
        q.put(1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.drain(x -> { }, -3));
        assertTrue(e.getMessage().contains("-3"), e.getMessage());
        assertEquals(1, q.size(), "nothing consumed by a rejected drain");
        assertThrows(NullPointerException.class, () -> q.drain(null, 1));
    }

    @Test
    void shouldConsumeUpToThrowingItemWhenDrainCallbackThrows() {
        Pcq<Integer> q = Pcq.create(5);
        for (int i = 0; i < 5; i++) {
            q.put(i);
        }
        List<Integer> seen = new ArrayList<>();
        assertThrows(IllegalStateException.class, () -> q.drain(x -> {
            seen.add(x);
            if (x == 2) {
                throw new IllegalStateException("boom");
            }
        }, 5));
        assertEquals(List.of(0, 1, 2), seen);
        assertEquals(2, q.size());
        assertEquals(3, q.get());
    }

    @Test
    void shouldAllowConsumingFromInsideDrainCallback() {
        Pcq<Integer> q = Pcq.create(6);
        for (int i = 0; i < 6; i++) {
            q.put(i);
        }
        List<Integer> seen = new ArrayList<>();
        int n = q.drain(x -> {
            seen.add(x);
            seen.add(q.get()); // pairs: the callback takes the next one itself
        }, 3);
        assertEquals(3, n);
        assertEquals(List.of(0, 1, 2, 3, 4, 5), seen);
    }

    // --- wraparound ----------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(longs = {Long.MAX_VALUE - 5, -1L, Long.MIN_VALUE - 3 /* wraps to MAX-2 */, Long.MAX_VALUE})
    void shouldStayCorrectWhenIndicesWrap(long start) {
        Pcq<Integer> q = Pcq.createAt(3, start);
        int next = 0;
        int expected = 0;
        for (int round = 0; round < 20; round++) {
            while (q.put(next)) {
                next++;
            }
            assertEquals(3, q.size(), "size near the wrap point");
            assertFalse(q.isEmpty());
            assertEquals(expected, q.peek());
            assertEquals(expected++, q.get());
            List<Integer> out = new ArrayList<>();
            q.drain(out::add, 1);
            assertEquals(List.of(expected++), out);
        }
        while (q.get() != null) {
            expected++;
        }
        assertEquals(next, expected);
        assertEquals(0, q.size());
        assertTrue(q.isEmpty());
    }

    // --- strict vs relaxed with a producer stalled between claim and write ----------------------

    @Test
    void shouldWaitInStrictGetButNotInRelaxedGetWhenSlotIsClaimedButUnwritten() throws Exception {
        Pcq<Integer> q = Pcq.create(4);
        // Simulate a producer preempted between its claim and its write: claim slot 0 by hand.
        assertTrue(q.casProducerIndex(0, 1));
        assertEquals(1, q.size(), "a pending item counts in size()");
        assertFalse(q.isEmpty());
        assertNull(q.relaxedGet(), "relaxed get does not wait for a pending item");
        assertNull(q.relaxedPeek());
        assertEquals(0, q.drain(x -> { }, 10), "drain is relaxed");

        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Integer> got = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            started.countDown();
            got.set(q.get());
        });
        consumer.start();
        started.await();
        // The strict consumer must still be waiting: it may not report empty.
        consumer.join(100);
        assertTrue(consumer.isAlive(), "strict get returned while the claimed slot was unwritten");
        PcqFields.soElement(q.buffer, PcqFields.offset(0, q.mask), 42); // the producer finishes
        consumer.join(10_000);
        assertFalse(consumer.isAlive());
        assertEquals(42, got.get());
    }

    @Test
    void shouldWaitForPendingItemInPollUntilDeadlineThenReturnNull() throws Exception {
        Pcq<Integer> q = Pcq.create(4);
        assertTrue(q.casProducerIndex(0, 1)); // slot 0: claimed, never written (a stalled producer)
        assertTrue(q.put(7)); // slot 1: a completed put behind it

        long t0 = System.nanoTime();
        assertNull(q.poll(50, TimeUnit.MILLISECONDS), "the oldest slot stayed pending past the deadline");
        long waited = System.nanoTime() - t0;
        assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(50), "returned before the deadline: " + waited + " ns");
        assertTrue(waited < TimeUnit.SECONDS.toNanos(5), "overran the deadline: " + waited + " ns");
        assertNull(q.poll(0, TimeUnit.SECONDS), "a zero timeout does not wait for a pending slot");
        assertEquals(2, q.size(), "nothing was consumed");

        // Within its deadline poll is strict: it waits for the pending item, not past it to 7.
        AtomicReference<Object> got = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try {
                got.set(q.poll(30, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                got.set(e);
            }
        });
        consumer.start();
        consumer.join(100);
        assertTrue(consumer.isAlive(), "poll returned while the oldest slot was pending");
        PcqFields.soElement(q.buffer, PcqFields.offset(0, q.mask), 42); // the stalled producer finishes
        consumer.join(10_000);
        assertFalse(consumer.isAlive());
        assertEquals(42, got.get());
        assertEquals(7, q.get());
    }

    @Test
    void shouldInterruptTakeWaitingForPendingItem() throws Exception {
        Pcq<Integer> q = Pcq.create(4);
        assertTrue(q.casProducerIndex(0, 1)); // claimed, never written
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try {
                outcome.set(q.take());
            } catch (InterruptedException e) {
                outcome.set(e);
            }
        });
        consumer.start();
        consumer.join(100);
        assertTrue(consumer.isAlive(), "take returned while the only slot was pending");
        consumer.interrupt();
        consumer.join(10_000);
        assertFalse(consumer.isAlive(), "take did not answer the interrupt while waiting on a pending slot");
        assertTrue(outcome.get() instanceof InterruptedException, String.valueOf(outcome.get()));
        assertEquals(1, q.size(), "nothing was consumed");
    }

    @Test
    void shouldUnparkOncePerAnnouncement() {
        Pcq<Integer> q = Pcq.create(4);
        Thread neverStarted = new Thread(() -> { }, "announced-consumer");
        assertTrue(q.prepareToPark(neverStarted), "empty: the consumer may park");
        assertEquals(Pcq.PUT_AND_WOKE, q.put0(1), "the first producer after the announcement wakes the consumer");
        assertEquals(Pcq.PUT, q.put0(2), "the announcement was claimed: a second producer pays nothing");
        q.svWaiter(null);
        assertEquals(Pcq.PUT, q.put0(3), "no announcement, no wake-up");
    }

    @Test
    void shouldClearOnlyWhatWasClaimedWhenItStarted() throws Exception {
        Pcq<Integer> q = Pcq.create(8);
        q.put(1);
        q.put(2);
        q.clear();
        assertTrue(q.isEmpty());
        assertNull(q.get());

        // A producer that never stops: clear() still returns, each time.
        Pcq<Integer> busy = Pcq.create(1024);
        Thread producer = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                busy.put(5);
            }
        });
        producer.start();
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                for (int i = 0; i < 1_000; i++) {
                    busy.clear();
                }
            });
        } finally {
            producer.interrupt();
            producer.join(10_000);
        }
    }

    // --- blocking ------------------------------------------------------------------------------

    @Test
    void shouldReturnNullWhenPollTimesOut() throws InterruptedException {
        Pcq<Integer> q = Pcq.create(2);
        long t0 = System.nanoTime();
        assertNull(q.poll(20, TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(20), "returned before the timeout");
        assertNull(q.poll(0, TimeUnit.SECONDS));
        assertNull(q.poll(-5, TimeUnit.SECONDS));
        // toNanos saturates to Long.MIN_VALUE: the deadline arithmetic must not wrap into a long wait
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertNull(q.poll(Long.MIN_VALUE, TimeUnit.DAYS)));
        q.put(9);
        assertEquals(9, q.poll(0, TimeUnit.SECONDS));
    }

    @Test
    void shouldWakeParkedConsumerWhenProducerPuts() throws Exception {
        Pcq<Integer> q = Pcq.create(2);
        AtomicReference<Object> got = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try {
                got.set(q.take());
            } catch (InterruptedException e) {
                got.set(e);
            }
        });
        consumer.start();
        awaitParked(consumer);
        assertSame(consumer, q.lvWaiter(), "the parked consumer announced itself");
        assertEquals(Pcq.PUT_AND_WOKE, q.put0(5), "a put must wake a parked consumer");
        consumer.join(10_000);
        assertEquals(5, got.get());
        assertNull(q.lvWaiter(), "the consumer withdrew its announcement");
        assertEquals(Pcq.PUT, q.put0(6), "no wake-up is paid when nobody is parked");
    }

    @Test
    void shouldThrowInterruptedWhenInterruptedWhileParked() throws Exception {
        Pcq<Integer> q = Pcq.create(2);
        AtomicReference<Object> got = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try {
                got.set(q.poll(1, TimeUnit.HOURS));
            } catch (InterruptedException e) {
                got.set(e);
            }
        });
        consumer.start();
        awaitParked(consumer);
        consumer.interrupt();
        consumer.join(10_000);
        assertTrue(got.get() instanceof InterruptedException, String.valueOf(got.get()));
        q.put(1);
        assertEquals(1, q.size(), "an interrupted take consumed nothing");
    }

    @Test
    void shouldThrowInterruptedOnEntryWithoutConsuming() {
        Pcq<Integer> q = Pcq.create(2);
        q.put(1);
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, q::take);
        assertFalse(Thread.interrupted(), "interrupt status is cleared by the throw");
        assertEquals(1, q.size());
    }

    @Test
    void shouldDeliverEveryItemToBlockingConsumerWithManyProducers() throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Pcq<Integer> q = Pcq.create(7);
            int producers = 3;
            int perProducer = 50_000;
            Thread[] threads = new Thread[producers];
            for (int p = 0; p < producers; p++) {
                int id = p;
                threads[p] = new Thread(() -> {
                    for (int i = 0; i < perProducer; i++) {
                        Integer item = id * perProducer + i;
                        while (!q.put(item)) {
                            Thread.onSpinWait();
                        }
                    }
                });
                threads[p].start();
            }
            int[] lastSeen = new int[producers];
            java.util.Arrays.fill(lastSeen, -1);
            boolean[] seen = new boolean[producers * perProducer];
            for (int n = 0; n < producers * perProducer; n++) {
                int item = q.take();
                assertFalse(seen[item], "duplicate " + item);
                seen[item] = true;
                int producer = item / perProducer;
                assertTrue(item % perProducer > lastSeen[producer], "per-producer FIFO broken at " + item);
                lastSeen[producer] = item % perProducer;
            }
            for (Thread t : threads) {
                t.join();
            }
            assertNull(q.get());
        });
    }

    @Test
    void shouldReleaseCarrierWhenVirtualThreadConsumerParks() throws Exception {
        Pcq<Integer> q = Pcq.create(2);
        AtomicReference<Object> got = new AtomicReference<>();
        Thread consumer = Thread.ofVirtual().start(() -> {
            try {
                got.set(q.take());
            } catch (InterruptedException e) {
                got.set(e);
            }
        });
        awaitParked(consumer);
        q.put(3);
        consumer.join(10_000);
        assertEquals(3, got.get());
    }

    // --- size contract under concurrency -------------------------------------------------------

    @Test
    void shouldKeepSizeWithinBoundsUnderConcurrency() throws Exception {
        Pcq<Integer> q = Pcq.create(5);
        Integer item = 1;
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 200_000; i++) {
                q.put(item);
            }
        });
        Thread consumer = new Thread(() -> {
            for (int i = 0; i < 200_000; i++) {
                q.get();
            }
        });
        producer.start();
        consumer.start();
        while (producer.isAlive() || consumer.isAlive()) {
            int size = q.size();
            assertTrue(size >= 0 && size <= 5, "size out of bounds: " + size);
        }
        producer.join();
        consumer.join();
    }

    // --- single-consumer misuse ----------------------------------------------------------------

    @Test
    void shouldDetectSecondConsumerWhenAssertionsEnabled() throws Exception {
        assertTrue(Pcq.class.desiredAssertionStatus(), "tests run with -ea (see pom.xml)");
        Pcq<Integer> q = Pcq.create(2);
        Thread consumer = new Thread(() -> {
            try {
                q.take();
            } catch (InterruptedException ignored) {
                // the test ends it this way
            }
        }, "first-consumer");
        consumer.start();
        awaitParked(consumer); // the first consumer is inside take()
        IllegalStateException e = assertThrows(IllegalStateException.class, q::get);
        assertTrue(e.getMessage().contains("first-consumer"), e.getMessage());
        assertThrows(IllegalStateException.class, q::peek);
        assertThrows(IllegalStateException.class, () -> q.drain(x -> { }, 1));
        assertThrows(IllegalStateException.class, () -> q.poll(1, TimeUnit.MILLISECONDS));
        assertThrows(IllegalStateException.class, q::relaxedGet);
        assertThrows(IllegalStateException.class, q::relaxedPeek);
        assertThrows(IllegalStateException.class, q::take);
        IllegalStateException c = assertThrows(IllegalStateException.class, q::clear);
        assertTrue(c.getMessage().contains("clear()"), c.getMessage());
        consumer.interrupt();
        consumer.join(10_000);
        // After the first consumer left, a hand-over (join) makes this thread a legal consumer.
        q.put(1);
        assertEquals(1, q.get());
    }

    // --- unsupported Queue operations ----------------------------------------------------------

    @Test
    void shouldRejectTraversalAndAddAllClearly() {
        Pcq<Integer> q = Pcq.create(3);
        q.put(1);
        assertThrows(UnsupportedOperationException.class, q::iterator);
        assertThrows(UnsupportedOperationException.class, () -> q.contains(1));
        assertThrows(UnsupportedOperationException.class, () -> q.remove((Object) 1));
        assertThrows(UnsupportedOperationException.class, q::toArray);
        // Every traversal fails at the call itself, whatever its argument, and takes nothing.
        assertThrows(UnsupportedOperationException.class, q::spliterator);
        assertThrows(UnsupportedOperationException.class, q::stream);
        assertThrows(UnsupportedOperationException.class, q::parallelStream);
        assertThrows(UnsupportedOperationException.class, () -> q.forEach(x -> { }));
        assertThrows(UnsupportedOperationException.class, () -> q.removeIf(x -> true));
        assertThrows(UnsupportedOperationException.class, () -> q.containsAll(List.of()));
        assertThrows(UnsupportedOperationException.class, () -> new java.util.ArrayList<>(q));
        UnsupportedOperationException e =
                assertThrows(UnsupportedOperationException.class, () -> q.addAll(List.of(2, 3)));
        assertTrue(e.getMessage().contains("put"), e.getMessage());
        assertEquals(1, q.size(), "nothing half-applied");
        assertEquals("Pcq[size=1, capacity=3]", q.toString());
        q.clear();
        assertTrue(q.isEmpty());
    }

    private static void awaitParked(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING)
                || LockSupport.getBlocker(t) == null) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("thread never parked: " + t.getState());
            }
            Thread.onSpinWait();
        }
    }
}
