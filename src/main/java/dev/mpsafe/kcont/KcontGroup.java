package dev.mpsafe.kcont;

import dev.mpsafe.internal.KcontWorkerDeathEvent;
import dev.mpsafe.pcq.Pcq;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;

/**
 * A group of {@link Worker}s, by default one per available processor, and the settings their
 * continuations share: the clock (an injectable ticker), the tick length and wheel size, the
 * per-round budgets, the error handler.
 *
 * <pre>{@code
 * KcontGroup net = KcontGroup.create("net");               // one worker per processor
 * Kcont rexmt = net.worker(0).kcont("tcp-rexmt", Priority.CLOCK, conn::retransmit);
 * rexmt.schedule(200, TimeUnit.MILLISECONDS);              // any thread, no lock, no allocation
 * rexmt.reschedule(400, TimeUnit.MILLISECONDS);
 * rexmt.drain();                                           // cancel and wait for a run in progress
 * net.close();                                             // run what is due, discard the rest
 * }</pre>
 *
 * <h2>Budgets</h2>
 * Every round a worker runs expired timers first, then the classes in {@link Priority} order. Each
 * phase stops when it has used its count budget ({@link Builder#timerBudget},
 * {@link Builder#budget}; default 300 per class and 1,000 timers), when the round has used its time
 * budget ({@link Builder#roundTime}; default 2 ms), or, for the classes, as soon as a timer is due;
 * every phase that has work runs at least one continuation per round. Linux's defaults are the
 * model (NAPI's 300 packets, softirq's 2 ms); the "timer due" stop is what keeps timer lateness
 * within a tick or two under a saturated network class (docs/kcont.md).
 *
 * <h2>Shutdown</h2>
 * {@link #shutdown(ShutdownPolicy)} refuses new requests at once ({@code schedule} throws
 * {@link RejectedExecutionException}), then either runs what is due
 * ({@link ShutdownPolicy#RUN_PENDING}) or discards what is pending ({@link ShutdownPolicy#DISCARD});
 * discarded requests are counted ({@link #discardedCount()}), refused calls too
 * ({@link #rejectedCount()}). {@link #close()} is {@code shutdown(RUN_PENDING)} and waiting.
 *
 * <h2>Manual groups</h2>
 * A group built with {@link Builder#manual()} starts no threads: the caller drives each worker with
 * {@link Worker#runRound()}, with a ticker it controls, so tests of timers are deterministic.
 *
 * <p>Thread safety: safe for use by any number of threads.
 */
public final class KcontGroup implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("dev.mpsafe.kcont");

    private final String name;
    final boolean manual;
    final boolean netFirst;
    private final LongSupplier ticker;
    private final long origin;
    final long tickNanos;
    final int wheelSize;
    private final int maxKconts;
    final int[] budget;
    final int timerBudget;
    final long roundTimeNanos;
    final long longRunNanos;
    private final long maxDelayNanos;
    private final BiConsumer<? super Kcont, ? super Throwable> errorHandler;
    private final Worker[] workers;
    private final Thread[] threads;

    private final AtomicInteger kconts = new AtomicInteger();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong discarded = new AtomicLong();
    private final AtomicLong handlerFailures = new AtomicLong();
    private volatile boolean stopping;
    private volatile ShutdownPolicy policy;
    /**
     * Test hook, null in production: run by a call right after it passed admission and before it
     * touches the continuation, so a test can let shutdown overtake an admitted call. Plain field:
     * a test sets it before it starts the threads that call (Thread.start orders it).
     */
    Runnable afterAdmission;

    private KcontGroup(Builder b) {
        this.name = b.name;
        this.manual = b.manual;
        this.netFirst = b.netFirst;
        this.ticker = b.ticker;
        this.tickNanos = b.tickNanos;
        this.wheelSize = b.wheelSize;
        this.maxKconts = b.maxKconts;
        this.budget = b.budget.clone();
        this.timerBudget = b.timerBudget;
        this.roundTimeNanos = b.roundTimeNanos;
        this.longRunNanos = b.longRunNanos;
        this.errorHandler = b.errorHandler;
        // Deadlines are kept mod 2^40 ticks; cap delays at 2^38 ticks (and far from overflow).
        final long cap = Long.MAX_VALUE >> 2;
        this.maxDelayNanos = tickNanos > (cap >> 38) ? cap : tickNanos << 38;
        this.origin = ticker.getAsLong();
        this.workers = new Worker[b.workers];
        for (int i = 0; i < workers.length; i++) {
            // Each continuation is in at most one inbox at a time (its Q bit), so an inbox that can
            // hold every continuation of the group, plus the worker's own wake-up, is never full.
            workers[i] = new Worker(this, i, maxKconts + 1, 0L);
        }
        this.threads = new Thread[manual ? 0 : workers.length];
        for (int i = 0; i < threads.length; i++) {
            final Worker w = workers[i];
            threads[i] = Thread.ofPlatform().name(w.name()).daemon(true).unstarted(w::loop);
        }
        for (Thread t : threads) {
            t.start();
        }
    }

    /**
     * Creates and starts a group with the default settings: one worker per available processor,
     * {@code System::nanoTime}, 1 ms ticks.
     *
     * @param name the group's name, the prefix of its threads' names
     * @return a running group
     * @throws NullPointerException if {@code name} is {@code null}
     */
    public static KcontGroup create(String name) {
        return builder(name).build();
    }

    /**
     * Returns a builder with the default settings.
     *
     * @param name the group's name, the prefix of its threads' names
     * @return a new builder
     * @throws NullPointerException if {@code name} is {@code null}
     */
    public static Builder builder(String name) {
        return new Builder(Objects.requireNonNull(name, "name"));
    }

    /**
     * Returns the group's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns worker {@code index}.
     *
     * @param index from 0 to {@code workerCount() - 1}
     * @return the worker
     * @throws IndexOutOfBoundsException if {@code index} is out of range
     */
    public Worker worker(int index) {
        Objects.checkIndex(index, workers.length);
        return workers[index];
    }

    /**
     * Returns the number of workers.
     *
     * @return the worker count
     */
    public int workerCount() {
        return workers.length;
    }

    /**
     * Returns the workers, in index order.
     *
     * @return an unmodifiable list of the workers
     */
    public List<Worker> workers() {
        return List.of(workers);
    }

    /**
     * Returns a snapshot of every worker's statistics, in index order.
     *
     * @return the statistics
     */
    public List<WorkerStats> stats() {
        return Arrays.stream(workers).map(Worker::stats).toList();
    }

    /**
     * Returns the tick length in nanoseconds: the resolution of delays.
     *
     * @return the tick length
     */
    public long tickNanos() {
        return tickNanos;
    }

    /**
     * Returns the longest delay accepted, in nanoseconds (2<sup>38</sup> ticks, or about 2<sup>61</sup> ns
     * for very long ticks).
     *
     * @return the maximum delay
     */
    public long maxDelayNanos() {
        return maxDelayNanos;
    }

    /**
     * Returns how many {@code schedule}, {@code schedule(delay)} and {@code scheduleOn} calls were
     * refused (they threw {@link RejectedExecutionException}) because the group was shutting down
     * or the worker they needed had died.
     *
     * @return the rejected count
     */
    public long rejectedCount() {
        return rejected.get();
    }

    /**
     * Returns how many accepted requests never ran because they were discarded: pending ones at
     * shutdown, those whose call was accepted just before shutdown began but reached the worker
     * only after it had ended, and those pending on a worker when it died.
     *
     * @return the discarded count
     */
    public long discardedCount() {
        return discarded.get();
    }

    /**
     * Returns the workers whose thread died (see {@link Worker#deathCause()}), in index order.
     *
     * @return an unmodifiable list, empty while every worker is alive or ended by shutdown
     */
    public List<Worker> deadWorkers() {
        return Arrays.stream(workers).filter(w -> w.deathCause() != null).toList();
    }

    /**
     * Returns how many times the error handler itself threw: a {@code RuntimeException} is logged
     * and otherwise ignored; an {@code Error} kills the worker (see {@link Builder#errorHandler}).
     *
     * @return the count of handler failures
     */
    public long handlerFailureCount() {
        return handlerFailures.get();
    }

    // ------------------------------------------------------------------------------------------
    // Shutdown

    /**
     * Starts an orderly shutdown; the first call's policy wins, later calls do nothing. Refuses new
     * requests at once. In a threaded group the workers finish in the background (see
     * {@link #awaitTermination}); in a manual group the calling thread finishes each worker before
     * this method returns, so call it from the thread that drives them (or after that thread has
     * stopped, with a happens-before edge such as a join). If, in a manual group, the error handler
     * throws an {@code Error} while a worker's pending work runs, that worker stops running it and
     * still terminates (the rest is discarded and counted), the other workers are finished, and the
     * first such {@code Error} is then rethrown (later ones suppressed); the group has terminated.
     *
     * @param policy what to do with pending continuations
     * @throws NullPointerException if {@code policy} is {@code null}
     */
    public void shutdown(ShutdownPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        synchronized (this) {
            if (this.policy != null) {
                return;
            }
            this.policy = policy;
            stopping = true; // volatile: publishes policy to the workers and to request()
        }
        Error fatal = null;
        for (Worker w : workers) {
            if (manual) {
                try {
                    w.finishManually(policy);
                } catch (Error e) { // the error handler's verdict; finish the other workers first
                    if (fatal == null) {
                        fatal = e;
                    } else {
                        fatal.addSuppressed(e);
                    }
                }
            } else {
                w.wake.scheduleInternal(); // a worker parked in its inbox wakes and sees stopping
            }
        }
        if (fatal != null) {
            throw fatal;
        }
    }

    /**
     * Waits until every worker thread has ended, or the timeout elapses.
     *
     * @param timeout how long to wait
     * @param unit the unit of {@code timeout}
     * @return {@code true} if the group has terminated
     * @throws InterruptedException if interrupted while waiting
     * @throws NullPointerException if {@code unit} is {@code null}
     */
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        final long deadline = System.nanoTime() + unit.toNanos(timeout);
        for (Thread t : threads) {
            final long left = deadline - System.nanoTime();
            if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                return isTerminated();
            }
        }
        return isTerminated();
    }

    /**
     * Returns whether every worker has ended.
     *
     * @return {@code true} if terminated
     */
    public boolean isTerminated() {
        for (Worker w : workers) {
            if (!w.isDead()) {
                return false;
            }
        }
        for (Thread t : threads) {
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Returns whether shutdown has started.
     *
     * @return {@code true} once {@link #shutdown} or {@link #close} has been called
     */
    public boolean isShutdown() {
        return stopping;
    }

    /**
     * {@code shutdown(RUN_PENDING)}, then waits, uninterruptibly, for the workers to end.
     *
     * @throws IllegalStateException if called on one of this group's worker threads (it would wait
     *     for itself)
     */
    @Override
    public void close() {
        final Thread me = Thread.currentThread();
        if (!manual) {
            for (Thread t : threads) {
                if (t == me) {
                    throw new IllegalStateException("close() of kcont group '" + name + "' called on its worker thread '"
                            + me.getName() + "': it would wait for itself; use shutdown() there");
                }
            }
        }
        shutdown(ShutdownPolicy.RUN_PENDING);
        boolean interrupted = false;
        for (Thread t : threads) {
            for (;;) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            me.interrupt();
        }
    }

    @Override
    public String toString() {
        final int dead = deadWorkers().size();
        return "KcontGroup[" + name + ", " + workers.length + " workers" + (dead > 0 ? ", " + dead + " dead" : "")
                + (stopping ? ", shut down" : "") + "]";
    }

    // ------------------------------------------------------------------------------------------
    // Package-private helpers

    boolean isShuttingDown() {
        return stopping;
    }

    ShutdownPolicy policy() {
        return policy;
    }

    /** The exception of a call refused because the group is shutting down; names the group's state. */
    RejectedExecutionException refusal(Kcont k) {
        final ShutdownPolicy p = policy; // written before stopping (volatile), which the caller saw
        return new RejectedExecutionException("kcont '" + k.name() + "' refused: group '" + name + "' "
                + (isTerminated() ? "has terminated" : "is shutting down (" + p + ")"));
    }

    long now() {
        return ticker.getAsLong();
    }

    long tickOf(long nanos) {
        return Math.floorDiv(nanos - origin, tickNanos);
    }

    long nanosOfTick(long tick) {
        return origin + tick * tickNanos;
    }

    /** The deadline tick of a request {@code delay} from now, or Kcont.IMMEDIATE for zero. */
    long deadlineTick(long delay, TimeUnit unit) {
        Objects.requireNonNull(unit, "unit");
        if (delay < 0) {
            throw new IllegalArgumentException("delay must be >= 0, got " + delay + " " + abbreviation(unit));
        }
        final long nanos = unit.toNanos(delay);
        if (nanos > maxDelayNanos) {
            throw new IllegalArgumentException("delay must be <= " + maxDelayNanos + " ns (2^38 ticks of "
                    + tickNanos + " ns), got " + delay + " " + abbreviation(unit));
        }
        if (nanos == 0) {
            return Kcont.IMMEDIATE;
        }
        // Round up: a delayed continuation never starts before its delay has passed.
        return Math.ceilDiv(now() - origin + nanos, tickNanos);
    }

    private static String abbreviation(TimeUnit unit) {
        return switch (unit) {
            case NANOSECONDS -> "ns";
            case MICROSECONDS -> "us";
            case MILLISECONDS -> "ms";
            case SECONDS -> "s";
            case MINUTES -> "min";
            case HOURS -> "h";
            case DAYS -> "d";
        };
    }

    void reserveKcont() {
        int n;
        do {
            n = kconts.get();
            if (n >= maxKconts) {
                throw new IllegalStateException("kcont group '" + name + "' already has " + n
                        + " continuations, the most it can hold (Builder.maxKconts(" + maxKconts + "))");
            }
        } while (!kconts.compareAndSet(n, n + 1));
    }

    /** Gives a closed continuation's place back (Kcont.close and the worker that took its last entry). */
    void releaseKcont() {
        kconts.decrementAndGet();
    }

    /**
     * Returns how many continuations the group holds: those created and not closed, and closed
     * ones whose place is not yet free (an entry for them still waits in a worker's inbox).
     *
     * @return the count, at most {@link Builder#maxKconts}
     */
    public int kcontCount() {
        return kconts.get();
    }

    void countRejected() {
        rejected.incrementAndGet();
    }

    void countDiscarded() {
        discarded.incrementAndGet();
    }

    void reportFailure(Kcont k, Throwable t) {
        try {
            errorHandler.accept(k, t);
        } catch (RuntimeException h) {
            handlerFailures.incrementAndGet();
            LOG.log(System.Logger.Level.ERROR, "kcont error handler failed on " + k, h);
        } catch (Error e) {
            // The handler's verdict that this failure is fatal (or the JVM's, an OutOfMemoryError
            // thrown while it handled one): let it end the worker, which records and reports it.
            handlerFailures.incrementAndGet();
            throw e;
        }
    }

    /** Called once by a worker thread that died, after it discarded what was pending on it. */
    void reportWorkerDeath(Worker w, Throwable cause) {
        final KcontWorkerDeathEvent e = new KcontWorkerDeathEvent();
        if (e.shouldCommit()) {
            e.worker = w.name();
            e.cause = String.valueOf(cause);
            e.commit();
        }
        LOG.log(System.Logger.Level.ERROR, "kcont worker '" + w.name() + "' of group '" + name + "' died: what was"
                + " pending on it was discarded (counted), and requests bound to it are refused", cause);
    }

    private static void logFailure(Kcont k, Throwable t) {
        LOG.log(System.Logger.Level.WARNING, "kcont '" + k.name() + "' on " + k.worker().name() + " threw", t);
    }

    // ------------------------------------------------------------------------------------------

    /**
     * Settings for a {@link KcontGroup}. Every setter checks its argument at once and names the
     * limit it broke.
     */
    public static final class Builder {
        private final String name;
        private int workers = Runtime.getRuntime().availableProcessors();
        private LongSupplier ticker = System::nanoTime;
        private long tickNanos = 1_000_000L;
        private int wheelSize = 512;
        private int maxKconts = 65_535;
        private final int[] budget = {300, 300, 300};
        private int timerBudget = 1_000;
        private long roundTimeNanos = 2_000_000L;
        private long longRunNanos = 10_000_000L;
        private BiConsumer<? super Kcont, ? super Throwable> errorHandler = KcontGroup::logFailure;
        private boolean manual;
        private boolean netFirst;

        private Builder(String name) {
            this.name = name;
        }

        /**
         * Sets the number of workers (default: {@code Runtime.availableProcessors()}).
         *
         * @param count from 1 to 4096
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is out of range
         */
        public Builder workers(int count) {
            if (count < 1 || count > 4096) {
                throw new IllegalArgumentException("workers must be between 1 and 4096, got " + count);
            }
            this.workers = count;
            return this;
        }

        /**
         * Sets the clock: a monotonic nanosecond ticker (default {@code System::nanoTime}). Tests
         * pass one they advance by hand.
         *
         * @param ticker the ticker
         * @return this builder
         * @throws NullPointerException if {@code ticker} is {@code null}
         */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /**
         * Sets the tick: the resolution of delays and of the timer wheel (default 1 ms).
         *
         * @param tick from 1 microsecond to 1 second
         * @return this builder
         * @throws IllegalArgumentException if {@code tick} is out of range
         * @throws NullPointerException if {@code tick} is {@code null}
         */
        public Builder tickLength(Duration tick) {
            Objects.requireNonNull(tick, "tick");
            final long nanos = tick.toNanos();
            if (nanos < 1_000L || nanos > 1_000_000_000L) {
                throw new IllegalArgumentException("tick length must be between 1000 ns and 1000000000 ns, got " + nanos + " ns");
            }
            this.tickNanos = nanos;
            return this;
        }

        /**
         * Sets the number of slots per wheel level (default 512).
         *
         * @param slots a power of two from 16 to 65536
         * @return this builder
         * @throws IllegalArgumentException if {@code slots} is not such a power of two
         */
        public Builder wheelSize(int slots) {
            if (slots < 16 || slots > 65_536 || Integer.bitCount(slots) != 1) {
                throw new IllegalArgumentException("wheel size must be a power of two from 16 to 65536, got " + slots);
            }
            this.wheelSize = slots;
            return this;
        }

        /**
         * Sets the most continuations the group may hold at once (default 65,535); a closed
         * continuation gives its place back ({@link Kcont#close()}). Each worker's inbox has room
         * for all of them, so scheduling never fails for lack of room.
         *
         * @param count from 1 to {@code Pcq.MAX_CAPACITY - 1}
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is out of range
         */
        public Builder maxKconts(int count) {
            if (count < 1 || count > Pcq.MAX_CAPACITY - 1) {
                throw new IllegalArgumentException("maxKconts must be between 1 and " + (Pcq.MAX_CAPACITY - 1) + ", got " + count);
            }
            this.maxKconts = count;
            return this;
        }

        /**
         * Sets how many continuations of {@code priority} a worker runs per round at most
         * (default 300).
         *
         * @param priority the class
         * @param count at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is below 1
         * @throws NullPointerException if {@code priority} is {@code null}
         */
        public Builder budget(Priority priority, int count) {
            Objects.requireNonNull(priority, "priority");
            if (count < 1) {
                throw new IllegalArgumentException(priority + " budget must be >= 1 per round, got " + count);
            }
            budget[priority.ordinal()] = count;
            return this;
        }

        /**
         * Sets how many expired timers a worker runs per round at most (default 1,000).
         *
         * @param count at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is below 1
         */
        public Builder timerBudget(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("timer budget must be >= 1 per round, got " + count);
            }
            this.timerBudget = count;
            return this;
        }

        /**
         * Sets the time budget of a round (default 2 ms), measured with the ticker.
         *
         * @param time positive
         * @return this builder
         * @throws IllegalArgumentException if {@code time} is zero or negative
         * @throws NullPointerException if {@code time} is {@code null}
         */
        public Builder roundTime(Duration time) {
            Objects.requireNonNull(time, "time");
            if (time.isNegative() || time.isZero()) {
                throw new IllegalArgumentException("round time must be > 0, got " + time.toNanos() + " ns");
            }
            this.roundTimeNanos = time.toNanos();
            return this;
        }

        /**
         * Sets the run time above which a {@code dev.mpsafe.KcontLongRun} JFR event is emitted and
         * counted (default 10 ms).
         *
         * @param threshold positive
         * @return this builder
         * @throws IllegalArgumentException if {@code threshold} is zero or negative
         * @throws NullPointerException if {@code threshold} is {@code null}
         */
        public Builder longRunThreshold(Duration threshold) {
            Objects.requireNonNull(threshold, "threshold");
            if (threshold.isNegative() || threshold.isZero()) {
                throw new IllegalArgumentException("long-run threshold must be > 0, got " + threshold.toNanos() + " ns");
            }
            this.longRunNanos = threshold.toNanos();
            return this;
        }

        /**
         * Sets who hears about a continuation that threw (default: a WARNING on the
         * {@code dev.mpsafe.kcont} system logger). Runs on the worker thread. A
         * {@code RuntimeException} it throws is counted ({@link KcontGroup#handlerFailureCount()}),
         * logged and ignored; an {@code Error} it throws (rethrowing what the continuation threw,
         * say, to make it fatal) is counted and kills the worker, which is then recorded and
         * reported ({@link Worker#deathCause()}). In a manual group it propagates out of
         * {@link Worker#runRound()}.
         *
         * @param handler receives the continuation and what it threw
         * @return this builder
         * @throws NullPointerException if {@code handler} is {@code null}
         */
        public Builder errorHandler(BiConsumer<? super Kcont, ? super Throwable> handler) {
            this.errorHandler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * Starts no threads: the caller drives each worker with {@link Worker#runRound()}.
         *
         * @return this builder
         */
        public Builder manual() {
            this.manual = true;
            return this;
        }

        /**
         * The NetBSD order, for the seed 004 baseline only: NET is served first and without budget
         * for as long as it has work (taking new work from the inbox as it goes), then timers.
         */
        Builder netFirstBaseline() {
            this.netFirst = true;
            return this;
        }

        /**
         * Creates the group and, unless {@link #manual()}, starts its worker threads.
         *
         * @return the group
         */
        public KcontGroup build() {
            return new KcontGroup(this);
        }
    }
}
