package dev.mpsafe.pserialize;

import dev.mpsafe.internal.GraceWait;
import dev.mpsafe.internal.Membarrier;
import dev.mpsafe.internal.ReaderSlot;
import dev.mpsafe.internal.SlotTable;
import dev.mpsafe.internal.ThreadSlot;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Section;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Passive serialization (NetBSD {@code pserialize(9)}): readers mark a section with
 * {@link #readEnter()}/{@link #readExit()} at almost no cost, and a writer's {@link #perform()}
 * returns only after every section that began before it has ended. Synchronous only: it has no
 * callbacks and no cookies, so it implements neither {@link dev.mpsafe.sync.Deferring} nor
 * {@link dev.mpsafe.sync.Polling}.
 *
 * <h2>Read-side modes</h2>
 * <ul>
 *   <li>{@link Mode#FENCED}: a reader's enter is a store to its own slot and a full fence. Portable.</li>
 *   <li>{@link Mode#ASYMMETRIC}: a reader's enter is only the store; {@code perform} first calls
 *       Linux {@code membarrier(2)} (private expedited), which makes every running thread of the
 *       process execute the fence the readers skipped. This is NetBSD's cross-call broadcast on the
 *       JVM. Linux on x86-64 and aarch64 only.</li>
 * </ul>
 * {@link #create(String)} picks ASYMMETRIC where membarrier works and FENCED elsewhere;
 * {@link #create(GraceOptions, Mode)} asks for one. A request for ASYMMETRIC where membarrier is
 * missing or refused falls back to FENCED and logs why, once per process, naming the domain that
 * met it first. {@link #mode()} tells
 * which mode is active.
 *
 * <h2>Writers</h2>
 * As in NetBSD, writers are meant to be serialized by the caller's lock already. Concurrent
 * {@code perform} calls are nevertheless safe: they are serialized by an internal lock, so each one
 * waits for its own grace period in turn.
 *
 * <p>Thread safety: safe for any number of readers and writers.
 *
 * <p>Memory consistency effects: see {@link GraceDomain}.
 */
public final class Pserialize implements GraceDomain {

    /*
     * Implementation overview.
     *
     * Source: NetBSD sys/kern/subr_pserialize.c waits for every CPU to pass a context switch, using a
     * cross-call broadcast; readers only raise the IPL. A JVM thread can be preempted anywhere, so a
     * reader must announce itself, and the writer must see the announcement.
     *
     * Each reader thread owns a padded slot whose state word holds a tag and the nesting depth
     * (ThreadSlot's layout); outside a section the word is 0. An outermost enter loads its word
     * (0: outermost and online), loads the slot's next word (ThreadSlot.nextWord, next to the word:
     * the next tag with depth 1, and in FENCED domains a flag that asks for the fence; see Reader)
     * and stores it without the flag; nested enters and exits change only the depth; the
     * outermost exit stores 0. A reader touches no line but its own. perform(), one at a time
     * (performLock):
     *   1. orders its earlier stores (the unpublish) before the scan below:
     *      FENCED: VarHandle.fullFence(); ASYMMETRIC: membarrier();
     *   2. reads every slot's state; for each with depth > 0 and tag t, makes sure at once that the
     *      slot's next tag differs from t (stores t + 1 if it equals t);
     *   3. for each such slot, waits until the tag has changed or the depth is 0 (the section that
     *      was running has ended), or until the owner thread is dead.
     *
     * The tag is only for progress, never for safety: the writer stops waiting only when the word
     * differs from what the scan saw, in tag or in depth 0, and either needs the scanned section's
     * outermost exit. Waiting longer is always safe. Without tags, a reader that loops sections
     * back to back would look the same in every section, and the writer would have to catch the
     * word at 0 between two of them. With them, the reader's next section announces t + 1 once it
     * sees the writer's store, so the wait ends. The store and the reader's load of the next tag
     * are opaque: what matters is that the store is seen eventually and that the JIT reloads the
     * tag at every enter; no other access is ordered by them. Before the store reaches the reader,
     * its next sections may still announce t and keep the writer waiting, never the reverse; so may
     * a section entered between the writer's load of the word and its store of the next tag (one
     * extra section at most), and the first section of a recycled slot's new owner.
     * Only perform stores next tags (under performLock; one domain per slot), so no update is lost.
     *
     * The constant stores (0 at the outermost exit, the next tag at the enter) keep a reader's
     * stores independent of its own earlier stores: a reader that loops sections carries no
     * load-add-store chain through its word from one section to the next. The previous design
     * (enter stored the word plus one, a per-slot sequence) did. The token exit
     * (Participant.exit(long)) also needs the outermost token to be the constant 0.
     *
     * Ordering, FENCED (store-buffering litmus; jcstress PserializeFencedStoreLoadTest):
     *   reader: release store slot=(tag, depth 1); fullFence; load pointer
     *   writer: release store pointer; fullFence; load slot
     * With both fences, at least one side sees the other's store: either the writer sees the reader
     * inside (and waits), or the reader sees the new pointer (and did not need waiting for).
     *
     * Ordering, ASYMMETRIC (jcstress PserializeAsymmetricStoreLoadTest): the reader's fence is gone.
     * membarrier(PRIVATE_EXPEDITED) returns only after every thread of this process that was running
     * has executed a full barrier (an IPI to its CPU), and a thread that was not running passes one
     * when it is scheduled. So for a reader thread R, either R's "store slot; load pointer" pair
     * executed entirely before R's barrier (then the store is globally visible before membarrier
     * returns and step 2 sees it), or R's load executed after its barrier (then it is ordered after
     * the writer's pointer store, which preceded the membarrier call, and sees the new pointer).
     * This argument is about the hardware; it also needs the JIT to keep R's store before R's load in
     * the compiled code. The JMM does not promise that for a release store followed by an acquire
     * load. HotSpot's C2 emits opaque (and stronger) VarHandle accesses with compiler memory barriers
     * (MemBarCPUOrder) around them, which forbid moving the load above the store; C1 and the
     * interpreter do not reorder memory accesses. That is an implementation property of HotSpot, not
     * a guarantee of the specification, which is why FENCED remains the portable mode and the
     * jcstress test runs the litmus (with -XX:+StressGCM/LCM etc. in its default configurations).
     *
     * The outermost exit is a release store of 0, so every read in the section happens-before
     * a writer's acquire load that sees the exit. The writer may instead see a later value: an
     * offline or online, the next section's enter or a nested level of it. Every
     * store the owner makes to its word is a release store (ReaderSlot), so seeing any of them also
     * orders the previous section's reads before the writer's reclaim. With an opaque store there
     * this would rest on the hardware (on ARM a store to the same word after a store-release stays
     * after it), not on the JMM. It costs nothing on x86 (a plain mov either way) and an stlr
     * instead of an str on ARM. jcstress GraceNextSectionReleaseTest.
     *
     * Progress: readers are wait-free. perform blocks until readers leave; it parks after a short
     * spin, and reports stalls (GraceWait).
     */

    /** How readers announce themselves. */
    public enum Mode {
        /** Store plus full fence per enter; works everywhere. */
        FENCED,
        /** Store only per enter; the writer calls {@code membarrier(2)}. Linux x86-64/aarch64. */
        ASYMMETRIC
    }

    private static final System.Logger LOG = System.getLogger("dev.mpsafe.pserialize");
    /** Whether a real fallback (membarrier missing in this process) has been logged. */
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();
    /**
     * The same for the test hook, which pretends membarrier is missing: kept apart so that a test
     * calling it first cannot suppress the real message.
     */
    private static final AtomicBoolean PRETENDED_FALLBACK_LOGGED = new AtomicBoolean();

    private final GraceOptions options;
    private final Mode mode;
    private final boolean asymmetric;
    private final SlotTable<Reader> table;
    private final ReentrantLock performLock = new ReentrantLock();
    /** The slot states perform reads in its scan; guarded by {@link #performLock}. */
    private long[] seenBuffer = new long[0];

    private Pserialize(GraceOptions options, Mode mode) {
        this.options = options;
        this.mode = mode;
        this.asymmetric = mode == Mode.ASYMMETRIC;
        this.table = new SlotTable<>(Reader.class, () -> new Reader(this));
    }

    /** A domain with default options, in the best mode this process supports. */
    public static Pserialize create(String name) {
        GraceOptions options = GraceOptions.named(name);
        return create(options, Membarrier.isAvailable() ? Mode.ASYMMETRIC : Mode.FENCED);
    }

    /**
     * A domain in the requested mode; ASYMMETRIC falls back to FENCED (logged once) where
     * membarrier is unavailable.
     *
     * @throws NullPointerException if an argument is null
     */
    public static Pserialize create(GraceOptions options, Mode requested) {
        return create(options, requested, Membarrier.isAvailable(), Membarrier.unavailableReason(), FALLBACK_LOGGED,
                Pserialize::logFallback);
    }

    /** Test hook: the factory with membarrier availability supplied by the caller. */
    static Pserialize create(GraceOptions options, Mode requested, boolean membarrierAvailable, String reason) {
        return create(options, requested, membarrierAvailable, reason, PRETENDED_FALLBACK_LOGGED,
                Pserialize::logFallback);
    }

    private static void logFallback(String message) {
        LOG.log(System.Logger.Level.INFO, message);
    }

    /**
     * The factory; a fallback is reported to {@code log} once per {@code logged} flag (test hook:
     * the tests pass their own flag and sink).
     */
    static Pserialize create(GraceOptions options, Mode requested, boolean membarrierAvailable, String reason,
            AtomicBoolean logged, java.util.function.Consumer<String> log) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(requested, "requested mode");
        Mode mode = requested;
        if (requested == Mode.ASYMMETRIC && !membarrierAvailable) {
            mode = Mode.FENCED;
            // compareAndSet: of two creates racing here, exactly one logs (a volatile check then
            // set let both through). Named after the domain that met it first; later ones fall
            // back silently.
            if (logged.compareAndSet(false, true)) {
                log.accept("pserialize '" + options.name() + "': membarrier unavailable ("
                        + reason + "); readers use the FENCED mode (logged once per process: later domains"
                        + " that ask for ASYMMETRIC fall back the same way)");
            }
        }
        return new Pserialize(options, mode);
    }

    /** Whether the ASYMMETRIC mode can be used in this process, and if not, why. */
    public static String asymmetricUnavailableReason() {
        return Membarrier.unavailableReason();
    }

    /** The active read-side mode. */
    public Mode mode() {
        return mode;
    }

    @Override
    public String name() {
        return options.name();
    }

    // ------------------------------------------------------------------------------------------
    // Read side

    /** Enters a section with the calling thread's participant (pserialize_read_enter). */
    public void readEnter() {
        table.current().enter();
    }

    /**
     * Leaves the calling thread's current section (pserialize_read_exit).
     *
     * @throws IllegalStateException if the thread is not inside a section of this domain
     */
    public void readExit() {
        Reader r = table.currentIfRegistered();
        if (r == null) {
            throw new IllegalStateException("pserialize '" + name() + "': readExit() without readEnter()");
        }
        r.exit();
    }

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
     * Returns after every section that began before the call has ended (pserialize_perform). Not
     * interruptible: keeps the caller's interrupt status (see {@link GraceDomain#synchronize()}).
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     */
    public void perform() {
        if (inSection()) {
            throw new IllegalStateException("pserialize '" + name()
                    + "': perform()/synchronize() inside a read section would wait for itself");
        }
        performLock.lock();
        try {
            if (asymmetric) {
                Membarrier.barrier(); // orders our unpublish before the scan; fences every reader
            } else {
                VarHandle.fullFence(); // StoreLoad: our unpublish before the slot loads below
            }
            Reader[] readers = table.snapshot();
            long[] seen = seenBuffer;
            if (seen.length < readers.length) {
                // Grows with the table and is kept: perform allocates nothing once it has seen
                // the domain's largest table (a scan of 10,000 slots would otherwise allocate 80 KB).
                seen = seenBuffer = new long[readers.length];
            }
            for (int i = 0; i < readers.length; i++) {
                long s = seen[i] = readers[i].scanState();
                if (ThreadSlot.depthOf(s) != 0) {
                    // At once, not before the wait: a section entered after this load and before
                    // the store can still carry the old tag, so keep that window short.
                    readers[i].changeNextTag(ThreadSlot.tagOf(s)); // so that its next section looks new
                }
            }
            GraceWait wait = null;
            for (int i = 0; i < readers.length; i++) {
                if (ThreadSlot.depthOf(seen[i]) == 0) {
                    continue; // outside a section at the scan: nothing to wait for
                }
                Reader r = readers[i];
                while (sameSection(seen[i], r.waitState()) && !r.orphaned()) {
                    if (wait == null) {
                        wait = new GraceWait(options);
                    }
                    wait.pause(r);
                }
                if (wait != null) {
                    wait.progressed(); // the next reader's wait starts with a short spin again
                }
            }
        } finally {
            performLock.unlock();
        }
    }

    /** Whether {@code now} is still the section that {@code seen} (inside one) belonged to. */
    private static boolean sameSection(long seen, long now) {
        return ThreadSlot.tagOf(now) == ThreadSlot.tagOf(seen) && ThreadSlot.depthOf(now) != 0;
    }

    /**
     * Test hook (jcstress): perform's first step (fence or membarrier) and scan, without waiting.
     * Returns whether a section that perform would wait for is running.
     */
    boolean scanFindsReaderInside() {
        if (asymmetric) {
            Membarrier.barrier();
        } else {
            VarHandle.fullFence();
        }
        return anyReaderInside();
    }

    /** Test hook (jcstress negative control): the scan with only the writer's own fence. */
    boolean scanWithoutMembarrierFindsReaderInside() {
        VarHandle.fullFence();
        return anyReaderInside();
    }

    /**
     * Whether any slot's announcement is visible. Deliberately ignores whether the owner is alive:
     * the litmus is about the visibility of the announcement; jcstress worker threads may end
     * before the writer's scan, and a dead reader is rightly not waited for by perform().
     */
    private boolean anyReaderInside() {
        for (Reader r : table.snapshot()) {
            if (ThreadSlot.depthOf(r.scanState()) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Same as {@link #perform()}. */
    @Override
    public void synchronize() {
        perform();
    }

    @Override
    public String toString() {
        return "Pserialize[" + name() + ", " + mode + ", " + participants() + " participants]";
    }

    // ------------------------------------------------------------------------------------------

    /**
     * A reader thread's participant in a pserialize domain, as its exact type: what
     * {@link #register()} returns. Callers on the hottest paths can keep it as a
     * {@code Pserialize.Reader} rather than a {@link Participant}: a call through the exact final
     * type needs no check of the receiver's class before the inlined enter (see docs/sync.md,
     * runs I and J). Otherwise it is a {@link Participant} like any other, with the same rules.
     *
     * <p>Thread safety: confined to the registering thread, like every participant.
     */
    public static final class Reader extends ReaderSlot {
        /*
         * The slot: tag = the next word's tag its outermost enter loaded, depth = nesting (see
         * ThreadSlot). The slot's next word (ThreadSlot.nextWord) holds the whole state word of the
         * next outermost section, (tag, depth 1), plus FENCE in FENCED domains. So one load gives
         * the enter both the tag and the mode, and the enter tests no type and loads no other
         * field. FENCE is OFFLINE_BIT's position, masked off before the store: a state word never
         * carries it from here.
         */
        private static final boolean CHECKS = Pserialize.class.desiredAssertionStatus();
        private static final long FENCE = OFFLINE_BIT;

        private final Pserialize domain;
        private final long fence;

        Reader(Pserialize domain) {
            super(domain, "pserialize");
            this.domain = domain;
            this.fence = domain.asymmetric ? 0 : FENCE;
            soNextWord(1 | fence); // tag 0, depth 1
        }

        @Override
        public long enterToken() {
            if (CHECKS) {
                checkOwner("enter()");
            }
            final long s = lpState();
            if (s == 0) { // outside a section and online
                final long next = loNextWord(); // (tag, depth 1) [+ FENCE]; opaque: see overview
                soState(next & ~FENCE); // release: see overview
                if ((next & FENCE) != 0) {
                    VarHandle.fullFence(); // FENCED: StoreLoad, the announcement before the section's loads
                }
            } else {
                enterNested(s);
            }
            return s;
        }

        /** perform()'s step 2, for a section tagged {@code seen} that it will wait for. */
        void changeNextTag(long seen) {
            if (tagOf(loNextWord()) == seen) {
                soNextWord(((seen + 1) << TAG_SHIFT) | 1 | fence); // the shift drops what overflows 47 bits
            }
        }

        /*
         * Bridges for Pserialize's scans (perform and the jcstress hooks): Pserialize is not a subclass of
         * ThreadSlot, whose accessors are protected so that no public reader type offers them
         * (see ThreadSlotState). Final class, one call each: they inline to the accessor.
         */

        /** Volatile load of the state word: perform()'s scan, after its fence or membarrier. */
        long scanState() {
            return lvState();
        }

        /** Acquire load of the state word: perform()'s re-read while it waits for this section. */
        long waitState() {
            return laState();
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
            // Depth 0 and online. A writer still waiting on what the previous owner left (it may
            // have died inside a section) stops when it reads this 0, or else after the new
            // owner's first section (it changed the next tag before it waited). The next word,
            // and its FENCE, stays.
            soState(0);
        }
    }
}
