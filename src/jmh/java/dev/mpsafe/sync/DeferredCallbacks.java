package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.Threads;

/**
 * Question: how many callbacks per microsecond can one thread defer with {@link Epoch#call}, and
 * how many of them actually run, when callbacks run on the domain's thread and when the callers
 * run them?
 *
 * <p>One operation is one {@code call(counter)} with the same preallocated {@link Runnable}, which
 * atomically increments a counter when it runs. Nothing reads a section, so each grace period is
 * as short as the scheme allows: this is the bookkeeping cost of deferral, not of waiting. The
 * primary score is calls per µs; the aux counter {@code callbacksRun} is callbacks that ran during
 * the measured iteration, per µs. Each iteration ends (at teardown, after the counter was read)
 * with a {@link Deferring#barrier()} so that no backlog passes to the next iteration, and the
 * counter is then checked against the calls made.
 *
 * <p>The caller cannot outrun reclamation for long: pending callbacks are bounded
 * ({@code maxPending}, the {@link GraceOptions#withMaxPendingCallbacks} default), and a
 * {@code call()} over the bound first waits for reclamation ({@code epochDomainThread}) or performs
 * it ({@code epochCallerRuns}). So in steady state the two figures meet, and the score is the rate
 * of the whole pipeline: call, grace period, callback.
 *
 * <p>Peers, in the same class: the two epoch modes against each other, and {@code executor}: the
 * JDK's way to hand a callback to another thread with a bound, a one-thread
 * {@code ThreadPoolExecutor} on an {@code ArrayBlockingQueue} of {@code maxPending} with
 * {@code CallerRunsPolicy} (the caller runs the callback when the queue is full, as
 * {@code epochCallerRuns} does). It defers to a thread but waits for no grace period.
 *
 * <p>At trial teardown the epoch variants print their pending high-water mark (over the whole
 * trial, warmup included) and the callbacks run.
 *
 * <p>Single-threaded by design ({@code @Threads(1)}): the calls are counted in a plain field. The
 * domain thread or executor worker is a second thread, so on 2 cores nothing is oversubscribed.
 *
 * <p>Run (3 cases, about 3 minutes on 2 cores):
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.sync\.DeferredCallbacks\..*' \
 *       -Djmh.args="-f 3 -wi 3 -w 2s -i 5 -r 2s -prof gc"
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Threads(1)
public class DeferredCallbacks {

    @Param({"epochDomainThread", "epochCallerRuns", "executor"})
    public String impl;

    /** The bound on pending callbacks (epoch) or queued tasks (executor). */
    @Param({"" + GraceOptions.DEFAULT_MAX_PENDING})
    public int maxPending;

    Epoch epoch;
    ThreadPoolExecutor executor;
    /** {@code epoch::call} or {@code executor::execute}; one class per fork, so monomorphic. */
    Consumer<Runnable> defer;
    final Counter counter = new Counter();
    /** Calls made by the (single) benchmark thread. */
    long calls;

    /** The preallocated callback: counts its runs. Atomic, since executor callbacks may overlap. */
    static final class Counter implements Runnable {
        /** Incremented through RAN; volatile so that the benchmark thread reads it directly. */
        private volatile long ran;

        @Override
        public void run() {
            RAN.getAndAdd(this, 1L);
        }

        long ran() {
            return ran;
        }

        // VarHandle mechanics
        private static final VarHandle RAN;

        static {
            try {
                RAN = MethodHandles.lookup().findVarHandle(Counter.class, "ran", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    @Setup(Level.Trial)
    public void create() {
        GraceOptions options = GraceOptions.named("deferred").withMaxPendingCallbacks(maxPending);
        switch (impl) {
            case "epochDomainThread" -> epoch = Epoch.create(options.withCallbacksOnDomainThread(true));
            case "epochCallerRuns" -> epoch = Epoch.create(options.withCallbacksOnDomainThread(false));
            case "executor" -> {
                executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                        new ArrayBlockingQueue<>(maxPending),
                        r -> Thread.ofPlatform().daemon().name("deferred-executor").unstarted(r),
                        new ThreadPoolExecutor.CallerRunsPolicy());
                executor.prestartCoreThread();
            }
            default -> throw new IllegalArgumentException("unknown impl '" + impl
                    + "'; use epochDomainThread, epochCallerRuns or executor");
        }
        defer = epoch != null ? epoch::call : executor::execute;
    }

    /**
     * Waits until every callback deferred so far has run: {@link Deferring#barrier()}, or for the
     * executor until the counter has caught up with the calls. Then checks the count.
     */
    void barrier() {
        if (epoch != null) {
            epoch.barrier();
        } else {
            while (counter.ran() < calls) {
                Thread.yield(); // the worker (or a caller-run callback) is still draining
            }
        }
        if (counter.ran() != calls) {
            throw new IllegalStateException(impl + ": " + calls + " callbacks deferred but " + counter.ran()
                    + " ran after the barrier");
        }
    }

    @TearDown(Level.Trial)
    public void close() throws InterruptedException {
        if (epoch != null) {
            System.out.println(impl + ": pending high-water " + epoch.pendingHighWater() + " (bound " + maxPending
                    + "), callbacks run " + epoch.callbacksRun());
            epoch.close();
        } else {
            executor.shutdown();
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("executor worker did not stop");
            }
        }
    }

    /**
     * Callbacks that ran while the iteration was measured. Read at iteration teardown, before the
     * barrier, so the callbacks the barrier drains are not counted.
     */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Ran {
        public long callbacksRun;
        private long start;

        @Setup(Level.Iteration)
        public void start(DeferredCallbacks b) {
            callbacksRun = 0;
            start = b.counter.ran();
        }

        @TearDown(Level.Iteration)
        public void stopAndDrain(DeferredCallbacks b) {
            callbacksRun = b.counter.ran() - start;
            b.barrier(); // here, not in b's own teardown: the count must be read first
        }
    }

    @Benchmark
    public void call(Ran ran) {
        calls++;
        defer.accept(counter);
    }
}
