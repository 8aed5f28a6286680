package dev.mpsafe.smr;

import dev.mpsafe.internal.GraceWait;
import dev.mpsafe.internal.Membarrier;
import dev.mpsafe.internal.PaddedLong;
import dev.mpsafe.internal.ReaderSlot;
import dev.mpsafe.internal.SlotTable;
import dev.mpsafe.internal.ThreadSlot;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Polling;
import dev.mpsafe.sync.Section;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Safe memory reclamation with cookies, after FreeBSD's {@code smr(9)}: a writer unpublishes an
 * object, takes a goal with {@link #advance()}, and later asks {@link #poll(long)} (never blocks)
 * or {@link #await(long)} (parks) whether every section that could still see the object has ended.
 * This is what {@link SmrPool} and {@link SegmentPool} build on: a freed bucket is tagged with a
 * goal and reused once its goal has passed, with no callback, no thread and no wait in the common
 * case.
 *
 * <pre>{@code
 * Smr smr = Smr.create("routes", Smr.Mode.DEFAULT);
 * try (Section _ = smr.enter()) { route = table.enteredLoad().lookup(dst); }   // readers
 * Table old = table.exchange(next); long goal = smr.advance();                  // writer
 * ...
 * if (smr.poll(goal)) { recycle(old); }                                           // later, never blocks
 * }</pre>
 *
 * <h2>Modes</h2>
 * <ul>
 *   <li>{@link Mode#DEFAULT}: a reader's enter is a load of the write sequence, a store to its own
 *       slot and a full fence; every {@code advance()} moves the write sequence.</li>
 *   <li>{@link Mode#LAZY}: readers skip the fence, and do not read the write sequence either: an
 *       enter stores a sequence that polls left in the reader's own slot, so it reads no
 *       domain-wide cache line. (So a section that begins after an {@code advance()} but before the first
 *       poll of its goal may hold that goal back too, as a pserialize reader does.) A poller first
 *       makes sure a {@code membarrier(2)}
 *       (private expedited, through FFM) has completed since its goal was issued; the membarrier is
 *       the JVM's stand-in for FreeBSD's clock tick, which flushes every CPU's store buffer. One
 *       membarrier serves every goal issued before it, and {@code poll} performs at most one per
 *       tick ({@value #LAZY_TICK_NANOS} ns): a goal polled before the next tick is just not reached
 *       yet; {@code await} and {@code synchronize} perform it at once. Where membarrier
 *       is unavailable (not Linux x86-64/aarch64, seccomp, native access denied,
 *       {@code -Dmpsafe.membarrier=off}) a LAZY request falls back to DEFAULT and logs why, once
 *       per process; {@link #mode()} tells which mode is active.</li>
 *   <li>{@link Mode#deferred(int) DEFERRED(limit)}: the write sequence moves only on every
 *       {@code limit}-th {@code advance()} of a thread; the others return the next value without
 *       writing it (no shared cache-line write). {@code poll} and {@code await} force the advance
 *       when their goal is still ahead. Readers are as in DEFAULT.</li>
 * </ul>
 *
 * <h2>Sections</h2>
 * Sections nest: an inner {@code enter()} only counts, and the section (and the sequence it
 * observed) lasts until the outermost {@code exit()}. An {@code exit()} without {@code enter()}
 * throws. A thread inside a section must not wait for this domain ({@link #await},
 * {@link #synchronize()}): those throw {@link IllegalStateException} rather than wait for
 * themselves. See {@link Participant} for offline, release and dead threads.
 *
 * <h2>Sequences</h2>
 * Sequences are {@value #SEQ_BITS}-bit values compared by signed difference, so they wrap
 * harmlessly. A writer that gets a quarter of the sequence space ({@value #MAX_DELTA_LOG2} bits)
 * ahead of the oldest reader waits in {@code advance()} until that reader leaves, as FreeBSD's
 * {@code smr_advance} does; inside a section of this domain it throws instead.
 *
 * <p>Thread safety: safe for any number of readers and writers.
 *
 * <p>Memory consistency effects: see {@link GraceDomain}. In addition, actions before
 * {@code advance()} returned g happen-before the actions that follow a {@code poll(g)} or
 * {@code await(g)} that reported g reached, in any thread that obtained g from the advancing
 * thread with happens-before.
 */
public final class Smr implements Polling {

    /*
     * Implementation overview.
     *
     * Source: FreeBSD sys/kern/subr_smr.c (smr_advance, smr_poll, the LAZY and DEFERRED variants),
     * sys/sys/smr.h (the sequence arithmetic). Our own code: per-thread slots instead of per-CPU
     * records, membarrier instead of the clock tick.
     *
     * State:
     *   wr  (PaddedLong): the global write sequence, a raw counter; its value modulo 2^47 (SEQ_MASK)
     *       is the sequence. advance() adds 1 (FreeBSD adds 2 and reserves 0 for "not reading"; our
     *       slots have a separate depth field, so every value is usable).
     *   rd  (PaddedLong): a cached lower bound: every goal g with delta(rd, g) >= 0 has been reached.
     *       Raised only, by CAS, by pollers.
     *   tick (PaddedLong, LAZY only): the sequence covered by the last completed membarrier.
     *   slots: each reader's state word (ThreadSlot layout) holds the sequence c it read at its
     *       outermost enter (tag, 47 bits) and the nesting depth; depth 0 = not reading.
     *
     * Reader (DEFAULT, DEFERRED):  c = wr (volatile load); release store slot = (c, depth 1);
     *       fullFence; ...loads of the protected objects...; release store slot = 0 (depth 0).
     * Reader (LAZY): c = the slot's next word (acquire load), no fence; otherwise the same. The
     *       next word is written by pollers (see "LAZY tags"), not by the reader.
     *
     * advance(): goal = (getAndAdd(wr, 1) + 1) mod 2^47. The RMW is volatile: the caller's unpublish
     *   (any store before it) happens-before any thread's later read of wr >= goal. DEFERRED: a
     *   per-thread counter (a thread-local); only every limit-th call does the RMW, the others
     *   fence and return wr + 1 without writing. Then, as FreeBSD does: if delta(goal, rd) >= maxDelta (a
     *   quarter of the space), wait until rd >= goal - maxDelta/2, so that an announced reader's
     *   sequence is not lapped. The bound holds against rd, not every reader: a reader descheduled
     *   between its load of wr and its announcement can announce below rd; that needs about 2^45
     *   advances inside that window to matter (FreeBSD's smr_enter loads and stores inside a
     *   critical section, so no context switch falls between them; a JVM thread can be descheduled).
     *
     * poll(goal): fast path if delta(rd, goal) >= 0. Else (DEFERRED) if the goal is still ahead of
     *   wr, raise wr to the goal by CAS (the forced advance); read w = wr; order the scan after it:
     *   DEFAULT/DEFERRED: fullFence; LAZY: make sure a membarrier completed after wr reached the
     *   goal (tick >= goal, else w = wr, membarrier(), raise tick to w) and take w = tick. Scan the
     *   slots: m = min(w, c of every slot with depth > 0 whose owner is alive); raise rd to m;
     *   reached iff delta(rd, goal) >= 0. One scan per poll.
     *
     * LAZY's tick: a poll whose goal no membarrier covers yet performs one only if the last ended
     *   at least LAZY_TICK_NANOS ago; otherwise it reports "not yet" at once. So polls cost about
     *   one membarrier per tick (FreeBSD's LAZY likewise advances with the clock tick), however
     *   often they come; nothing claims the tick atomically, so pollers that find it due at the
     *   same moment may each run one. await() and synchronize() do not wait for the tick.
     *
     * Why m is a correct bound (key invariant: when rd = m, no running section can still reach an
     * object that was unpublished before a goal g <= m was issued). Take such an object O and a
     * reader R running a section:
     *   - If the scan saw R's slot with c < g, then m <= c < g: not reached for g. Correct.
     *   - If the scan saw c >= g: R read wr >= g, and the advance to >= g came after O's unpublish
     *     (program order + the volatile RMW), so R's acquire of wr makes the unpublish visible to
     *     R's section: R cannot reach O. (LAZY: R read c from its next word; see "LAZY tags" for
     *     the same chain through the poller that stored it.)
     *   - If the scan did not see R's announcement: store-buffering litmus. DEFAULT:
     *       R: store slot; fullFence; load pointer      P: (O unpublished before) fullFence; load slot
     *     With both fences one side sees the other's store: R's load of the pointer sees O's
     *     unpublish. (jcstress SmrStoreLoadTest, per mode. The same store-buffering shape without
     *     the reader's fence is what SmrLazyNoMembarrierNegativeControl shows failing on x86.)
     *     LAZY: membarrier(PRIVATE_EXPEDITED) returns only after every running thread of the process
     *     executed a full barrier (and a thread that was not running passes one when it is
     *     scheduled). O's unpublish precedes the membarrier (it precedes the advance to g, which
     *     precedes the read of w >= g that preceded the membarrier). For R, either R's
     *     "store slot; load pointer" both executed before R's barrier (then the store is globally
     *     visible when membarrier returns, and the scan after it sees the slot), or the load
     *     executed after R's barrier (then it sees the unpublish). This is the asymmetric
     *     pserialize argument (see Pserialize), with the same caveat: it also relies on HotSpot
     *     keeping R's release store before R's later loads in compiled code (C2 places compiler
     *     barriers around opaque and release accesses), which the JMM does not promise. A scan is valid for
     *     goal g only if it follows a membarrier that itself followed wr reaching g: that is what
     *     tick records, published by a release CAS after the membarrier returned and read with
     *     acquire before the scan. (jcstress SmrLazyStoreLoadTest.)
     *   - Dead owners: a thread that ended inside a section can run no more code, and its earlier
     *     actions happen-before our isAlive() that returned false.
     *   The reclaimer's later writes to O must also not race with reads of O by R's sections that
     *   the scan found over. It may have read any value that follows such a section: R's exit
     *   (depth 0), an offline or online, a later section's enter (c >= g) or a nested level of it.
     *   Every store the owner makes to its word is a release store (ReaderSlot) and the scan's load
     *   an acquire, so R's reads happen-before whichever it read. With an opaque store there they
     *   would be ordered only by the hardware (on ARM a store to the same word after a
     *   store-release stays after it), not by the JMM. The release costs nothing on x86 and an
     *   stlr instead of an str on ARM. (jcstress GraceNextSectionReleaseTest.)
     *
     * LAZY tags: a LAZY reader does not load wr. Its enter announces its slot's next word, a
     *   whole state word (c, depth 1) written by others: once by the slot's constructor (c = wr,
     *   read with volatile load, and a release store), then by scans, with a CAS from the value
     *   they read (volatile, so a release too). A scan, once its membarrier covers the goal
     *   (upper = tick >= goal, read with acquire), stores (upper, 1) in every slot whose next word
     *   is behind the goal, or more than maxDelta/4 behind upper. The CAS keeps the word moving
     *   forward only: a scan that stalled after its read cannot put back an older value over one
     *   a later scan stored.
     *   - Correctness. The reader loads the word with acquire, so a c that a scan later sees as
     *     >= g gives the chain: O's unpublish -> (program order) the advance to >= g (volatile RMW)
     *     -> a poller's read of wr >= c (volatile) -> its release CAS of tick -> the storing scan's
     *     acquire of tick -> its release store of the next word -> the reader's acquire load ->
     *     the section's loads. So the section sees the unpublish, as if it had read wr itself. The
     *     constructor's value gives the same chain, shorter. On x86 every link is free (TSO), so
     *     jcstress cannot fail there without them (SmrLazyNextSequenceTest); on ARM they are the
     *     ldar/stlr that a volatile read of wr cost before.
     *   - Progress and latency. After the first scan for a goal, every reader's next section
     *     announces a sequence >= goal, so a reader that runs sections back to back holds the goal
     *     only until the section after that scan (pserialize's perform changes a reader's next tag
     *     for the same reason). A section that began after the goal was issued but before that
     *     scan announces an older sequence and is waited for, as pserialize waits for one; reading
     *     wr, it would not be. Each store costs the reader one cache miss, as every advance() cost
     *     it one on wr's line before.
     *   - Wrap. Every scan brings each next word to within maxDelta/4 of its upper (or finds that
     *     another scan changed it after its read: then that scan's value is newer), and no scan
     *     lets wr get maxDelta past rd <= that upper (the forced wait), so a LAZY c stays within
     *     maxDelta + maxDelta/4 < 2^46 of wr, like a c read from wr. A poller stalled between its
     *     read and its CAS fails the CAS if any scan ran meanwhile, and wr cannot move far without
     *     scans.
     *   - Cost. The enter loads a word in its own slot instead of the domain's wr through the
     *     reader's reference: one load fewer on the path and none of a domain-wide line, which
     *     every advance() takes from every reader's cache (the slot's own line is written by
     *     scans instead, as pserialize's writers write theirs). DEFAULT and DEFERRED enters load
     *     the word too, to find the FENCED marker: free on x86, an ldar on ARM next to their
     *     full fence.
     *
     * DEFERRED's forced advance: a deferred advance() fences after the caller's unpublish and then
     *   reads wr = g - 1. Whoever later moves wr to >= g (a poller's forced CAS, any thread's
     *   advance), its write is after that read in wr's order, and a reader that reads wr >= g and
     *   then fences is ordered after it: unpublish; fence; read wr < g; [write wr >= g]; reader's read
     *   of wr >= g; reader's fence; reader's loads. With both fences the reader's loads see the
     *   unpublish, whichever thread forced wr and whichever threads share the goal g (several threads'
     *   deferred advances routinely return the same value). The fence is the writer's cost of not
     *   writing wr. (jcstress SmrDeferredForcedAdvanceTest: one thread publishes, advances and polls;
     *   SmrDeferredSharedGoalTest: another thread forces the goal and reads.)
     *
     * Wrap: all comparisons use delta(a, b) = ((a - b) << 17) >> 17, the signed 47-bit difference.
     *   They are exact while the values are within 2^46 of each other; the forced wait keeps every
     *   running reader's c within maxDelta = 2^45 of wr. A goal kept unpolled for more than 2^46
     *   advances is ambiguous, as in FreeBSD (where it is 2^30). The public poll/await reject such a
     *   goal when it reads as ahead of wr (IllegalArgumentException: it cannot tell a stale goal
     *   from a made-up one). The pools poll only goals this domain's advance() returned, through
     *   pollIssued/awaitReached, which count a goal outside [rd, wr] as passed, as FreeBSD's
     *   smr_poll does. Why that is true, in raw advance counts (wr's counter not reduced mod 2^47):
     *   let W, R, G be the counts of wr, rd and the goal g.
     *   (a) R <= W, and W - R < 2^46: a scan raises rd to at most the wr it read; and every checked
     *       advance (moveWriteSequence) found W - R < maxDelta or waited until it was, before its
     *       add. Adds that passed their check earlier but land later are at most one per thread,
     *       and DEFERRED's unchecked moves (a forced advance raises wr by at most 1, to a goal a
     *       deferred advance() read as wr + 1) at most limit - 1 per thread between two of its
     *       checked advances. So W - R <= maxDelta + threads * MAX_DEFERRED_LIMIT, far below
     *       2^46 = 2 * maxDelta for any JVM (2^20 * threads < 2^45).
     *   (b) g was issued before: G <= W + 1 then (W + 1 only for a deferred goal), and W only grows,
     *       so W - G >= -1 now. delta(g, w) > (DEFERRED ? 1 : 0) on a w read now means
     *       (W - G) mod 2^47 lies in (2^46, 2^47 - 1), which no W - G in [-1, 2^46] gives: W - G > 2^46.
     *   (c) From (a) and (b), on an rd read after that w (acquire): R > W - 2^46 > G. rd reached g
     *       long ago: a scan found every section that began before g over and raised rd (a CAS) past
     *       it; our acquire load reads that value or a later one of the same CAS chain, so those
     *       sections' reads happen-before ours, exactly as on the fast path. An item freed before
     *       g was issued (the pools take a goal after the items were unpublished) can be reached
     *       only by such a section: none is left, so reusing the item is safe.
     *   A goal lapped a whole multiple of 2^47 reads as within [rd, wr] again and is polled
     *   normally: then it may be reported not reached until rd passes its image (a delay, never a
     *   false "passed": it has passed). forceAdvance never raises wr by more than 1 (the most a
     *   deferred goal can be ahead), so a stale goal that slips into a scan cannot push wr forward.
     *
     * Grace latency: DEFAULT/DEFERRED: the time until the last section that began before the goal
     *   ends, plus one scan. LAZY: the same plus one membarrier (an IPI to every CPU running a thread
     *   of this process; microseconds to tens of microseconds), shared by every goal issued before it;
     *   a goal checked only by poll() may also wait for the next tick (at most LAZY_TICK_NANOS). A
     *   LAZY reader that runs sections back to back holds a goal until its first section after the
     *   goal's first scan (see "LAZY tags"), so a poll() may need a second scan for it.
     *
     * Progress: readers are wait-free. poll is lock-free (bounded: one forced-advance CAS loop, at
     *   most one membarrier, one scan). await, synchronize and a forced-wait advance block while a
     *   reader stays in its section; they spin briefly, then park with a growing timeout, and report
     *   stalls (GraceWait).
     */

    /** Bits of a sequence: what a reader slot's tag holds. */
    public static final int SEQ_BITS = 64 - ThreadSlot.TAG_SHIFT;
    /** Log2 of the distance a writer may get ahead of the oldest reader before it must wait. */
    public static final int MAX_DELTA_LOG2 = SEQ_BITS - 2;
    /** The largest sequence value; sequences run from 0 to this and wrap. */
    public static final long SEQ_MASK = (1L << SEQ_BITS) - 1;
    /** The largest {@code limit} {@link Mode#deferred(int)} accepts. */
    public static final int MAX_DEFERRED_LIMIT = 1 << 20;
    /**
     * LAZY's tick, in nanoseconds: {@link #poll(long)} performs at most one {@code membarrier(2)}
     * per tick (a goal that no membarrier covers yet waits for the next tick); {@link #await(long)}
     * does not wait for the tick.
     */
    public static final long LAZY_TICK_NANOS = 1_000_000;

    private static final System.Logger LOG = System.getLogger("dev.mpsafe.smr");
    private static volatile boolean fallbackLogged;

    /** Which algorithm a domain runs; see the class documentation. */
    public enum Kind {
        /** Fenced readers; every advance moves the write sequence. */
        DEFAULT,
        /** Fence-free readers; pollers pay one membarrier per batch of goals. */
        LAZY,
        /** Fenced readers; the write sequence moves every {@code limit} advances, or when polled. */
        DEFERRED
    }

    /**
     * A domain's mode: {@link #DEFAULT}, {@link #LAZY}, or {@link #deferred(int)}.
     *
     * @param kind the algorithm
     * @param limit DEFERRED: how many advances of a thread share one move of the write sequence; 1
     *     for the other kinds
     */
    public record Mode(Kind kind, int limit) {
        /** Fenced readers, an advance per call. */
        public static final Mode DEFAULT = new Mode(Kind.DEFAULT, 1);
        /** Fence-free readers (membarrier), where the platform allows. */
        public static final Mode LAZY = new Mode(Kind.LAZY, 1);

        /**
         * @throws NullPointerException if {@code kind} is null
         * @throws IllegalArgumentException if {@code limit} is not 1 for DEFAULT and LAZY, or not
         *     within [1, {@value Smr#MAX_DEFERRED_LIMIT}] for DEFERRED
         */
        public Mode {
            Objects.requireNonNull(kind, "kind");
            if (kind != Kind.DEFERRED && limit != 1) {
                throw new IllegalArgumentException(kind + " takes no limit (must be 1), got " + limit);
            }
            if (limit < 1 || limit > MAX_DEFERRED_LIMIT) {
                throw new IllegalArgumentException("DEFERRED limit must be within [1, " + MAX_DEFERRED_LIMIT
                        + "], got " + limit);
            }
        }

        /** DEFERRED: a thread's advances move the write sequence once per {@code limit} calls. */
        public static Mode deferred(int limit) {
            return new Mode(Kind.DEFERRED, limit);
        }

        @Override
        public String toString() {
            return kind == Kind.DEFERRED ? "DEFERRED(" + limit + ")" : kind.name();
        }
    }

    private final GraceOptions options;
    private final Mode mode;
    private final boolean lazy;
    private final int deferLimit;
    private final long maxDelta;
    private final SlotTable<Reader> table;
    private final PaddedLong wr;
    private final PaddedLong rd;
    private final PaddedLong tick;
    /**
     * DEFERRED: the calling thread's advances since it last moved the write sequence (FreeBSD keeps
     * this per CPU). A thread-local rather than the thread's reader slot, so that a writer that
     * never reads does not add a slot to every scan.
     */
    private final ThreadLocal<int[]> deferredCalls = ThreadLocal.withInitial(() -> new int[1]);
    /** Test hook for negative controls only: every poll says the goal passed. Always false otherwise. */
    private final boolean brokenNoWait;
    /** LAZY: the tick length (LAZY_TICK_NANOS, or a test's), when the last membarrier ended, how many. */
    private final long lazyTickNanos;
    private volatile long lastTickNanos;
    private final AtomicLong ticks = new AtomicLong();

    private Smr(GraceOptions options, Mode mode, long initialSeq, long maxDelta, long lazyTickNanos,
            boolean brokenNoWait) {
        this.brokenNoWait = brokenNoWait;
        this.lazyTickNanos = lazyTickNanos;
        this.lastTickNanos = System.nanoTime() - lazyTickNanos; // the first poll may tick at once
        this.options = options;
        this.mode = mode;
        this.lazy = mode.kind() == Kind.LAZY;
        this.deferLimit = mode.kind() == Kind.DEFERRED ? mode.limit() : 1;
        this.maxDelta = maxDelta;
        this.wr = new PaddedLong(initialSeq);
        this.rd = new PaddedLong(initialSeq);
        this.tick = new PaddedLong(initialSeq);
        this.table = new SlotTable<>(Reader.class, () -> new Reader(this, !lazy));
    }

    /**
     * A domain with default options.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static Smr create(String name, Mode mode) {
        return create(GraceOptions.named(name), mode);
    }

    /**
     * A domain with the given options (name, stall threshold and handler; the callback settings do
     * not apply: SMR has no callbacks). LAZY falls back to DEFAULT, logged once, where membarrier
     * is unavailable.
     *
     * @throws NullPointerException if an argument is null
     */
    public static Smr create(GraceOptions options, Mode mode) {
        return create(options, mode, 0, 1L << MAX_DELTA_LOG2, Membarrier.isAvailable(),
                Membarrier.unavailableReason());
    }

    /**
     * Test hook: the factory with the initial sequence (to start near the wrap point), the forced
     * wait distance, and membarrier availability supplied by the caller.
     */
    static Smr create(GraceOptions options, Mode requested, long initialSeq, long maxDelta,
            boolean membarrierAvailable, String reason) {
        return create(options, requested, initialSeq, maxDelta, LAZY_TICK_NANOS, membarrierAvailable, reason);
    }

    /** Test hook: as above, with LAZY's tick length too. */
    static Smr create(GraceOptions options, Mode requested, long initialSeq, long maxDelta, long lazyTickNanos,
            boolean membarrierAvailable, String reason) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(requested, "mode");
        if (initialSeq < 0 || initialSeq > SEQ_MASK) {
            throw new IllegalArgumentException("initial sequence must be within [0, " + SEQ_MASK + "], got "
                    + initialSeq);
        }
        if (maxDelta < 2 || maxDelta > 1L << MAX_DELTA_LOG2) {
            throw new IllegalArgumentException("maxDelta must be within [2, 2^" + MAX_DELTA_LOG2 + "], got "
                    + maxDelta);
        }
        Mode mode = requested;
        if (requested.kind() == Kind.LAZY && !membarrierAvailable) {
            mode = Mode.DEFAULT;
            if (!fallbackLogged) {
                fallbackLogged = true;
                LOG.log(System.Logger.Level.INFO, "smr: membarrier unavailable (" + reason
                        + "); LAZY domains use fenced readers (DEFAULT)");
            }
        }
        return new Smr(options, mode, initialSeq, maxDelta, lazyTickNanos, false);
    }

    /**
     * Test hook for negative controls (use-after-reclaim torture): a DEFAULT domain whose polls
     * and waits never wait. Never use it for anything else.
     */
    static Smr createBrokenNoWait(GraceOptions options) {
        return new Smr(options, Mode.DEFAULT, 0, 1L << MAX_DELTA_LOG2, LAZY_TICK_NANOS, true);
    }

    /** Why LAZY would fall back to DEFAULT in this process, or null if it would not. */
    public static String lazyUnavailableReason() {
        return Membarrier.unavailableReason();
    }

    /** The active mode: the requested one, except LAZY where membarrier is unavailable (DEFAULT). */
    public Mode mode() {
        return mode;
    }

    @Override
    public String name() {
        return options.name();
    }

    /** The options: the pools' waits report stalls with them. */
    GraceOptions options() {
        return options;
    }

    /** The signed distance from {@code b} to {@code a} in sequence space: positive if a is ahead. */
    static long delta(long a, long b) {
        return ((a - b) << ThreadSlot.TAG_SHIFT) >> ThreadSlot.TAG_SHIFT;
    }

    private long wrSeq() {
        return wr.lvValue() & SEQ_MASK;
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

    // ------------------------------------------------------------------------------------------
    // Write side

    /**
     * The current write sequence (smr_current): the goal an {@code advance()} would return is
     * after it.
     */
    public long current() {
        return wrSeq();
    }

    /**
     * Returns a goal that is reached once every section that began before this call has ended
     * (smr_advance). Never blocks, except to keep a reader's sequence from being lapped: a writer
     * 2^{@value #MAX_DELTA_LOG2} sequences ahead of the oldest reader waits for it.
     *
     * @throws IllegalStateException if it would have to wait and the calling thread is inside a
     *     section of this domain (checked before anything changes)
     */
    @Override
    public long advance() {
        if (deferLimit > 1) {
            final int[] calls = deferredCalls.get();
            if (calls[0] + 1 < deferLimit) {
                calls[0]++;
                // No write: the goal is the next sequence; poll/await force it (see the overview).
                // StoreLoad: the caller's unpublish before the read of wr. Another thread may force
                // wr to this same goal, and a reader entering on it must see the unpublish; nothing
                // else orders our earlier stores before this load (jcstress SmrDeferredSharedGoalTest).
                VarHandle.fullFence();
                return (wr.lvValue() + 1) & SEQ_MASK;
            }
            final long goal = moveWriteSequence(); // may throw: then the count is left as it was
            calls[0] = 0;
            return goal;
        }
        return moveWriteSequence();
    }

    private long moveWriteSequence() {
        long next = (wr.lvValue() + 1) & SEQ_MASK;
        if (delta(next, rd.lvValue()) >= maxDelta) {
            final long target = (next - (maxDelta >>> 1)) & SEQ_MASK;
            if (inSection()) {
                // One non-blocking scan first: rd is only a cached bound, raised by scans, and may
                // be stale after advances nobody polled. If the readers are not that far behind
                // after all, there is nothing to wait for.
                if (!poll(target)) {
                    throw new IllegalStateException("smr '" + name() + "': advance() would be "
                            + delta(next, rd.lvValue()) + " sequences ahead of the oldest reader (the limit is "
                            + maxDelta + ") and would wait for it, but the calling thread is inside a section"
                            + " of this domain");
                }
            } else {
                awaitReached(target);
            }
        }
        // Volatile RMW: the caller's unpublish happens-before every read of wr that sees the goal.
        return (wr.getAndAddValue(1) + 1) & SEQ_MASK;
    }

    /**
     * Whether {@code goal} has been reached (smr_poll). Never blocks: at most one forced advance
     * (DEFERRED), one membarrier (LAZY, and only if none ran in the last
     * {@value #LAZY_TICK_NANOS} ns; otherwise an uncovered goal is reported not reached yet) and one
     * scan of the readers.
     *
     * @throws IllegalArgumentException if {@code goal} is not a sequence ({@code [0, SEQ_MASK]}) or
     *     is ahead of anything {@link #advance()} can have returned (detected up to 2^46 ahead: the
     *     comparison is wrap-safe, so a value further ahead reads as one far behind)
     */
    @Override
    public boolean poll(long goal) {
        if ((goal & ~SEQ_MASK) == 0 && delta(rd.lvValue(), goal) >= 0) {
            return true; // fast path: the cached bound says so
        }
        checkGoal(goal);
        if (lazy && !tickCoversOrDue(goal)) {
            return false; // LAZY: no membarrier covers the goal yet, and the next tick is not due
        }
        return scan(goal, false) == null;
    }

    /**
     * The pools' poll, for goals this domain's {@link #advance()} returned: as {@link #poll(long)},
     * except that a goal that reads as outside [rd, wr] counts as passed instead of throwing (it was
     * issued more than 2^46 advances ago and has passed: see "Wrap" in the overview). Without this,
     * a pending bucket left unpolled while a shared domain advanced that far would make every
     * allocation throw.
     */
    boolean pollIssued(long goal) {
        if (passedOrStale(goal)) {
            return true;
        }
        if (lazy && !tickCoversOrDue(goal)) {
            return false;
        }
        return scan(goal, false) == null;
    }

    /**
     * The pools' wait, for goals this domain's {@link #advance()} returned: as {@link #await(long)},
     * with a stale goal counted as passed (see {@link #pollIssued}).
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     */
    void awaitIssued(long goal) {
        checkNotInSection("await()");
        awaitReached(goal);
    }

    /**
     * Whether {@code goal} (a sequence that advance() returned, or one behind wr) has passed by the
     * cached bound, or is stale: reads as ahead of wr, which an issued goal can only do once wr has
     * lapped it by more than 2^46, so that rd passed it (see "Wrap" in the overview). wr is read
     * first and rd after it, with acquire: that order is what step (c) of the argument needs.
     */
    boolean passedOrStale(long goal) {
        final long w = wrSeq();
        final long r = rd.lvValue();
        return delta(r, goal) >= 0 || delta(goal, w) > (deferLimit > 1 ? 1 : 0);
    }

    /** LAZY: whether a membarrier already covers {@code goal}, or the next one may run now. */
    private boolean tickCoversOrDue(long goal) {
        return delta(tick.lvValue(), goal) >= 0 || System.nanoTime() - lastTickNanos >= lazyTickNanos;
    }

    /**
     * Waits until {@code goal} has been reached (smr_wait). Spins briefly, then parks with a
     * growing timeout; reports stalls.
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     * @throws IllegalArgumentException as {@link #poll(long)}
     */
    public void await(long goal) {
        checkGoal(goal);
        checkNotInSection("await()");
        awaitReached(goal);
    }

    /**
     * Waits until every section that began before this call has ended: {@code await(advance())}
     * (smr_synchronize).
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     */
    @Override
    public void synchronize() {
        checkNotInSection("synchronize()");
        awaitReached(advance());
    }

    private void awaitReached(long goal) {
        GraceWait wait = null;
        for (;;) {
            // Every goal waited for here was checked on entry (await), returned by advance()
            // (synchronize, awaitIssued) or computed behind wr (the forced wait): one that reads as
            // ahead of wr now was lapped during a very long wait, and has passed (see "Wrap").
            if (passedOrStale(goal)) {
                return;
            }
            Reader blocker = scan(goal, false);
            if (blocker == null) {
                return;
            }
            if (wait == null) {
                wait = new GraceWait(options);
            }
            wait.pause(blocker);
        }
    }

    private void checkGoal(long goal) {
        if (goal < 0 || goal > SEQ_MASK) {
            throw new IllegalArgumentException("smr '" + name() + "': goal " + goal + " is not a sequence; must be"
                    + " within [0, " + SEQ_MASK + "]");
        }
        long w = wrSeq();
        if (delta(goal, w) > (deferLimit > 1 ? 1 : 0)) {
            throw new IllegalArgumentException("smr '" + name() + "': goal " + goal
                    + " is ahead of the write sequence " + w + "; it is not a value advance() returned");
        }
    }

    private void checkNotInSection(String op) {
        if (inSection()) {
            throw new IllegalStateException("smr '" + name() + "': " + op
                    + " inside a read section of the same domain would wait for itself");
        }
    }

    /**
     * One poll: forces a deferred advance, orders the scan after the goal (fence or membarrier),
     * scans, raises rd. Returns null if the goal is reached, else a reader that holds it back.
     *
     * @param ignoreOwnerLiveness test hook: count slots of dead threads too (jcstress threads may
     *     end before the scan; the litmus is about the visibility of the announcement)
     */
    private Reader scan(long goal, boolean ignoreOwnerLiveness) {
        if (brokenNoWait) {
            return null; // negative-control hook: BUG on purpose
        }
        if (deferLimit > 1) {
            forceAdvance(goal);
        }
        long upper;
        if (lazy) {
            upper = tick(goal);
        } else {
            upper = wrSeq();
            VarHandle.fullFence(); // StoreLoad: everything unpublished before the goal, before the slot loads
        }
        long min = upper;
        Reader oldest = null;
        for (Reader r : table.snapshot()) {
            long s = r.scanState();
            if (ThreadSlot.depthOf(s) != 0) {
                long c = ThreadSlot.tagOf(s);
                if (delta(c, min) < 0 && (ignoreOwnerLiveness || !r.orphaned())) {
                    min = c;
                    oldest = r;
                }
            }
            if (lazy) {
                // The reader's next sections must announce a sequence that passes this goal, and
                // one within the wrap distance: see "LAZY tags" in the overview. (A dead owner's
                // slot may be refreshed too; its next owner starts from that word.)
                r.refreshNextSequence(goal, upper, maxDelta >>> 2);
            }
        }
        raise(rd, min);
        // With no reader found, rd is now at least upper, so "null" (passed) is true only if upper
        // reached the goal: every caller checked that the goal is one advance() can have returned
        // (checkGoal, passedOrStale), DEFERRED moved wr up to it above, and LAZY's tick returns a
        // sequence at or above a goal wr has reached. Except a stale goal (lapped by 2^46 advances
        // since that check: it reads as ahead of wr by more than a deferred advance can be, see
        // forceAdvance), which counts as passed.
        assert oldest != null || delta(upper, goal) >= 0 || delta(goal, upper) > (deferLimit > 1 ? 1 : 0)
                : "smr '" + name() + "': scan for goal " + goal + " above its upper bound " + upper;
        return delta(rd.lvValue(), goal) >= 0 ? null : oldest;
    }

    /** DEFERRED: moves wr up to {@code goal} if it is still behind it. */
    private void forceAdvance(long goal) {
        for (;;) {
            long raw = wr.lvValue();
            long d = delta(goal, raw & SEQ_MASK);
            // d > 1: not a goal a deferred advance() can have returned (those are at most wr + 1):
            // a stale one that slipped in after passedOrStale; never jump wr forward for it.
            if (d <= 0 || d > 1 || wr.casValue(raw, raw + d)) {
                return;
            }
        }
    }

    /**
     * LAZY: returns a sequence {@code >= goal} (if wr has reached it) that a completed membarrier
     * covers, performing one if none does yet.
     */
    private long tick(long goal) {
        long t = tick.lvValue(); // acquire: the membarrier that covered t completed before
        if (delta(t, goal) >= 0) {
            return t;
        }
        long w = wrSeq(); // everything unpublished before a goal <= w precedes this read...
        Membarrier.barrier(); // ...and so this barrier, which every running reader executes too
        lastTickNanos = System.nanoTime();
        ticks.incrementAndGet();
        raise(tick, w);
        return tick.lvValue();
    }

    /** LAZY: the membarriers performed so far; for monitoring and tests. */
    public long lazyTicks() {
        return ticks.get();
    }

    /** Raises {@code seq} to {@code value} unless it is already at or past it (sequence order). */
    private static void raise(PaddedLong seq, long value) {
        for (;;) {
            long cur = seq.lvValue();
            if (delta(value, cur) <= 0 || seq.casValue(cur, value)) {
                return;
            }
        }
    }

    /**
     * Test hook (jcstress): {@link #poll(long)} without the fast path, counting slots of dead
     * threads as running: whether the scan sees a reader that holds the goal back.
     */
    boolean pollCountingDeadReaders(long goal) {
        return scan(goal, true) == null;
    }

    /**
     * Test hook (jcstress negative control): the scan with only the poller's own fence, no
     * membarrier, counting dead threads' slots: what LAZY would do without the membarrier.
     */
    boolean scanWithoutMembarrierFindsReader() {
        VarHandle.fullFence();
        for (Reader r : table.snapshot()) {
            if (ThreadSlot.depthOf(r.scanState()) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Test hook: the cached read-sequence bound. */
    long readSequence() {
        return rd.lvValue() & SEQ_MASK;
    }

    @Override
    public String toString() {
        return "Smr[" + name() + ", " + mode + ", wr " + wrSeq() + ", rd " + readSequence() + ", "
                + participants() + " participants]";
    }

    // ------------------------------------------------------------------------------------------

    /**
     * A reader thread's participant in an SMR domain, as its exact type: what {@link #register()}
     * returns. Callers on the hottest paths can keep it as an {@code Smr.Reader} rather than a
     * {@link Participant}: a call through the exact final type needs no check of the receiver's
     * class before the inlined enter (docs/sync.md, runs M and N). Otherwise it is a
     * {@link Participant} like any other, with the same rules.
     *
     * <p>The slot: tag = the sequence its outermost enter announced, depth = nesting (see
     * ThreadSlot). One class for every mode, so that the exact type does not depend on the mode.
     * The slot's next word tells the enter which path it takes, so that one load gives it both the
     * path and, in LAZY, the whole state word to store:
     * <ul>
     *   <li>LAZY: {@code (c, depth 1)}, where c is a write sequence that a poller (or this
     *       reader's constructor) read and stored there; the enter stores it as it is, with no
     *       fence. A LAZY enter reads no domain-wide line: no load of the domain's write
     *       sequence, whose line every {@code advance()} takes away from every reader's cache.</li>
     *   <li>DEFAULT, DEFERRED, and LAZY fallen back to fenced readers: {@link #FENCED}; the enter
     *       loads the write sequence, stores the slot and fences.</li>
     * </ul>
     * The marker is set once, by the domain's mode, so the branch on it always goes the same way.
     *
     * <p>Thread safety: confined to the registering thread, like every participant.
     */
    public static final class Reader extends ReaderSlot {
        private static final boolean CHECKS = Smr.class.desiredAssertionStatus();
        /**
         * The next word of a fenced reader. OFFLINE_BIT's position: a LAZY next word is
         * {@code (c << TAG_SHIFT) | 1} and never has it.
         */
        private static final long FENCED = OFFLINE_BIT;

        private final Smr domain;
        private final PaddedLong wr;

        Reader(Smr domain, boolean fenced) {
            super(domain, "smr");
            this.domain = domain;
            this.wr = domain.wr;
            // LAZY: a volatile read of wr, then a release store. A goal that this c covers was
            // issued before the read, so what its writer unpublished before it happens-before the
            // section of whichever thread's acquire load of the word reads this value (the slot
            // may change owners; see "LAZY tags" in the overview).
            srNextWord(fenced ? FENCED : stateWord(domain.wrSeq()));
        }

        /** The state word of an outermost LAZY section that announces {@code seq}. */
        static long stateWord(long seq) {
            return (seq << TAG_SHIFT) | 1; // the shift drops the high bits; depth 1, online
        }

        /**
         * DEFAULT and DEFERRED: load wr, store the slot, full fence. LAZY: store the next word, no
         * fence; the poller's membarrier supplies it (see the overview).
         */
        @Override
        public long enterToken() {
            if (CHECKS) {
                checkOwner("enter()");
            }
            final long s = lpState();
            if (s == 0) { // outside a section and online
                final long next = laNextWord(); // acquire: see "LAZY tags" in the overview
                if (next != FENCED) {
                    soState(next); // LAZY: (c, depth 1); release: see overview
                } else {
                    soState(stateWord(wr.lvValue())); // c = wr, depth 1; release: see overview
                    VarHandle.fullFence(); // StoreLoad: the announcement before the section's loads
                }
            } else {
                enterNested(s);
            }
            return s;
        }

        /**
         * LAZY scan: if this reader's next sections would announce a sequence behind {@code goal},
         * or more than {@code staleLimit} behind {@code upper}, make them announce {@code upper}: a
         * sequence that a completed membarrier covers, which the caller read from the domain's
         * tick with acquire. A word already far enough on is not written, so that a scan costs a
         * reader's cache line nothing when the reader's sequence is recent enough.
         */
        void refreshNextSequence(long goal, long upper, long staleLimit) {
            refreshNextSequence(loNextWord(), goal, upper, staleLimit);
        }

        /**
         * As {@link #refreshNextSequence(long, long, long)} on the word {@code seen} read before. A
         * CAS from {@code seen}, not a store: pollers race, and a scan that read the word, then
         * stalled while another stored a newer sequence, must not put its older one back. Under
         * a plain store that older value would hold back goals the newer one had passed, and,
         * after a stall of 2^46 advances, would read as ahead of every goal (see "Wrap" under
         * "LAZY tags"). Every value stored is ahead of the one it replaces, so the word only moves
         * forward and a CAS cannot meet an old value again.
         */
        void refreshNextSequence(long seen, long goal, long upper, long staleLimit) {
            final long c = tagOf(seen);
            if (delta(c, goal) < 0 || delta(upper, c) > staleLimit) {
                casNextWord(seen, stateWord(upper)); // volatile, so release: see "LAZY tags" in the overview
            }
        }

        /** The whole next word, as a scan reads it; for tests. */
        long nextWord() {
            return loNextWord();
        }

        /** The sequence this reader's next outermost section would announce (LAZY); for tests. */
        long nextSequence() {
            return tagOf(loNextWord());
        }

        /** Whether this reader's enter fences (every mode but a working LAZY); for tests. */
        boolean fenced() {
            return loNextWord() == FENCED;
        }

        /*
         * Bridges for Smr's scans (the poll and the jcstress hooks): Smr is not a subclass of
         * ThreadSlot, whose accessors are protected so that no public reader type offers them
         * (see ThreadSlotState). Final class, one call each: they inline to the accessor.
         */

        /** Volatile load of the state word: the poll's scan, after its fence or membarrier. */
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
            soState(0); // not reading; a poller rescans, so no value needs to differ from the old one
        }
    }
}
