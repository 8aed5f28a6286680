package dev.mpsafe.smr;

import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A pool of reusable objects that readers reach through an {@link Smr} domain, like a FreeBSD UMA
 * zone created with {@code UMA_ZONE_SMR}: an object freed while readers may still hold it is
 * reused only after a grace period, found out by polling a cookie, never by waiting.
 *
 * <pre>{@code
 * SmrPool<Route> routes = SmrPool.create(smr, Route::new);
 * Route r = routes.allocate();          // a recycled Route whose grace period has passed, or a new one
 * r.init(...); table.store(r);          // publish
 * Route old = table.exchange(next);     // unpublish...
 * routes.free(old);                     // ...then free: reused after every section that could see it ended
 * }</pre>
 *
 * <h2>How it works</h2>
 * Each thread has a cache of two buckets of {@link Builder#bucketSize} items. {@link #free} puts the
 * object into the thread's free bucket; a full free bucket is tagged with {@link Smr#advance()}'s
 * goal. A thread that also allocates keeps it for its own next refill (and hands the one it kept
 * before, if still there, to the pool's depot); a thread that only frees queues it in the depot.
 * {@link #allocate()} takes from the thread's alloc bucket; an empty one is replaced by the
 * thread's kept bucket once {@link Smr#poll(long)} says its goal passed (no lock), or else, under
 * the depot's lock, by a depot bucket whose goal passed. With nothing safe to reuse, it calls the
 * factory. A bucket's worth of frees costs one {@code advance()}, a bucket's worth of allocations
 * at most one {@code poll()}; a thread whose allocations and frees balance never takes the
 * depot's lock.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li>Never hands out an object that a section of the domain may still see: the bucket's goal
 *       was taken after the object was freed, so after it was unpublished.</li>
 *   <li>Bounded: at most {@link Builder#maxIdle} freed objects wait in the depot; a full bucket that
 *       would exceed it, or cached objects a {@link #flush()} would push past it, are dropped to the
 *       garbage collector (safe without a grace period: the GC keeps an object alive while a reader
 *       holds it) and counted. Each thread's cache holds at
 *       most {@code 3 * bucketSize} more (its two buckets and the one it kept). Allocation does not wait (see {@link #allocate()}).</li>
 *   <li>No objects are lost with a thread: a dead thread's cache, with its objects, is inherited
 *       by the next thread that registers with the pool; and when the depot has nothing safe for
 *       an allocation, a thread looks for caches of dead threads and moves their objects into the
 *       depot, with the buckets live threads kept for themselves (once per
 *       {@code max(16, bucketSize)} such misses of the thread, since it scans every thread's
 *       cache). {@link #flush()} hands the calling thread's cached objects to the
 *       depot at once.</li>
 *   <li>{@link Builder#onReclaim} runs on each object when its grace period has passed, before it
 *       is handed out again: the place to poison it in tests, or to clear it. If it throws, the
 *       exception reaches the {@code allocate()} that ran it; that object is discarded (counted in
 *       {@link Stats#reclaimFailures()}), and the objects of its bucket not yet hooked go back to
 *       the head of the depot, to be hooked before they are handed out; if other threads filled the
 *       depot to {@link Builder#maxIdle} meanwhile, they are dropped to the garbage collector instead
 *       and counted in {@link Stats#dropped()}. The hook must not allocate from its own pool
 *       (that would refill the cache it is refilling); such an allocation throws
 *       {@link IllegalStateException}.</li>
 * </ul>
 *
 * <p>Rules: free only objects that were unpublished (no new section can reach them) and that this
 * pool handed out or that the caller means to give it; never free an object twice before
 * allocating it again. With {@code -ea}, {@link #free} catches a double free while the object is
 * still in the calling thread's cache (see there for what is and is not detected). {@code free} may
 * be called inside a section.
 *
 * <p>Thread safety: safe for any number of threads.
 *
 * <p>Memory consistency effects: actions in a thread before {@code free(x)} happen-before the
 * actions that follow the {@code allocate()} that returns {@code x}.
 *
 * @param <T> the pooled type
 */
public final class SmrPool<T> {

    /** The default number of objects per bucket. */
    public static final int DEFAULT_BUCKET_SIZE = 64;
    /** The default bound on objects waiting in the depot. */
    public static final long DEFAULT_MAX_IDLE = 1 << 16;
    /** The largest bucket size accepted. */
    public static final int MAX_BUCKET_SIZE = 1 << 16;

    /** Whether assertions are on for this class: the double-free check in {@link #free}. */
    private static final boolean CHECKS = SmrPool.class.desiredAssertionStatus();

    private final Depot<T> depot;
    private final Supplier<? extends T> factory;

    private SmrPool(Builder<T> b) {
        this.depot = new Depot<>(b.smr, b.bucketSize, b.maxIdle, b.onReclaim);
        this.factory = b.factory;
    }

    /**
     * A pool with default settings.
     *
     * @throws NullPointerException if an argument is null
     */
    public static <T> SmrPool<T> create(Smr smr, Supplier<? extends T> factory) {
        return SmrPool.<T>builder(smr, factory).build();
    }

    /**
     * A builder for a pool whose objects readers reach through sections of {@code smr}.
     *
     * @throws NullPointerException if an argument is null
     */
    public static <T> Builder<T> builder(Smr smr, Supplier<? extends T> factory) {
        return new Builder<>(smr, factory);
    }

    /** The domain whose grace periods the pool waits for. */
    public Smr smr() {
        return depot.smr();
    }

    /**
     * An object whose grace period has passed, or a new one from the factory. Never waits for a
     * grace period or for another thread's allocation. The one wait it can contain is
     * {@link #free}'s: tagging the objects a dead thread freed (see "No objects are lost with a
     * thread") takes a goal with {@link Smr#advance()}, which waits while the write sequence is
     * 2^45 ahead of the oldest reader; inside a section that tagging is skipped instead.
     *
     * @throws NullPointerException if the factory returned null
     */
    public T allocate() {
        return allocate(depot.cache());
    }

    private T allocate(Depot.Cache c) {
        T item = depot.pop(c);
        if (item == null && depot.recoverAfterMisses(c)) {
            item = depot.pop(c); // dead threads' cached objects are back in the depot: look again
        }
        return item != null ? item : create(c);
    }

    private T create(Depot.Cache c) {
        T item = Objects.requireNonNull(factory.get(), "the pool's factory returned null");
        c.created++;
        return item;
    }

    /**
     * Gives back an object the caller has unpublished; it is reused after a grace period.
     *
     * @throws NullPointerException if {@code item} is null
     * @throws IllegalStateException with assertions enabled ({@code -ea}), if {@code item} is still in
     *     the calling thread's cache: freed by this thread and not yet tagged (its free bucket), or
     *     freed, reclaimed into this thread's alloc bucket and not handed out since; nothing is taken
     *     then. Not detected: a second free once the first one's bucket was tagged and queued (the
     *     depot is not searched), or while the object sits in another thread's cache; a free after
     *     the object was allocated again is a legitimate one. Without {@code -ea} nothing is checked,
     *     and a double free hands the object out twice.
     * @throws IllegalStateException if the calling thread is inside a section of the pool's domain
     *     and tagging its cache's full bucket would have to wait for that section (the write
     *     sequence is 2^45 ahead of the oldest reader); the object is not taken then, and the
     *     caller may free it again outside the section
     */
    public void free(T item) {
        Objects.requireNonNull(item, "item");
        Depot.Cache c = depot.cache();
        if (CHECKS) {
            checkNotCached(c, item);
        }
        depot.push(c, item);
    }

    /** -ea: refuses, before anything is taken, an object that is still in this thread's cache. */
    private void checkNotCached(Depot.Cache c, T item) {
        String where = depot.cachedIn(c, item);
        if (where != null) {
            throw new IllegalStateException("SmrPool '" + depot.smr().name() + "': double free of " + item
                    + ": it is still in this thread's " + where + " (freed and not allocated since)");
        }
    }

    /** Hands the calling thread's cached objects to the depot (freed ones tagged now). */
    public void flush() {
        depot.flush(depot.cache());
    }

    /**
     * The calling thread's handle on its cache: {@link #allocate()} and {@link #free} without the
     * thread-local lookup, for hot loops (as a {@link dev.mpsafe.sync.Participant} is for
     * sections). Keep it in a local or a thread-confined field; only this thread may use it
     * (checked with {@code -ea}).
     */
    public Local<T> local() {
        return new Local<>(this, depot.cache());
    }

    /**
     * A thread's handle on its cache in an {@link SmrPool}: the same operations as the pool's,
     * minus the thread-local lookup.
     *
     * <p>Thread safety: confined to the thread that called {@link SmrPool#local()}.
     *
     * @param <T> the pooled type
     */
    public static final class Local<T> {
        private static final boolean CHECKS = SmrPool.class.desiredAssertionStatus();

        private final SmrPool<T> pool;
        private final Depot.Cache cache;

        private Local(SmrPool<T> pool, Depot.Cache cache) {
            this.pool = pool;
            this.cache = cache;
        }

        /** As {@link SmrPool#allocate()}. */
        public T allocate() {
            if (CHECKS) {
                checkOwner();
            }
            return pool.allocate(cache);
        }

        /** As {@link SmrPool#free}, double-free check included. */
        public void free(T item) {
            Objects.requireNonNull(item, "item");
            if (CHECKS) {
                checkOwner();
                pool.checkNotCached(cache, item);
            }
            pool.depot.push(cache, item);
        }

        private void checkOwner() {
            final Thread owner = cache.ownerThread();
            if (owner != Thread.currentThread()) {
                throw new IllegalStateException("SmrPool.Local used by thread '" + Thread.currentThread().getName()
                        + "'; it belongs to " + (owner == null ? "nobody" : "'" + owner.getName() + "'"));
            }
        }
    }

    /** A snapshot of the counters; exact when no thread is using the pool, approximate otherwise. */
    public Stats stats() {
        long[] c = depot.cacheCounters();
        return new Stats(c[0], c[1], c[2], depot.pendingItems(), depot.readyItems(), depot.cachedItems(),
                depot.idleHighWater(), depot.dropped(), depot.bucketsTagged(), depot.hookFailures());
    }

    @Override
    public String toString() {
        return "SmrPool[" + depot.smr().name() + ", " + stats() + "]";
    }

    /**
     * Pool counters.
     *
     * @param created objects made by the factory
     * @param reused allocations served by a recycled object
     * @param freed objects given back
     * @param pending freed objects in the depot waiting for their grace period
     * @param ready objects in the depot whose grace period passed, not yet in a thread's cache
     * @param cached objects in threads' caches (free buckets not yet tagged, and alloc buckets)
     * @param idleHighWater the most objects ever waiting in the depot (pending + ready)
     * @param dropped objects left to the GC because the depot was at its bound: full free buckets,
     *     safe cached objects that {@link #flush()} could not return, and the objects of a bucket
     *     whose {@link Builder#onReclaim} hook threw that were not yet hooked and could not go back
     * @param bucketsTagged full buckets tagged with a goal (one {@code advance()} each)
     * @param reclaimFailures objects discarded, never reused, because {@link Builder#onReclaim} threw
     *     on them
     */
    public record Stats(long created, long reused, long freed, long pending, long ready, long cached,
            long idleHighWater, long dropped, long bucketsTagged, long reclaimFailures) {
    }

    /**
     * Settings for an {@link SmrPool}.
     *
     * @param <T> the pooled type
     */
    public static final class Builder<T> {
        private final Smr smr;
        private final Supplier<? extends T> factory;
        private int bucketSize = DEFAULT_BUCKET_SIZE;
        private long maxIdle = DEFAULT_MAX_IDLE;
        private Consumer<? super T> onReclaim;

        private Builder(Smr smr, Supplier<? extends T> factory) {
            this.smr = Objects.requireNonNull(smr, "smr");
            this.factory = Objects.requireNonNull(factory, "factory");
        }

        /**
         * Objects per bucket (default {@value #DEFAULT_BUCKET_SIZE}): one {@code advance()} per this
         * many frees, one {@code poll()} per this many allocations, and the most a thread's free
         * bucket holds back before tagging.
         *
         * @throws IllegalArgumentException if not within [1, {@value #MAX_BUCKET_SIZE}]
         */
        public Builder<T> bucketSize(int size) {
            if (size < 1 || size > MAX_BUCKET_SIZE) {
                throw new IllegalArgumentException("bucketSize must be within [1, " + MAX_BUCKET_SIZE + "], got "
                        + size);
            }
            this.bucketSize = size;
            return this;
        }

        /**
         * The most freed objects the depot keeps (default {@value #DEFAULT_MAX_IDLE}); beyond it,
         * full buckets are dropped to the GC and counted. 0 keeps nothing (a pool that never
         * reuses); a positive bound below the bucket size is rejected by {@link #build()}.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder<T> maxIdle(long max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxIdle must be >= 0, got " + max);
            }
            this.maxIdle = max;
            return this;
        }

        /**
         * Runs on each object when its grace period has passed, on the allocating thread, before
         * the object is handed out: clear or poison it here.
         */
        public Builder<T> onReclaim(Consumer<? super T> hook) {
            this.onReclaim = Objects.requireNonNull(hook, "hook");
            return this;
        }

        /**
         * The pool.
         *
         * @throws IllegalArgumentException if {@code maxIdle} is positive but below
         *     {@code bucketSize}: no bucket could ever wait in the depot, so nothing would be reused
         */
        public SmrPool<T> build() {
            if (maxIdle > 0 && maxIdle < bucketSize) {
                throw new IllegalArgumentException("maxIdle " + maxIdle + " is below bucketSize " + bucketSize
                        + ": every freed bucket would be dropped and nothing reused; use maxIdle >= bucketSize,"
                        + " or 0 for a pool that never reuses");
            }
            return new SmrPool<>(this);
        }
    }
}
