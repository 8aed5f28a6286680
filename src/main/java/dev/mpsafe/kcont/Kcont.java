package dev.mpsafe.kcont;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A kernel continuation: a preallocated, reusable piece of work bound to a {@link Worker}, run on
 * that worker's thread now ({@link #schedule()}) or after a delay ({@link #schedule(long, TimeUnit)}).
 * Created by {@link Worker#kcont(String, Priority, Runnable)}.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Pending and coalescing.</b> {@code schedule} makes an idle continuation <i>pending</i>
 *       and returns {@code true}. Scheduling one that is already pending returns {@code false},
 *       leaves its deadline alone and adds one to its pending count (FreeBSD taskqueue's
 *       {@code ta_pending}, saturating at 65535); the run that follows sees the count in
 *       {@link #runPendingCount()}. A continuation that is running may be scheduled again: it
 *       runs again after the current run ends. It never runs twice at the same time.</li>
 *   <li><b>Reschedule.</b> {@link #reschedule(long, TimeUnit)} moves the deadline of a pending
 *       continuation (Linux {@code mod_delayed_work}, FreeBSD {@code callout_reset} on a pending
 *       callout) and returns {@code false}, changing nothing, if it is not pending.</li>
 *   <li><b>Cancel.</b> {@link #cancel()} returns whether it was pending. After it returns
 *       {@code true}, that request never runs: the run, if any, that follows is the answer to a
 *       later {@code schedule}. It does not wait for a run in progress.</li>
 *   <li><b>Drain.</b> {@link #drain()} cancels and then waits until no run is in progress (FreeBSD
 *       {@code callout_drain}, Linux {@code cancel_delayed_work_sync}); a continuation that
 *       reschedules itself from its run is cancelled again, so drain returns with it neither
 *       pending nor running, unless another thread schedules it meanwhile. Calling it on the
 *       continuation's own worker thread throws {@link IllegalStateException} instead of
 *       deadlocking.</li>
 *   <li><b>Closing.</b> {@link #close()} cancels and gives the continuation's place in the group
 *       back ({@link KcontGroup.Builder#maxKconts}); later requests throw
 *       {@link IllegalStateException}.</li>
 *   <li><b>Moving.</b> {@link #scheduleOn(Worker)} binds the continuation to another worker of the
 *       same group and schedules it there; a request already pending moves with it. A call that
 *       throws leaves the continuation bound where it was.</li>
 *   <li><b>Failures.</b> A run that throws is caught, counted ({@link WorkerStats#failures()}) and
 *       reported to the group's error handler; the worker survives, unless the handler itself
 *       throws an {@code Error} (its verdict that the failure is fatal).</li>
 *   <li><b>Worker death.</b> A worker thread killed by something thrown outside every body (an
 *       {@code Error} from the error handler, a failing ticker, an out-of-memory in the worker's
 *       own code) is recorded ({@link Worker#deathCause()}, {@link KcontGroup#deadWorkers()}) and
 *       reported once (an ERROR on the {@code dev.mpsafe.kcont} logger and a
 *       {@code dev.mpsafe.KcontWorkerDeath} JFR event); what was pending on it is discarded and
 *       counted (a continuation that {@code scheduleOn} was moving through it to a live worker is
 *       handed on instead), and later {@code schedule} and {@code scheduleOn} calls that need it throw
 *       {@link RejectedExecutionException} naming it and its cause. They are not rebound to
 *       another worker: the caller bound them there (the worker owns its continuations' data, the
 *       DragonFly model), so moving them is the caller's decision, on new continuations.</li>
 *   <li><b>Shutdown.</b> Once the group is shutting down, {@code schedule}, {@code schedule(delay)}
 *       and {@code scheduleOn} refuse new requests: they throw {@link RejectedExecutionException}
 *       naming the group and its state, change nothing, and are counted
 *       ({@link KcontGroup#rejectedCount()}), as {@code ScheduledThreadPoolExecutor} does. So
 *       {@code false} always means "coalesced into the pending request, which will run or be
 *       counted as discarded", never "refused". A body that re-arms itself should stop doing so
 *       once {@link KcontGroup#isShutdown()}, or catch the exception: if it escapes the body, it is
 *       a failure like any other (counted and reported). {@link #reschedule} and {@link #cancel}
 *       act on a request already accepted and are not refused.</li>
 * </ul>
 *
 * <p>Deadlines are rounded up to the group's tick: a continuation scheduled with a delay never
 * starts before the delay has passed, and starts in the first round of its deadline tick or later
 * ({@link WorkerStats#lateness()}).
 *
 * <p>Thread safety: every method may be called from any thread, except {@link #runPendingCount()}
 * (the continuation's own run) and {@link #drain()} (not from the worker that runs it).
 *
 * <p>Memory consistency effects: actions in a thread before a {@code schedule}, {@code scheduleOn}
 * or {@code reschedule} call that returns {@code true} <i>happen-before</i> the run that answers
 * it; actions of a run <i>happen-before</i> {@link #drain()} returns, when drain waited for it or
 * saw it finished.
 *
 * <p>Allocation: {@code schedule}, {@code reschedule}, {@code cancel} and the worker's run allocate
 * nothing: the continuation is its own queue entry, in the worker's inbox, wheel and run queues.
 */
public final class Kcont {

    /*
     * Implementation overview.
     *
     * Sources: NetBSD kcont(9) (2004): a continuation object queued to a level; FreeBSD
     * taskqueue(9) (pending count, drain) and callout(9) (per-CPU wheel, migration through the old
     * CPU); Linux delayed work (cancel_delayed_work_sync). The design is ours: one state word per
     * continuation, and a single owner thread (the worker) for every queue the continuation sits in.
     *
     * State word (64 bits, one CAS per transition):
     *
     *     63                      24 23            8 7  6  5   4   3   2   1   0
     *    +--------------------------+---------------+----+---+---+---+---+---+---+
     *    | deadline tick mod 2^40   | pending count |  0 | C | W | N | Q | R | P |
     *    +--------------------------+---------------+----+---+---+---+---+---+---+
     *
     *    P  pending: a request is outstanding                       set by schedule, cleared by
     *                                                                cancel or by the run's CAS
     *    R  running: the worker is inside the body                  worker only
     *    Q  queued: the object is in exactly one worker's inbox     set by the thread that will
     *       (a pcq), or being handed to one                          put it; cleared by the worker
     *    N  now: the pending request is immediate (no deadline)
     *    W  waiters: a drain() is parked until R clears
     *    C  closed: close() was called; never cleared. C implies P clear: close clears P in the
     *       CAS that sets C, and no transition sets P (or Q) once C is set
     *    count: schedule calls folded into the pending request (1..65535, saturating)
     *    deadline: the tick of the request, mod 2^40; the worker rebuilds the full tick from its
     *       wheel's current tick (delays are capped at 2^38 ticks, so the window is unambiguous)
     *
     * Because the deadline lives in the state word, a request (P, N or deadline, count) is written
     * by one CAS and read by one load: there is no window in which a scheduler has claimed the
     * continuation but not yet written its deadline, and no lock.
     *
     * Queues. Only the worker (the "home", kept in the home field) links the continuation into its
     * run queues and timer wheel (next/prev/list, plain fields, worker-owned). Other threads reach
     * the worker through its inbox, and the Q bit makes the continuation its own inbox entry at most
     * once, so the inbox (capacity = the group's maxKconts + 1) can never be full: put cannot fail.
     *
     * Invariant I1: if P is set, then Q is set, or the continuation is linked in its home worker's
     * queues at the place its current request asks for. Proof: every transition that makes a new
     * request (schedule from !P, reschedule) sets Q in the same CAS and, if Q was clear, the caller
     * puts the object into the home inbox; the worker clears Q with a CAS whose witness value is
     * the request it then links (intake), so a request made after that CAS finds Q clear and
     * re-enqueues.
     *
     * Stale entries. cancel is one CAS (clear P) and leaves the object linked where it was; a new
     * request may leave it in a place that no longer matches. The worker therefore decides from the
     * state word alone, whenever it meets the object: run it if P is set and the request is due (N,
     * or deadline <= the wheel's current tick); otherwise unlink it and let the inbox entry that
     * I1 guarantees re-link it. Wheel entries are thus cancelled in O(1) (one CAS) and unlinked in
     * O(1) when the worker next meets them.
     *
     * Closing (giving the continuation's place in the group back). The group counts its
     * continuations so that every inbox has room for all of them (I1's "put cannot fail"); a place
     * may be given back only once no inbox holds an entry for the continuation and none ever will.
     * close() sets C and clears P in one CAS. If its witness had Q set, an entry exists; otherwise
     * the same CAS sets Q and close() puts an entry into the home inbox itself, so that the worker
     * also unlinks the continuation from its queues (a closed far timer must not stay linked, body
     * and all, until its deadline). No other transition sets Q once C is set (each requires C
     * clear, in the same CAS). The entry's taker gives the place back: the worker CAS that clears Q
     * (intake, a forward of a closed continuation, the ending worker's discard) sees C in its
     * witness. Q is cleared only by the holder of the entry, so exactly one taker gives it back.
     * A home that has already ended has empty queues and takes no entries: close() then clears
     * the Q it set and gives the place back itself.
     *
     * Linearization points: schedule, reschedule and cancel at their successful CAS (or at the load
     * that showed P clear, for a cancel or reschedule that returns false); a run begins at the
     * worker's CAS that clears P and sets R. A refused schedule or scheduleOn linearizes at
     * admission (admit: the volatile load of the group's stopping flag, then of the workers' dead
     * flags), before it has written anything; an admitted call is accepted, and if shutdown or a
     * worker's death overtakes it, its request is withdrawn or discarded and counted as discarded
     * (Worker's termination notes).
     *
     * Ordering arguments (each covered by a jcstress test in src/jcstress/.../kcont):
     *   O1 (KcontPublicationTest) writes before schedule() are seen by the run: schedule's CAS is a
     *      volatile write of the state; the worker's run CAS is a volatile read-modify-write of the
     *      same variable that reads it (or a later value in its release sequence), so it
     *      synchronizes-with it and the body runs after it.
     *   O2 (KcontCancelTest) no run after cancel() returned true: cancel's CAS and the run CAS both
     *      require P and both clear it; of two CASes on one variable that expect the same P-set
     *      value, one fails, so the request is either run or cancelled, never both.
     *   O3 (KcontDrainTest) drain returns only after the run finished: the worker clears R with a
     *      CAS after the body returned (a volatile write); drain returns only
     *      after a volatile read that saw R clear, or after being notified under the drain monitor
     *      by the worker that saw W in that same atomic operation. A drainer sets W with a CAS that
     *      requires R, while holding the monitor; the worker takes the monitor to notify, so it
     *      cannot notify before the drainer waits (no lost wake-up).
     *   O4 (worker inbox) the put into the pcq publishes the object to the worker (pcq's P1).
     *   O5 (KcontWakeupTest) no lost wake-up: the producer's put (a volatile CAS of the inbox's
     *      producer index) precedes its volatile load of the worker's wakeAt; the worker's volatile
     *      store of wakeAt precedes its volatile loads of the inbox indices (Worker.idle).
     *
     * Progress: schedule, reschedule and cancel are lock-free (a failed CAS means another thread
     * changed the state). drain blocks, by design, for at most one run of the body per concurrent
     * reschedule it has to cancel again.
     */

    static final long PENDING = 1L;
    static final long RUNNING = 1L << 1;
    static final long QUEUED = 1L << 2;
    static final long NOW = 1L << 3;
    static final long WAITERS = 1L << 4;
    static final long CLOSED = 1L << 5;

    static final int COUNT_SHIFT = 8;
    static final long COUNT_ONE = 1L << COUNT_SHIFT;
    static final long COUNT_MAX = 0xFFFFL;
    static final long COUNT_MASK = COUNT_MAX << COUNT_SHIFT;

    static final int DEADLINE_SHIFT = 24;
    static final int DEADLINE_BITS = 64 - DEADLINE_SHIFT;
    static final long DEADLINE_MASK = -1L << DEADLINE_SHIFT;

    /** The deadline "tick" of an immediate request (schedule() and delay 0). */
    static final long IMMEDIATE = Long.MIN_VALUE;

    /** Delays are capped at 2^38 ticks, a quarter of the deadline field's range. */
    static final long MAX_DELAY_TICKS = 1L << 38;

    /** What a request keeps across cancel: the run in progress, the inbox entry, the waiters, C. */
    private static final long KEEP_ON_CANCEL = RUNNING | QUEUED | WAITERS | CLOSED;

    final KcontGroup group;
    final Priority priority;
    final String name;
    private final Runnable body;
    /** The drain monitor: drainers wait on it, the worker notifies it when it sees W. */
    private final Object drainMonitor = new Object();

    private volatile long state;
    /** The worker that runs it now; written only by a worker that holds the inbox entry (Q). */
    private volatile Worker home;
    /** The worker it should run on; written by scheduleOn. home follows it through the inbox. */
    private volatile Worker bound;

    // Worker-owned fields (only the home worker's thread touches them; the inbox put/take
    // publishes them when home changes).
    Kcont next;
    Kcont prev;
    KList list;
    /** The full deadline tick this continuation was linked into the wheel for. */
    long armedTick;
    /** The pending count of the run in progress. */
    int runCount;

    Kcont(Worker worker, String name, Priority priority, Runnable body) {
        this.group = worker.group;
        this.name = name;
        this.priority = priority;
        this.body = body;
        this.home = worker;
        this.bound = worker;
    }

    // ------------------------------------------------------------------------------------------
    // Scheduling

    /**
     * Makes this continuation pending for immediate execution on its worker.
     *
     * @return {@code true} if this call made it pending; {@code false} if it was pending already
     *     (the call is folded into that request and counted)
     * @throws RejectedExecutionException if the group is shutting down, or its worker has died
     *     (nothing is changed)
     * @throws IllegalStateException if this continuation is closed
     */
    public boolean schedule() {
        return request(IMMEDIATE, true);
    }

    /**
     * Makes this continuation pending to run on its worker once {@code delay} has passed. A delay
     * of zero is {@link #schedule()}.
     *
     * @param delay how long to wait, {@code >= 0}, at most {@link KcontGroup#maxDelayNanos()}
     * @param unit the unit of {@code delay}
     * @return {@code true} if this call made it pending; {@code false} if it was pending already
     *     (its deadline is kept; see {@link #reschedule})
     * @throws IllegalArgumentException if {@code delay} is negative or above the maximum
     * @throws NullPointerException if {@code unit} is {@code null}
     * @throws RejectedExecutionException if the group is shutting down, or its worker has died
     *     (nothing is changed)
     * @throws IllegalStateException if this continuation is closed
     */
    public boolean schedule(long delay, TimeUnit unit) {
        return request(group.deadlineTick(delay, unit), true);
    }

    /**
     * Binds this continuation to {@code worker} and makes it pending there for immediate execution.
     * A request that is already pending is kept (and counted) and moves with it: it runs on
     * {@code worker} once the old worker has handed it over.
     *
     * @param worker a worker of this continuation's group
     * @return as {@link #schedule()}
     * @throws NullPointerException if {@code worker} is {@code null}
     * @throws IllegalArgumentException if {@code worker} belongs to another group
     * @throws RejectedExecutionException if the group is shutting down, or this continuation's
     *     worker or {@code worker} has died; the continuation then stays bound to its worker
     * @throws IllegalStateException if this continuation is closed (it stays bound to its worker)
     */
    public boolean scheduleOn(Worker worker) {
        Objects.requireNonNull(worker, "worker");
        if (worker.group != group) {
            throw new IllegalArgumentException("worker '" + worker.name() + "' belongs to group '"
                    + worker.group.name() + "', but kcont '" + name + "' belongs to group '" + group.name() + "'");
        }
        // Admission before binding: a refused call must leave the continuation where it was. Once
        // admitted the call is accepted, even if shutdown begins before the request below is made.
        checkOpen();
        admit(worker);
        final Worker before = bound;
        bound = worker; // volatile: read by the old home when it meets this continuation next
        final boolean made;
        try {
            made = request(IMMEDIATE, false);
        } catch (IllegalStateException closedMeanwhile) {
            bound = before; // a call that throws leaves the continuation where it was
            throw closedMeanwhile;
        }
        if (!made && (lvState() & (PENDING | QUEUED)) == PENDING) {
            // Pending and linked in the old home's queues: ask the old home to hand it over now
            // rather than when its deadline comes.
            requestHandover();
        }
        return made;
    }

    /**
     * Moves the deadline of a pending continuation to {@code delay} from now (zero: run as soon as
     * possible). Does nothing if it is not pending.
     *
     * @param delay the new delay, {@code >= 0}, at most {@link KcontGroup#maxDelayNanos()}
     * @param unit the unit of {@code delay}
     * @return {@code true} if it was pending and its deadline was changed; {@code false} if it was
     *     not pending
     * @throws IllegalArgumentException if {@code delay} is negative or above the maximum
     * @throws NullPointerException if {@code unit} is {@code null}
     */
    public boolean reschedule(long delay, TimeUnit unit) {
        final long tick = group.deadlineTick(delay, unit);
        final long when = requestBits(tick);
        long s;
        do {
            s = lvState();
            if ((s & PENDING) == 0) {
                return false;
            }
        } while (!casState(s, (s & ~(NOW | DEADLINE_MASK)) | QUEUED | when));
        if ((s & QUEUED) == 0) {
            enqueue(laHome(), tick); // I1: the new request must reach the worker
        } else {
            laHome().wakeFor(tick); // an earlier deadline may need a parked worker sooner
        }
        return true;
    }

    /**
     * Cancels the pending request, if any. Does not wait for a run in progress (see {@link #drain()}).
     *
     * @return {@code true} if it was pending: that request will never run
     */
    public boolean cancel() {
        long s;
        do {
            s = lvState();
            if ((s & PENDING) == 0) {
                return false;
            }
        } while (!casState(s, s & KEEP_ON_CANCEL)); // O2: one of this CAS and the run CAS fails
        return true;
    }

    /**
     * Cancels the pending request and waits until no run is in progress. If the run reschedules
     * this continuation, that request is cancelled too. Uninterruptible (the interrupt status is
     * kept).
     *
     * @return {@code true} if a request was pending when drain was called
     * @throws IllegalStateException if called on the worker thread that runs this continuation
     *     (it would wait for itself)
     */
    public boolean drain() {
        final Thread me = Thread.currentThread();
        final Worker h = laHome();
        final Worker b = bound;
        if (me == h.thread() || me == b.thread()) {
            throw new IllegalStateException("drain() of kcont '" + name + "' called on its own worker thread '"
                    + me.getName() + "': it would wait for itself; use cancel() there");
        }
        final boolean wasPending = cancel();
        boolean interrupted = false;
        for (;;) {
            long s = lvState();
            if ((s & RUNNING) == 0) {
                if ((s & PENDING) == 0) {
                    break;
                }
                cancel(); // someone (the run itself, typically) scheduled it again
                continue;
            }
            synchronized (drainMonitor) {
                while (((s = lvState()) & RUNNING) != 0) {
                    if ((s & WAITERS) == 0 && !casState(s, s | WAITERS)) {
                        continue; // the state moved: look again
                    }
                    try {
                        drainMonitor.wait(); // O3: the worker notifies under this monitor
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            cancel(); // a run that rescheduled itself
        }
        if (interrupted) {
            me.interrupt();
        }
        return wasPending;
    }

    /**
     * Makes a request for deadline {@code tick} ({@link #IMMEDIATE} for now). {@code admit}: pass
     * admission first (refused while the group shuts down); false for the worker's own wake-up,
     * which is never refused, and for scheduleOn, which was admitted before it bound.
     */
    private boolean request(long tick, boolean admit) {
        if (admit) {
            checkOpen();
            admit(null);
        }
        long s;
        for (;;) {
            s = lvState();
            if ((s & CLOSED) != 0) {
                throw closed(); // closed after the check above: C never lets P or Q be set again
            }
            if ((s & PENDING) != 0) {
                if ((s & COUNT_MASK) == COUNT_MASK) {
                    return false; // saturated, like ta_pending at USHRT_MAX
                }
                if (casState(s, s + COUNT_ONE)) {
                    return false;
                }
                continue;
            }
            // O1: this volatile CAS publishes the caller's earlier writes to the run's CAS.
            if (casState(s, (s & KEEP_ON_CANCEL) | PENDING | QUEUED | COUNT_ONE | requestBits(tick))) {
                break;
            }
        }
        if ((s & QUEUED) == 0) {
            enqueue(laHome(), tick);
        } else {
            // The inbox entry is already there (an earlier request, cancelled since), but whoever put
            // it decided about the wake-up for that request's deadline, and the worker may be parked
            // past this one's: decide again, as reschedule does.
            final Worker h = laHome();
            h.wakeFor(tick);
            // That entry may sit in the inbox of a worker that has ended: put after its last look,
            // by a caller that then saw it dead and withdrew its own request (enqueue), leaving Q
            // set. Nobody will ever take it, so this request must not rely on it. Dekker with
            // Worker.terminate(): our CAS above is the store, this load of dead the load; the
            // worker stores dead, then CASes the state of every entry it takes (discardEntry).
            withdrawIfDead(h);
        }
        return true;
    }

    /**
     * Admission of a new request: the linearization point of a refusal. A call that passes it is
     * accepted; if shutdown (or the worker's death) then overtakes it, the request it makes is run
     * or discarded (and counted) like any request made before. Refused: the group is shutting down,
     * or a worker the request would need (home, bound, or {@code to}, the target of scheduleOn;
     * null if none) has died. A continuation stranded on a dead worker cannot be moved away from
     * it either: the handover goes through the old worker.
     */
    private void admit(Worker to) {
        final KcontGroup g = group;
        if (g.isShuttingDown()) {
            g.countRejected();
            throw g.refusal(this);
        }
        final Worker h = laHome();
        final Worker b = bound;
        if (h.isDead() || b.isDead() || to != null && to.isDead()) {
            // Only a worker that died is dead while the group is not shutting down.
            final Worker dead = h.isDead() ? h : b.isDead() ? b : to;
            g.countRejected();
            throw new RejectedExecutionException("kcont '" + name + "' refused: worker '" + dead.name()
                    + "' died of " + dead.deathCause() + (to == null ? "" : "; the continuation stays on '"
                    + b.name() + "'"));
        }
        final Runnable hook = g.afterAdmission;
        if (hook != null) {
            hook.run();
        }
    }

    private static long requestBits(long tick) {
        return tick == IMMEDIATE ? NOW : deadlineBits(tick);
    }

    /** Schedules the worker's internal wake-up continuation even while the group shuts down. */
    void scheduleInternal() {
        request(IMMEDIATE, false);
    }

    /**
     * Hands this continuation (whose Q bit the caller set) to {@code w}'s inbox and wakes {@code w}
     * if it is parked past {@code tick} (the request's deadline tick, or {@link #IMMEDIATE}). If
     * {@code w} has already terminated, withdraws the request and counts it as discarded.
     */
    void enqueue(Worker w, long tick) {
        w.post(this);
        // Dekker with Worker.idle(): post's CAS on the inbox index is the store, wakeFor's volatile
        // load of the worker's wake-up time the load.
        w.wakeFor(wakeTick(tick));
        // Dekker with Worker.terminate(): the same CAS is the store, this the load.
        withdrawIfDead(w);
    }

    /**
     * The tick to wake the worker for after our put: {@code tick}, or the request now in the state
     * word if that is earlier. Between our CAS that set Q and our put, another thread may have
     * rescheduled (or cancelled and scheduled) this continuation earlier. Finding Q set, it relied
     * on our entry and called wakeFor itself, but before our put: the worker it woke found the
     * inbox empty and may have parked again, until a tick later than that request. So we look
     * again (Dekker, volatile on both sides): our put (a volatile CAS) precedes this load, the
     * other thread's CAS of the state precedes its load of wakeAt. If this load misses that CAS,
     * our put came first and the other thread's wakeFor judged a worker that either sees our
     * entry or had announced its park (so it was woken); if it sees it, we wake for it here.
     * {@code tick} is a reference within 2^39 ticks of any request's deadline (both are deadlines
     * from about now), so it rebuilds the stored 40 bits. Tests: jcstress KcontRelyOnEntryWakeupTest
     * (without the second look it shows the lost wake-up on x86, about a third of the samples) and
     * KcontThreadedTest shouldWakeTheWorkerForARequestMadeEarlierWhileTheEntryItReliesOnWasBeingPut.
     */
    private long wakeTick(long tick) {
        if (tick == IMMEDIATE) {
            return tick;
        }
        final long s = lvState();
        if ((s & PENDING) == 0) {
            return tick;
        }
        if ((s & NOW) != 0) {
            return IMMEDIATE;
        }
        final long d = deadlineTick(s, tick);
        return d - tick < 0 ? d : tick;
    }

    /**
     * If {@code w} has ended, nobody will take the inbox entry this request relies on: withdraw the
     * request and count it as discarded. It was accepted (its call passed admission before
     * shutdown began, or is the worker's own wake-up, which is not counted), so it is not a
     * refusal; and exactly one of this cancel and the ending worker's discard clears P and counts.
     */
    private void withdrawIfDead(Worker w) {
        if (w.isDead() && cancel() && this != w.wake) {
            group.countDiscarded();
        }
    }

    /** Pending and linked at the old home while bound elsewhere: get an inbox entry to the old home. */
    private void requestHandover() {
        long s;
        do {
            s = lvState();
            if ((s & (QUEUED | CLOSED)) != 0) {
                return; // an inbox entry exists (the old home will forward it), or closed: nothing to hand over
            }
        } while (!casState(s, s | QUEUED));
        enqueue(laHome(), IMMEDIATE);
    }

    // ------------------------------------------------------------------------------------------
    // Observation

    /**
     * Closes this continuation: cancels its pending request, if any, and gives its place in the
     * group back ({@link KcontGroup.Builder#maxKconts}), so that a long-running program can create
     * continuations as it goes (one per connection, say) without reaching the group's limit. Once
     * closed, {@link #schedule()}, {@link #schedule(long, TimeUnit)} and {@link #scheduleOn} throw
     * {@link IllegalStateException}; {@link #reschedule} and {@link #cancel} return {@code false};
     * {@link #drain()} still waits for a run in progress.
     *
     * <p>Does not wait for a run in progress, and may be called from the continuation's own body
     * (a last run that closes itself). A body that tries to schedule itself again after it was
     * closed gets the {@code IllegalStateException}, a failure like any other; to stop a
     * continuation that re-arms itself, {@link #drain()} it first (drain cancels the re-arm), then
     * close it. The place is given back when the continuation's worker has unlinked it from its
     * queues: close() hands it an entry and wakes it, and its next round takes the entry (every
     * inbox must keep room for every continuation, so the place cannot come back before).
     * {@link KcontGroup#kcontCount()} shows it. Idempotent.
     */
    public void close() {
        long s;
        do {
            s = lvState();
            if ((s & CLOSED) != 0) {
                return;
            }
        } while (!casState(s, (s & (RUNNING | WAITERS)) | CLOSED | QUEUED)); // P cleared: cancelled
        if ((s & QUEUED) != 0) {
            return; // an entry exists: its taker unlinks the continuation and gives the place back
        }
        // Home is read only now that we hold Q: only a holder of Q moves home (Worker.forward), so
        // it is stable from our CAS on, and this volatile read sees the last move (that forward's
        // store precedes the CAS chain ours read). Read before the CAS, it could be stale: the
        // continuation may have moved and come back to the same state word meanwhile, and an entry
        // sent to the old home would make that worker unlink it from another worker's queues.
        final Worker h = laHome();
        // We set Q: the entry we put makes the home worker unlink the continuation from its wheel or
        // run queues (a far timer would otherwise stay linked, body and all, until its deadline)
        // and give the place back (intake; the overview's "Closing").
        if (h.isDead()) {
            // Its queues were emptied when it ended, and nobody would take the entry.
            if (dropEntryIfClosed()) {
                group.releaseKcont();
            }
            return;
        }
        enqueue(h, IMMEDIATE); // if h dies meanwhile, its end takes the entry or it stays there (docs)
    }

    /**
     * Returns whether {@link #close()} was called.
     *
     * @return {@code true} once closed
     */
    public boolean isClosed() {
        return (lvState() & CLOSED) != 0;
    }

    /**
     * Called by a worker that holds this continuation's inbox entry (Q set) and will not link it:
     * if it is closed, clears Q and returns {@code true}; the caller then gives the place back.
     */
    boolean dropEntryIfClosed() {
        long s;
        do {
            s = lvState();
            if ((s & CLOSED) == 0) {
                return false;
            }
        } while (!casState(s, s & ~QUEUED));
        return true;
    }

    private void checkOpen() {
        if ((lvState() & CLOSED) != 0) {
            throw closed();
        }
    }

    private IllegalStateException closed() {
        return new IllegalStateException("kcont '" + name + "' is closed");
    }

    /**
     * Returns whether a request is pending (a snapshot).
     *
     * @return {@code true} if pending
     */
    public boolean isPending() {
        return (lvState() & PENDING) != 0;
    }

    /**
     * Returns whether the worker is running this continuation now (a snapshot).
     *
     * @return {@code true} if running
     */
    public boolean isRunning() {
        return (lvState() & RUNNING) != 0;
    }

    /**
     * Returns the pending count: how many {@code schedule} calls the pending request answers
     * (0 if none is pending; saturates at 65535).
     *
     * @return the pending count
     */
    public int pendingCount() {
        final long s = lvState();
        return (s & PENDING) == 0 ? 0 : (int) ((s & COUNT_MASK) >>> COUNT_SHIFT);
    }

    /**
     * Returns the pending count of the run in progress: how many {@code schedule} calls this run
     * answers (at least 1). Only meaningful when called from the continuation's own run.
     *
     * @return the pending count the current run absorbed
     */
    public int runPendingCount() {
        return runCount;
    }

    /**
     * Returns the worker this continuation is bound to.
     *
     * @return the worker that runs it (after a {@link #scheduleOn}, the new one)
     */
    public Worker worker() {
        return bound;
    }

    /**
     * Returns the priority class given at creation.
     *
     * @return the priority class
     */
    public Priority priority() {
        return priority;
    }

    /**
     * Returns the name given at creation.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /** Returns the name, worker, class and state. */
    @Override
    public String toString() {
        final long s = lvState();
        return "Kcont[" + name + " on " + bound.name() + ", " + priority
                + ((s & PENDING) != 0 ? ", pending x" + ((s & COUNT_MASK) >>> COUNT_SHIFT) : "")
                + ((s & RUNNING) != 0 ? ", running" : "") + "]";
    }

    // ------------------------------------------------------------------------------------------
    // Worker side (called only by the home worker's thread)

    /** Runs the body; the caller already won the run CAS. Returns normally even if the body threw. */
    Throwable runBody() {
        try {
            body.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Clears R (and W) after a run and wakes drainers that announced themselves with W. */
    void finishRun() {
        long old;
        for (;;) { // O3: one atomic write clears R (and, for a drainer, cancels)
            old = lvState();
            // A drainer is waiting: cancel on its behalf in the same write, or a body that
            // reschedules itself is running again before the notified drainer can cancel it, and
            // drain() would never return.
            final long next = (old & WAITERS) != 0 ? old & KEEP_ON_CANCEL & ~(RUNNING | WAITERS)
                    : old & ~(RUNNING | WAITERS);
            if (casState(old, next)) {
                break;
            }
        }
        if ((old & WAITERS) != 0) {
            synchronized (drainMonitor) {
                drainMonitor.notifyAll();
            }
        }
    }

    Worker lvBound() {
        return bound;
    }

    /** Acquire-equivalent load of home (volatile): pairs with the forwarding worker's store. */
    Worker laHome() {
        return home;
    }

    /** Only the worker holding the inbox entry (Q) moves home; see Worker.forward. */
    void svHome(Worker w) {
        home = w;
    }

    long lvState() {
        return state;
    }

    boolean casState(long expect, long update) {
        return STATE.compareAndSet(this, expect, update);
    }

    static int count(long s) {
        return (int) ((s & COUNT_MASK) >>> COUNT_SHIFT);
    }

    /** The state bits of a deadline tick. */
    static long deadlineBits(long tick) {
        return tick << DEADLINE_SHIFT;
    }

    /** Rebuilds a full tick from the 40 stored bits, nearest to {@code ref} (within 2^39). */
    static long deadlineTick(long s, long ref) {
        final long diff = ((s >>> DEADLINE_SHIFT) - ref) << DEADLINE_SHIFT >> DEADLINE_SHIFT;
        return ref + diff;
    }

    // VarHandle mechanics
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Kcont.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
