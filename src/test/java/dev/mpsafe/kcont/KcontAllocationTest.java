package dev.mpsafe.kcont;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The claim "scheduling a preallocated kcont allocates nothing", checked with HotSpot's per-thread
 * allocation counter over a million operations on a manual group, so that the worker's side (inbox
 * intake, wheel, run queues, the run) is measured on the same thread. JMH's {@code -prof gc} shows
 * the same figure for the threaded case in docs/kcont.md.
 */
class KcontAllocationTest {

    private static final int OPS = 1_000_000;

    @Test
    void shouldNotAllocatePerScheduleCancelRescheduleOrRun() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "per-thread allocation counting unsupported");
        threads.setThreadAllocatedMemoryEnabled(true);

        AtomicLong clock = new AtomicLong();
        KcontGroup g = KcontGroup.builder("alloc").manual().workers(1).ticker(clock::get)
                .tickLength(Duration.ofMillis(1)).build();
        Worker w = g.worker(0);
        long[] runs = new long[1];
        Kcont now = w.kcont("now", Priority.NET, () -> runs[0]++);
        Kcont timer = w.kcont("timer", Priority.CLOCK, () -> runs[0]++);

        exercise(w, now, timer, clock, OPS); // warm up: let the JIT compile the paths

        long tid = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(tid);
        exercise(w, now, timer, clock, OPS);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;

        // One allocation per operation would be >= 16 bytes x several million; allow a little for
        // the measuring machinery itself.
        assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes over " + (14L * OPS) + " operations");
        assertEquals(2L * 4 * OPS, runs[0], "four runs per iteration, warm-up included");
    }

    private static void exercise(Worker w, Kcont now, Kcont timer, AtomicLong clock, int ops) {
        for (int i = 0; i < ops; i++) {
            now.schedule();
            now.schedule(); // coalesces
            timer.schedule(1, TimeUnit.MILLISECONDS);
            timer.reschedule(2, TimeUnit.MILLISECONDS);
            w.runRound(); // runs "now", links "timer" into the wheel
            clock.addAndGet(2_000_000L);
            w.runRound(); // fires "timer"
            now.schedule();
            now.cancel();
            timer.schedule(5, TimeUnit.MILLISECONDS);
            timer.cancel();
            now.schedule();
            w.runRound();
            timer.schedule(1, TimeUnit.MILLISECONDS);
            clock.addAndGet(1_000_000L);
            w.runRound();
        }
    }
}
