package dev.mpsafe.kcont;

import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.TimerTask;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Question: what does arming a timer and cancelling it again cost the arming thread? This is what
 * TCP does with its retransmit timer on nearly every segment.
 *
 * <p>One benchmark thread arms a 10 ms timer and cancels it, over and over. Peers in the same run:
 * kcont (a worker with 1 ms ticks; 1024 preallocated continuations used in turn, so that most arms
 * are fresh requests that travel through the worker's inbox rather than a re-arm of a request the
 * worker has not looked at yet), {@code ScheduledThreadPoolExecutor} (one thread, default
 * cancel policy: a cancelled task stays in the queue until its delay passes), and Netty's
 * {@code HashedWheelTimer} (1 ms ticks, 512 buckets). Each peer's own thread processes the arms
 * and cancels in the background; its cost shows only where it competes for the 2 cores.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class KcontDelayed {

    static final int KCONTS = 1024;

    @Param({"kcont", "stpe", "netty"})
    public String impl;

    private KcontGroup group;
    private Kcont[] kconts;
    private int next;
    private ScheduledThreadPoolExecutor stpe;
    private HashedWheelTimer wheel;
    private final Runnable task = () -> { };
    private final TimerTask nettyTask = t -> { };

    @Setup(Level.Trial)
    public void setUp() {
        switch (impl) {
            case "kcont" -> {
                group = KcontGroup.builder("bench").workers(1).maxKconts(KCONTS).build();
                kconts = new Kcont[KCONTS];
                for (int i = 0; i < KCONTS; i++) {
                    kconts[i] = group.worker(0).kcont("t" + i, Priority.CLOCK, task);
                }
            }
            case "stpe" -> stpe = new ScheduledThreadPoolExecutor(1);
            case "netty" -> {
                wheel = new HashedWheelTimer(1, TimeUnit.MILLISECONDS, 512);
                wheel.start();
            }
            default -> throw new IllegalArgumentException("unknown impl " + impl);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        KcontImmediate.closeAll(group, stpe);
        if (wheel != null) {
            wheel.stop();
        }
    }

    @Benchmark
    public boolean scheduleCancel() {
        switch (impl) {
            case "kcont" -> {
                final Kcont k = kconts[next];
                next = (next + 1) & (KCONTS - 1);
                k.schedule(10, TimeUnit.MILLISECONDS);
                return k.cancel();
            }
            case "stpe" -> {
                final ScheduledFuture<?> f = stpe.schedule(task, 10, TimeUnit.MILLISECONDS);
                return f.cancel(false);
            }
            default -> {
                final Timeout t = wheel.newTimeout(nettyTask, 10, TimeUnit.MILLISECONDS);
                return t.cancel();
            }
        }
    }
}
