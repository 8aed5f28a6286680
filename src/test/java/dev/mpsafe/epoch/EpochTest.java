package dev.mpsafe.epoch;

import static dev.mpsafe.sync.GraceDomainContractTest.awaitParkedOrSpinning;
import static dev.mpsafe.sync.GraceDomainContractTest.readerInside;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Section;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EpochTest {

    private static Epoch epoch(boolean domainThread) {
        return Epoch.create(GraceOptions.named("epoch-test").withCallbacksOnDomainThread(domainThread));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void shouldRunCallbackOnlyAfterPreexistingReaderLeft(boolean domainThread) throws Exception {
        Epoch e = epoch(domainThread);
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        AtomicBoolean readerLeft = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            try (Section s = e.enter()) {
                inside.countDown();
                leave.await();
                readerLeft.set(true);
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
        });
        reader.start();
        inside.await();
        AtomicReference<Boolean> sawReaderLeft = new AtomicReference<>();
        e.call(() -> sawReaderLeft.set(readerLeft.get()));
        for (int i = 0; i < 50; i++) {
            e.poll(); // try hard to run it early: it must not run
        }
        assertEquals(null, sawReaderLeft.get(), "callback ran while a pre-existing reader was inside");
        assertEquals(1, e.pendingCallbacks());
        leave.countDown();
        reader.join();
        e.barrier();
        assertEquals(Boolean.TRUE, sawReaderLeft.get());
        assertEquals(0, e.pendingCallbacks());
        e.close();
    }

    @Test
    void shouldNotRunCallbacksOnThreadInsideSection() {
        Epoch e = epoch(false);
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        e.call(() -> ranOn.set(Thread.currentThread()));
        try (Section s = e.enter()) {
            for (int i = 0; i < 10; i++) {
                e.poll();
            }
            assertEquals(null, ranOn.get(), "a callback ran inside the caller's section");
            assertThrows(IllegalStateException.class, e::barrier);
        }
        e.barrier();
        assertSame(Thread.currentThread(), ranOn.get(), "caller-run mode runs callbacks on the poller");
    }

    @Test
    void shouldRunCallbacksOnDomainThreadWhenConfigured() throws Exception {
        Epoch e = epoch(true);
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(1);
        e.call(() -> {
            ranOn.set(Thread.currentThread());
            ran.countDown();
        });
        assertTrue(ran.await(20, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(ranOn.get().getName().startsWith("mpsafe-epoch-"), ranOn.get().getName());
        e.close();
    }

    /**
     * inCallback() is what a caller's wait asks before it blocks (UdpSocket.close): true on the
     * thread running the domain's callbacks, in both modes, and false on every other thread, even
     * while callbacks run elsewhere.
     */
    @Test
    void shouldSayWhetherTheCallingThreadRunsTheDomainsCallbacks() throws Exception {
        for (boolean onDomainThread : new boolean[] {false, true}) {
            Epoch e = epoch(onDomainThread);
            AtomicReference<Boolean> inside = new AtomicReference<>();
            AtomicReference<Boolean> otherThreadMeanwhile = new AtomicReference<>();
            CountDownLatch ran = new CountDownLatch(1);
            e.call(() -> {
                inside.set(e.inCallback());
                AtomicReference<Boolean> seen = new AtomicReference<>();
                Thread other = Thread.ofPlatform().start(() -> seen.set(e.inCallback()));
                try {
                    other.join();
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
                otherThreadMeanwhile.set(seen.get());
                ran.countDown();
            });
            assertFalse(e.inCallback(), "the caller of call() runs no callback");
            if (!onDomainThread) {
                e.barrier(); // caller-run mode: this thread runs it
            }
            assertTrue(ran.await(20, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(Boolean.TRUE, inside.get(), "inside a callback, onDomainThread=" + onDomainThread);
            assertEquals(Boolean.FALSE, otherThreadMeanwhile.get(), "another thread while a callback ran");
            assertFalse(e.inCallback(), "after the callbacks ran, onDomainThread=" + onDomainThread);
            e.close();
        }
    }

    @Test
    void shouldCountAndReportFailingCallbacksAndKeepWorking() {
        List<Throwable> reported = new CopyOnWriteArrayList<>();
        Epoch e = Epoch.create(GraceOptions.named("failing").withCallbacksOnDomainThread(false)
                .withCallbackErrorHandler((cb, t) -> reported.add(t)));
        AtomicInteger ok = new AtomicInteger();
        e.call(() -> {
            throw new IllegalStateException("boom");
        });
        e.call(ok::incrementAndGet);
        e.barrier();
        assertEquals(1, e.callbackFailures());
        assertEquals(1, reported.size());
        assertEquals("boom", reported.get(0).getMessage());
        assertEquals(1, ok.get(), "the callback after the failing one still ran");
        assertEquals(2, e.callbacksRun());
        e.call(ok::incrementAndGet);
        e.barrier();
        assertEquals(2, ok.get(), "the domain keeps working");
    }

    @Test
    void shouldRunCallbacksInCallOrder() {
        Epoch e = epoch(false);
        List<Integer> order = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 100; i++) {
            int n = i;
            e.call(() -> order.add(n));
            if (i % 7 == 0) {
                e.poll();
            }
        }
        e.barrier();
        for (int i = 0; i < 100; i++) {
            assertEquals(i, order.get(i));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void shouldLetCallbacksDeferMoreAtTheBoundButRefuseToWaitForThemselves(boolean domainThread) throws Exception {
        Epoch e = Epoch.create(GraceOptions.named("reentrant").withCallbacksOnDomainThread(domainThread)
                .withMaxPendingCallbacks(1));
        AtomicInteger inner = new AtomicInteger();
        AtomicReference<Throwable> barrierFromCallback = new AtomicReference<>();
        AtomicReference<Throwable> closeFromCallback = new AtomicReference<>();
        CountDownLatch outerRan = new CountDownLatch(1);
        e.call(() -> {
            e.call(inner::incrementAndGet); // at the bound: must not wait for the running callback
            e.poll(); // must not re-enter dispatch (it used to leave a bucket without its array)
            try {
                e.barrier();
            } catch (Throwable t) {
                barrierFromCallback.set(t);
            }
            try {
                e.close();
            } catch (Throwable t) {
                closeFromCallback.set(t);
            }
            outerRan.countDown();
        });
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            while (outerRan.getCount() > 0) {
                e.poll();
                Thread.onSpinWait();
            }
            e.barrier();
        });
        assertEquals(1, inner.get(), "the callback's own call ran");
        assertTrue(barrierFromCallback.get() instanceof IllegalStateException, String.valueOf(barrierFromCallback.get()));
        assertTrue(barrierFromCallback.get().getMessage().contains("from one of its callbacks"),
                barrierFromCallback.get().getMessage());
        assertTrue(closeFromCallback.get() instanceof IllegalStateException, String.valueOf(closeFromCallback.get()));
        for (int i = 0; i < 16; i++) { // every bucket still has its array: call() in each epoch works
            e.call(inner::incrementAndGet);
            e.synchronize();
        }
        e.barrier();
        assertEquals(17, inner.get());
        e.close();
    }

    @Test
    void shouldKeepParkingAfterACallbackLeavesTheDomainThreadInterrupted() throws Exception {
        Epoch e = epoch(true);
        CountDownLatch ran = new CountDownLatch(1);
        AtomicReference<Thread> domainThread = new AtomicReference<>();
        e.call(() -> {
            domainThread.set(Thread.currentThread());
            Thread.currentThread().interrupt(); // the usual "restore the interrupt" idiom
            ran.countDown();
        });
        assertTrue(ran.await(20, java.util.concurrent.TimeUnit.SECONDS));
        // The idle domain thread must park, not spin: fails if it never reaches WAITING.
        GraceDomainWaits.awaitState(domainThread.get(), Thread.State.WAITING);
        e.close();
    }

    /**
     * With caller-run callbacks a batch runs on the caller's thread: a callback must neither see
     * the caller's interrupt nor clear or set it for the caller.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void shouldKeepTheCallersInterruptStatusAcrossCallbacksItRuns(boolean callerInterrupted) throws Exception {
        Epoch e = epoch(false);
        List<Boolean> seen = new CopyOnWriteArrayList<>();
        AtomicReference<Boolean> after = new AtomicReference<>();
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            e.call(() -> {
                ranOn.set(Thread.currentThread());
                seen.add(Thread.currentThread().isInterrupted());
                Thread.interrupted(); // clears: must not clear the caller's interrupt
            });
            e.call(() -> {
                seen.add(Thread.currentThread().isInterrupted());
                Thread.currentThread().interrupt(); // the "restore the interrupt" idiom: must not leak
            });
            e.call(() -> seen.add(Thread.currentThread().isInterrupted())); // after one that set it
            if (callerInterrupted) {
                Thread.currentThread().interrupt();
            }
            e.barrier(); // runs them here; not interruptible
            after.set(Thread.currentThread().isInterrupted());
        }, "interrupt-caller");
        caller.start();
        caller.join(20_000);
        assertFalse(caller.isAlive());
        assertSame(caller, ranOn.get(), "caller-run mode runs the callbacks on the barrier's thread");
        assertEquals(List.of(false, false, false), seen, "each callback starts with the interrupt status clear");
        assertEquals(callerInterrupted, after.get(), "the caller's interrupt status is its own after the callbacks");
        e.close();
    }

    @Test
    void shouldNotHandTheFirstCallersInheritableThreadLocalsToTheDomainThread() throws Exception {
        InheritableThreadLocal<String> local = new InheritableThreadLocal<>();
        local.set("first caller's");
        try {
            Epoch e = epoch(true);
            AtomicReference<String> seen = new AtomicReference<>("not run");
            CountDownLatch ran = new CountDownLatch(1);
            e.call(() -> { // starts the domain thread
                seen.set(local.get());
                ran.countDown();
            });
            assertTrue(ran.await(20, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(null, seen.get(), "the domain thread inherited the first caller's thread-locals");
            e.close();
        } finally {
            local.remove();
        }
    }

    /**
     * A call that cannot start the domain thread refuses its callback (it used to accept it and
     * throw all the same, so a caller could not tell whether to run it another way:
     * Deferring.callOrWait ran it and the domain ran it again later). The next call tries again.
     */
    @Test
    void shouldRefuseTheCallbackWhenTheDomainThreadCannotStartAndStartItLater() {
        Epoch e = epoch(true);
        EpochTestHooks.failThreadStarts(e);
        AtomicInteger refused = new AtomicInteger();
        IllegalStateException first = assertThrows(IllegalStateException.class, () -> e.call(refused::incrementAndGet));
        assertTrue(first.getMessage().contains("epoch-test") && first.getMessage().contains("could not start"),
                first.getMessage());
        assertTrue(first.getCause() instanceof OutOfMemoryError, String.valueOf(first.getCause()));
        assertEquals(0, e.pendingCallbacks(), "the callback was refused, not left pending");
        // Still failing: refused again, and nothing is pending that a barrier would wait for.
        assertThrows(IllegalStateException.class, () -> e.call(refused::incrementAndGet));
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> e.barrier());
        EpochTestHooks.startThreadsNormally(e);
        AtomicInteger accepted = new AtomicInteger();
        e.call(accepted::incrementAndGet); // starts it now
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> e.barrier());
        assertEquals(1, accepted.get());
        assertEquals(0, refused.get(), "a refused callback never runs");
        e.close();
        assertEquals(0, refused.get(), "not even on close");
    }

    @Test
    void shouldReportTheReaderThatHoldsACallAtTheBound() throws Exception {
        AtomicReference<String> reported = new AtomicReference<>();
        CountDownLatch stalled = new CountDownLatch(1);
        Epoch e = Epoch.create(GraceOptions.named("bound-stall").withCallbacksOnDomainThread(false)
                .withMaxPendingCallbacks(1).withStallThreshold(Duration.ofMillis(20)).withStallHandler(st -> {
                    reported.compareAndSet(null, st.reader().getName());
                    stalled.countDown();
                }));
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = readerInside(e, "epoch-reader", leave);
        e.call(() -> { }); // at the bound now
        Thread caller = new Thread(() -> e.call(() -> { }), "epoch-caller");
        caller.start();
        assertTrue(stalled.await(10, java.util.concurrent.TimeUnit.SECONDS), "the call at the bound reported no stall");
        leave.countDown();
        reader.join();
        caller.join(10_000);
        assertFalse(caller.isAlive());
        assertEquals("epoch-reader", reported.get());
        e.barrier();
        e.close();
    }

    @Test
    void shouldReportAStallMetByTheDomainThreadLikeAWritersStall() throws Exception {
        List<dev.mpsafe.sync.Stall> stalls = new CopyOnWriteArrayList<>();
        List<String> reportedOn = new CopyOnWriteArrayList<>();
        CountDownLatch stalled = new CountDownLatch(1);
        Epoch e = Epoch.create(GraceOptions.named("domain-stall").withStallThreshold(Duration.ofMillis(20))
                .withStallHandler(st -> {
                    stalls.add(st);
                    reportedOn.add(Thread.currentThread().getName());
                    stalled.countDown();
                }));
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = readerInside(e, "epoch-reader", leave);
        AtomicBoolean ran = new AtomicBoolean();
        e.call(() -> ran.set(true)); // far below the bound: only the domain thread waits for the reader
        assertTrue(stalled.await(10, java.util.concurrent.TimeUnit.SECONDS),
                "the domain thread waited for a reader past the threshold and reported no stall");
        assertFalse(ran.get());
        leave.countDown();
        reader.join();
        e.barrier();
        assertTrue(ran.get());
        assertEquals(1, stalls.size(), "one report per reader and wait: " + stalls);
        assertEquals("mpsafe-epoch-domain-stall", reportedOn.get(0));
        assertEquals("domain-stall", stalls.get(0).domain());
        assertSame(reader, stalls.get(0).reader());
        assertTrue(stalls.get(0).waited().toMillis() >= 20, stalls.get(0).toString());
        e.close();
    }

    @Test
    void shouldParkRatherThanSpinWhenAnInterruptedWriterWaits() throws Exception {
        Epoch e = epoch(false);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = readerInside(e, "epoch-reader", leave);
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            Thread.currentThread().interrupt();
            e.synchronize(); // not interruptible: waits for the reader
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        }, "interrupted-writer");
        writer.start();
        awaitParkedOrSpinning(writer); // past the spin and yield rounds (a writer that never parks: 10 s)
        long cpuMs = cpuMillisOver(writer, 300);
        assertTrue(writer.isAlive(), "the writer must still be waiting for the reader");
        assertTrue(cpuMs < 100, "an interrupted writer must park, not spin: it used " + cpuMs + " ms of CPU in 300 ms");
        leave.countDown();
        reader.join();
        writer.join(10_000);
        assertFalse(writer.isAlive());
        assertTrue(stillInterrupted.get(), "the writer's interrupt status was kept");
        e.close();
    }

    @Test
    void barrierShouldWaitForEveryEarlierCallbackEvenWhenLaterOnesFinishFirst() throws Exception {
        // Callbacks complete out of call order when a later call raises a bucket's tag; a barrier
        // must not count its way past an earlier callback that is still held back.
        for (boolean domainThread : new boolean[] {true, false}) {
            Epoch e = epoch(domainThread);
            int threads = 3;
            int rounds = 300;
            AtomicReference<String> failure = new AtomicReference<>();
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                ts[t] = new Thread(() -> {
                    for (int r = 0; r < rounds && failure.get() == null; r++) {
                        AtomicBoolean done = new AtomicBoolean();
                        e.call(() -> {
                            if ((System.nanoTime() & 7) == 0) {
                                java.util.concurrent.locks.LockSupport.parkNanos(200_000); // a slow one
                            }
                            done.set(true);
                        });
                        e.barrier();
                        if (!done.get()) {
                            failure.compareAndSet(null, "barrier returned before a callback called before it ran");
                        }
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join(60_000);
            }
            e.close();
            assertEquals(null, failure.get(), "domainThread=" + domainThread);
        }
    }

    @Test
    void shouldBoundPendingCallbacksOutsideSections() {
        Epoch e = Epoch.create(GraceOptions.named("bounded").withCallbacksOnDomainThread(false)
                .withMaxPendingCallbacks(64));
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 10_000; i++) {
            e.call(ran::incrementAndGet);
            assertTrue(e.pendingCallbacks() <= 64, "pending " + e.pendingCallbacks());
        }
        assertTrue(e.pendingHighWater() <= 64, "high water " + e.pendingHighWater());
        e.barrier();
        assertEquals(10_000, ran.get());
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void shouldNeverLetConcurrentCallersPassTheBound(boolean domainThread) throws Exception {
        final int bound = 2;
        final int threads = 4;
        final int perThread = 20_000;
        Epoch e = Epoch.create(GraceOptions.named("exact-bound").withCallbacksOnDomainThread(domainThread)
                .withMaxPendingCallbacks(bound));
        java.util.concurrent.atomic.AtomicLong ran = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            ts[t] = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception x) {
                    throw new AssertionError(x);
                }
                for (int i = 0; i < perThread; i++) {
                    e.call(ran::incrementAndGet);
                }
            }, "caller-" + t);
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join(60_000);
            assertFalse(t.isAlive(), "a caller is stuck");
        }
        e.barrier();
        assertEquals((long) threads * perThread, ran.get());
        assertTrue(e.pendingHighWater() <= bound, "racing callers passed the bound of " + bound + ": high water "
                + e.pendingHighWater());
        e.close();
    }

    @Test
    void shouldAcceptCallsInsideSectionBeyondBoundRatherThanDeadlock() {
        Epoch e = Epoch.create(GraceOptions.named("inside").withCallbacksOnDomainThread(false)
                .withMaxPendingCallbacks(4));
        AtomicInteger ran = new AtomicInteger();
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (Section s = e.enter()) {
                for (int i = 0; i < 10; i++) {
                    e.call(ran::incrementAndGet);
                }
            }
        });
        e.barrier();
        assertEquals(10, ran.get());
    }

    @Test
    void shouldReachCookieGoalsWithoutBlocking() throws Exception {
        Epoch e = epoch(false);
        long goal = e.advance();
        assertTrue(e.poll(goal) || e.poll(goal), "no reader: two polls reach the goal");
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (Section s = e.enter()) {
                inside.countDown();
                leave.await();
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
        });
        reader.start();
        inside.await();
        long blocked = e.advance();
        for (int i = 0; i < 10; i++) {
            assertFalse(e.poll(blocked), "goal reached while a pre-existing reader is inside");
        }
        leave.countDown();
        reader.join();
        assertTrue(e.poll(blocked) || e.poll(blocked));
    }

    @Test
    void shouldRunPendingCallbacksOnCloseAndRejectLaterCalls() {
        Epoch e = epoch(true);
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 1000; i++) {
            e.call(ran::incrementAndGet);
        }
        e.close();
        assertEquals(1000, ran.get(), "close left callbacks unrun");
        IllegalStateException ex = assertThrows(IllegalStateException.class, () -> e.call(ran::incrementAndGet));
        assertTrue(ex.getMessage().contains("closed"), ex.getMessage());
        assertThrows(NullPointerException.class, () -> epoch(false).call(null));
    }

    @Test
    void shouldNotScanWhenNothingIsPending() throws Exception {
        Epoch e = Epoch.create(GraceOptions.named("idle-scan-test"));
        long before = e.epoch();
        e.call(() -> { });
        e.barrier();
        long after = e.epoch();
        assertTrue(after >= before + 2);
        // With nothing pending the domain thread parks without a timeout: the epoch stays put.
        Thread t = findThread("mpsafe-epoch-idle-scan-test");
        GraceDomainWaits.awaitState(t, Thread.State.WAITING);
        assertEquals(after, e.epoch(), "the idle domain thread kept advancing (scanning)");
        e.close();
    }

    private static void spinFor(long nanos) {
        long t0 = System.nanoTime();
        while (System.nanoTime() - t0 < nanos) {
            Thread.onSpinWait();
        }
    }

    /**
     * With caller-run callbacks, one dispatch used to loop until no bucket was ready, re-reading
     * the epoch; another thread that keeps calling and advancing kept a bucket ready forever, so
     * the poll(), barrier() or call() at the bound that held the dispatch never returned while it
     * ran. Made deterministic here: each time the dispatcher runs the feeder's callback, the feeder
     * thread calls again and advances the epoch past that call's grace period before the callback
     * returns, so a bucket is always ready again when the batch ends. Each call's work is bounded
     * now: only the buckets ready at its entry.
     */
    @ParameterizedTest
    @ValueSource(strings = {"poll", "barrier", "callAtTheBound"})
    void shouldReturnWhileAnotherThreadKeepsCallingAndAdvancing(String op) throws Exception {
        Epoch e = Epoch.create(GraceOptions.named("busy-" + op).withCallbacksOnDomainThread(false)
                .withMaxPendingCallbacks(2));
        java.util.concurrent.SynchronousQueue<Boolean> fed = new java.util.concurrent.SynchronousQueue<>();
        java.util.concurrent.Semaphore feed = new java.util.concurrent.Semaphore(0);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger feederRan = new AtomicInteger();
        AtomicReference<Runnable> feederCb = new AtomicReference<>();
        feederCb.set(() -> {
            feederRan.incrementAndGet();
            if (stop.get()) {
                return;
            }
            feed.release(); // ask the feeder thread for the next call, and wait until it is ready
            try {
                fed.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        });
        Thread feeder = new Thread(() -> {
            try {
                while (!stop.get()) {
                    if (feed.tryAcquire(10, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                        try (Section s = e.enter()) {
                            e.call(feederCb.get()); // in a section: accepted even at the bound, never waits
                        }
                        e.synchronize(); // the new call's grace period has passed: it is ready now
                        fed.put(Boolean.TRUE);
                    }
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }, "feeder");
        feeder.start();
        e.call(feederCb.get());
        e.synchronize(); // ready
        AtomicInteger mineRan = new AtomicInteger();
        Thread worker = new Thread(() -> {
            switch (op) {
                case "poll" -> e.poll();
                case "barrier" -> {
                    e.call(mineRan::incrementAndGet);
                    e.barrier();
                }
                default -> {
                    e.call(mineRan::incrementAndGet); // two pending: the domain is at its bound
                    e.synchronize(); // both ready, so the next call's relief runs them
                    e.call(mineRan::incrementAndGet);
                }
            }
        }, op + "-caller");
        worker.start();
        worker.join(5_000);
        boolean returned = !worker.isAlive();
        int fedCalls = feederRan.get();
        stop.set(true);
        worker.join(10_000);
        feeder.join(10_000);
        assertFalse(worker.isAlive() || feeder.isAlive(), "the threads did not end once the feeder stopped");
        e.barrier();
        e.close();
        assertTrue(returned, op + "() did not return in 5 s while another thread kept calling ("
                + fedCalls + " of its callbacks run meanwhile)");
        if (op.equals("poll")) {
            assertEquals(1, fedCalls, "poll() runs only what was ready at its entry");
        } else {
            assertTrue(mineRan.get() >= 1, "the worker's own callback ran");
        }
    }

    private static long cpuMillisOver(Thread t, long millis) throws InterruptedException {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadCpuTimeSupported(), "no per-thread CPU time here");
        long cpu0 = mx.getThreadCpuTime(t.threadId());
        Thread.sleep(millis);
        return (mx.getThreadCpuTime(t.threadId()) - cpu0) / 1_000_000;
    }

    /**
     * A call() at the bound (or a close()) whose advance succeeds while another thread holds the
     * dispatch, running a slow callback, used to loop at once: a full core, a fence and a scan per
     * pass, the epoch pushed up millions of times. It backs off like any other wait now.
     */
    @ParameterizedTest
    @ValueSource(strings = {"callAtTheBound", "close"})
    void shouldBackOffRatherThanSpinWhileAnotherThreadRunsASlowCallback(String op) throws Exception {
        Epoch e = Epoch.create(GraceOptions.named("slow-" + op).withCallbacksOnDomainThread(false)
                .withMaxPendingCallbacks(1));
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        e.call(() -> {
            running.countDown();
            try {
                finish.await(); // slow: the dispatcher holds the dispatch until the test lets it go
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        });
        e.synchronize(); // ready now
        Thread dispatcher = new Thread(e::poll, "dispatcher");
        dispatcher.start();
        assertTrue(running.await(10, java.util.concurrent.TimeUnit.SECONDS));
        // The slow callback has not completed: still pending, so the domain is at its bound.
        long epoch0 = e.epoch();
        Thread waiter = new Thread(op.equals("close") ? e::close : () -> e.call(() -> { }), op);
        waiter.start();
        awaitParkedOrSpinning(waiter); // past the spin and yield rounds (a waiter that never parks: 10 s)
        long cpuMs = cpuMillisOver(waiter, 300);
        long advances = e.epoch() - epoch0;
        boolean waited = waiter.isAlive();
        finish.countDown();
        dispatcher.join();
        waiter.join(10_000);
        assertFalse(waiter.isAlive(), op + " did not finish once the slow callback had");
        assertTrue(waited, op + " must wait for the slow callback");
        assertTrue(cpuMs < 100, op + " spun while another thread ran a slow callback: " + cpuMs
                + " ms of CPU in 300 ms, the epoch advanced " + advances + " times");
        if (!e.isClosed()) {
            e.barrier();
            e.close();
        }
        assertEquals(0, e.pendingCallbacks());
    }

    private static Thread findThread(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no thread " + name));
    }
}
