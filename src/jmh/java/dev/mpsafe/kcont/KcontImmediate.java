package dev.mpsafe.kcont;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Question: how fast does work handed to another thread for immediate execution run there?
 *
 * <ul>
 *   <li>{@code burst} (throughput): the benchmark thread schedules 64 distinct preallocated tasks,
 *       then waits until the worker has run all 64. Scores are per task. In-flight work is bounded
 *       by the batch, so no peer can run ahead into an unbounded queue.</li>
 *   <li>{@code roundTrip} (latency): schedule one task and wait until it has run: the hand-off plus
 *       the wake-up of a parked worker.</li>
 * </ul>
 *
 * <p>Peers in the same run, each with exactly one worker thread: a {@code kcont} worker (the tasks
 * are preallocated {@link Kcont}s, so {@code -prof gc} shows what one schedule allocates),
 * {@code ScheduledThreadPoolExecutor} and a plain {@code ThreadPoolExecutor} over a
 * {@code LinkedBlockingQueue} (both given the same preallocated {@code Runnable}s; they allocate
 * a task wrapper or a queue node per submission). The body of every task is one release store of
 * a counter that the benchmark thread reads with acquire loads.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class KcontImmediate {

    /** Tasks per {@link #burst} invocation; the comparison's catalog names its case after it. */
    public static final int BATCH = 64;

    @Param({"kcont", "stpe", "tpe"})
    public String impl;

    private KcontGroup group;
    private Kcont[] kconts;
    private ScheduledThreadPoolExecutor stpe;
    private ThreadPoolExecutor tpe;
    private Runnable[] tasks;
    private Kcont single;
    private Runnable singleTask;

    /** Written only by the one worker thread (release), read by the benchmark thread (acquire). */
    private long done;

    private void ran() {
        DONE.setRelease(this, (long) DONE.get(this) + 1);
    }

    private long laDone() {
        return (long) DONE.getAcquire(this);
    }

    @Setup(Level.Trial)
    public void setUp() {
        tasks = new Runnable[BATCH];
        for (int i = 0; i < BATCH; i++) {
            tasks[i] = this::ran;
        }
        singleTask = this::ran;
        switch (impl) {
            case "kcont" -> {
                group = KcontGroup.builder("bench").workers(1).build();
                kconts = new Kcont[BATCH];
                for (int i = 0; i < BATCH; i++) {
                    kconts[i] = group.worker(0).kcont("b" + i, Priority.NET, tasks[i]);
                }
                single = group.worker(0).kcont("single", Priority.NET, singleTask);
            }
            case "stpe" -> stpe = new ScheduledThreadPoolExecutor(1);
            case "tpe" -> tpe = new ThreadPoolExecutor(1, 1, 0L, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>());
            default -> throw new IllegalArgumentException("unknown impl " + impl);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        closeAll(group, stpe, tpe);
    }

    /** Closes whichever of the peers a trial created (the others are null). */
    static void closeAll(KcontGroup group, ExecutorService... executors) throws InterruptedException {
        if (group != null) {
            group.close();
        }
        for (ExecutorService e : executors) {
            if (e != null) {
                e.shutdownNow();
                e.awaitTermination(10, TimeUnit.SECONDS);
            }
        }
    }

    private void submit(int i) {
        switch (impl) {
            case "kcont" -> kconts[i].schedule();
            case "stpe" -> stpe.execute(tasks[i]);
            default -> tpe.execute(tasks[i]);
        }
    }

    private void awaitDone(long target) {
        while (laDone() - target < 0) {
            Thread.onSpinWait();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void burst() {
        final long target = laDone() + BATCH;
        for (int i = 0; i < BATCH; i++) {
            submit(i);
        }
        awaitDone(target);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void roundTrip() {
        final long target = laDone() + 1;
        switch (impl) {
            case "kcont" -> single.schedule();
            case "stpe" -> stpe.execute(singleTask);
            default -> tpe.execute(singleTask);
        }
        awaitDone(target);
    }

    private static final VarHandle DONE;

    static {
        try {
            DONE = MethodHandles.lookup().findVarHandle(KcontImmediate.class, "done", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
