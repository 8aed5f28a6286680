package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.internal.ThreadSlot;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.locks.StampedLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Question: what does one read section cost a reader, around one read of a shared field, with 1
 * and with 2 reader threads and no writer?
 *
 * <p>One operation is: open a section (or take the peer's read-side protection), read the shared
 * volatile field {@code shared}, close it, return what was read (so the read cannot be dropped).
 * The figure is the average time per operation, in ns. Nothing ever writes, so no variant ever
 * retries or waits: this is the uncontended read-side floor, the cost every packet or lookup pays.
 *
 * <p>The variants are benchmark methods, not an {@code impl} parameter, so that no dispatch sits
 * between the harness and sub-nanosecond bodies; every method is a peer of every other. Each runs
 * at two thread counts through the two concrete subclasses: {@code ReadSideCost.OneThread.X}
 * ({@code @Threads(1)}) and {@code ReadSideCost.TwoThreads.X} ({@code @Threads(2)}, both threads
 * running the same method on the same shared objects). Do not pass {@code -t}: it would override
 * both to the same count.
 *
 * <table>
 *   <caption>Variants</caption>
 *   <tr><th>method</th><th>what it does</th><th>it is the peer that shows</th></tr>
 *   <tr><td>{@code empty}</td><td>returns a plain field</td><td>the harness itself</td></tr>
 *   <tr><td>{@code volatileRead}</td><td>the volatile read alone</td><td>the read with no protection</td></tr>
 *   <tr><td>{@code bareUnfenced}</td><td>opaque store to a thread-owned padded slot, read,
 *       release store</td><td>the floor of any asymmetric (membarrier) scheme</td></tr>
 *   <tr><td>{@code bareTagged}</td><td>the ASYMMETRIC pserialize token section written inline:
 *       nesting test, next-tag load, release store, read, release store of the token</td><td>the
 *       floor of a nestable, tagged fence-free section, without the {@code Participant} call</td></tr>
 *   <tr><td>{@code bareFenced}</td><td>the same with {@code VarHandle.fullFence()} after the
 *       store</td><td>the floor of any fenced scheme</td></tr>
 *   <tr><td>{@code stampedOptimistic}</td><td>{@code StampedLock} tryOptimisticRead, read,
 *       validate</td><td>the JDK's cheapest reader (but a reader must retry when a writer
 *       intervened, and what it read before validating may be inconsistent)</td></tr>
 *   <tr><td>{@code rwlock}</td><td>{@code ReentrantReadWriteLock} read lock, read, unlock</td>
 *       <td>the lock the schemes replace</td></tr>
 *   <tr><td>{@code refcount}</td><td>{@code AtomicInteger} increment, read, decrement</td>
 *       <td>reference counting</td></tr>
 *   <tr><td>{@code pserializeFenced}, {@code pserializeAsymmetric}, {@code epoch}</td>
 *       <td>{@code p.enter(); try { read } finally { p.exit(); }} with the thread's
 *       {@link Participant} kept in thread state</td><td>ours, hot-path form</td></tr>
 *   <tr><td>{@code smrDefault}, {@code smrLazy}, {@code smrDeferred}</td><td>the same on SMR
 *       domains (DEFERRED limit {@value SyncBench#SMR_DEFERRED_LIMIT}; its readers are DEFAULT's:
 *       the mode changes only the write side)</td><td>ours: FreeBSD smr(9)'s three modes</td></tr>
 *   <tr><td>{@code pserializeFencedToken}, {@code pserializeAsymmetricToken}, {@code epochToken},
 *       {@code smrDefaultToken}, {@code smrLazyToken}</td><td>{@code long t = p.enterToken(); try {
 *       read } finally { p.exit(t); }}</td><td>ours, token form: what the exit's load costs</td></tr>
 *   <tr><td>{@code pserializeAsymmetricExact}, {@code smrLazyExact}</td><td>the token form on a
 *       participant kept as {@code Pserialize.Reader} or {@code Smr.Reader}, the exact final
 *       types</td><td>ours: what the {@code Participant} call site's type check costs</td></tr>
 *   <tr><td>{@code floorThroughReference}</td><td>through a reference kept like
 *       {@code asymmetricExact}, to the benchmark's own {@link ThreadSlot} (a reader's layout and
 *       accessors): store the slot's next word, read, store 0. No nesting test and no mode flag,
 *       so it is not a correct section (a nested use would end the outer one)</td><td>what any
 *       section that announces itself with two stores through a reader reference costs: the
 *       floor under {@code pserializeAsymmetricExact}</td></tr>
 *   <tr><td>{@code pserializeImplicit}, {@code epochImplicit}</td><td>{@code try (Section s =
 *       domain.enter()) { read }} on the ASYMMETRIC pserialize domain and on the epoch domain</td>
 *       <td>the thread-local lookup's cost: compare with {@code pserializeAsymmetric} and
 *       {@code epoch}</td></tr>
 * </table>
 *
 * <p>The pserialize ASYMMETRIC and SMR LAZY domains fall back to fenced readers where
 * {@code membarrier(2)} is unavailable; the trial setup then prints a NOTE, and such a run's
 * {@code pserializeAsymmetric}, {@code pserializeImplicit} and {@code smrLazy} rows are not the
 * membarrier figures.
 *
 * <p>Run (44 benchmarks: both thread counts, every variant; about 7 minutes on 2 cores):
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.sync\.ReadSideCost\..*' \
 *       -Djmh.args="-f 1 -wi 3 -w 1s -i 5 -r 1s"
 * </pre>
 * One thread count only: {@code -Djmh.filter='dev\.mpsafe\.sync\.ReadSideCost\.OneThread\..*'}.
 * On a 2-core machine the 2-thread rows use both cores: run on an idle machine, and compare rows
 * of the same run only.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public abstract class ReadSideCost {

    /** Every variant at one reader thread. */
    @Threads(1)
    public static class OneThread extends ReadSideCost {
    }

    /** Every variant at two reader threads, sharing the same objects. */
    @Threads(2)
    public static class TwoThreads extends ReadSideCost {
    }

    /** The objects every benchmark thread shares: the field they read and each variant's guard. */
    @State(Scope.Benchmark)
    public static class Shared {
        /** The shared field every variant reads; never written after construction. */
        volatile int shared = 42;
        /** The same value in a plain field, for the harness baseline. */
        int plain = 42;

        final StampedLock stamped = new StampedLock();
        final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
        /** Shared by the reader threads, as a reference count in the protected object would be. */
        final AtomicInteger refs = new AtomicInteger();

        Pserialize fenced;
        Pserialize asymmetric;
        Epoch epoch;
        Smr smrDefault;
        Smr smrLazy;
        Smr smrDeferred;

        @Setup(Level.Trial)
        public void createDomains() {
            fenced = Pserialize.create(GraceOptions.named("read-fenced"), Pserialize.Mode.FENCED);
            asymmetric = Pserialize.create(GraceOptions.named("read-asymmetric"), Pserialize.Mode.ASYMMETRIC);
            epoch = Epoch.create(GraceOptions.named("read-epoch"));
            smrDefault = (Smr) SyncBench.domain("smrDefault", "read-smr-default");
            smrLazy = (Smr) SyncBench.domain("smrLazy", "read-smr-lazy");
            smrDeferred = (Smr) SyncBench.domain("smrDeferred", "read-smr-deferred");
            if (asymmetric.mode() != Pserialize.Mode.ASYMMETRIC) {
                System.out.println("NOTE: pserialize ASYMMETRIC unavailable ("
                        + Pserialize.asymmetricUnavailableReason() + "): the pserializeAsymmetric and "
                        + "pserializeImplicit rows measure FENCED readers");
            }
        }

        @TearDown(Level.Trial)
        public void closeDomains() {
            epoch.close();
        }
    }

    /**
     * A benchmark thread's participants, registered by that thread (JMH runs a thread-scoped
     * state's fixtures on its own thread), its own padded slot for the bare variants, and the slot
     * {@code floorThroughReference} reaches through a reference.
     */
    @State(Scope.Thread)
    public static class Reader extends ReaderSlot {
        @SuppressWarnings("unused")
        long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;

        Participant fenced;
        Participant asymmetric;
        /** The same participant as {@code asymmetric}, kept as pserialize's exact reader type. */
        Pserialize.Reader asymmetricExact;
        Participant epoch;
        Participant smrDefault;
        Participant smrLazy;
        /** The same participant as {@code smrLazy}, kept as SMR's exact reader type. */
        Smr.Reader smrLazyExact;
        Participant smrDeferred;
        /** floorThroughReference's slot, kept as {@code asymmetricExact} is: a field of a final type. */
        FloorSlot floor;

        @Setup(Level.Trial)
        public void register(Shared b) {
            fenced = b.fenced.register();
            asymmetricExact = b.asymmetric.register();
            asymmetric = asymmetricExact;
            epoch = b.epoch.register();
            smrDefault = b.smrDefault.register();
            smrLazyExact = b.smrLazy.register();
            smrLazy = smrLazyExact;
            smrDeferred = b.smrDeferred.register();
            floor = new FloorSlot(); // by this thread, as register() allocates a new reader
        }

        @TearDown(Level.Trial)
        public void release() {
            fenced.release();
            asymmetric.release();
            epoch.release();
            smrDefault.release();
            smrLazy.release();
            smrDeferred.release();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Baselines

    @Benchmark
    public int empty(Shared s) {
        return s.plain;
    }

    @Benchmark
    public int volatileRead(Shared s) {
        return s.shared;
    }

    @Benchmark
    public int bareUnfenced(Shared s, Reader r) {
        final long state = r.lpState();
        r.soOpaqueState(state + 1); // odd: inside, as a pserialize reader announces itself
        int v = s.shared;
        r.soState(state + 2); // release: the read before the exit
        return v;
    }

    /**
     * An ASYMMETRIC pserialize token section written inline on the benchmark's own slot: the
     * nesting test, the load of a next tag (shifted into place here; the library's reader now
     * loads the composed word and masks a mode flag instead, the same count of instructions), the
     * two release stores. No interface call, so the
     * difference to {@code pserializeAsymmetricToken} is the {@code Participant} call site's type
     * check, and the difference to {@code bareUnfenced} is what nesting and the tag cost.
     */
    @Benchmark
    public int bareTagged(Shared s, Reader r) {
        final long t = r.lpState();
        if (t != 0) {
            throw new IllegalStateException("nested: never here");
        }
        r.soState((r.loNextTag() << 17) | 1);
        int v = s.shared;
        r.soState(t);
        return v;
    }

    @Benchmark
    public int bareFenced(Shared s, Reader r) {
        final long state = r.lpState();
        r.soOpaqueState(state + 1);
        VarHandle.fullFence(); // StoreLoad: the announcement before the read, as fenced readers do
        int v = s.shared;
        r.soState(state + 2);
        return v;
    }

    // ------------------------------------------------------------------------------------------
    // JDK peers

    @Benchmark
    public int stampedOptimistic(Shared s) {
        final StampedLock stamped = s.stamped;
        long stamp = stamped.tryOptimisticRead();
        int v = s.shared;
        if (!stamped.validate(stamp)) {
            // Never taken here (no writer); kept so that the code is the real idiom.
            stamp = stamped.readLock();
            try {
                v = s.shared;
            } finally {
                stamped.unlockRead(stamp);
            }
        }
        return v;
    }

    @Benchmark
    public int rwlock(Shared s) {
        final ReentrantReadWriteLock.ReadLock lock = s.rwlock.readLock();
        lock.lock();
        try {
            return s.shared;
        } finally {
            lock.unlock();
        }
    }

    @Benchmark
    public int refcount(Shared s) {
        final AtomicInteger refs = s.refs;
        refs.incrementAndGet();
        int v = s.shared;
        refs.decrementAndGet();
        return v;
    }

    // ------------------------------------------------------------------------------------------
    // Ours: the hot-path form, a participant kept by the thread

    @Benchmark
    public int pserializeFenced(Shared s, Reader r) {
        final Participant p = r.fenced;
        p.enter();
        try {
            return s.shared;
        } finally {
            p.exit();
        }
    }

    @Benchmark
    public int pserializeAsymmetric(Shared s, Reader r) {
        final Participant p = r.asymmetric;
        p.enter();
        try {
            return s.shared;
        } finally {
            p.exit();
        }
    }

    @Benchmark
    public int epoch(Shared s, Reader r) {
        final Participant p = r.epoch;
        p.enter();
        try {
            return s.shared;
        } finally {
            p.exit();
        }
    }

    @Benchmark
    public int smrDefault(Shared s, Reader r) {
        final Participant p = r.smrDefault;
        p.enter();
        try {
            return s.shared;
        } finally {
            p.exit();
        }
    }

    @Benchmark
    public int smrLazy(Shared s, Reader r) {
        final Participant p = r.smrLazy;
        p.enter();
        try {
            return s.shared;
        } finally {
            p.exit();
        }
    }

    @Benchmark
    public int smrDeferred(Shared s, Reader r) {
        final Participant p = r.smrDeferred;
        p.enter();
        try {
            return s.shared;
        } finally {
            p.exit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Ours: the token form, the hottest-path pair (exit stores the token and loads nothing)

    @Benchmark
    public int pserializeFencedToken(Shared s, Reader r) {
        final Participant p = r.fenced;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    @Benchmark
    public int pserializeAsymmetricToken(Shared s, Reader r) {
        final Participant p = r.asymmetric;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    @Benchmark
    public int epochToken(Shared s, Reader r) {
        final Participant p = r.epoch;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    @Benchmark
    public int smrDefaultToken(Shared s, Reader r) {
        final Participant p = r.smrDefault;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    @Benchmark
    public int smrLazyToken(Shared s, Reader r) {
        final Participant p = r.smrLazy;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    /** The token form through pserialize's exact reader type: no receiver class check. */
    @Benchmark
    public int pserializeAsymmetricExact(Shared s, Reader r) {
        final Pserialize.Reader p = r.asymmetricExact;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    /** The token form through SMR's exact reader type, on the LAZY domain. */
    @Benchmark
    public int smrLazyExact(Shared s, Reader r) {
        final Smr.Reader p = r.smrLazyExact;
        final long t = p.enterToken();
        try {
            return s.shared;
        } finally {
            p.exit(t);
        }
    }

    /**
     * Not a section (see the table above): the two stores alone, through a reference loaded as
     * the exact-type row loads its participant, to a slot laid out as that participant's. Measures
     * how much of that row is the stores rather than the nesting test or the mode flag.
     */
    @Benchmark
    public int floorThroughReference(Shared s, Reader r) {
        final FloorSlot f = r.floor;
        f.announce();
        try {
            return s.shared;
        } finally {
            f.clear();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Ours: the convenient form, a thread-local lookup per section

    @Benchmark
    public int pserializeImplicit(Shared s) {
        try (Section section = s.asymmetric.enter()) {
            return s.shared;
        }
    }

    @Benchmark
    public int epochImplicit(Shared s) {
        try (Section section = s.epoch.enter()) {
            return s.shared;
        }
    }

    // ------------------------------------------------------------------------------------------

    /**
     * floorThroughReference's slot: the library's {@link ThreadSlot}, so the padding, the offsets
     * of the state and next words and the accessors are a reader's, but the benchmark's own, as a
     * library reader's slot accessors are not public. Its next word holds what an ASYMMETRIC
     * reader's holds until a writer changes it (none runs here): tag 0, depth 1, no fence flag.
     * Final, like {@code Pserialize.Reader}, so a call through it checks no receiver class.
     */
    static final class FloorSlot extends ThreadSlot {
        FloorSlot() {
            soNextWord(1);
        }

        /** The announcement: the next word's load, its release store into the state word. */
        void announce() {
            soState(loNextWord());
        }

        /** The exit: the release store of 0. */
        void clear() {
            soState(0L);
        }

        @Override
        protected void resetForNewOwner() {
            // Never in a SlotTable: no owner ever changes.
        }
    }

    /** Padding before the bare variants' slot word, so that it shares no cache line. */
    @SuppressWarnings("unused")
    abstract static class ReaderSlotPad {
        long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
    }

    /** The bare variants' slot word: a thread-owned counter, odd while "inside". */
    abstract static class ReaderSlot extends ReaderSlotPad {
        private static final VarHandle STATE;
        private static final VarHandle NEXT_TAG;

        @SuppressWarnings("unused") // accessed through STATE
        private long state;
        @SuppressWarnings("unused") // accessed through NEXT_TAG; never changed here (no writer)
        private long nextTag;

        /** Plain load: only the owner thread reads it here. */
        final long lpState() {
            return (long) STATE.get(this);
        }

        /**
         * Opaque store: the bare rows' announcement (the library's readers announce with a release
         * store; both are a plain {@code mov} on x86, docs/sync.md).
         */
        final void soOpaqueState(long v) {
            STATE.setOpaque(this, v);
        }

        /** Release store: the exit, as {@code ThreadSlot.soState}. */
        final void soState(long v) {
            STATE.setRelease(this, v);
        }

        /** Opaque load of the next tag (the library's next word holds the whole state word; see bareTagged). */
        final long loNextTag() {
            return (long) NEXT_TAG.getOpaque(this);
        }

        // VarHandle mechanics
        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(ReaderSlot.class, "state", long.class);
                NEXT_TAG = MethodHandles.lookup().findVarHandle(ReaderSlot.class, "nextTag", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }
}
