package dev.mpsafe.kcont;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Seed 004: "TCP becomes fast enough that I can starve out SOFTINT_CLOCK". Every worker is saturated
 * with NET work (continuations that spin for 20 us and reschedule themselves, so the NET class
 * never runs dry) while CLOCK timers re-arm themselves with delays of 1 to 4 ticks. The timer
 * lateness histogram of all workers must show p99 within 2 ticks.
 *
 * <p>The baseline, measured in the same test, serves NET first and without a budget, as NetBSD's
 * softint levels do. Its timers run only when the network goes quiet: their lateness is the length
 * of the saturation window (here about 240 ticks), and the test asserts it is at least 20 ticks,
 * ten times the bound the budgeted order must meet.
 *
 * <p>Real threads and real time: lateness includes the operating system's preemption of the
 * worker threads. The machine this runs on in CI has 2 cores and other builds on it, so the test
 * uses 5 ms ticks: "within 2 ticks" then tolerates a 10 ms preemption at the 99th percentile.
 * The budget mechanism itself is checked deterministically, on an injected clock, in
 * {@link KcontTest#shouldStopNetAsSoonAsATimerIsDueAndRunTheTimerFirstNextRound}; the 1 ms-tick
 * figures are measured by the JMH benchmark {@code KcontStarvation} (docs/kcont.md).
 */
class Seed004StarvationTest {

    static final Duration TICK = Duration.ofMillis(5);
    static final long WARMUP_MS = 300;
    static final long WINDOW_MS = 1_200;
    static final int NET_PER_WORKER = 4;
    static final int TIMERS_PER_WORKER = 4;

    @Test
    void shouldKeepTimerLatenessWithinTwoTicksUnderNetSaturationWhileNetFirstStarvesTimers() throws Exception {
        Result budgeted = saturate(KcontGroup.builder("seed004").tickLength(TICK), TICK, WARMUP_MS, WINDOW_MS);
        Result netFirst = saturate(KcontGroup.builder("seed004-netfirst").tickLength(TICK).netFirstBaseline(),
                TICK, WARMUP_MS, WINDOW_MS);
        String report = "timers first: " + budgeted + "\nNET first (NetBSD order): " + netFirst;
        System.out.println("[seed004] " + report.replace("\n", "\n[seed004] "));

        assertTrue(budgeted.lateness.count() >= 100, "too few timer samples to judge: " + report);
        assertTrue(budgeted.netRuns > 10_000, "NET was not saturated: " + report);
        assertTrue(budgeted.netSqueezes > 0, "NET never hit a budget, so the budget was not exercised: " + report);
        assertTrue(budgeted.lateness.percentile(0.99) <= 2, "p99 timer lateness above 2 ticks: " + report);

        assertTrue(netFirst.lateness.count() > 0, "the baseline's timers never ran: " + report);
        assertTrue(netFirst.lateness.percentile(0.99) >= 20,
                "the NET-first baseline did not starve the timers as NetBSD's order does: " + report);
    }

    record Result(LatenessHistogram lateness, long netRuns, long netSqueezes) {
        @Override
        public String toString() {
            return lateness + ", NET runs " + netRuns + ", NET squeezes " + netSqueezes;
        }
    }

    /**
     * Saturates NET on every worker of the group {@code builder} makes (whose tick must be
     * {@code tick}) while CLOCK timers re-arm themselves with delays of 1 to 4 ticks; measures from
     * {@code warmupMs} to {@code warmupMs + windowMs}. Also used by the JMH benchmark KcontStarvation.
     */
    static Result saturate(KcontGroup.Builder builder, Duration tick, long warmupMs, long windowMs)
            throws InterruptedException {
        KcontGroup g = builder.build();
        try {
            final AtomicBoolean stopped = new AtomicBoolean();
            final AtomicLong netRuns = new AtomicLong();
            for (Worker w : g.workers()) {
                for (int i = 0; i < NET_PER_WORKER; i++) {
                    Kcont[] self = new Kcont[1];
                    self[0] = w.kcont(w.name() + "-net" + i, Priority.NET, () -> {
                        spin(20_000);
                        netRuns.incrementAndGet();
                        if (!stopped.get()) {
                            self[0].schedule();
                        }
                    });
                    self[0].schedule();
                }
                for (int i = 0; i < TIMERS_PER_WORKER; i++) {
                    final int ticks = i + 1;
                    Kcont[] self = new Kcont[1];
                    self[0] = w.kcont(w.name() + "-timer" + i, Priority.CLOCK, () -> {
                        if (!stopped.get()) {
                            self[0].schedule(ticks * tick.toNanos(), TimeUnit.NANOSECONDS);
                        }
                    });
                    self[0].schedule(ticks * tick.toNanos(), TimeUnit.NANOSECONDS);
                }
            }
            // Leave out the first 300 ms: class loading and JIT compilation compete with the two
            // workers for the two cores and say nothing about the scheduling order.
            Thread.sleep(warmupMs);
            long[] warm = sumLateness(g);
            long netWarm = netRuns.get();
            long squeezesWarm = sumNetSqueezes(g);
            Thread.sleep(windowMs);
            stopped.set(true);
            // Let the NET-first baseline's starved timers run once the network goes quiet.
            Thread.sleep(Math.max(50, 40 * tick.toMillis()));
            long[] sum = sumLateness(g);
            for (int i = 0; i < sum.length; i++) {
                sum[i] -= warm[i];
            }
            return new Result(new LatenessHistogram(sum), netRuns.get() - netWarm, sumNetSqueezes(g) - squeezesWarm);
        } finally {
            g.shutdown(ShutdownPolicy.DISCARD);
            g.awaitTermination(30, TimeUnit.SECONDS);
        }
    }

    static long[] sumLateness(KcontGroup g) {
        long[] sum = new long[LatenessHistogram.BUCKETS];
        for (WorkerStats s : g.stats()) {
            long[] c = s.lateness().counts();
            for (int i = 0; i < sum.length; i++) {
                sum[i] += c[i];
            }
        }
        return sum;
    }

    static long sumNetSqueezes(KcontGroup g) {
        long n = 0;
        for (WorkerStats s : g.stats()) {
            n += s.netSqueezes();
        }
        return n;
    }

    static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
