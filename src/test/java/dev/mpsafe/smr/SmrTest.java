package dev.mpsafe.smr;

import static dev.mpsafe.sync.GraceDomainContractTest.readerInside;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Section;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** SMR's cookies, modes, sequence arithmetic and argument checks (the shared contract is in Smr*ContractTest). */
class SmrTest {

    static Stream<Smr.Mode> modes() {
        return Stream.of(Smr.Mode.DEFAULT, Smr.Mode.LAZY, Smr.Mode.deferred(4));
    }

    /**
     * A domain in {@code mode}; LAZY with a zero tick, so that every poll may perform the
     * membarrier it needs and these tests see goals pass as soon as the readers allow (the tick
     * itself is tested in {@link #shouldPerformAtMostOneMembarrierPerTickInLazyPollsButNotMakeAwaitWait}).
     */
    private static Smr smr(Smr.Mode mode) {
        String why = Smr.lazyUnavailableReason();
        return Smr.create(GraceOptions.named("smr-test"), mode, 0, 1L << Smr.MAX_DELTA_LOG2, 0, why == null, why);
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldReachGoalAtOnceWithoutReaders(Smr.Mode mode) {
        Smr s = smr(mode);
        long goal = s.advance();
        assertTrue(s.poll(goal), "no reader: the goal passes at the first poll");
        s.await(goal);
        s.synchronize();
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldNotReachGoalWhileReaderThatEnteredBeforeIsInside(Smr.Mode mode) throws Exception {
        Smr s = smr(mode);
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave);
        long goal = s.advance();
        for (int i = 0; i < 100; i++) {
            assertFalse(s.poll(goal), "poll " + i + " passed a goal while an older reader is inside");
        }
        leave.countDown();
        t.join();
        assertTrue(s.poll(goal), "the reader left: the goal passes");
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldReachGoalDespiteReaderThatEnteredAfterTheGoal(Smr.Mode mode) throws Exception {
        Smr s = smr(mode);
        long goal = s.advance();
        assertTrue(s.poll(goal)); // forces DEFERRED's advance: the reader below then sees wr >= goal
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave);
        long later = s.advance();
        assertTrue(s.poll(goal), "a reader that entered after the goal passed does not hold it back");
        assertFalse(s.poll(later), "but it holds back a goal taken while it is inside");
        leave.countDown();
        t.join();
        assertTrue(s.poll(later));
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldParkInAwaitUntilReaderLeaves(Smr.Mode mode) throws Exception {
        Smr s = smr(mode);
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave);
        long goal = s.advance();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try {
                s.await(goal);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "smr-waiter");
        waiter.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Thread.State seen; // one read per look: between two short parks it may be awake
            while ((seen = waiter.getState()) != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(Thread.State.TIMED_WAITING, seen,
                    "await parks (with a timeout) while the reader stays, rather than spinning");
        } finally {
            leave.countDown();
        }
        t.join();
        waiter.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(waiter.isAlive(), "await returned after the reader left");
        assertEquals(null, failure.get());
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldRejectWaitingInsideSectionButAllowPollAndAdvance(Smr.Mode mode) {
        Smr s = smr(mode);
        try (Section _ = s.enter()) {
            long goal = s.advance(); // allowed inside a section
            assertFalse(s.poll(goal), "our own section holds the goal back");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.await(goal));
            assertTrue(e.getMessage().contains("await()") && e.getMessage().contains("wait for itself"),
                    e.getMessage());
            assertThrows(IllegalStateException.class, s::synchronize);
        }
    }

    @Test
    void shouldMoveWriteSequenceOnEveryAdvanceInDefaultAndLazy() {
        for (Smr.Mode mode : new Smr.Mode[] {Smr.Mode.DEFAULT, Smr.Mode.LAZY}) {
            Smr s = smr(mode);
            long c0 = s.current();
            long g1 = s.advance();
            long g2 = s.advance();
            assertEquals(c0 + 1, g1, mode.toString());
            assertEquals(c0 + 2, g2, mode.toString());
            assertEquals(g2, s.current(), mode.toString());
        }
    }

    @Test
    void shouldMoveWriteSequenceOnlyEveryLimitAdvancesInDeferred() {
        Smr s = smr(Smr.Mode.deferred(4));
        long c0 = s.current();
        for (int i = 1; i < 4; i++) {
            assertEquals(c0 + 1, s.advance(), "deferred advance " + i + " returns the next sequence");
            assertEquals(c0, s.current(), "deferred advance " + i + " writes nothing");
        }
        assertEquals(c0 + 1, s.advance(), "the 4th advance moves the sequence");
        assertEquals(c0 + 1, s.current());
    }

    @Test
    void shouldForceDeferredAdvanceWhenPolledOrAwaited() {
        Smr s = smr(Smr.Mode.deferred(1000));
        long c0 = s.current();
        long goal = s.advance();
        assertEquals(c0, s.current(), "not moved yet");
        assertTrue(s.poll(goal), "poll forces the advance it needs");
        assertEquals(goal, s.current(), "the forced advance moved the write sequence to the goal");
        long goal2 = s.advance();
        s.await(goal2);
        assertEquals(goal2, s.current(), "await forces it too");
    }

    @Test
    void shouldHoldBackForcedDeferredGoalForReaderThatEnteredBeforeTheForce() throws Exception {
        Smr s = smr(Smr.Mode.deferred(1000));
        long goal = s.advance(); // wr not moved: a reader entering now reads wr = goal - 1
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave);
        assertFalse(s.poll(goal), "the reader read the old sequence: the forced goal must wait for it");
        leave.countDown();
        t.join();
        assertTrue(s.poll(goal));
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldCompareAcrossTheWrapPoint(Smr.Mode mode) throws Exception {
        long start = Smr.SEQ_MASK - 1; // every mode's 8 goals cross the wrap point
        Smr s = Smr.create(GraceOptions.named("wrap"), mode, start, 1L << Smr.MAX_DELTA_LOG2, true, null);
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave); // reads a sequence just below the wrap point
        long[] goals = new long[8];
        for (int i = 0; i < goals.length; i++) {
            goals[i] = s.advance();
        }
        assertTrue(goals[7] < goals[0], "the sequence wrapped: " + java.util.Arrays.toString(goals));
        for (long g : goals) {
            assertTrue(g >= 0 && g <= Smr.SEQ_MASK, "a goal is a sequence: " + g);
            assertFalse(s.poll(g), "goal " + g + " after the wrap passed while an older reader is inside");
        }
        leave.countDown();
        t.join();
        for (long g : goals) {
            assertTrue(s.poll(g), "goal " + g + " passes after the reader left");
        }
        assertTrue(Smr.delta(0, Smr.SEQ_MASK) == 1, "0 is one step after SEQ_MASK");
        assertTrue(Smr.delta(Smr.SEQ_MASK, 0) == -1);
    }

    @Test
    void shouldStartAtTheWrapPointAndKeepWorkingAfterManyAdvances() {
        Smr s = Smr.create(GraceOptions.named("wrap2"), Smr.Mode.DEFAULT, Smr.SEQ_MASK, 1L << Smr.MAX_DELTA_LOG2,
                true, null);
        long goal = 0;
        for (int i = 0; i < 10_000; i++) {
            goal = s.advance();
            assertTrue(s.poll(goal));
        }
        assertEquals(9_999, goal, "wrapped from SEQ_MASK to 0 and counted on");
    }

    @Test
    void shouldForceWriterThatRunsTooFarAheadOfOldestReaderToWait() throws Exception {
        long maxDelta = 8;
        Smr s = Smr.create(GraceOptions.named("ahead"), Smr.Mode.DEFAULT, 100, maxDelta, true, null);
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave);
        AtomicLong advances = new AtomicLong();
        Thread writer = new Thread(() -> {
            for (int i = 0; i < 3 * maxDelta; i++) {
                s.advance();
                advances.incrementAndGet();
            }
        }, "smr-writer");
        writer.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (writer.getState() != Thread.State.TIMED_WAITING && writer.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(writer.isAlive(), "the writer must be held back by the reader");
        long held = advances.get();
        assertTrue(held < maxDelta, "advanced " + held + " times; at most " + (maxDelta - 1)
                + " sequences ahead of the oldest reader before waiting");
        leave.countDown();
        t.join();
        writer.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(writer.isAlive());
        assertEquals(3 * maxDelta, advances.get());
    }

    @Test
    void shouldThrowInsteadOfWaitingForItselfWhenTooFarAheadInsideSection() {
        long maxDelta = 4;
        Smr s = Smr.create(GraceOptions.named("ahead-self"), Smr.Mode.DEFAULT, 0, maxDelta, true, null);
        Participant p = s.register();
        p.enter();
        try {
            long before = s.current();
            int ok = 0;
            IllegalStateException e = null;
            for (int i = 0; i < 10 && e == null; i++) {
                try {
                    s.advance();
                    ok++;
                } catch (IllegalStateException x) {
                    e = x;
                }
            }
            assertTrue(e != null, "advance must refuse to wait for the caller's own section");
            assertTrue(e.getMessage().contains("inside a section"), e.getMessage());
            assertEquals(before + ok, s.current(), "the refused advance changed nothing");
        } finally {
            p.exit();
        }
        s.advance(); // outside the section it proceeds
    }

    /**
     * Review finding: the too-far-ahead test reads the cached bound rd, which only scans raise.
     * After advances nobody polled, a writer inside a section that began at the current sequence
     * was refused although no older reader existed; one scan shows there is nothing to wait for.
     */
    @Test
    void shouldNotRefuseAdvanceInsideASectionWhenOnlyTheCachedBoundIsStale() {
        long maxDelta = 4;
        Smr s = Smr.create(GraceOptions.named("stale-rd"), Smr.Mode.DEFAULT, 0, maxDelta, true, null);
        for (int i = 0; i < 100 && s.current() + 1 - s.readSequence() < maxDelta; i++) {
            s.advance(); // outside any section, nobody polling: rd falls behind wr
        }
        assertTrue(s.current() + 1 - s.readSequence() >= maxDelta, "rd is stale: " + s);
        Participant p = s.register();
        p.enter(); // the only reader, at the current sequence
        try {
            long goal = s.advance();
            assertEquals(s.current(), goal);
        } finally {
            p.exit();
        }
    }

    /**
     * The fenced marker of the one reader class is what makes DEFAULT and DEFERRED readers sound
     * (with it forced off, jcstress SmrStoreLoadTest fails in 3 of 14 quick-mode configurations).
     */
    @Test
    void shouldFenceReadersInDefaultAndDeferred() {
        assertTrue(smr(Smr.Mode.DEFAULT).register().fenced(), "DEFAULT");
        assertTrue(smr(Smr.Mode.deferred(4)).register().fenced(), "DEFERRED");
    }

    @Test
    void shouldFallBackToDefaultWhenMembarrierUnavailable() {
        Smr s = Smr.create(GraceOptions.named("fallback"), Smr.Mode.LAZY, 0, 1L << Smr.MAX_DELTA_LOG2, false,
                "test: no membarrier");
        assertEquals(Smr.Mode.DEFAULT, s.mode());
        assertTrue(s.register().fenced(), "fallen-back readers fence");
    }

    @Test
    void shouldUseFenceFreeReadersInLazyWhereMembarrierWorks() {
        assumeTrue(Smr.lazyUnavailableReason() == null, "membarrier unavailable: " + Smr.lazyUnavailableReason());
        Smr s = smr(Smr.Mode.LAZY);
        assertEquals(Smr.Mode.LAZY, s.mode());
        assertFalse(s.register().fenced(), "LAZY readers do not fence");
    }

    /**
     * A LAZY reader announces the sequence that scans leave in its slot, not the write sequence.
     * A reader that runs one section after another must still let a goal pass: the first scan for
     * the goal gives its next section a sequence at or past the goal, so that section does not
     * hold the goal back although the reader never leaves its sections for long. Fails if scans
     * stop storing that sequence: the second section then announces the old one.
     */
    @Test
    void shouldLetALazyReaderInBackToBackSectionsPassTheGoalFromItsNextSection() throws Exception {
        assumeTrue(Smr.lazyUnavailableReason() == null, "membarrier unavailable: " + Smr.lazyUnavailableReason());
        Smr s = smr(Smr.Mode.LAZY);
        CountDownLatch inFirst = new CountDownLatch(1);
        CountDownLatch leaveFirst = new CountDownLatch(1);
        CountDownLatch inSecond = new CountDownLatch(1);
        CountDownLatch leaveSecond = new CountDownLatch(1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                Smr.Reader r = s.register();
                r.enter();
                inFirst.countDown();
                leaveFirst.await();
                r.exit();
                r.enter(); // at once: no gap in which a scan could find the reader outside
                inSecond.countDown();
                leaveSecond.await();
                r.exit();
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "lazy-back-to-back");
        reader.start();
        assertTrue(inFirst.await(10, TimeUnit.SECONDS));
        long goal = s.advance();
        assertFalse(s.poll(goal), "the first section began before the goal");
        leaveFirst.countDown();
        assertTrue(inSecond.await(10, TimeUnit.SECONDS));
        try {
            assertTrue(s.poll(goal), "the second section began after the goal's first scan: it must not hold the goal");
        } finally {
            leaveSecond.countDown();
            reader.join();
        }
        assertEquals(null, failed.get());
    }

    /**
     * Pollers race to refresh a LAZY reader's next sequence. A scan that read the word and then
     * stalled (here: the older scan's read, then a whole newer poll, then the older scan's write)
     * must not put its older sequence back over the newer one: that would hold back goals the newer
     * one passed, and after a long enough stall read as ahead of every goal. Fails with a plain
     * store in place of the CAS ("expected 6 but was 1").
     */
    @Test
    void shouldNotLetAStalledScanPutBackAnOlderLazySequence() {
        assumeTrue(Smr.lazyUnavailableReason() == null, "membarrier unavailable: " + Smr.lazyUnavailableReason());
        Smr s = smr(Smr.Mode.LAZY);
        Smr.Reader r = s.register(); // next sequence 0
        long older = s.advance(); // 1
        long seen = r.nextWord(); // the stalled scan read the word for goal 1, and will store 1
        for (int i = 0; i < 5; i++) {
            s.advance();
        }
        assertTrue(s.poll(s.current()), "a newer scan: its membarrier covers 6, and it stores 6");
        assertEquals(6, r.nextSequence());
        r.refreshNextSequence(seen, older, older, 1L << Smr.MAX_DELTA_LOG2 >>> 2); // the stalled scan resumes
        assertEquals(6, r.nextSequence(), "the stalled scan put its older sequence back");
    }

    /**
     * The wrap bound of LAZY's sequences: a scan brings every slot's next sequence to within a
     * quarter of the wait distance of its upper bound, even when the goal it scans for is old and
     * the sequence already covers it. Without that rule a slot whose sequence covers the old goals
     * that get polled would keep it while the write sequence runs on, past the wrap distance in
     * the end. Fails without the rule: the reader's sequence stays where its constructor put it.
     */
    @Test
    void shouldKeepAnIdleLazyReadersNextSequenceWithinAQuarterOfTheWaitDistance() {
        assumeTrue(Smr.lazyUnavailableReason() == null, "membarrier unavailable: " + Smr.lazyUnavailableReason());
        final long maxDelta = 16;
        Smr s = Smr.create(GraceOptions.named("lazy-stale"), Smr.Mode.LAZY, 0, maxDelta, 0, true, null);
        long old = s.advance();
        Smr.Reader r = s.register(); // this thread's slot, idle from here on
        assertEquals(old, r.nextSequence(), "a new slot starts at the write sequence");
        for (int i = 0; i < 10; i++) {
            s.advance(); // no poll: nothing scans
        }
        assertEquals(old, r.nextSequence(), "no scan, no store");
        assertTrue(s.poll(old), "the first scan: its membarrier covers the write sequence, 10 past the old goal");
        assertEquals(s.current(), r.nextSequence(), "10 sequences behind the scan's bound is more than a quarter"
                + " of the wait distance (" + maxDelta + "), though it covers the goal: refreshed");
    }

    @Test
    void shouldPerformAtMostOneMembarrierPerTickInLazyPollsButNotMakeAwaitWait() {
        assumeTrue(Smr.lazyUnavailableReason() == null, "membarrier unavailable: " + Smr.lazyUnavailableReason());
        long hour = TimeUnit.HOURS.toNanos(1);
        Smr s = Smr.create(GraceOptions.named("lazy-tick"), Smr.Mode.LAZY, 0, 1L << Smr.MAX_DELTA_LOG2, hour, true,
                null);
        long g1 = s.advance();
        long g2 = s.advance();
        assertTrue(s.poll(g2), "the first poll may tick at once");
        assertEquals(1, s.lazyTicks());
        assertTrue(s.poll(g1), "a goal the last membarrier covers passes without another");
        long g3 = s.advance();
        for (int i = 0; i < 100; i++) {
            assertFalse(s.poll(g3), "an hour-long tick: no membarrier covers g3 yet, so it is not reached");
        }
        assertEquals(1, s.lazyTicks(), "polls within a tick performed no membarrier");
        s.await(g3); // await does not wait for the tick
        assertEquals(2, s.lazyTicks());
        assertTrue(s.poll(g3));

        Smr every = Smr.create(GraceOptions.named("lazy-tick-0"), Smr.Mode.LAZY, 0, 1L << Smr.MAX_DELTA_LOG2, 0, true,
                null);
        for (int i = 1; i <= 3; i++) {
            assertTrue(every.poll(every.advance()));
            assertEquals(i, every.lazyTicks(), "a zero tick allows a membarrier per uncovered poll");
        }
    }

    @Test
    void shouldRejectBadModesAndGoalsWithClearMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Smr.Mode.deferred(0));
        assertTrue(e.getMessage().contains("got 0") && e.getMessage().contains("[1, "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Smr.Mode.deferred(Smr.MAX_DEFERRED_LIMIT + 1));
        assertTrue(e.getMessage().contains(String.valueOf(Smr.MAX_DEFERRED_LIMIT + 1)), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Smr.Mode(Smr.Kind.LAZY, 3));
        assertTrue(e.getMessage().contains("LAZY takes no limit"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Smr.create("x", null));
        assertThrows(NullPointerException.class, () -> Smr.create((String) null, Smr.Mode.DEFAULT));

        Smr s = smr(Smr.Mode.DEFAULT);
        long cur = s.current();
        e = assertThrows(IllegalArgumentException.class, () -> s.poll(cur + 5));
        assertTrue(e.getMessage().contains("ahead of the write sequence " + cur), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.poll(-1));
        assertTrue(e.getMessage().contains("goal -1 is not a sequence"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.await(Smr.SEQ_MASK + 1));
        assertEquals(cur, s.current(), "rejected calls changed nothing");
    }

    @ParameterizedTest
    @MethodSource("modes")
    void shouldNotCountDeadThreadsSectionAsRunning(Smr.Mode mode) throws Exception {
        Smr s = smr(mode);
        Thread t = new Thread(() -> s.register().enter(), "dies-inside"); // never exits
        t.start();
        t.join();
        long goal = s.advance();
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> s.await(goal));
    }

    @Test
    void shouldReportStallOfAwaitWithTheReaderThread() throws Exception {
        AtomicReference<String> reported = new AtomicReference<>();
        CountDownLatch stalled = new CountDownLatch(1);
        Smr s = Smr.create(GraceOptions.named("stall").withStallThreshold(Duration.ofMillis(20))
                .withStallHandler(st -> {
                    reported.compareAndSet(null, st.reader().getName());
                    stalled.countDown();
                }), Smr.Mode.DEFAULT);
        CountDownLatch leave = new CountDownLatch(1);
        Thread t = readerInside(s, "smr-reader", leave);
        long goal = s.advance();
        Thread waiter = new Thread(() -> s.await(goal), "smr-stalled-writer");
        waiter.start();
        assertTrue(stalled.await(10, TimeUnit.SECONDS), "no stall reported within 10 s");
        leave.countDown();
        t.join();
        waiter.join();
        assertEquals("smr-reader", reported.get());
    }
}
