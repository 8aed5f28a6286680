package dev.mpsafe.epoch;

import dev.mpsafe.internal.GraceWait;
import dev.mpsafe.internal.PaddedLong;
import dev.mpsafe.internal.ReaderSlot;
import dev.mpsafe.internal.SlotTable;
import dev.mpsafe.internal.ThreadSlot;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Polling;
import dev.mpsafe.sync.Section;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Epoch-based reclamation (FreeBSD {@code epoch(9)}, Concurrency Kit {@code ck_epoch}): nestable
 * read sections, {@link #synchronize()} (epoch_wait), deferred callbacks with {@link #call} and
 * {@link #barrier()} (epoch_call, epoch_drain_callbacks), a non-blocking {@link #poll()}, and
 * cookies ({@link #advance()}/{@link #poll(long)}).
 *
 * <h2>Callbacks</h2>
 * {@link #call(Runnable)} stores the callback itself in an array slot (no node is allocated once
 * the arrays have grown to the working size). Who runs callbacks is chosen at creation
 * ({@link GraceOptions#withCallbacksOnDomainThread}): a thread the domain owns, started on the
 * first callback and parked whenever nothing is pending; or the callers of {@link #poll()} and
 * {@link #barrier()}. Callbacks never run on a thread inside a section of this domain. Pending
 * callbacks are bounded ({@link GraceOptions#withMaxPendingCallbacks}); the high-water mark is kept
 * ({@link #pendingHighWater()}). Readers are scanned only when something is waiting: a domain with
 * no pending callbacks and no waiting writer does no work at all.
 *
 * <p>Interrupts: {@link #synchronize()}, {@link #barrier()}, a {@link #call} that waits at the
 * bound and {@link #close()} are not interruptible; they wait through an interrupt and return with
 * the interrupt status still set. Every callback starts with the interrupt status clear, and
 * whatever it leaves is dropped: with callbacks on the callers' threads, the caller's own status is
 * saved before each batch it runs and restored after, so a callback can neither see the caller's
 * interrupt nor clear or set it for the caller.
 *
 * <p>{@link #close()} stops the domain thread and runs every pending callback on the caller.
 *
 * <p>Thread safety: safe for any number of readers and writers.
 *
 * <p>Memory consistency effects: see {@link GraceDomain} and {@link Deferring}.
 */
public final class Epoch implements Deferring, Polling, AutoCloseable {

    /*
     * Implementation overview.
     *
     * Source: ck_epoch (Concurrency Kit) as used by FreeBSD epoch(9): a global epoch, per-reader
     * records of the epoch observed at entry, and "an object retired at epoch e is safe once the
     * global epoch reaches e + 2".
     *
     * State: the global epoch G (PaddedLong, starts at 1). Each reader slot's state word holds the
     * epoch e that G had at the outermost enter (tag) and the nesting depth (ThreadSlot's layout);
     * depth 0 means outside. The outermost enter writes (e, 1); nested enters and exits change
     * only the depth.
     *
     * Advance (tryAdvance): read G = e; full fence; scan the slots; if every active slot whose
     * owner is alive has epoch e, CAS G from e to e + 1. A reader active with an older epoch blocks
     * the advance until it exits.
     *
     * Key invariant: when G reaches e + 2, no section that was running while G was <= e is still
     * running. Proof sketch: the advance e+1 -> e+2 saw every active reader at epoch e+1, so a
     * reader active with epoch <= e had exited by then; a reader that entered while G <= e but
     * published its slot late is handled by the StoreLoad argument below.
     *
     * Ordering (store-buffering, jcstress EpochStoreLoadTest):
     *   reader: e = load G; release store slot = (e, depth 1); fullFence; load pointer
     *   writer: store pointer (release); fullFence; load slots (inside tryAdvance)
     * Either the writer sees the reader's slot (and waits for it), or the reader sees the new
     * pointer. A reader whose slot carries a stale epoch (G moved on between its load of G and its
     * store) only holds advances back longer: conservative, never unsafe.
     *
     * A scan may end a grace period on any value of the reader's word that follows a section: its
     * exit, an offline or online, a later section's enter (a newer epoch) or a nested level of it.
     * Every store the owner makes to the word is a release store (ReaderSlot), so whichever it
     * reads, the earlier section's reads happen-before what the writer does after the grace period
     * (jcstress GraceNextSectionReleaseTest). An opaque store there would leave that to the hardware
     * (on ARM a store to the same word after a store-release stays after it), not to the JMM; the
     * release is free on x86 and an stlr instead of an str on ARM.
     *
     * synchronize(): fence; e0 = G; advance until G >= e0 + 2. Readers active at the call have
     * epoch <= e0, so they have all exited.
     *
     * Callbacks: four buckets indexed by epoch & 3, guarded by cbLock. call() tags the callback with
     * G read under cbLock (a callback retired while G <= t is safe at t + 2, and the tag is read
     * after the caller's unpublish, so tag >= the epoch at retirement). A bucket's tag is the largest
     * tag put in it, which can only delay its callbacks. dispatch takes the ready buckets (tag + 2 <=
     * G) under cbLock, in tag order, swaps in spare arrays, and runs the callbacks outside the lock,
     * serialized by dispatchLock (never re-entered from a callback), so batches complete in the
     * order they were taken. One dispatch reads G once, at entry, and takes only the buckets ready
     * then (each at most once), so its work is bounded even while other threads keep calling.
     * Completion does NOT follow call order: a later call can raise a bucket's tag and hold back
     * the callbacks already in it while another bucket runs.
     *
     * barrier(): under cbLock, note every non-empty bucket's count of batches taken so far, and the
     * total taken. It returns once the batch in flight at that moment (if any) has completed and,
     * for each noted bucket, its next batch has completed: every callback accepted before the
     * barrier is in one of those. (A count of completed callbacks is not enough, for the reason
     * above.)
     *
     * Callback visibility (jcstress EpochCallbackVisibilityTest): call() takes cbLock after the
     * caller's writes; dispatch takes cbLock before running the callback; lock release/acquire
     * makes the caller's writes happen-before the callback.
     *
     * Progress: readers are wait-free. Writers and the domain thread wait for readers (writers
     * park after a short spin, the domain thread for its dispatch tick; both report stalls). G is a 64-bit counter; a slot keeps its low 47 bits,
     * and tryAdvance compares only those, so only equality modulo 2^47 matters and the slot's
     * copy may wrap harmlessly.
     */

    private static final int BUCKETS = 4;
    /** The bits of the epoch a reader slot keeps (the rest of its word holds depth and flags). */
    private static final long EPOCH_TAG_MASK = -1L >>> ThreadSlot.TAG_SHIFT;
    /** Dispatch tick of the domain thread while callbacks are pending but not yet ready. */
    private static final long TICK_NANOS = 1_000_000;

    private final GraceOptions options;
    private final SlotTable<Reader> table;
    private final PaddedLong global = new PaddedLong(1);

    private final ReentrantLock cbLock = new ReentrantLock();
    private final ReentrantLock dispatchLock = new ReentrantLock();
    private final Runnable[][] buckets = new Runnable[BUCKETS][];
    private final int[] bucketSize = new int[BUCKETS];
    private final long[] bucketTag = new long[BUCKETS];
    private Runnable[] spare = new Runnable[16];
    /** Per bucket: batches taken from it, and batches from it that completed (under cbLock). */
    private final long[] bucketTaken = new long[BUCKETS];
    private final long[] bucketDone = new long[BUCKETS];
    /** Batches taken and completed, all buckets (under cbLock). */
    private long batchesTaken;
    private long batchesDone;
    /** Callbacks accepted: written only under cbLock; volatile for lock-free readers. */
    private volatile long called;
    /** Callbacks run (or failed): written under dispatchLock, read by barrier waiters. */
    private volatile long completed;
    private volatile long failures;
    private volatile long highWater;

    private final boolean ownThread;
    private volatile Thread reclaimer;
    /** Starts the domain thread; a test replaces it to make the start fail. */
    volatile java.util.function.Consumer<Thread> threadStarter = Thread::start;
    private volatile boolean closed;

    private Epoch(GraceOptions options) {
        this.options = options;
        this.ownThread = options.callbacksOnDomainThread();
        this.table = new SlotTable<>(Reader.class, () -> new Reader(this));
        for (int i = 0; i < BUCKETS; i++) {
            buckets[i] = new Runnable[16];
        }
    }

    /** A domain with default options (callbacks on a domain thread). */
    public static Epoch create(String name) {
        return new Epoch(GraceOptions.named(name));
    }

    /** A domain with the given options. */
    public static Epoch create(GraceOptions options) {
        return new Epoch(Objects.requireNonNull(options, "options"));
    }

    @Override
    public String name() {
        return options.name();
    }

    // ------------------------------------------------------------------------------------------
    // Read side

    @Override
    public Section enter() {
        Reader r = table.current();
        r.enter();
        return r;
    }

    /**
     * {@inheritDoc}
     *
     * @return the calling thread's participant as its exact type, {@link Reader}
     */
    @Override
    public Reader register() {
        return table.current();
    }

    @Override
    public boolean inSection() {
        Reader r = table.currentIfRegistered();
        return r != null && r.inSection();
    }

    @Override
    public int participants() {
        return table.size();
    }

    /** The global epoch; for monitoring and tests. */
    public long epoch() {
        return global.lvValue();
    }

    // ------------------------------------------------------------------------------------------
    // Advancing

    /**
     * One attempt to advance the global epoch by one. Returns null on success (or if another
     * thread advanced it), else the reader that holds it back.
     */
    private Reader tryAdvance() {
        final long e = global.lvValue();
        VarHandle.fullFence(); // StoreLoad: the caller's unpublish before the slot loads
        for (Reader r : table.snapshot()) {
            long s = r.scanState();
            if (ThreadSlot.depthOf(s) != 0 && ThreadSlot.tagOf(s) != (e & EPOCH_TAG_MASK) && !r.orphaned()) {
                return r;
            }
        }
        global.casValue(e, e + 1); // failure: someone else advanced, which is as good
        return null;
    }

    /**
     * Test hook (jcstress): the writer's fence and scan; whether any announcement is visible
     * (owner liveness ignored, as in Pserialize's hook: the litmus is about visibility).
     */
    boolean scanFindsReaderActive() {
        VarHandle.fullFence();
        for (Reader r : table.snapshot()) {
            if (ThreadSlot.depthOf(r.scanState()) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Advances until the global epoch reaches {@code goal}, waiting for readers. */
    private void advanceTo(long goal) {
        GraceWait wait = null;
        while (global.lvValue() - goal < 0) {
            Reader blocker = tryAdvance();
            if (blocker != null) {
                if (wait == null) {
                    wait = new GraceWait(options);
                }
                wait.pause(blocker);
            } else if (wait != null) {
                wait.progressed();
            }
        }
    }

    private void checkNotInSection(String op) {
        if (inSection()) {
            throw new IllegalStateException("epoch '" + name() + "': " + op
                    + " inside a read section of the same domain would wait for itself");
        }
    }

    /**
     * Waits until every section that began before the call has ended (epoch_wait).
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     */
    @Override
    public void synchronize() {
        checkNotInSection("synchronize()");
        VarHandle.fullFence();
        advanceTo(global.lvValue() + 2);
    }

    @Override
    public long advance() {
        VarHandle.fullFence(); // the caller's unpublish before reading the epoch
        return global.lvValue() + 2;
    }

    /** Non-blocking: reaches {@code goal} if the readers allow, scanning them at most twice. */
    @Override
    public boolean poll(long goal) {
        for (int i = 0; i < 2 && global.lvValue() - goal < 0; i++) {
            if (tryAdvance() != null) {
                break;
            }
        }
        return global.lvValue() - goal >= 0;
    }

    // ------------------------------------------------------------------------------------------
    // Callbacks

    /**
     * {@inheritDoc}
     *
     * @throws NullPointerException if {@code callback} is null
     * @throws IllegalStateException if the domain is closed; also if the domain thread had to be
     *     started and could not be (the process is out of native threads). Either way the callback
     *     was refused: it is not pending and never runs, so the caller may run it another way
     *     ({@link Deferring#callOrWait} does). The next {@code call} tries to start the thread
     *     again.
     */
    @Override
    public void call(Runnable callback) {
        Objects.requireNonNull(callback, "callback");
        if (closed) {
            throw new IllegalStateException("epoch '" + name() + "' is closed");
        }
        // The domain thread is started before the callback is accepted, never after: a failed start
        // then refuses the callback, and an exception out of call() always means "not accepted".
        // (It used to be started after, and a failure threw with the callback already pending:
        // Deferring.callOrWait took that for a refusal, ran the action itself, and the domain ran
        // it again later.) Once started, the thread is never reset to null, so every accepted
        // callback finds one (the exception: a racing call whose start failed, see below).
        if (ownThread && reclaimer == null) {
            final IllegalStateException notStarted = startReclaimer();
            if (notStarted != null) {
                throw notStarted; // nothing accepted
            }
        }
        final int max = options.maxPendingCallbacks();
        long pendingBefore;
        for (;;) {
            // StoreLoad: the caller's unpublish (often only a release store) must be visible before
            // we read the epoch that tags the callback. Otherwise a reader could enter in a later
            // epoch, still see the old object, and the bucket could become ready while it holds it.
            // The lock acquire below gives no StoreLoad order in the JMM. (jcstress
            // EpochCallbackWaitsForReaderTest)
            VarHandle.fullFence();
            cbLock.lock();
            try {
                if (closed) {
                    // close() sets closed under cbLock before its final drain: a call that got in
                    // first is drained there; one that did not is refused, never stranded.
                    throw new IllegalStateException("epoch '" + name() + "' is closed");
                }
                // The bound is checked here, under cbLock, with the same count the call then
                // raises: racing callers are decided one at a time, so they cannot all see room for
                // one and pass the bound together (they could, when this was a check before the
                // lock). No shared access is added: the count was read here already. completed may
                // be read stale (it only grows, written under dispatchLock), which overestimates
                // the pending count: a caller may wait a little early, never pass the bound.
                pendingBefore = called - completed;
                if (pendingBefore < max || !mayWaitForRoom()) {
                    final long e = global.lvValue();
                    final int b = (int) (e & (BUCKETS - 1));
                    final int n = bucketSize[b];
                    Runnable[] bucket = buckets[b];
                    if (n == bucket.length) {
                        bucket = buckets[b] = Arrays.copyOf(bucket, n * 2);
                    }
                    bucket[n] = callback;
                    bucketSize[b] = n + 1;
                    if (e > bucketTag[b]) {
                        bucketTag[b] = e;
                    }
                    called++;
                    if (pendingBefore + 1 > highWater) {
                        highWater = pendingBefore + 1;
                    }
                    break;
                }
            } finally {
                cbLock.unlock();
            }
            relieve(); // at the bound: make room (or wait for it) outside the lock, then try again
        }
        // The first pending callback wakes the domain thread (it parks with nothing pending). After
        // the callback was accepted nothing may throw. The thread is normally there (started
        // above); it is missing only if another call's start failed between our check and its
        // reset of reclaimer, and then that call reports the failure, and this callback stays
        // pending until the next call, poll() or barrier() starts the thread, or close() runs it.
        if (ownThread && (pendingBefore == 0 || reclaimer == null)) {
            wakeReclaimerQuietly();
        }
    }

    /**
     * Whether a call at the bound may wait for room: not inside a section (the wait could be for
     * its own section), and not on the thread that makes room (a callback that defers more, on
     * the domain thread or dispatched on a caller's, would wait for itself).
     */
    private boolean mayWaitForRoom() {
        return !inSection() && !dispatching();
    }

    /** Over the pending bound, outside a section: reclaim (or wait for the reclaimer) first. */
    private void relieve() {
        GraceWait wait = null;
        while (pendingCallbacks() >= options.maxPendingCallbacks() && !closed) {
            final Reader blocker = tryAdvance(); // the reader holding the epoch back, if any
            if (ownThread) {
                wakeReclaimer();
            } else if (dispatchReady() > 0) {
                if (wait != null) {
                    wait.progressed();
                }
                continue; // made room (or some): look again at once
            }
            // Nothing ran: a reader holds the epoch back, or the callbacks are not ready yet, or
            // another thread holds the dispatch (running a batch that may be long). A successful
            // advance is not progress in the last case: looping at once there used to burn a core
            // and push the epoch up millions of times. Back off as any wait does (a null blocker
            // only pauses); the next round advances again, so the spin rounds cover the usual
            // "two advances, then the bucket is ready" case.
            if (wait == null) {
                wait = new GraceWait(options);
            }
            wait.pause(blocker); // names a reader in a stall report, like synchronize()
        }
    }

    @Override
    public boolean inCallback() {
        return dispatching();
    }

    /** Whether the calling thread runs this domain's callbacks now (or is the domain thread). */
    private boolean dispatching() {
        return dispatchLock.isHeldByCurrentThread() || Thread.currentThread() == reclaimer;
    }

    /** Runs the callbacks ready at entry (as {@link #dispatchReady(long[], long)}); returns how many ran. */
    private int dispatchReady() {
        return dispatchReady(null, 0);
    }

    /**
     * Runs the callbacks whose grace period had passed when it was called, and no others; returns
     * how many ran. With a barrier's target ({@code need} non-null), stops as soon as the barrier
     * is reached.
     *
     * <p>The work is bounded: the epoch is read once, at entry, and only the buckets ready at that
     * epoch are taken, each at most once (one pass over the buckets, as ck_epoch_poll). It used to
     * loop until no bucket was ready, re-reading the epoch each time; with caller-run callbacks,
     * threads that kept calling kept buckets filling and the epoch moving, so the thread holding
     * dispatchLock never left: a "non-blocking" poll() ran for seconds, a barrier() long past its
     * own target, a call() at the bound as an endless worker for the others. What becomes ready
     * later is left to the next dispatch (the next poll(), barrier round, call at the bound, or
     * domain-thread round), so nothing is lost.
     */
    private int dispatchReady(long[] need, long inFlight) {
        if (dispatchLock.isHeldByCurrentThread()) {
            return 0; // called from a callback: the batch being run must finish first
        }
        if (!dispatchLock.tryLock()) {
            return 0; // someone else is dispatching
        }
        try {
            int ran = 0;
            long g = 0; // the epoch at entry; read under cbLock on the first pass
            // At most one batch per bucket: once bucket b has been taken at epoch g, a callback put
            // in it later is tagged with the epoch read under cbLock after our read, so >= g, and
            // is not ready at g (that needs tag + 2 <= g). The loop bound only makes that explicit.
            for (int pass = 0; pass < BUCKETS; pass++) {
                Runnable[] batch;
                int n;
                int taken;
                cbLock.lock();
                try {
                    if (pass == 0) {
                        // Read once: a stale g is conservative (G only grows, so a bucket ready at
                        // g is ready now), and a fixed g bounds the work of this call.
                        g = global.lvValue();
                    }
                    if (need != null && barrierReachedLocked(need, inFlight)) {
                        return ran; // the barrier's own callbacks have run: not a worker for later ones
                    }
                    int best = -1;
                    for (int b = 0; b < BUCKETS; b++) {
                        if (bucketSize[b] > 0 && bucketTag[b] + 2 <= g
                                && (best < 0 || bucketTag[b] < bucketTag[best])) {
                            best = b;
                        }
                    }
                    if (best < 0) {
                        return ran;
                    }
                    batch = buckets[best];
                    n = bucketSize[best];
                    buckets[best] = spare;
                    bucketSize[best] = 0;
                    spare = null;
                    taken = best;
                    bucketTaken[best]++;
                    batchesTaken++;
                } finally {
                    cbLock.unlock();
                }
                // With caller-run callbacks the batch runs on a caller's thread (poll, barrier, a
                // call at the bound, close): its interrupt status is the caller's, not the
                // callbacks'. Each callback starts with it clear (the caller's interrupt is not
                // meant for it, and would make its blocking calls throw), whatever a callback
                // leaves is dropped (it would leak into the next callback, or into the caller,
                // whose "restore the interrupt" idiom would then be wrong either way), and the
                // caller's own status is put back after the batch. The domain thread gets the same
                // treatment; reclaimLoop also clears what an outside interrupt left.
                final boolean callerInterrupted = Thread.interrupted();
                try {
                    for (int i = 0; i < n; i++) {
                        Runnable cb = batch[i];
                        batch[i] = null;
                        try {
                            cb.run();
                        } catch (Throwable t) {
                            failures++; // only under dispatchLock
                            try {
                                options.callbackErrorHandler().accept(cb, t);
                            } catch (Throwable ignored) {
                                // the handler failed too; the failure is still counted
                            }
                        }
                        Thread.interrupted(); // drop what the callback (or its handler) left
                        completed++; // only under dispatchLock; volatile for barrier waiters
                    }
                } finally {
                    if (callerInterrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
                ran += n;
                cbLock.lock();
                try {
                    spare = batch; // reuse the array: no allocation in steady state
                    bucketDone[taken]++;
                    batchesDone++;
                } finally {
                    cbLock.unlock();
                }
            }
            return ran;
        } finally {
            dispatchLock.unlock();
        }
    }

    /**
     * Non-blocking: advances the epoch if the readers allow and, when callbacks run on the callers'
     * threads and this thread is outside a section, runs the callbacks that are ready
     * (ck_epoch_poll).
     *
     * @return whether the epoch advanced or a callback ran
     */
    public boolean poll() {
        boolean advanced = tryAdvance() == null;
        int ran = 0;
        if (!ownThread && !inSection()) {
            ran = dispatchReady();
        } else if (ownThread && pendingCallbacks() > 0) {
            wakeReclaimer();
        }
        return advanced || ran > 0;
    }

    @Override
    public void barrier() {
        checkNotInSection("barrier()");
        checkNotDispatching("barrier()");
        final long[] need = new long[BUCKETS]; // per bucket: batches that must have completed; 0 = none
        final long inFlight;
        cbLock.lock();
        try {
            for (int b = 0; b < BUCKETS; b++) {
                if (bucketSize[b] > 0) {
                    need[b] = bucketTaken[b] + 1; // the next batch from b holds its callbacks
                }
            }
            inFlight = batchesTaken; // a batch taken but still running holds callbacks too
        } finally {
            cbLock.unlock();
        }
        GraceWait wait = null;
        while (!barrierReached(need, inFlight)) {
            Reader blocker = tryAdvance();
            if (ownThread) {
                wakeReclaimer();
            } else if (dispatchReady(need, inFlight) > 0) { // stops once this barrier is reached
                if (wait != null) {
                    wait.progressed();
                }
                continue; // progress: look again at once (each dispatch is bounded)
            }
            if (barrierReached(need, inFlight)) {
                break;
            }
            if (wait == null) {
                wait = new GraceWait(options);
            }
            wait.pause(blocker);
        }
    }

    private boolean barrierReached(long[] need, long inFlight) {
        cbLock.lock();
        try {
            return barrierReachedLocked(need, inFlight);
        } finally {
            cbLock.unlock();
        }
    }

    /** {@link #barrierReached} with cbLock held. */
    private boolean barrierReachedLocked(long[] need, long inFlight) {
        if (batchesDone < inFlight) {
            return false;
        }
        for (int b = 0; b < BUCKETS; b++) {
            if (bucketDone[b] < need[b]) {
                return false;
            }
        }
        return true;
    }

    /** Refuses a wait for callbacks from the thread that runs them: it would wait for itself. */
    private void checkNotDispatching(String op) {
        if (dispatching()) {
            throw new IllegalStateException("epoch '" + name() + "': " + op + " called from one of its callbacks"
                    + " (or its domain thread) would wait for the callback that is running");
        }
    }

    @Override
    public long pendingCallbacks() {
        long done = completed; // first: completed <= called at every instant, so this is never negative
        return called - done;
    }

    /** The most callbacks that were ever pending at once. */
    public long pendingHighWater() {
        return highWater;
    }

    /** Callbacks that threw. */
    public long callbackFailures() {
        return failures;
    }

    /** Callbacks that have run (including those that threw). */
    public long callbacksRun() {
        return completed;
    }

    // ------------------------------------------------------------------------------------------
    // The domain thread

    /**
     * Wakes the domain thread, starting it if there is none (and the domain is open).
     *
     * @throws IllegalStateException if it had to be started and could not be
     */
    private void wakeReclaimer() {
        final IllegalStateException notStarted = startReclaimer();
        if (notStarted != null) {
            throw notStarted;
        }
        unparkReclaimer();
    }

    /** As {@link #wakeReclaimer()}, for a caller that must not throw: a failed start is left to the next wake. */
    private void wakeReclaimerQuietly() {
        startReclaimer();
        unparkReclaimer();
    }

    private void unparkReclaimer() {
        final Thread t = reclaimer;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /**
     * Starts the domain thread if there is none and the domain is open. Returns null, or (without
     * throwing, so that each caller decides whether the failure is its to report) why it could
     * not be started; reclaimer is null again then.
     */
    private IllegalStateException startReclaimer() {
        Thread t = reclaimer;
        if (t == null) {
            synchronized (this) {
                t = reclaimer;
                if (t == null && !closed) {
                    // No inheritable thread-locals: the thread outlives the caller that happens to
                    // start it, and must not keep (or leak to callbacks) that caller's values.
                    t = Thread.ofPlatform().daemon().inheritInheritableThreadLocals(false)
                            .name("mpsafe-epoch-" + name()).unstarted(this::reclaimLoop);
                    // Published before start(): dispatching() compares with it, so a callback on
                    // the new thread that calls barrier() or call() at the bound must already see
                    // it (else it would wait for itself). Hence the reset if start() fails: an
                    // unstarted thread left here would never run a callback, and every later wake
                    // would take it for the domain thread, so barrier() and calls at the bound
                    // would hang. Reset, the next wake tries again.
                    reclaimer = t;
                    try {
                        threadStarter.accept(t);
                    } catch (Throwable x) {
                        reclaimer = null;
                        return new IllegalStateException("epoch '" + name() + "': could not start its domain"
                                + " thread (" + x + "); a call() refuses its callback then, and the callbacks"
                                + " already pending stay pending, none lost, until a later call(), poll() or"
                                + " barrier() starts it or close() runs them", x);
                    }
                }
            }
        }
        return null;
    }

    private void reclaimLoop() {
        // The domain thread waits for readers as a writer does (callbacks wait for the grace
        // period it cannot reach), so a reader that holds it up is reported the same way: a Stall
        // to the handler and a GracePeriodStall JFR event, once per reader and wait. It keeps its
        // own dispatch tick rather than the writers' backoff, so it only observes; one instance,
        // allocated once, reset whenever the wait ends.
        final GraceWait stalls = new GraceWait(options);
        while (!closed) {
            // Ours alone: an interrupt left by a callback means nothing here, and a set flag would
            // turn every park below into a busy spin.
            Thread.interrupted();
            if (pendingCallbacks() == 0) {
                stalls.reset();
                LockSupport.park(this); // nothing to reclaim: no scans at all
                continue;
            }
            final Reader blocker = tryAdvance();
            int ran = dispatchReady();
            if (blocker == null) {
                stalls.reset(); // advanced: whatever held it up has let go
            } else {
                stalls.observe(blocker);
                if (ran == 0) {
                    LockSupport.parkNanos(this, TICK_NANOS);
                }
            }
        }
    }

    /**
     * Stops the domain thread, then runs every pending callback on the calling thread (waiting for
     * their grace periods). Further {@link #call} attempts throw. Not interruptible: keeps the
     * interrupt status.
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain, or is
     *     running one of its callbacks (or is its domain thread): either way it would wait for
     *     itself. Nothing is closed then.
     */
    @Override
    public void close() {
        checkNotInSection("close()");
        checkNotDispatching("close()");
        cbLock.lock();
        try {
            closed = true; // under cbLock: see call()
        } finally {
            cbLock.unlock();
        }
        Thread t = reclaimer;
        if (t != null) {
            LockSupport.unpark(t);
            boolean interrupted = false;
            for (;;) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        // The domain thread is gone: run what is left here, including calls that raced with close.
        GraceWait wait = null;
        while (pendingCallbacks() > 0) {
            Reader blocker = tryAdvance();
            if (dispatchReady() > 0) {
                if (wait != null) {
                    wait.progressed();
                }
                continue;
            }
            // Nothing ran: as in relieve(), an advance alone is no progress while another thread
            // (a caller-run poll() or barrier()) holds the dispatch; back off rather than spin.
            if (wait == null) {
                wait = new GraceWait(options);
            }
            wait.pause(blocker);
        }
    }

    /** Whether {@link #close()} was called: {@link #call} refuses callbacks from then on. */
    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "Epoch[" + name() + ", epoch " + epoch() + ", " + participants() + " participants, "
                + pendingCallbacks() + " pending]";
    }

    // ------------------------------------------------------------------------------------------

    /**
     * A reader thread's participant in an epoch domain, as its exact type: what
     * {@link #register()} returns. Callers on the hottest paths can keep it as an
     * {@code Epoch.Reader} rather than a {@link Participant}: a call through the exact final type
     * needs no check of the receiver's class before the inlined enter (as docs/sync.md, runs J and
     * M, measure for pserialize and SMR; epoch's exact type has no benchmark row). Otherwise it is
     * a {@link Participant} like any other, with the same rules.
     *
     * <p>The slot: tag = the epoch seen by the outermost enter, depth = nesting.
     *
     * <p>Thread safety: confined to the registering thread, like every participant.
     */
    public static final class Reader extends ReaderSlot {
        private static final boolean CHECKS = Epoch.class.desiredAssertionStatus();

        private final Epoch domain;
        private final PaddedLong global;

        Reader(Epoch domain) {
            super(domain, "epoch");
            this.domain = domain;
            this.global = domain.global;
        }

        @Override
        public long enterToken() {
            if (CHECKS) {
                checkOwner("enter()");
            }
            final long s = lpState();
            if (s == 0) { // outside a section and online
                soState((global.lvValue() << TAG_SHIFT) | 1); // this epoch, depth 1 (release: see overview)
                VarHandle.fullFence(); // StoreLoad: the announcement before the section's loads
            } else {
                enterNested(s);
            }
            return s;
        }

        /*
         * Bridges for Epoch's scans (the advance and the jcstress hook): Epoch is not a subclass of
         * ThreadSlot, whose accessors are protected so that no public reader type offers them
         * (see ThreadSlotState). Final class, one call each: they inline to the accessor.
         */

        /** Volatile load of the state word: the advance's scan, after its fence. */
        long scanState() {
            return lvState();
        }

        /** Whether the owner is gone, so that the slot holds no section whatever its state says. */
        boolean orphaned() {
            return ownerGone();
        }

        @Override
        protected void releaseSlot() {
            domain.table.release(this);
        }

        @Override
        protected void resetForNewOwner() {
            soState(0);
        }
    }
}
