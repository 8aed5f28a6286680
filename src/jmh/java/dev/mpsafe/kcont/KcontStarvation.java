package dev.mpsafe.kcont;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Question: how late do timers run when the NET class is saturated on every worker (seed 004)?
 *
 * <p>Each invocation runs the seed 004 scenario of {@code Seed004StarvationTest} with 1 ms ticks:
 * on every worker (one per processor) four NET continuations spin 20 us and reschedule themselves,
 * while four CLOCK timers re-arm with delays of 1 to 4 ticks; 200 ms of warm-up, then 500 ms
 * measured. The figures are the aux counters: {@code p99Ticks} and {@code maxTicks} (upper bounds
 * from the lateness histogram, in ticks), {@code timerRuns} and {@code netRuns} in the measured
 * window. The primary score (the invocation's wall time) is not the result. {@code order=netFirst}
 * is the NetBSD order (NET first, unbudgeted), measured the same way: its timers run only when the
 * network goes quiet at the end of the window.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, batchSize = 1)
@Measurement(iterations = 5, batchSize = 1)
@State(Scope.Benchmark)
public class KcontStarvation {

    static final Duration TICK = Duration.ofMillis(1);

    @Param({"timersFirst", "netFirst"})
    public String order;

    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Lateness {
        public long p99Ticks;
        public long maxTicks;
        public long timerRuns;
        public long netRuns;

        @Setup(Level.Iteration)
        public void reset() {
            p99Ticks = 0;
            maxTicks = 0;
            timerRuns = 0;
            netRuns = 0;
        }
    }

    @Benchmark
    public void saturatedNet(Lateness out) throws InterruptedException {
        KcontGroup.Builder b = KcontGroup.builder("starve-" + order).tickLength(TICK);
        if (order.equals("netFirst")) {
            b.netFirstBaseline();
        }
        Seed004StarvationTest.Result r = Seed004StarvationTest.saturate(b, TICK, 200, 500);
        out.p99Ticks = r.lateness().percentile(0.99);
        out.maxTicks = r.lateness().max();
        out.timerRuns = r.lateness().count();
        out.netRuns = r.netRuns();
    }
}
