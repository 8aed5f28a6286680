package dev.mpsafe.kcont;

import dev.mpsafe.internal.KcontBudgetEvent;
import dev.mpsafe.internal.KcontLongRunEvent;
import dev.mpsafe.pcq.Pcq;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A worker: the JVM's stand-in for a CPU. One thread (named {@code <group>-<index>}) runs the
 * continuations bound to it; any thread hands it work through its inbox, a {@link Pcq}, without a
 * lock (the DragonFly model: message passing to the owner instead of locking).
 *
 * <h2>A round</h2>
 * <ol>
 *   <li>take what the inbox holds and link each continuation into a run queue or the timer
 *       wheel;</li>
 *   <li>advance the wheel to the current tick; expired continuations join the timer list;</li>
 *   <li>run expired timers, then {@link Priority#CLOCK}, {@link Priority#NET} and
 *       {@link Priority#BULK} work. Each of the four is served until its count budget is spent,
 *       the round's time budget is spent, or (for the classes) a timer comes due; but each one that
 *       has work runs at least one continuation. A class stopped with work left is a <i>squeeze</i>
 *       ({@link WorkerStats}, JFR event {@code dev.mpsafe.KcontBudgetExhausted}); the next round
 *       starts again with the timers.</li>
 * </ol>
 * With nothing due, the worker parks until the next timer tick or a producer's wake-up.
 *
 * <p>Thread safety: {@link #kcont}, {@link #stats()} and {@link #name()} may be called from any
 * thread; {@link #runRound()} only from the one thread driving a manual group.
 */
public final class Worker {

    /*
     * Implementation notes (the state machine is in Kcont's overview).
     *
     * Ownership: inbox consumption, the run queues (one per class), the timer list and the wheel
     * are touched only by this worker's thread (in a manual group, by the thread calling
     * runRound). The inbox put (pcq's release store of the slot, and its own acquire load) is what
     * publishes a continuation's worker-owned fields when home moves between workers.
     *
     * Parking (Dekker, volatile on both sides): prepareToPark stores wakeAt, then loads the inbox
     * indices; a producer's put CASes the producer index, then mustWake loads wakeAt. Either the
     * worker sees the entry and does not park, or the producer sees wakeAt and unparks it, unless
     * the request is a timer due no earlier than the worker wakes anyway (jcstress
     * KcontWakeupTest). pcq's own take()/poll() protocol is not used, so that a producer can skip
     * the unpark for such timers.
     *
     * Termination and late producers (Dekker, volatile on both sides): terminate() stores dead,
     * then empties the inbox with strict gets, whose emptiness test is a volatile load of the
     * producer index; a producer's put CASes that index, then loads dead (Kcont.enqueue). Either
     * the worker finds the entry or the producer sees dead and withdraws its request: a request is
     * never left pending in a dead inbox without being counted. The worker clears Q on the entries
     * it takes (discardEntry), and a producer whose request relies on an entry already there (Q
     * set) also loads dead after its CAS (Kcont.request), because an entry put after the worker's
     * last get is never taken. Late producers are calls admitted before shutdown began: their
     * requests were accepted, so a withdrawn one counts as discarded, not rejected.
     *
     * Counters are written only by this thread (plain read, opaque write: no lost updates with a
     * single writer, untorn 64-bit values) and read by stats() with opaque loads.
     */

    /** The classes in serving order; a copy, because values() allocates a new array per call. */
    private static final Priority[] CLASSES = Priority.values();
    static final int TIMERS = CLASSES.length; // index of the timer phase in squeeze counters

    private static final int C_RUNS = 0;
    private static final int C_FAILURES = 1;
    private static final int C_COALESCED = 2;
    private static final int C_LONG_RUNS = 3;
    private static final int C_DEPTH = 4;
    private static final int C_SQUEEZE = 5; // + phase (CLOCK, NET, BULK, TIMERS)
    private static final int COUNTERS = C_SQUEEZE + TIMERS + 1;

    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle WAKE_AT;

    static {
        try {
            WAKE_AT = MethodHandles.lookup().findVarHandle(Worker.class, "wakeAt", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final KcontGroup group;
    final int index;
    private final String name;
    private final Pcq<Kcont> inbox;
    private final KList[] runq = new KList[TIMERS];
    private final KList expired = new KList(false);
    private final TimerWheel wheel;
    private final long[] counters = new long[COUNTERS];
    private final long[] lateness = new long[LatenessHistogram.BUCKETS];
    private final Consumer<Kcont> intake = this::intake; // preallocated: drain allocates nothing
    /** Internal continuation used to wake the thread for shutdown. */
    final Kcont wake;

    private volatile Thread thread;
    private volatile boolean dead;
    /** What killed the thread, null unless it died; stored before dead (both volatile). */
    private volatile Throwable deathCause;

    /** wakeAt while the worker is not parked. */
    private static final long AWAKE = Long.MIN_VALUE;
    /** wakeAt while the worker is parked with no timer armed. */
    private static final long PARKED_INDEFINITELY = Long.MAX_VALUE;
    /** The ticker time at which the parked worker will wake; AWAKE while it runs. */
    private volatile long wakeAt = AWAKE;

    Worker(KcontGroup group, int index, int inboxCapacity, long startTick) {
        this.group = group;
        this.index = index;
        this.name = group.name() + "-" + index;
        this.inbox = Pcq.create(inboxCapacity);
        for (int i = 0; i < runq.length; i++) {
            runq[i] = new KList(false);
        }
        this.wheel = new TimerWheel(group.wheelSize, startTick);
        this.wake = new Kcont(this, name + "-wake", Priority.CLOCK, () -> { });
    }

    /**
     * Creates a continuation bound to this worker. Preallocate it once and schedule it as often as
     * needed.
     *
     * @param name a name for diagnostics (JFR events, error reports)
     * @param priority its priority class
     * @param body what it runs
     * @return a new, idle continuation
     * @throws NullPointerException if an argument is {@code null}
     * @throws IllegalStateException if the group already has {@link KcontGroup.Builder#maxKconts}
     *     continuations
     */
    public Kcont kcont(String name, Priority priority, Runnable body) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(priority, "priority");
        Objects.requireNonNull(body, "body");
        group.reserveKcont();
        return new Kcont(this, name, priority, body);
    }

    /**
     * Returns the worker's name, {@code <group>-<index>}; also its thread's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns this worker's index in its group.
     *
     * @return the index, from 0
     */
    public int index() {
        return index;
    }

    /**
     * Returns a snapshot of this worker's counters and timer-lateness histogram.
     *
     * @return the statistics
     */
    public WorkerStats stats() {
        return new WorkerStats(name, inbox.size() + counter(C_DEPTH), counter(C_RUNS), counter(C_FAILURES),
                counter(C_COALESCED), counter(C_LONG_RUNS), counter(C_SQUEEZE + TIMERS),
                counter(C_SQUEEZE + Priority.CLOCK.ordinal()), counter(C_SQUEEZE + Priority.NET.ordinal()),
                counter(C_SQUEEZE + Priority.BULK.ordinal()), LatenessHistogram.snapshot(lateness));
    }

    @Override
    public String toString() {
        return "Worker[" + name + "]";
    }

    Thread thread() {
        return thread;
    }

    boolean isDead() {
        return dead;
    }

    /**
     * Returns what killed this worker's thread: something thrown outside every continuation's body,
     * such as an {@code Error} thrown by the group's error handler. A worker that died has
     * discarded (and counted) what was pending on it, and requests for continuations bound to it
     * are refused with a {@link java.util.concurrent.RejectedExecutionException} naming it.
     * A worker ended by shutdown did not die.
     *
     * @return the cause of death, or {@code null} if this worker's thread has not died
     */
    public Throwable deathCause() {
        return deathCause;
    }

    // ------------------------------------------------------------------------------------------
    // Producers

    /** Puts {@code k} (whose Q bit the caller holds) into the inbox. Cannot fail: see Kcont's I1. */
    void post(Kcont k) {
        if (!inbox.put(k)) {
            throw new AssertionError("kcont inbox of " + name + " full: the Q bit must keep each kcont in it at most once");
        }
    }

    // ------------------------------------------------------------------------------------------
    // The worker thread

    /** The thread body of a threaded group. */
    void loop() {
        thread = Thread.currentThread();
        Throwable death = null;
        try {
            for (;;) {
                runRound0();
                if (group.isShuttingDown()) {
                    if (group.policy() == ShutdownPolicy.DISCARD || !hasDueWork()) {
                        break;
                    }
                    continue;
                }
                if (!hasDueWork()) {
                    idle();
                }
            }
        } catch (Throwable t) {
            // Bodies' failures never get here (runBody catches them): this is the worker's own
            // path failing. Record it before terminate() stores dead, so that a producer that sees
            // dead (volatile) also sees the cause it names in its refusal.
            death = t;
            deathCause = t;
        } finally {
            terminate();
        }
        if (death != null) {
            // Reported here, once, and not rethrown: the thread's uncaught-exception handler would
            // report it a second time, with nothing of what the group knows.
            group.reportWorkerDeath(this, death);
        }
    }

    /**
     * Runs one round on the calling thread: for groups built with {@link KcontGroup.Builder#manual()},
     * which start no threads. One thread at a time; it counts as this worker's thread for
     * {@link Kcont#drain()}.
     *
     * @return the number of continuations run
     * @throws IllegalStateException if the group is not manual, or has terminated
     */
    public int runRound() {
        if (!group.manual) {
            throw new IllegalStateException("runRound() is for manual groups; group '" + group.name()
                    + "' runs its own worker threads");
        }
        if (dead) {
            throw new IllegalStateException("worker " + name + " has terminated");
        }
        if (thread != Thread.currentThread()) {
            thread = Thread.currentThread();
        }
        return runRound0();
    }

    /** Whether anything is due now: a manual driver's "call runRound again?" */
    boolean hasDueWork() {
        if (!expired.isEmpty() || !inbox.isEmpty()) {
            return true;
        }
        for (KList q : runq) {
            if (!q.isEmpty()) {
                return true;
            }
        }
        final long due = wheel.nextDueTick();
        return due != Long.MAX_VALUE && due <= group.tickOf(group.now());
    }

    /**
     * Parks until the wheel's next due tick (or indefinitely if the wheel is empty), unless the
     * inbox has something. The wake-up protocol is a Dekker pattern with {@link #wakeFor}: we store
     * the time we will wake at (volatile), then load the inbox's indices (volatile, in isEmpty); a
     * producer CASes the producer index in put, then loads wakeAt. If we missed its put, it sees
     * our wakeAt and unparks us unless its request is due no earlier than we wake anyway: a
     * delayed request for a later tick does not cost the producer an unpark (a syscall), which is
     * what TCP's arm-and-cancel of the retransmit timer on every segment needs.
     */
    private void idle() {
        if (roundRuns > 0 && spinForWork()) {
            return; // work arrived while we spun: no park, and the producer paid no unpark
        }
        final long due = wheel.nextDueTick();
        final long until = due == Long.MAX_VALUE ? PARKED_INDEFINITELY : group.nanosOfTick(due);
        if (prepareToPark(until)) {
            if (until == PARKED_INDEFINITELY) {
                LockSupport.park(this);
            } else {
                final long wait = until - group.now();
                if (wait > 0) {
                    LockSupport.parkNanos(this, wait);
                }
            }
        }
        wakeAt = AWAKE;
        // A body that left the interrupt status set would make every park return at once: clear it.
        Thread.interrupted();
    }

    /**
     * Before parking, watches the inbox for {@link #SPINS} spin-waits (a few microseconds: a
     * {@code PAUSE} is some 20 to 40 ns on current x86 cores; a count, not a clock, keeps the loop
     * deterministic under Lincheck's model checker). A request-reply pattern (schedule,
     * wait for the run, schedule again) then finds the worker still awake: wakeAt stays AWAKE, so
     * the producer skips the unpark and the worker skips the park, the two system calls that
     * dominate a round trip. Only a worker whose last round ran something spins: one that only
     * linked timers (a producer arming and cancelling delayed requests) parks at once, so that
     * such requests keep accumulating in the inbox for one batch at the next tick. A worker pays
     * those few microseconds of CPU each time it runs out of work; a saturated one never gets here.
     *
     * @return whether the inbox became non-empty
     */
    private boolean spinForWork() {
        for (int i = 0; i < SPINS; i++) {
            if (!inbox.isEmpty()) {
                return true;
            }
            Thread.onSpinWait();
        }
        return false;
    }

    /** How many spin-waits an idle worker watches its inbox before it parks; see {@link #spinForWork()}. */
    static final int SPINS = 128;

    /**
     * Wakes this worker if it is parked and would otherwise wake after {@code tick} starts
     * ({@link Kcont#IMMEDIATE}: if it is parked at all). Called by producers after their put.
     */
    void wakeFor(long tick) {
        if (mustWake(tick)) {
            final Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /** For the jcstress wake-up tests: whether some producer claimed the wake-up (or none parked). */
    boolean awakeForTest() {
        return wakeAt == AWAKE;
    }

    /** The worker half of the wake-up Dekker: announce the wake-up time, then look at the inbox. */
    boolean prepareToPark(long until) {
        wakeAt = until; // volatile store: must not pass the volatile loads of the inbox indices
        return inbox.isEmpty();
    }

    /**
     * The producer half, after its put: does the worker need an unpark for a request due at
     * {@code tick}? The producer that decides so claims the wake-up by CASing wakeAt to AWAKE, so a
     * burst of producers pays for one unpark, not one each. A producer that then reads AWAKE (or
     * fails the CAS) put its entry before the worker's next store of wakeAt, so the worker's
     * next look at the inbox sees it: skipping is safe.
     */
    boolean mustWake(long tick) {
        final long at = wakeAt; // volatile load: the Dekker partner of prepareToPark's store
        if (at == AWAKE) {
            return false; // running, or already being woken: it looks at the inbox before it parks
        }
        if (tick != Kcont.IMMEDIATE && at != PARKED_INDEFINITELY && group.nanosOfTick(tick) - at >= 0) {
            return false; // parked until an earlier (or the same) tick: it will link the request then
        }
        return WAKE_AT.compareAndSet(this, at, AWAKE);
    }

    private int runRound0() {
        roundRuns = 0;
        long now = group.now();
        // Advance before the intake: link() rebuilds each request's deadline from its 40 low bits
        // around wheel.current, which is exact only within 2^39 ticks of the deadline. An empty
        // wheel's tick stands still while the worker parks, and with 1 us ticks 2^39 ticks are
        // six days: a timer requested after such an idle spell would be rebuilt 2^40 ticks early
        // and run at once. Requests due at or before this tick are linked straight to expired.
        wheel.advance(group.tickOf(now), expired);
        inbox.drain(intake, Integer.MAX_VALUE);
        final long roundStart = now;
        final boolean netFirst = group.netFirst;
        if (netFirst) {
            // The NetBSD order, kept only as the baseline of the seed 004 test and benchmark: the
            // network runs, unbudgeted, for as long as it has work, and only then the clock.
            final KList net = runq[Priority.NET.ordinal()];
            while (!net.isEmpty() && !stopNow()) {
                while (!net.isEmpty() && !stopNow()) {
                    now = runOne(net.poll(), now, false);
                }
                inbox.drain(intake, Integer.MAX_VALUE);
            }
            wheel.advance(group.tickOf(now), expired);
        }
        now = serve(expired, TIMERS, group.timerBudget, roundStart, now);
        for (Priority p : CLASSES) {
            if (!(netFirst && p == Priority.NET)) {
                now = serve(runq[p.ordinal()], p.ordinal(), group.budget[p.ordinal()], roundStart, now);
            }
        }
        setCounter(C_DEPTH, depth());
        return roundRuns;
    }

    /** Continuations run in the current round (worker-owned). */
    private int roundRuns;

    private long depth() {
        long d = expired.size + wheel.count;
        for (KList q : runq) {
            d += q.size;
        }
        return d;
    }

    private boolean stopNow() {
        return group.isShuttingDown() && group.policy() == ShutdownPolicy.DISCARD;
    }

    /**
     * Serves one phase: runs continuations from {@code q} until it is empty or a budget stops it,
     * always allowing the first. Returns the ticker value after the last run.
     */
    private long serve(KList q, int phase, int countBudget, long roundStart, long now) {
        int n = 0;
        final long timeBudget = group.roundTimeNanos;
        final long timerDue = phase == TIMERS ? Long.MAX_VALUE : nextTimerNanos();
        while (!q.isEmpty()) {
            if (n > 0) {
                final String reason;
                if (n >= countBudget) {
                    reason = "count";
                } else if (now - roundStart >= timeBudget) {
                    reason = "time";
                } else if (phase != TIMERS && (!expired.isEmpty() || now - timerDue >= 0)) {
                    reason = "timer due";
                } else if (stopNow()) {
                    return now;
                } else {
                    reason = null;
                }
                if (reason != null) {
                    squeeze(phase, reason, n);
                    return now;
                }
            } else if (stopNow()) {
                return now;
            }
            final int before = roundRuns;
            now = runOne(q.poll(), now, phase == TIMERS);
            n += roundRuns - before;
        }
        return now;
    }

    /** The ticker value at which the wheel's next due tick starts; Long.MAX_VALUE-ish if none. */
    private long nextTimerNanos() {
        final long due = wheel.nextDueTick();
        return due == Long.MAX_VALUE ? group.now() + Long.MAX_VALUE / 2 : group.nanosOfTick(due);
    }

    private void squeeze(int phase, String reason, int ran) {
        bump(C_SQUEEZE + phase);
        final KcontBudgetEvent e = new KcontBudgetEvent();
        if (e.shouldCommit()) {
            e.worker = name;
            e.priority = phase == TIMERS ? "TIMERS" : CLASSES[phase].name();
            e.reason = reason;
            e.ran = ran;
            e.commit();
        }
    }

    /**
     * Meets {@code k} in a run queue or the timer list: runs it if its current request is due,
     * forwards it if it was moved to another worker, and otherwise drops the stale entry (Kcont's
     * I1 guarantees that an inbox entry will bring the current request).
     */
    private long runOne(Kcont k, long start, boolean timer) {
        if (k.lvBound() != this) {
            forwardLinked(k);
            return start;
        }
        long s;
        long deadline = 0;
        do {
            s = k.lvState();
            if ((s & Kcont.PENDING) == 0) {
                return start; // cancelled: stale entry
            }
            if ((s & Kcont.NOW) == 0) {
                deadline = Kcont.deadlineTick(s, wheel.current);
                if (deadline - wheel.current >= 0) {
                    return start; // rescheduled later: the inbox entry re-links it
                }
            }
            // O1/O2: this CAS reads the scheduler's CAS (synchronizes-with it) and races cancel's.
        } while (!k.casState(s, (s & (Kcont.QUEUED | Kcont.WAITERS)) | Kcont.RUNNING));
        final int count = Kcont.count(s);
        k.runCount = count;
        if (count > 1) {
            add(C_COALESCED, count - 1);
        }
        if (timer && (s & Kcont.NOW) == 0) {
            LatenessHistogram.record(lateness, group.tickOf(start) - deadline);
        }
        final Throwable failure = k.runBody();
        final long end;
        try {
            end = group.now();
        } finally {
            k.finishRun(); // even if the ticker throws: a drainer must not wait for a run that ended
        }
        bump(C_RUNS);
        roundRuns++;
        if (failure != null) {
            bump(C_FAILURES);
            group.reportFailure(k, failure);
        }
        final long ran = end - start;
        if (ran > group.longRunNanos) {
            bump(C_LONG_RUNS);
            final KcontLongRunEvent e = new KcontLongRunEvent();
            if (e.shouldCommit()) {
                e.worker = name;
                e.kcont = k.name;
                e.priority = k.priority.name();
                e.ran = ran;
                e.commit();
            }
        }
        return end;
    }

    /**
     * Test hook for the Lincheck state-machine test: meets {@code k} as if it were due in a run
     * queue, without the inbox. Returns the pending count of the run, or 0 if it did not run.
     */
    int runNowForTest(Kcont k) {
        thread = Thread.currentThread();
        final int before = roundRuns;
        runOne(k, group.now(), false);
        return roundRuns == before ? 0 : k.runCount;
    }

    /** Takes {@code k} from the inbox (its Q bit set) and links its current request, if any. */
    private void intake(Kcont k) {
        if (k.lvBound() != this) {
            forward(k);
            return;
        }
        long s;
        do {
            s = k.lvState();
        } while (!k.casState(s, s & ~Kcont.QUEUED)); // from here on, new requests re-enqueue (I1)
        unlink(k);
        if ((s & Kcont.CLOSED) != 0) {
            group.releaseKcont(); // our CAS cleared Q of a closed continuation: its place is free (Kcont's overview)
            return;
        }
        if ((s & Kcont.PENDING) != 0) {
            link(k, s);
        }
    }

    private void link(Kcont k, long s) {
        if ((s & Kcont.NOW) != 0) {
            runq[k.priority.ordinal()].add(k);
            return;
        }
        final long d = Kcont.deadlineTick(s, wheel.current);
        k.armedTick = d;
        if (d - wheel.current < 0) {
            expired.add(k);
        } else {
            wheel.insert(k, d);
        }
    }

    private void unlink(Kcont k) {
        final KList l = k.list;
        if (l != null) {
            l.remove(k);
            if (l.inWheel) {
                wheel.count--;
            }
        }
    }

    /** An inbox entry for a continuation bound elsewhere: we hold its Q bit, so we may move home. */
    private void forward(Kcont k) {
        unlink(k);
        if (k.dropEntryIfClosed()) {
            group.releaseKcont(); // closed: nothing to hand over, and its place is free
            return;
        }
        final Worker to = k.lvBound();
        k.svHome(to);
        k.enqueue(to, Kcont.IMMEDIATE);
    }

    /** A linked continuation bound elsewhere: take its Q bit if free and hand it over. */
    private void forwardLinked(Kcont k) {
        long s;
        do {
            s = k.lvState();
            if ((s & (Kcont.QUEUED | Kcont.CLOSED)) != 0) {
                return; // its inbox entry (here) will forward it, or closed: nothing to hand over
            }
        } while (!k.casState(s, s | Kcont.QUEUED));
        forward(k);
    }

    /**
     * Runs in the worker's thread (or the shutting-down caller of a manual group) at the end.
     * Discards (and counts) what is bound here. A continuation met here but bound to another worker
     * is in transit through this one (scheduleOn hands over through the old home): it is forwarded
     * as the live worker would, so its request runs there (or is counted by that worker's own end)
     * and its home moves there. Discarding it instead would lose the request of a continuation
     * whose worker is alive, and leave its home on this dead worker, so that every later request
     * for it would be refused.
     */
    void terminate() {
        dead = true; // volatile store, then volatile loads of the inbox index: see the notes above
        for (KList q : runq) {
            endAll(q);
        }
        endAll(expired);
        wheel.removeAll(expired);
        endAll(expired);
        Kcont k;
        while ((k = inbox.get()) != null) {
            if (k.lvBound() != this) {
                forward(k); // we hold its Q bit; a dead target withdraws and counts it (enqueue)
            } else {
                discardEntry(k);
            }
        }
        setCounter(C_DEPTH, 0);
    }

    /**
     * Discards an entry the ending worker took from its inbox: clears P and Q in one CAS. Clearing
     * Q matters: a call admitted before shutdown may make its request after this, and with Q still
     * set it would rely on this entry, which nobody will take again (the request would stay
     * pending forever, counted nowhere). With Q clear it posts its own entry and then sees dead.
     * Dekker with Kcont.enqueue/request: dead (volatile) is stored before this CAS, and a producer
     * CASes the state before it loads dead, so this CAS sees its request or it sees dead; if both,
     * this CAS and its cancel race for P and exactly one of them counts the discard.
     */
    private void discardEntry(Kcont k) {
        long s;
        do {
            s = k.lvState();
        } while (!k.casState(s, s & (Kcont.RUNNING | Kcont.WAITERS | Kcont.CLOSED)));
        if ((s & Kcont.CLOSED) != 0) {
            group.releaseKcont(); // closed (so not pending): our CAS cleared its Q
        } else if ((s & Kcont.PENDING) != 0 && k != wake) {
            group.countDiscarded();
        }
    }

    /** RUN_PENDING for a manual group: run rounds on the caller until nothing is due, then end. */
    void finishManually(ShutdownPolicy policy) {
        if (dead) {
            return;
        }
        thread = Thread.currentThread();
        try {
            if (policy == ShutdownPolicy.RUN_PENDING) {
                while (hasDueWork()) {
                    runRound0(); // an Error from the error handler ends the rounds early
                }
            }
        } finally {
            terminate(); // whatever is left is discarded and counted, so the group can terminate
        }
    }

    /** Empties {@code q} at the end: discards what is bound here and forwards what is not. */
    private void endAll(KList q) {
        Kcont k;
        while ((k = q.poll()) != null) {
            if (k.lvBound() != this) {
                forwardLinked(k); // if its Q bit is taken, its entry in our inbox forwards it below
            } else {
                discard(k);
            }
        }
    }

    private void discard(Kcont k) {
        if (k.cancel() && k != wake) {
            group.countDiscarded();
        }
    }

    private long counter(int i) {
        return (long) COUNTER.getOpaque(counters, i);
    }

    private void bump(int i) {
        add(i, 1);
    }

    private void add(int i, long n) {
        COUNTER.setOpaque(counters, i, counters[i] + n);
    }

    private void setCounter(int i, long v) {
        COUNTER.setOpaque(counters, i, v);
    }
}
