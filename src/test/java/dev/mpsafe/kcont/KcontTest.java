package dev.mpsafe.kcont;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The kcont contract on manual groups with an injected ticker: every timing here is decided by the
 * test, so nothing depends on the machine's speed. Threaded behaviour is in {@link KcontThreadedTest}.
 */
class KcontTest {

    static final long MS = 1_000_000L;

    /** A clock the test moves by hand. */
    static final class Clock {
        final AtomicLong nanos = new AtomicLong(1_000_000_000L);

        long get() {
            return nanos.get();
        }

        void advance(long by) {
            nanos.addAndGet(by);
        }
    }

    final Clock clock = new Clock();

    KcontGroup.Builder manual() {
        return KcontGroup.builder("t").manual().workers(1).ticker(clock::get).tickLength(Duration.ofMillis(1));
    }

    // ------------------------------------------------------------------------------------------
    // Coalescing

    @Test
    void shouldCoalesceAndCountWhenScheduledWhilePending() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger seenCount = new AtomicInteger();
        Kcont[] self = new Kcont[1];
        self[0] = w.kcont("k", Priority.NET, () -> {
            runs.incrementAndGet();
            seenCount.set(self[0].runPendingCount());
        });
        assertTrue(self[0].schedule());
        assertFalse(self[0].schedule());
        assertFalse(self[0].schedule());
        assertEquals(3, self[0].pendingCount());
        assertEquals(1, w.runRound());
        assertEquals(1, runs.get());
        assertEquals(3, seenCount.get());
        assertEquals(0, self[0].pendingCount());
        assertEquals(2, w.stats().coalesced());
        assertEquals(0, w.runRound());
        assertEquals(1, runs.get());
    }

    @Test
    void shouldRunAgainWhenScheduledDuringItsRun() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont[] self = new Kcont[1];
        self[0] = w.kcont("k", Priority.NET, () -> {
            if (runs.incrementAndGet() == 1) {
                assertTrue(self[0].isRunning());
                assertTrue(self[0].schedule(), "not pending during its own run: a new request");
            }
        });
        self[0].schedule();
        assertEquals(1, w.runRound());
        assertTrue(self[0].isPending());
        assertEquals(1, w.runRound());
        assertEquals(2, runs.get());
        assertFalse(self[0].isPending());
    }

    // ------------------------------------------------------------------------------------------
    // Delays on the injected clock

    @Test
    void shouldNotRunBeforeDelayAndRunInItsDeadlineTick() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.CLOCK, runs::incrementAndGet);
        assertTrue(k.schedule(5, TimeUnit.MILLISECONDS));
        clock.advance(5 * MS - 1);
        assertEquals(0, w.runRound());
        clock.advance(1);
        assertEquals(1, w.runRound());
        assertEquals(1, runs.get());
        assertEquals(1, w.stats().lateness().countAt(0));
    }

    @Test
    void shouldNotRunATimerEarlyWhenRequestedAfterTheWorkerIdledForMoreThanHalfTheDeadlineWindow() {
        // Deadlines travel as their 40 low bits; the worker rebuilds them around its wheel's tick.
        // With 1 us ticks, 2^39 ticks are about six days of idling with an empty wheel.
        KcontGroup g = KcontGroup.builder("t").manual().workers(1).ticker(clock::get)
                .tickLength(Duration.ofNanos(1_000)).build();
        Worker w = g.worker(0);
        assertEquals(0, w.runRound());
        clock.advance((1L << 39) * 1_000); // idle: no round runs
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.CLOCK, runs::incrementAndGet);
        assertTrue(k.schedule(1, TimeUnit.SECONDS));
        assertEquals(0, w.runRound(), "a 1 s timer ran at once");
        clock.advance(1_000_000_000L - 1_000);
        assertEquals(0, w.runRound(), "ran a tick before its delay");
        clock.advance(1_000);
        assertEquals(1, w.runRound());
        assertEquals(1, runs.get());
    }

    @Test
    void shouldRoundDelaysUpToTheNextTick() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.CLOCK, runs::incrementAndGet);
        k.schedule(1500, TimeUnit.MICROSECONDS);
        clock.advance(MS + 600_000); // 1.6 ms: tick 1, but the delay ends at 1.5 ms and tick 2 starts at 2 ms
        assertEquals(0, w.runRound(), "ran in tick 1, before its 1.5 ms delay rounded up to tick 2");
        clock.advance(400_000);
        assertEquals(1, w.runRound());
    }

    @Test
    void shouldFireEachDelayExactlyAtItsTickThroughBothLevelsAndTheFarList() {
        // A 16-slot wheel: level 0 covers 16 ticks, level 1 covers 256, the far list the rest.
        KcontGroup g = manual().wheelSize(16).build();
        Worker w = g.worker(0);
        long[] delays = {1, 15, 16, 17, 100, 255, 256, 257, 4_000, 70_000};
        List<Long> fired = new ArrayList<>();
        long start = clock.get();
        for (long d : delays) {
            w.kcont("k" + d, Priority.CLOCK, () -> fired.add((clock.get() - start) / MS)).schedule(d, TimeUnit.MILLISECONDS);
        }
        w.runRound(); // take them from the inbox into the wheel
        for (long d : delays) {
            clock.nanos.set(start + (d - 1) * MS);
            w.runRound();
            assertFalse(fired.contains(d), "fired before tick " + d + ": " + fired);
            clock.nanos.set(start + d * MS);
            w.runRound();
            assertTrue(fired.contains(d), "not fired in tick " + d + ": " + fired);
        }
        assertEquals(delays.length, fired.size());
        assertEquals(delays.length, w.stats().lateness().countAt(0));
        assertEquals(0, w.stats().queueDepth());
    }

    @Test
    void shouldFireLateTimersInOneRoundAfterALongGapAndMeasureTheirLateness() {
        KcontGroup g = manual().wheelSize(16).build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        for (int d : new int[] {3, 40, 300}) {
            w.kcont("k" + d, Priority.CLOCK, runs::incrementAndGet).schedule(d, TimeUnit.MILLISECONDS);
        }
        w.runRound();
        clock.advance(303 * MS);
        assertEquals(3, w.runRound());
        LatenessHistogram h = w.stats().lateness();
        assertEquals(3, h.count());
        assertEquals(1, h.countAt(3), "the 300 ms timer ran 3 ticks late: " + h);
        assertEquals(511, h.max(), "the 3 ms timer ran 300 ticks late, in the [256, 511] bucket: " + h);
        assertEquals(511, h.percentile(0.5), "the 40 ms timer ran 263 ticks late: " + h);
        assertEquals(3, h.percentile(0.33), h.toString());
    }

    // ------------------------------------------------------------------------------------------
    // Reschedule and cancel

    @Test
    void shouldMoveDeadlineEarlierAndLaterWithReschedule() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.CLOCK, runs::incrementAndGet);
        k.schedule(10, TimeUnit.MILLISECONDS);
        w.runRound();
        assertTrue(k.reschedule(2, TimeUnit.MILLISECONDS));
        clock.advance(2 * MS);
        assertEquals(1, w.runRound());
        clock.advance(10 * MS);
        assertEquals(0, w.runRound(), "the old 10 ms deadline must not fire again");

        k.schedule(2, TimeUnit.MILLISECONDS);
        w.runRound();
        assertTrue(k.reschedule(10, TimeUnit.MILLISECONDS));
        clock.advance(2 * MS);
        assertEquals(0, w.runRound(), "fired at the old 2 ms deadline");
        clock.advance(8 * MS);
        assertEquals(1, w.runRound());
        assertEquals(2, runs.get());

        assertFalse(k.reschedule(1, TimeUnit.MILLISECONDS), "reschedule of an idle kcont does nothing");
        assertFalse(k.isPending());
        assertTrue(k.schedule(3, TimeUnit.MILLISECONDS));
        assertTrue(k.reschedule(0, TimeUnit.MILLISECONDS), "delay 0: as soon as possible");
        assertEquals(1, w.runRound());
    }

    @Test
    void shouldReportPendingOnCancelAndNeverRunTheCancelledRequest() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.NET, runs::incrementAndGet);
        assertFalse(k.cancel());
        k.schedule();
        assertTrue(k.cancel());
        assertFalse(k.cancel());
        assertEquals(0, w.runRound());

        k.schedule(5, TimeUnit.MILLISECONDS);
        w.runRound(); // linked in the wheel
        assertTrue(k.cancel());
        clock.advance(6 * MS);
        assertEquals(0, w.runRound());
        assertEquals(0, runs.get());
        assertEquals(0, w.stats().queueDepth(), "the stale wheel entry is unlinked when its tick comes");
    }

    @Test
    void shouldRunOnceWhenCancelledTimerIsScheduledAgainImmediately() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.NET, runs::incrementAndGet);
        k.schedule(5, TimeUnit.MILLISECONDS);
        w.runRound();
        k.cancel();
        k.schedule();
        assertEquals(1, w.runRound());
        clock.advance(5 * MS);
        assertEquals(0, w.runRound());
        assertEquals(1, runs.get());
    }

    @Test
    void shouldUseTheLaterRequestsDeadlineWhenCancelledAndScheduledBeforeTheWorkerLooks() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w.kcont("k", Priority.NET, runs::incrementAndGet);
        k.schedule(2, TimeUnit.MILLISECONDS);
        w.runRound();
        k.cancel();
        k.schedule(7, TimeUnit.MILLISECONDS);
        clock.advance(2 * MS);
        assertEquals(0, w.runRound(), "ran at the cancelled request's deadline");
        clock.advance(5 * MS);
        assertEquals(1, w.runRound());
    }

    // ------------------------------------------------------------------------------------------
    // Priority classes and budgets

    @Test
    void shouldServeTimersThenClockNetBulkAndEveryClassEachRound() {
        KcontGroup g = manual().budget(Priority.NET, 3).budget(Priority.BULK, 2).build();
        Worker w = g.worker(0);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            w.kcont("net" + i, Priority.NET, () -> order.add("N")).schedule();
            w.kcont("bulk" + i, Priority.BULK, () -> order.add("B")).schedule();
        }
        w.kcont("clock", Priority.CLOCK, () -> order.add("C")).schedule();
        Kcont timer = w.kcont("timer", Priority.BULK, () -> order.add("T"));
        timer.schedule(1, TimeUnit.MILLISECONDS);
        clock.advance(MS);
        assertEquals(1 + 1 + 3 + 2, w.runRound());
        assertEquals(List.of("T", "C", "N", "N", "N", "B", "B"), order);
        WorkerStats s = w.stats();
        assertEquals(1, s.netSqueezes());
        assertEquals(1, s.bulkSqueezes());
        assertEquals(0, s.clockSqueezes());
        order.clear();
        assertEquals(2 + 2, w.runRound());
        assertEquals(List.of("N", "N", "B", "B"), order);
        assertEquals(1, w.runRound());
        assertEquals(2, w.stats().bulkSqueezes());
    }

    @Test
    void shouldStopAClassAtTheRoundTimeBudgetButStillServeEveryClass() {
        KcontGroup g = manual().roundTime(Duration.ofMillis(2)).tickLength(Duration.ofMillis(100)).build();
        Worker w = g.worker(0);
        AtomicInteger net = new AtomicInteger();
        AtomicInteger bulk = new AtomicInteger();
        for (int i = 0; i < 10; i++) {
            w.kcont("net" + i, Priority.NET, () -> {
                net.incrementAndGet();
                clock.advance(MS); // each NET run takes 1 ms of the injected clock
            }).schedule();
        }
        for (int i = 0; i < 3; i++) {
            w.kcont("bulk" + i, Priority.BULK, bulk::incrementAndGet).schedule();
        }
        w.runRound();
        assertEquals(2, net.get(), "2 ms round budget, 1 ms per run");
        assertEquals(1, bulk.get(), "BULK gets at least one run even after the budget is spent");
        assertEquals(1, w.stats().netSqueezes());
        assertEquals(1, w.stats().bulkSqueezes());
    }

    @Test
    void shouldStopNetAsSoonAsATimerIsDueAndRunTheTimerFirstNextRound() {
        KcontGroup g = manual().build(); // 1 ms ticks, 2 ms round budget, 300 NET per round
        Worker w = g.worker(0);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            w.kcont("net" + i, Priority.NET, () -> {
                order.add("N");
                clock.advance(300_000); // 0.3 ms per NET run
            }).schedule();
        }
        w.kcont("timer", Priority.CLOCK, () -> order.add("T")).schedule(1, TimeUnit.MILLISECONDS);
        w.runRound();
        assertEquals(List.of("N", "N", "N", "N"), order, "NET must yield once the timer's tick (1 ms) has begun");
        order.clear();
        w.runRound();
        assertEquals("T", order.get(0));
        assertEquals(1, w.stats().lateness().countAt(0));
    }

    // ------------------------------------------------------------------------------------------
    // Failures

    @Test
    void shouldCatchCountAndReportAThrowingContinuationAndKeepServing() {
        AtomicReference<Kcont> failed = new AtomicReference<>();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        KcontGroup g = manual().errorHandler((k, t) -> {
            failed.set(k);
            thrown.set(t);
        }).build();
        Worker w = g.worker(0);
        IllegalStateException boom = new IllegalStateException("boom");
        Kcont bad = w.kcont("bad", Priority.NET, () -> {
            throw boom;
        });
        AtomicInteger good = new AtomicInteger();
        Kcont ok = w.kcont("ok", Priority.NET, good::incrementAndGet);
        bad.schedule();
        ok.schedule();
        assertEquals(2, w.runRound());
        assertSame(bad, failed.get());
        assertSame(boom, thrown.get());
        assertEquals(1, good.get());
        assertEquals(1, w.stats().failures());
        assertFalse(bad.isRunning());
        assertTrue(bad.schedule(), "a kcont that threw can be scheduled again");
    }

    @Test
    void shouldCountAHandlerThatThrowsAndKeepServing() {
        KcontGroup g = manual().errorHandler((k, t) -> {
            throw new IllegalStateException("handler");
        }).build();
        Worker w = g.worker(0);
        w.kcont("bad", Priority.NET, () -> {
            throw new IllegalArgumentException("body");
        }).schedule();
        AtomicInteger good = new AtomicInteger();
        w.kcont("ok", Priority.BULK, good::incrementAndGet).schedule();
        assertEquals(2, w.runRound());
        assertEquals(1, g.handlerFailureCount());
        assertEquals(1, good.get());
    }

    // ------------------------------------------------------------------------------------------
    // Shutdown (manual; threaded variants in KcontThreadedTest)

    @Test
    void shouldStillTerminateEveryWorkerWhenTheHandlerThrowsAnErrorDuringAManualShutdown() throws Exception {
        KcontGroup g = manual().workers(2).errorHandler((k, t) -> {
            throw new AssertionError("fatal: " + t.getMessage());
        }).build();
        g.worker(0).kcont("bad", Priority.NET, () -> {
            throw new IllegalStateException("body");
        }).schedule();
        AtomicInteger good = new AtomicInteger();
        g.worker(1).kcont("good", Priority.NET, good::incrementAndGet).schedule();
        AssertionError e = assertThrows(AssertionError.class, () -> g.shutdown(ShutdownPolicy.RUN_PENDING));
        assertEquals("fatal: body", e.getMessage());
        assertEquals(1, good.get(), "the other worker's pending work still ran");
        assertTrue(g.isTerminated(), "a worker whose rounds the Error ended did not terminate");
        assertTrue(g.awaitTermination(0, TimeUnit.SECONDS));
        g.shutdown(ShutdownPolicy.RUN_PENDING); // the first call's policy won: nothing more to do
    }

    @Test
    void shouldRunDueWorkAndDiscardFutureTimersOnRunPendingShutdown() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        w.kcont("now", Priority.NET, runs::incrementAndGet).schedule();
        w.kcont("due", Priority.CLOCK, runs::incrementAndGet).schedule(1, TimeUnit.MILLISECONDS);
        Kcont later = w.kcont("later", Priority.CLOCK, runs::incrementAndGet);
        later.schedule(1, TimeUnit.HOURS);
        clock.advance(MS);
        g.shutdown(ShutdownPolicy.RUN_PENDING);
        assertEquals(2, runs.get());
        assertEquals(1, g.discardedCount());
        assertFalse(later.isPending());
        assertTrue(g.isTerminated());
        assertThrows(RejectedExecutionException.class, later::schedule, "refused after shutdown");
        assertEquals(1, g.rejectedCount());
        assertThrows(IllegalStateException.class, w::runRound);
    }

    @Test
    void shouldTellARefusalAfterShutdownFromACoalescedRequest() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        Kcont k = w.kcont("rexmt", Priority.CLOCK, () -> { });
        Kcont idle = w.kcont("idle", Priority.NET, () -> { });
        assertTrue(k.schedule());
        assertFalse(k.schedule(), "coalesced: false, and counted in the pending request");
        assertEquals(2, k.pendingCount());
        g.shutdown(ShutdownPolicy.DISCARD);
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, idle::schedule);
        assertEquals("kcont 'idle' refused: group 't' has terminated", e.getMessage());
        assertThrows(RejectedExecutionException.class, () -> idle.schedule(5, TimeUnit.MILLISECONDS));
        assertThrows(RejectedExecutionException.class, () -> idle.scheduleOn(w));
        assertFalse(idle.isPending(), "a refused call changes nothing");
        assertEquals(0, idle.pendingCount());
        assertEquals(3, g.rejectedCount());
        assertEquals(1, g.discardedCount(), "the coalesced request was accepted, then discarded: not refused");
        // Bad arguments are still reported as such, before the refusal.
        assertThrows(IllegalArgumentException.class, () -> idle.schedule(-1, TimeUnit.MILLISECONDS));
    }

    @Test
    void shouldNameTheShutdownPolicyInARefusalWhileShuttingDown() throws Exception {
        KcontGroup g = KcontGroup.builder("net").workers(1).build();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        g.worker(0).kcont("blocker", Priority.NET, () -> {
            entered.countDown();
            KcontThreadedTest.await(release);
        }).schedule();
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        g.shutdown(ShutdownPolicy.RUN_PENDING);
        Kcont k = g.worker(0).kcont("rexmt", Priority.CLOCK, () -> { });
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, k::schedule);
        assertEquals("kcont 'rexmt' refused: group 'net' is shutting down (RUN_PENDING)", e.getMessage());
        release.countDown();
        assertTrue(g.awaitTermination(30, TimeUnit.SECONDS));
    }

    @Test
    void shouldDiscardAndCountEverythingPendingOnDiscardShutdown() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        for (int i = 0; i < 3; i++) {
            w.kcont("k" + i, Priority.NET, runs::incrementAndGet).schedule();
        }
        Kcont timer = w.kcont("t", Priority.CLOCK, runs::incrementAndGet);
        timer.schedule(1, TimeUnit.MILLISECONDS);
        w.runRound(); // runs the three, links the timer
        runs.set(0);
        for (int i = 0; i < 2; i++) {
            w.kcont("late" + i, Priority.BULK, runs::incrementAndGet).schedule();
        }
        g.shutdown(ShutdownPolicy.DISCARD);
        g.shutdown(ShutdownPolicy.RUN_PENDING); // the first policy wins
        assertEquals(0, runs.get());
        assertEquals(3, g.discardedCount());
    }

    /**
     * A schedule call on its own thread that passes admission before shutdown and then waits, in
     * the group's test hook, until {@link #finish()} lets it go on: shutdown overtakes it exactly
     * between admission and its request.
     */
    static final class LateCall {
        final CountDownLatch admitted = new CountDownLatch(1);
        final CountDownLatch go = new CountDownLatch(1);
        final AtomicReference<Object> outcome = new AtomicReference<>();
        final Thread thread;

        LateCall(KcontGroup g, java.util.concurrent.ConcurrentHashMap<Thread, LateCall> calls, Kcont k)
                throws InterruptedException {
            thread = new Thread(() -> {
                try {
                    outcome.set(k.schedule());
                } catch (Throwable t) {
                    outcome.set(t);
                }
            }, "late-" + k.name());
            calls.put(thread, this);
            thread.start();
            assertTrue(admitted.await(30, TimeUnit.SECONDS), "the call never passed admission");
        }

        Object finish() throws InterruptedException {
            go.countDown();
            thread.join(30_000);
            assertFalse(thread.isAlive());
            return outcome.get();
        }

        static java.util.concurrent.ConcurrentHashMap<Thread, LateCall> install(KcontGroup g) {
            java.util.concurrent.ConcurrentHashMap<Thread, LateCall> calls = new java.util.concurrent.ConcurrentHashMap<>();
            g.afterAdmission = () -> {
                LateCall c = calls.get(Thread.currentThread());
                if (c != null) {
                    c.admitted.countDown();
                    KcontThreadedTest.await(c.go);
                }
            };
            return calls;
        }
    }

    @Test
    void shouldCountARequestAdmittedBeforeShutdownButPostedAfterItAsDiscardedNotRejected() throws Exception {
        KcontGroup g = manual().build();
        var calls = LateCall.install(g);
        Kcont k = g.worker(0).kcont("k", Priority.NET, () -> { });
        LateCall late = new LateCall(g, calls, k);
        g.shutdown(ShutdownPolicy.DISCARD); // the worker ends while the call is between admission and request
        assertEquals(Boolean.TRUE, late.finish(), "admitted before shutdown: accepted, not refused");
        assertFalse(k.isPending());
        assertEquals(0, g.rejectedCount(), "an accepted call was counted as refused");
        assertEquals(1, g.discardedCount(), "the accepted request that shutdown never ran was not counted");
    }

    @Test
    void shouldNotStrandARequestAdmittedBeforeShutdownWhoseInboxEntryShutdownTook() throws Exception {
        KcontGroup g = manual().build();
        var calls = LateCall.install(g);
        Kcont k = g.worker(0).kcont("k", Priority.NET, () -> { });
        assertTrue(k.schedule());
        assertTrue(k.cancel()); // nothing pending, but its inbox entry is still there
        LateCall late = new LateCall(g, calls, k);
        g.shutdown(ShutdownPolicy.DISCARD); // takes that entry: nothing pending to discard
        assertEquals(Boolean.TRUE, late.finish());
        assertFalse(k.isPending(), "an accepted request was left pending in a dead inbox, counted nowhere");
        assertEquals(0, g.rejectedCount());
        assertEquals(1, g.discardedCount());
    }

    @Test
    void shouldNotStrandARequestWhoseInboxEntryArrivedAfterTheWorkerEnded() throws Exception {
        KcontGroup g = manual().build();
        var calls = LateCall.install(g);
        Kcont k = g.worker(0).kcont("k", Priority.NET, () -> { });
        LateCall first = new LateCall(g, calls, k);
        LateCall second = new LateCall(g, calls, k);
        g.shutdown(ShutdownPolicy.DISCARD);
        // The first posts an entry that no worker will ever take, sees the worker dead and withdraws
        // its request; the entry stays. The second then finds that entry and must not rely on it.
        assertEquals(Boolean.TRUE, first.finish());
        assertEquals(Boolean.TRUE, second.finish());
        assertFalse(k.isPending(), "the second request was left pending behind an entry in a dead inbox");
        assertEquals(0, g.rejectedCount());
        assertEquals(2, g.discardedCount());
    }

    // ------------------------------------------------------------------------------------------
    // Moving between workers

    @Test
    void shouldMoveToAnotherWorkerWithScheduleOn() {
        KcontGroup g = manual().workers(2).build();
        Worker w0 = g.worker(0);
        Worker w1 = g.worker(1);
        AtomicInteger runs = new AtomicInteger();
        Kcont k = w0.kcont("k", Priority.NET, runs::incrementAndGet);
        assertTrue(k.scheduleOn(w1));
        assertEquals(0, w0.runRound(), "w0 hands it over");
        assertEquals(1, w1.runRound());
        assertSame(w1, k.worker());
        assertEquals(1, w1.stats().runs());
        assertEquals(0, w0.stats().runs());

        k.schedule(5, TimeUnit.MILLISECONDS);
        w1.runRound(); // linked in w1's wheel
        assertFalse(k.scheduleOn(w0), "pending: coalesced, but the request moves");
        w1.runRound();
        clock.advance(5 * MS);
        assertEquals(0, w1.runRound());
        assertEquals(1, w0.runRound());
        assertEquals(2, runs.get());
    }

    @Test
    void shouldLeaveTheBindingAloneWhenScheduleOnIsRefused() {
        KcontGroup g = manual().workers(2).build();
        Worker w0 = g.worker(0);
        Worker w1 = g.worker(1);
        Kcont k = w0.kcont("k", Priority.NET, () -> { });
        g.shutdown(ShutdownPolicy.DISCARD);
        assertThrows(RejectedExecutionException.class, () -> k.scheduleOn(w1));
        assertSame(w0, k.worker(), "a refused scheduleOn rebound the continuation");
        assertFalse(k.isPending());
        assertEquals("Kcont[k on t-0, NET]", k.toString());
    }

    // ------------------------------------------------------------------------------------------
    // Bad arguments: specific exceptions, nothing half-applied

    @Test
    void shouldRejectBadDelaysWithClearMessagesAndChangeNothing() {
        KcontGroup g = manual().build();
        Kcont k = g.worker(0).kcont("k", Priority.NET, () -> { });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> k.schedule(-5, TimeUnit.NANOSECONDS));
        assertEquals("delay must be >= 0, got -5 ns", e.getMessage());
        assertFalse(k.isPending());
        e = assertThrows(IllegalArgumentException.class, () -> k.schedule(-1, TimeUnit.MILLISECONDS));
        assertEquals("delay must be >= 0, got -1 ms", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> k.schedule(Long.MAX_VALUE, TimeUnit.DAYS));
        assertTrue(e.getMessage().startsWith("delay must be <= " + g.maxDelayNanos() + " ns"), e.getMessage());
        assertFalse(k.isPending());
        NullPointerException n = assertThrows(NullPointerException.class, () -> k.schedule(1, null));
        assertEquals("unit", n.getMessage());
        k.schedule(3, TimeUnit.MILLISECONDS);
        assertThrows(IllegalArgumentException.class, () -> k.reschedule(-2, TimeUnit.SECONDS));
        assertEquals("unit", assertThrows(NullPointerException.class, () -> k.reschedule(1, null)).getMessage());
        clock.advance(3 * MS);
        assertEquals(1, g.worker(0).runRound(), "the failed reschedule left the 3 ms deadline alone");
        assertEquals("worker", assertThrows(NullPointerException.class, () -> k.scheduleOn(null)).getMessage());
        KcontGroup other = manual().build();
        assertThrows(IllegalArgumentException.class, () -> k.scheduleOn(other.worker(0)));
        assertFalse(k.isPending());
    }

    @Test
    void shouldRejectBadBuilderAndFactoryArguments() {
        assertEquals("name", assertThrows(NullPointerException.class, () -> KcontGroup.builder(null)).getMessage());
        KcontGroup.Builder b = manual();
        assertEquals("workers must be between 1 and 4096, got 0",
                assertThrows(IllegalArgumentException.class, () -> b.workers(0)).getMessage());
        assertEquals("wheel size must be a power of two from 16 to 65536, got 100",
                assertThrows(IllegalArgumentException.class, () -> b.wheelSize(100)).getMessage());
        assertEquals("tick length must be between 1000 ns and 1000000000 ns, got 999 ns",
                assertThrows(IllegalArgumentException.class, () -> b.tickLength(Duration.ofNanos(999))).getMessage());
        assertEquals("NET budget must be >= 1 per round, got 0",
                assertThrows(IllegalArgumentException.class, () -> b.budget(Priority.NET, 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.timerBudget(0));
        assertThrows(IllegalArgumentException.class, () -> b.roundTime(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> b.longRunThreshold(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> b.maxKconts(0));
        assertEquals("ticker", assertThrows(NullPointerException.class, () -> b.ticker(null)).getMessage());
        assertEquals("handler", assertThrows(NullPointerException.class, () -> b.errorHandler(null)).getMessage());
        KcontGroup g = b.maxKconts(2).build();
        Worker w = g.worker(0);
        assertEquals("name", assertThrows(NullPointerException.class, () -> w.kcont(null, Priority.NET, () -> { })).getMessage());
        assertEquals("priority", assertThrows(NullPointerException.class, () -> w.kcont("k", null, () -> { })).getMessage());
        assertEquals("body", assertThrows(NullPointerException.class, () -> w.kcont("k", Priority.NET, null)).getMessage());
        w.kcont("a", Priority.NET, () -> { });
        w.kcont("b", Priority.NET, () -> { });
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> w.kcont("c", Priority.NET, () -> { }));
        assertTrue(full.getMessage().contains("already has 2 continuations"), full.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> g.worker(1));
        assertEquals("policy", assertThrows(NullPointerException.class, () -> g.shutdown(null)).getMessage());
    }

    @Test
    void shouldRefuseRunRoundOnAThreadedGroup() {
        try (KcontGroup g = KcontGroup.builder("threaded").workers(1).build()) {
            assertThrows(IllegalStateException.class, () -> g.worker(0).runRound());
        }
    }

    @Test
    void shouldDescribeStateInToString() {
        KcontGroup g = manual().build();
        Kcont k = g.worker(0).kcont("rexmt", Priority.CLOCK, () -> { });
        k.schedule();
        k.schedule();
        assertEquals("Kcont[rexmt on t-0, CLOCK, pending x2]", k.toString());
    }

    // ------------------------------------------------------------------------------------------
    // Closing

    @Test
    void shouldGiveThePlaceBackAndRefuseLaterRequestsOnceClosed() {
        KcontGroup g = manual().maxKconts(2).build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont a = w.kcont("a", Priority.NET, runs::incrementAndGet);
        w.kcont("b", Priority.NET, runs::incrementAndGet);
        assertThrows(IllegalStateException.class, () -> w.kcont("c", Priority.NET, () -> { }));
        assertEquals(2, g.kcontCount());
        assertTrue(a.schedule(1, TimeUnit.HOURS));
        assertEquals(0, w.runRound()); // a is now linked in the wheel; its inbox entry is taken
        assertEquals(1, w.stats().queueDepth());
        a.close();
        assertTrue(a.isClosed());
        assertFalse(a.isPending(), "close() cancels the pending request");
        assertEquals(2, g.kcontCount(), "the place comes back once the worker has unlinked a");
        assertEquals(0, w.runRound());
        assertEquals(0, w.stats().queueDepth(), "the closed continuation stayed linked in the wheel");
        assertEquals(1, g.kcontCount());
        IllegalStateException e = assertThrows(IllegalStateException.class, a::schedule);
        assertEquals("kcont 'a' is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> a.schedule(1, TimeUnit.MILLISECONDS));
        assertThrows(IllegalStateException.class, () -> a.scheduleOn(w));
        assertFalse(a.reschedule(0, TimeUnit.NANOSECONDS));
        assertFalse(a.cancel());
        assertFalse(a.isPending(), "a refused call changes nothing");
        a.close(); // idempotent: gives nothing back twice
        assertEquals(1, g.kcontCount());
        Kcont c = w.kcont("c", Priority.NET, runs::incrementAndGet);
        clock.advance(10 * MS);
        assertTrue(c.schedule());
        assertEquals(1, w.runRound(), "only c runs");
        assertEquals(1, runs.get());
        assertEquals(0, g.rejectedCount(), "closing is not a refusal");
        assertEquals(0, g.discardedCount(), "nor a discard");
    }

    @Test
    void shouldKeepRoomInEveryInboxWhenClosedContinuationsAreReplaced() {
        // Every entry still waits in the inbox when its continuation is closed. Were the places
        // given back at once, the replacements' entries would not fit in the inbox (sized for
        // maxKconts + 1) and put would fail.
        KcontGroup g = manual().maxKconts(8).build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        List<Kcont> old = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Kcont k = w.kcont("old" + i, Priority.NET, runs::incrementAndGet);
            assertTrue(k.schedule());
            old.add(k);
        }
        old.forEach(Kcont::close);
        assertEquals(8, g.kcontCount(), "closed while their entries wait in the inbox: places still held");
        assertThrows(IllegalStateException.class, () -> w.kcont("early", Priority.NET, () -> { }));
        assertEquals(0, w.runRound(), "a closed continuation ran");
        assertEquals(0, g.kcontCount(), "the worker took the entries and gave the places back");
        for (int i = 0; i < 8; i++) {
            assertTrue(w.kcont("new" + i, Priority.NET, runs::incrementAndGet).schedule());
        }
        assertEquals(8, w.runRound());
        assertEquals(8, runs.get());
    }

    @Test
    void shouldGiveThePlaceBackWhenClosedDuringAHandoverOrBeforeShutdownTakesItsEntry() {
        KcontGroup g = manual().workers(2).maxKconts(2).build();
        Worker w0 = g.worker(0);
        Worker w1 = g.worker(1);
        AtomicInteger runs = new AtomicInteger();
        Kcont moving = w0.kcont("moving", Priority.NET, runs::incrementAndGet);
        assertTrue(moving.scheduleOn(w1)); // the entry waits in w0's inbox, to be forwarded
        moving.close();
        assertEquals(1, g.kcontCount(), "the entry is still in w0's inbox");
        assertEquals(0, w0.runRound());
        assertEquals(0, w1.runRound());
        assertEquals(0, runs.get(), "a closed continuation was handed on and ran");
        assertEquals(0, g.kcontCount(), "the forwarding worker gave the place back");
        Kcont queued = w1.kcont("queued", Priority.NET, runs::incrementAndGet);
        assertTrue(queued.schedule());
        queued.close();
        g.shutdown(ShutdownPolicy.DISCARD); // the ending worker takes the entry
        assertEquals(0, g.kcontCount());
        assertEquals(0, g.discardedCount(), "a closed continuation is not a discarded request");
        assertEquals(0, runs.get());
    }

    @Test
    void shouldNotKeepClosedFarTimersLinkedUntilTheirDeadline() {
        // One continuation per connection, each with a far timer, closed as the connection ends:
        // neither the places nor the linked objects (and what their bodies hold) may pile up.
        KcontGroup g = manual().maxKconts(4).build();
        Worker w = g.worker(0);
        for (int i = 0; i < 1_000; i++) {
            Kcont k = w.kcont("conn" + i, Priority.CLOCK, () -> { });
            assertTrue(k.schedule(1, TimeUnit.HOURS));
            w.runRound();
            k.close();
        }
        w.runRound();
        assertEquals(0, g.kcontCount());
        assertEquals(0, w.stats().queueDepth(), "closed timers still linked in the wheel");
    }

    @Test
    void shouldLetARunCloseItsOwnContinuation() {
        KcontGroup g = manual().build();
        Worker w = g.worker(0);
        AtomicInteger runs = new AtomicInteger();
        Kcont[] self = new Kcont[1];
        self[0] = w.kcont("once", Priority.NET, () -> {
            runs.incrementAndGet();
            self[0].close();
        });
        assertTrue(self[0].schedule());
        assertEquals(1, w.runRound());
        assertTrue(self[0].isClosed());
        assertThrows(IllegalStateException.class, self[0]::schedule);
        assertEquals(0, w.runRound()); // takes the entry close() put
        assertEquals(0, g.kcontCount());
        assertEquals(1, runs.get());
    }
}
