package dev.mpsafe.kcont;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.testing.ThreadWaits;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The contract with real worker threads: drain against running bodies, cancel and drain racing
 * schedule, failures, shutdown, parking and wake-ups. Waits are bounded by generous timeouts so a
 * loaded 2-core machine only makes them slower, never wrong; none of them is a performance claim.
 */
class KcontThreadedTest {

    static final long TIMEOUT_S = 30;

    @Test
    void shouldWaitInDrainUntilTheRunningBodyHasFinished() throws Exception {
        try (KcontGroup g = KcontGroup.builder("drain").workers(1).build()) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean finished = new AtomicBoolean();
            Kcont k = g.worker(0).kcont("slow", Priority.NET, () -> {
                entered.countDown();
                await(release);
                finished.set(true);
            });
            k.schedule();
            assertTrue(entered.await(TIMEOUT_S, TimeUnit.SECONDS));
            AtomicBoolean drained = new AtomicBoolean();
            Thread drainer = new Thread(() -> {
                k.drain();
                drained.set(true);
            });
            drainer.start();
            waitUntilBlocked(drainer);
            assertFalse(drained.get(), "drain returned while the body was running");
            release.countDown();
            drainer.join(TIMEOUT_S * 1000);
            assertTrue(drained.get());
            assertTrue(finished.get(), "drain returned before the run's writes");
            assertFalse(k.isRunning());
        }
    }

    @Test
    void shouldThrowInsteadOfDeadlockingWhenDrainedFromItsOwnWorker() throws Exception {
        try (KcontGroup g = KcontGroup.builder("self-drain").workers(1).build()) {
            AtomicReference<Throwable> caught = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            Kcont[] self = new Kcont[1];
            self[0] = g.worker(0).kcont("self", Priority.NET, () -> {
                try {
                    self[0].drain();
                } catch (Throwable t) {
                    caught.set(t);
                }
                done.countDown();
            });
            CountDownLatch otherDone = new CountDownLatch(1);
            Kcont other = g.worker(0).kcont("other", Priority.NET, () -> {
                try {
                    self[0].drain(); // same worker, another kcont: it would wait for its own thread too
                } catch (Throwable t) {
                    caught.compareAndSet(null, t);
                }
                otherDone.countDown();
            });
            self[0].schedule();
            assertTrue(done.await(TIMEOUT_S, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, caught.get());
            assertTrue(caught.get().getMessage().contains("own worker thread"), caught.get().getMessage());
            caught.set(null);
            other.schedule();
            assertTrue(otherDone.await(TIMEOUT_S, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, caught.get());
        }
    }

    @Test
    void shouldDrainASelfReschedulingContinuation() throws Exception {
        try (KcontGroup g = KcontGroup.builder("self-resched").workers(1).build()) {
            AtomicLong runs = new AtomicLong();
            Kcont[] self = new Kcont[1];
            self[0] = g.worker(0).kcont("loop", Priority.NET, () -> {
                runs.incrementAndGet();
                self[0].schedule();
            });
            self[0].schedule();
            while (runs.get() < 1000) {
                Thread.onSpinWait();
            }
            self[0].drain();
            assertFalse(self[0].isPending());
            assertFalse(self[0].isRunning());
            assertNoRunUntilIdle(g.worker(0), runs, runs.get());
        }
    }

    @Test
    void shouldDrainASelfReschedulingContinuationWhoseBodyTakesLong() throws Exception {
        try (KcontGroup g = KcontGroup.builder("self-resched-long").workers(1).build()) {
            AtomicLong runs = new AtomicLong();
            Kcont[] self = new Kcont[1];
            self[0] = g.worker(0).kcont("slow-loop", Priority.NET, () -> {
                runs.incrementAndGet();
                long until = System.nanoTime() + 1_000_000; // a 1 ms body: longer than a drainer's wake-up
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                self[0].schedule();
            });
            self[0].schedule();
            while (runs.get() < 5) {
                Thread.sleep(1);
            }
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
                    () -> self[0].drain(), "drain() of a self-rescheduling continuation must return");
            assertFalse(self[0].isPending());
            assertFalse(self[0].isRunning());
            assertNoRunUntilIdle(g.worker(0), runs, runs.get());
        }
    }

    @Test
    void shouldNeverRunAfterCancelReturnedTrueOrAfterDrainReturned() throws Exception {
        try (KcontGroup g = KcontGroup.builder("race").workers(2).build()) {
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger violations = new AtomicInteger();
            AtomicLong runs = new AtomicLong();
            Kcont k = g.worker(1).kcont("racy", Priority.NET, () -> {
                inside.incrementAndGet();
                runs.incrementAndGet();
                Thread.onSpinWait();
                inside.decrementAndGet();
            });
            // At least 20,000 rounds, and on until the worker has won the race 100 times (it wins
            // only when it wakes before we cancel, so some rounds give it a head start).
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            for (int i = 0; (i < 20_000 || runs.get() < 100) && System.nanoTime() < giveUp; i++) {
                k.schedule();
                if ((i & 3) == 3) {
                    long until = System.nanoTime() + 1_000L * (i % 50);
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                }
                if ((i & 1) == 0) {
                    k.drain();
                    if (inside.get() != 0 || k.isRunning() || k.isPending()) {
                        violations.incrementAndGet();
                    }
                } else if (k.cancel()) {
                    long before = runs.get();
                    // Let the worker pass over the stale entry; a run now would answer a cancelled request.
                    k.drain();
                    if (runs.get() != before) {
                        violations.incrementAndGet();
                    }
                }
            }
            assertEquals(0, violations.get());
            assertTrue(runs.get() > 0, "the worker never won a race: the test exercised nothing");
        }
    }

    @Test
    void shouldAnswerEveryRequestFromManyThreadsWithoutLosingAWakeUp() throws Exception {
        try (KcontGroup g = KcontGroup.builder("wakeups").workers(2).build()) {
            final int producers = 3;
            final int perProducer = 20_000;
            AtomicLong runs = new AtomicLong();
            Thread[] ts = new Thread[producers];
            for (int p = 0; p < producers; p++) {
                Kcont k = g.worker(p % 2).kcont("p" + p, Priority.NET, runs::incrementAndGet);
                ts[p] = new Thread(() -> {
                    for (int i = 0; i < perProducer; i++) {
                        long before = runs.get();
                        k.schedule();
                        // Wait for this request's run, so every request needs a fresh wake-up.
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
                        while (k.isPending() && System.nanoTime() < deadline) {
                            Thread.onSpinWait();
                        }
                        assertTrue(runs.get() >= before, "counter moved backwards");
                    }
                });
                ts[p].start();
            }
            for (Thread t : ts) {
                t.join(TIMEOUT_S * 4000);
                assertFalse(t.isAlive(), "a producer is stuck: a wake-up was lost");
            }
            long total = 0;
            for (WorkerStats s : g.stats()) {
                total += s.runs();
            }
            assertEquals(runs.get(), total);
            assertTrue(total > 0);
        }
    }

    @Test
    void shouldParkIdleWorkersInsteadOfSpinning() throws Exception {
        try (KcontGroup g = KcontGroup.builder("idle").workers(1).build()) {
            CountDownLatch ran = new CountDownLatch(1);
            AtomicReference<Thread> worker = new AtomicReference<>();
            g.worker(0).kcont("who", Priority.NET, () -> {
                worker.set(Thread.currentThread());
                ran.countDown();
            }).schedule();
            assertTrue(ran.await(TIMEOUT_S, TimeUnit.SECONDS));
            Thread t = worker.get();
            waitUntilBlocked(t);
            assertEquals(Thread.State.WAITING, t.getState(), "an idle worker with no timer parks without a timeout");
            // With a timer armed far away it parks with a timeout instead.
            g.worker(0).kcont("far", Priority.CLOCK, () -> { }).schedule(1, TimeUnit.HOURS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            while (t.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(Thread.State.TIMED_WAITING, t.getState());
        }
    }

    @Test
    void shouldWakeAParkedWorkerForAnImmediateRequestWhoseInboxEntryIsAlreadyThere() throws Exception {
        try (KcontGroup g = KcontGroup.builder("requeue").workers(1).build()) {
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Thread> worker = new AtomicReference<>();
            g.worker(0).kcont("who", Priority.NET, () -> {
                worker.set(Thread.currentThread());
                started.countDown();
            }).schedule();
            assertTrue(started.await(TIMEOUT_S, TimeUnit.SECONDS));
            g.worker(0).kcont("far", Priority.CLOCK, () -> { }).schedule(1, TimeUnit.HOURS);
            Thread t = worker.get();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            while (t.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(Thread.State.TIMED_WAITING, t.getState(), "parked until its timer's tick");
            for (int i = 0; i < 20; i++) {
                CountDownLatch ran = new CountDownLatch(1);
                Kcont k = g.worker(0).kcont("k" + i, Priority.NET, ran::countDown);
                assertTrue(k.schedule(10, TimeUnit.SECONDS)); // posts; the parked worker need not wake
                assertTrue(k.cancel());
                long t0 = System.nanoTime();
                assertTrue(k.schedule()); // the inbox entry is there already: this must wake it
                assertTrue(ran.await(TIMEOUT_S, TimeUnit.SECONDS));
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(tookMs < 100, "an immediate request waited " + tookMs + " ms for the worker's timer tick");
                while (t.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                    Thread.sleep(1); // parked again before the next round
                }
            }
        }
    }

    @Test
    void shouldSurviveThrowingContinuationsOnAWorkerThread() throws Exception {
        AtomicInteger reported = new AtomicInteger();
        CountDownLatch handled = new CountDownLatch(1);
        try (KcontGroup g = KcontGroup.builder("fail").workers(1).errorHandler((k, t) -> {
            reported.incrementAndGet();
            handled.countDown();
        }).build()) {
            Kcont bad = g.worker(0).kcont("bad", Priority.NET, () -> {
                throw new OutOfMemoryError("simulated");
            });
            CountDownLatch after = new CountDownLatch(1);
            Kcont ok = g.worker(0).kcont("ok", Priority.BULK, after::countDown);
            bad.schedule();
            assertTrue(handled.await(TIMEOUT_S, TimeUnit.SECONDS));
            ok.schedule();
            assertTrue(after.await(TIMEOUT_S, TimeUnit.SECONDS), "the worker died with its continuation");
            assertEquals(1, reported.get());
            assertEquals(1, g.worker(0).stats().failures());
        }
    }

    @Test
    void shouldRecordReportOnceAndRefuseWorkBoundToAWorkerKilledByItsErrorHandler() throws Exception {
        Error fatal = new Error("fatal");
        KcontGroup g = KcontGroup.builder("mortal").workers(2).errorHandler((k, t) -> {
            throw fatal; // the handler's verdict: this failure is fatal
        }).build();
        Worker w0 = g.worker(0);
        Worker w1 = g.worker(1);
        java.nio.file.Path file = java.nio.file.Files.createTempFile("mpsafe-kcont-death", ".jfr");
        try (jdk.jfr.Recording recording = new jdk.jfr.Recording()) {
            recording.enable("dev.mpsafe.KcontWorkerDeath");
            recording.start();
            Kcont timer = w0.kcont("far", Priority.CLOCK, () -> { });
            timer.schedule(1, TimeUnit.HOURS); // pending on w0 when it dies
            Kcont stayer = w1.kcont("stayer", Priority.NET, () -> { });
            Kcont bad = w0.kcont("bad", Priority.NET, () -> {
                throw new IllegalStateException("body");
            });
            bad.schedule();
            Thread t0 = awaitThread(w0);
            t0.join(TIMEOUT_S * 1000);
            assertFalse(t0.isAlive(), "the handler's Error did not end the worker");
            recording.stop();
            recording.dump(file);

            assertSame(fatal, w0.deathCause(), "the group did not record the death");
            assertEquals(java.util.List.of(w0), g.deadWorkers());
            assertNull(w1.deathCause());
            assertEquals(1, g.handlerFailureCount());
            assertEquals(1, g.discardedCount(), "the timer pending on the dead worker was not counted");
            assertFalse(timer.isPending());
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, bad::schedule);
            assertEquals("kcont 'bad' refused: worker 'mortal-0' died of java.lang.Error: fatal", e.getMessage());
            assertFalse(bad.isPending(), "a refused call changes nothing");
            assertThrows(RejectedExecutionException.class, () -> timer.schedule(1, TimeUnit.MILLISECONDS));
            e = assertThrows(RejectedExecutionException.class, () -> stayer.scheduleOn(w0));
            assertTrue(e.getMessage().contains("worker 'mortal-0' died"), e.getMessage());
            assertSame(w1, stayer.worker(), "a refused scheduleOn rebound the continuation");
            assertEquals(3, g.rejectedCount());
            // The other worker goes on.
            CountDownLatch ran = new CountDownLatch(1);
            w1.kcont("alive", Priority.NET, ran::countDown).schedule();
            assertTrue(ran.await(TIMEOUT_S, TimeUnit.SECONDS));
        }
        java.util.List<jdk.jfr.consumer.RecordedEvent> deaths = jdk.jfr.consumer.RecordingFile.readAllEvents(file).stream()
                .filter(ev -> ev.getEventType().getName().equals("dev.mpsafe.KcontWorkerDeath")).toList();
        java.nio.file.Files.deleteIfExists(file);
        assertEquals(1, deaths.size(), "reported once: " + deaths);
        assertEquals("mortal-0", deaths.get(0).getString("worker"));
        assertEquals("java.lang.Error: fatal", deaths.get(0).getString("cause"));
        g.close(); // its wake-up of the dead worker is neither a refusal nor a discard
        assertTrue(g.isTerminated());
        assertEquals(3, g.rejectedCount());
        assertEquals(1, g.discardedCount());
    }

    @Test
    void shouldEndARunAndLetDrainReturnWhenTheTickerKillsTheWorkerRightAfterTheBody() throws Exception {
        AtomicBoolean broken = new AtomicBoolean();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        KcontGroup g = KcontGroup.builder("ticker").workers(1).ticker(() -> {
            if (broken.get() && Thread.currentThread().getName().equals("ticker-0")) {
                throw new IllegalStateException("clock source gone");
            }
            return System.nanoTime();
        }).build();
        Kcont k = g.worker(0).kcont("k", Priority.NET, () -> {
            entered.countDown();
            await(release);
            broken.set(true); // the worker reads the ticker right after the body returns
        });
        k.schedule();
        assertTrue(entered.await(TIMEOUT_S, TimeUnit.SECONDS));
        Thread drainer = new Thread(k::drain);
        drainer.start();
        waitUntilBlocked(drainer);
        release.countDown();
        drainer.join(TIMEOUT_S * 1000);
        assertFalse(drainer.isAlive(), "drain() waits for a run that ended when the worker died");
        assertFalse(k.isRunning());
        Thread t = awaitThread(g.worker(0));
        t.join(TIMEOUT_S * 1000);
        assertInstanceOf(IllegalStateException.class, g.worker(0).deathCause());
        assertThrows(RejectedExecutionException.class, k::schedule);
        g.close();
    }

    @Test
    void shouldHandOnContinuationsThatScheduleOnWasMovingThroughAWorkerThatDied() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        KcontGroup g = KcontGroup.builder("transit").workers(2).errorHandler((k, t) -> {
            throw new Error("fatal");
        }).build();
        Worker w0 = g.worker(0);
        Worker w1 = g.worker(1);
        Kcont bad = w0.kcont("bad", Priority.NET, () -> {
            entered.countDown();
            await(release);
            throw new IllegalStateException("body");
        });
        AtomicReference<String> ranOn = new AtomicReference<>();
        java.util.concurrent.Semaphore movedRan = new java.util.concurrent.Semaphore(0);
        Kcont moved = w0.kcont("moved", Priority.NET, () -> {
            ranOn.set(Thread.currentThread().getName());
            movedRan.release();
        });
        CountDownLatch timerRan = new CountDownLatch(1);
        Kcont timer = w0.kcont("timer", Priority.CLOCK, timerRan::countDown);
        timer.schedule(1, TimeUnit.HOURS); // linked in w0's wheel
        bad.schedule();
        assertTrue(entered.await(TIMEOUT_S, TimeUnit.SECONDS));
        // w0 is busy: both handovers wait in its inbox when it dies.
        assertTrue(moved.scheduleOn(w1));
        assertFalse(timer.scheduleOn(w1), "coalesced into the pending timer");
        release.countDown();
        Thread t0 = awaitThread(w0);
        t0.join(TIMEOUT_S * 1000);
        assertFalse(t0.isAlive(), "the handler's Error did not end the worker");

        assertTrue(movedRan.tryAcquire(TIMEOUT_S, TimeUnit.SECONDS), "the request moving to a live worker was lost");
        assertEquals("transit-1", ranOn.get());
        assertEquals(0, g.discardedCount(), "a request handed on to a live worker was counted as discarded");
        assertTrue(timer.isPending(), "the pending timer did not move with its continuation");
        assertSame(w1, timer.worker());
        // Not stranded on the dead worker: later requests are accepted and run on w1.
        assertTrue(timer.reschedule(0, TimeUnit.NANOSECONDS));
        assertTrue(timerRan.await(TIMEOUT_S, TimeUnit.SECONDS));
        ranOn.set(null);
        assertTrue(moved.schedule());
        assertTrue(movedRan.tryAcquire(TIMEOUT_S, TimeUnit.SECONDS));
        assertEquals("transit-1", ranOn.get());
        assertEquals(0, g.rejectedCount());
        g.close();
    }

    @Test
    void shouldWakeTheWorkerForARequestMadeEarlierWhileTheEntryItReliesOnWasBeingPut() throws Exception {
        KcontGroup g = KcontGroup.builder("wake").workers(1).build();
        Worker w = g.worker(0);
        w.kcont("anchor", Priority.CLOCK, () -> { }).schedule(300, TimeUnit.MILLISECONDS);
        AtomicLong ranAt = new AtomicLong();
        CountDownLatch ran = new CountDownLatch(1);
        Kcont k = w.kcont("k", Priority.CLOCK, () -> {
            ranAt.set(System.nanoTime());
            ran.countDown();
        });
        Thread t = awaitThread(w);
        waitUntilBlocked(t); // parked until the anchor's tick
        // P1, a schedule(400 ms) between its CAS (P and Q set) and its put:
        long tick400 = g.deadlineTick(400, TimeUnit.MILLISECONDS);
        long s = k.lvState();
        assertTrue(k.casState(s, s | Kcont.PENDING | Kcont.QUEUED | Kcont.COUNT_ONE | Kcont.deadlineBits(tick400)));
        long t0 = System.nanoTime();
        // P2 moves the request to 5 ms; Q is set, so it relies on P1's entry and wakes the worker
        // itself, which finds the inbox still empty and parks again until the anchor.
        assertTrue(k.reschedule(5, TimeUnit.MILLISECONDS));
        // Only a worker that has parked again makes P1's wake-up decision matter: one still on its
        // way to wake would find P1's entry by itself. P2 claimed the wake-up by setting wakeAt to
        // AWAKE (or found it AWAKE, claimed by the anchor's put), and the worker stores the next
        // wakeAt only when it announces its next park, after a round that found the inbox empty.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (w.awakeForTest()) {
            assertTrue(System.nanoTime() - deadline < 0, "the worker never parked again after P2's wake-up: "
                    + ThreadWaits.stackOf(t));
            Thread.sleep(1); // polls a condition (the worker's wakeAt) that has no signal to wait on
        }
        waitUntilBlocked(t);
        k.enqueue(w, tick400); // P1 resumes: the put, and its wake-up decision
        assertTrue(ran.await(TIMEOUT_S, TimeUnit.SECONDS));
        long ms = TimeUnit.NANOSECONDS.toMillis(ranAt.get() - t0);
        assertTrue(ms < 150, "the 5 ms request ran " + ms + " ms after it was made: the worker slept until the anchor");
        g.close();
    }

    /**
     * Asserts that {@code runs} stays at {@code after} (its value when drain returned) until the
     * worker parks with nothing to do. A run after drain returned would come from a request still
     * in the worker's queues, or from a body still running (which reschedules itself, so the worker
     * would never go idle). Once the worker is parked in idle() without a timeout, its queues are
     * empty and no timer is armed; nobody schedules the continuation again and nobody unparks the
     * worker (a self-scheduling body posts to a worker that is awake), so no later run can happen.
     */
    static void assertNoRunUntilIdle(Worker w, AtomicLong runs, long after) throws InterruptedException {
        Thread t = awaitThread(w);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (!ThreadWaits.isIn(t, Worker.class, "idle", Thread.State.WAITING)) {
            assertEquals(after, runs.get(), "ran after drain returned");
            assertTrue(System.nanoTime() - deadline < 0, "the worker never went idle after drain returned: "
                    + ThreadWaits.stackOf(t));
            Thread.sleep(1); // polls a condition (a park in Worker.idle) that has no signal to wait on
        }
        assertEquals(after, runs.get(), "ran after drain returned");
    }

    /** The worker's thread, once it has started. */
    static Thread awaitThread(Worker w) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (w.thread() == null && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertNotNull(w.thread());
        return w.thread();
    }

    @Test
    void shouldFinishTheRunningOneAndDiscardTheRestOnThreadedDiscardShutdown() throws Exception {
        KcontGroup g = KcontGroup.builder("discard").workers(1).build();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean finished = new AtomicBoolean();
        AtomicInteger others = new AtomicInteger();
        Worker w = g.worker(0);
        w.kcont("blocker", Priority.NET, () -> {
            entered.countDown();
            await(release);
            finished.set(true);
        }).schedule();
        assertTrue(entered.await(TIMEOUT_S, TimeUnit.SECONDS));
        for (int i = 0; i < 5; i++) {
            w.kcont("k" + i, Priority.BULK, others::incrementAndGet).schedule();
        }
        w.kcont("timer", Priority.CLOCK, others::incrementAndGet).schedule(1, TimeUnit.HOURS);
        g.shutdown(ShutdownPolicy.DISCARD);
        Kcont refused = w.kcont("refused", Priority.NET, others::incrementAndGet);
        assertThrows(RejectedExecutionException.class, refused::schedule);
        release.countDown();
        assertTrue(g.awaitTermination(TIMEOUT_S, TimeUnit.SECONDS));
        assertTrue(finished.get(), "the run in progress was cut short");
        assertEquals(0, others.get());
        assertEquals(6, g.discardedCount());
        assertEquals(1, g.rejectedCount());
    }

    @Test
    void shouldRunPendingWorkOnClose() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        KcontGroup g = KcontGroup.builder("close").workers(2).build();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        g.worker(0).kcont("blocker", Priority.NET, () -> {
            entered.countDown();
            await(release);
        }).schedule();
        assertTrue(entered.await(TIMEOUT_S, TimeUnit.SECONDS));
        for (int i = 0; i < 10; i++) {
            g.worker(0).kcont("k" + i, Priority.BULK, runs::incrementAndGet).schedule();
        }
        Thread closer = new Thread(g::close);
        closer.start();
        waitUntilBlocked(closer);
        release.countDown();
        closer.join(TIMEOUT_S * 1000);
        assertFalse(closer.isAlive());
        assertTrue(g.isTerminated());
        assertEquals(10, runs.get(), "RUN_PENDING ran everything that was pending");
        assertEquals(0, g.discardedCount());
    }

    @Test
    void shouldRefuseCloseFromAWorkerThread() throws Exception {
        KcontGroup g = KcontGroup.builder("close-self").workers(1).build();
        AtomicReference<Throwable> caught = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        g.worker(0).kcont("closer", Priority.NET, () -> {
            try {
                g.close();
            } catch (Throwable t) {
                caught.set(t);
            }
            done.countDown();
        }).schedule();
        assertTrue(done.await(TIMEOUT_S, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, caught.get());
        g.close();
        assertTrue(g.isTerminated());
    }

    @Test
    void shouldRunDelayedContinuationsOnRealTimeNoEarlierThanTheirDelay() throws Exception {
        try (KcontGroup g = KcontGroup.builder("delay").workers(1).build()) {
            AtomicLong ranAt = new AtomicLong();
            CountDownLatch ran = new CountDownLatch(1);
            Kcont k = g.worker(0).kcont("t", Priority.CLOCK, () -> {
                ranAt.set(System.nanoTime());
                ran.countDown();
            });
            long start = System.nanoTime();
            k.schedule(20, TimeUnit.MILLISECONDS);
            assertTrue(ran.await(TIMEOUT_S, TimeUnit.SECONDS));
            assertTrue(ranAt.get() - start >= TimeUnit.MILLISECONDS.toNanos(20), "ran early");
            assertNotNull(g.worker(0).stats().lateness());
            assertEquals(1, g.worker(0).stats().lateness().count());
        }
    }

    @Test
    void shouldWakeAWorkerParkedUntilAFarTimerForAnEarlierOne() throws Exception {
        try (KcontGroup g = KcontGroup.builder("early").workers(1).build()) {
            g.worker(0).kcont("far", Priority.CLOCK, () -> { }).schedule(1, TimeUnit.HOURS);
            AtomicReference<Thread> worker = new AtomicReference<>();
            CountDownLatch first = new CountDownLatch(1);
            g.worker(0).kcont("who", Priority.NET, () -> {
                worker.set(Thread.currentThread());
                first.countDown();
            }).schedule();
            assertTrue(first.await(TIMEOUT_S, TimeUnit.SECONDS));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            while (worker.get().getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            CountDownLatch ran = new CountDownLatch(1);
            Kcont near = g.worker(0).kcont("near", Priority.CLOCK, ran::countDown);
            near.schedule(20, TimeUnit.MILLISECONDS);
            assertTrue(ran.await(TIMEOUT_S, TimeUnit.SECONDS), "parked until the far timer: the near one was not woken for");
            // A timer later than the worker's wake-up time needs no unpark, and still runs.
            CountDownLatch later = new CountDownLatch(1);
            Kcont next = g.worker(0).kcont("later", Priority.CLOCK, later::countDown);
            g.worker(0).kcont("soon", Priority.CLOCK, () -> { }).schedule(30, TimeUnit.MILLISECONDS);
            next.schedule(60, TimeUnit.MILLISECONDS);
            assertTrue(later.await(TIMEOUT_S, TimeUnit.SECONDS));
        }
    }

    static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until {@code t} is blocked, waiting or parked (or has ended). */
    static void waitUntilBlocked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (System.nanoTime() < deadline) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING || s == Thread.State.BLOCKED
                    || s == Thread.State.TERMINATED) {
                return;
            }
            Thread.sleep(1);
        }
    }
}
