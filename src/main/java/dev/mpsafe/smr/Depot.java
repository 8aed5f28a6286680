package dev.mpsafe.smr;

import dev.mpsafe.internal.SlotTable;
import dev.mpsafe.internal.ThreadSlot;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The machinery both pools share, after FreeBSD's UMA with SMR zones: per-thread caches of two
 * buckets, and a depot of full buckets behind one lock. Freed items go into the thread's free
 * bucket; a full free bucket is tagged with {@link Smr#advance()}'s goal and kept by the thread for
 * its own next refill (if it allocates) or queued in the depot as pending; a tagged bucket becomes
 * an allocating thread's bucket only once {@link Smr#poll(long)} says its goal passed. Items are
 * never reused from the bucket they were freed into.
 *
 * <p>Package-private; {@link SmrPool} and {@link SegmentPool} add what an item is.
 *
 * @param <T> the item type
 */
final class Depot<T> {

    /*
     * Ownership: a Cache belongs to one thread (SlotTable claims it; a cache whose thread died is
     * inherited, items included, by the next thread that registers: the dead thread's writes
     * happen-before the isAlive() that returned false). Buckets move between a cache and the depot
     * only under `lock`, which orders every write to a bucket's items before its next owner reads
     * them. Nothing that can wait runs under `lock`: not advance() (its forced wait parks until the
     * oldest reader leaves, and that reader may be about to allocate or free), not poll (a LAZY
     * membarrier, a scan), not the reclaim hook.
     *
     * Safety (never hand out an item a reader may still see): an item enters a free bucket after
     * the caller unpublished it; the bucket's goal is taken later still, so the goal covers every
     * section that could have reached the item. The bucket leaves `pending` only once its goal is
     * known to have passed: by the domain's cached read sequence (Smr.passedOrStale, read under the
     * lock), or by a poll this thread made after it read the goal (the goal compared again under
     * the lock, so it is that very bucket). Both are what pollIssued answers from, and both are
     * acquire reads of what a scan published after it saw every older section end, so those
     * sections' reads happen-before the reuse. Items of ready buckets have passed already. A
     * thread's free bucket is never allocated from. `pending` is kept oldest goal first (see
     * enqueuePending), but only for progress: a bucket is taken only after its own goal passed.
     *
     * Bounds: pending + ready items never exceed maxIdle; a full free bucket that would pass the
     * bound is dropped (heap pools only: the GC reclaims the items once no reader holds them, so
     * dropping needs no grace period). Each thread's cache holds at most 3 * bucketSize more (its
     * two arrays and its own bucket).
     */

    /**
     * A bucket in the depot: an array of items, how many it holds, and the goal that tags it while
     * it is pending. Caches hold bare arrays; a bucket and a cache swap arrays, so no array is ever
     * allocated in steady state.
     */
    static final class Bucket {
        Object[] items;
        int count;
        long goal;

        Bucket(Object[] items) {
            this.items = items;
        }
    }

    /**
     * A thread's two arrays and the bucket it keeps for itself, padded (ThreadSlot) so that caches
     * of different threads never share a line. {@code allocItems[0, allocCount)} are safe to hand
     * out; {@code freeItems[0, freeCount)} were freed and are not yet tagged; {@code own}, if not
     * null, is the last bucket this thread tagged, kept for its own next refill (see retire).
     */
    static final class Cache extends ThreadSlot {
        Object[] allocItems;
        int allocCount;
        Object[] freeItems;
        int freeCount;
        /**
         * The last bucket this thread tagged, for its own next refill once its goal passes; or
         * null. Set only by the owner (retireOwn, with a volatile getAndSet that publishes the
         * bucket's fields); cleared by the owner or, when the depot runs dry, by another thread
         * that takes it for the depot (stealOwnBuckets): both by CAS, so exactly one gets it.
         */
        volatile Bucket own;
        /** A bucket object whose array is empty, for the next retire into {@code own}; or null. */
        Bucket spare;
        /** Whether this thread refilled since its last retire: it allocates, so own will be used. */
        boolean refilledSinceRetire;
        /** Items tagged into {@code own} (buckets: ownTagged), and moved from it to allocItems; owner-written, read racily by stats. */
        long ownRetired;
        long ownTagged;
        long ownMoved;
        /** Objects SmrPool's factory made for this thread; owner-written, read racily by stats. */
        long created;
        /** Refill misses since this thread last looked for dead threads' caches (owner only). */
        int missesSinceRecovery;
        /** Inside refill (owner only): a reclaim hook that allocates from its own pool is refused. */
        boolean refilling;

        @Override
        protected void resetForNewOwner() {
            // The new owner inherits the arrays and their items: nothing is lost with a thread.
        }

        /*
         * Bridges to ThreadSlot's owner accessors, which are protected so that no public slot type
         * offers them (see ThreadSlotState), for recoverDeadCaches and SmrPool.Local's owner check.
         * Final class, one call each: they inline to the accessor.
         */

        /** The owning thread, or null while the cache is free (volatile load). */
        Thread ownerThread() {
            return owner();
        }

        /** Claims the cache for {@code me} from {@code dead}, its dead owner (CAS). */
        boolean claimFrom(Thread dead, Thread me) {
            return casOwner(dead, me);
        }

        /** Leaves a claimed cache ownerless, for the next thread that registers (volatile store). */
        void disown() {
            svOwner(null);
        }
    }

    private static final VarHandle OWN;

    static {
        try {
            OWN = MethodHandles.lookup().findVarHandle(Cache.class, "own", Bucket.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Smr smr;
    private final int bucketSize;
    private final long maxIdle;
    private final Consumer<Object> onReclaim;
    private final SlotTable<Cache> caches;

    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Bucket> pending = new ArrayDeque<>();
    private final ArrayDeque<Bucket> ready = new ArrayDeque<>();
    private final ArrayDeque<Bucket> empties = new ArrayDeque<>();
    // Guarded by lock; volatile for the lock-free readers of stats.
    private volatile long pendingItems;
    private volatile long readyItems;
    private volatile long idleHighWater;
    private volatile long dropped;
    private volatile long hookFailures;
    /** Safe items dropped past the bound (by a flush, or a requeue after a failed hook); counted
     *  apart from {@code dropped}, since they were already counted freed. */
    private volatile long droppedSafe;
    private volatile long tagged;
    /** Items moved into caches' alloc arrays; with the cached counts, gives the items handed out. */
    private volatile long movedToCaches;
    /** Items tagged in full (or flushed) free arrays. */
    private volatile long retired;

    @SuppressWarnings("unchecked")
    Depot(Smr smr, int bucketSize, long maxIdle, Consumer<? super T> onReclaim) {
        this.smr = smr;
        this.bucketSize = bucketSize;
        this.maxIdle = maxIdle;
        this.onReclaim = (Consumer<Object>) onReclaim;
        this.caches = new SlotTable<>(Cache.class, () -> {
            Cache c = new Cache();
            c.allocItems = new Object[bucketSize];
            c.freeItems = new Object[bucketSize];
            return c;
        });
    }

    /**
     * Takes the depot's lock, spinning a little before it parks. Every hold is short (a few field
     * updates and a deque operation; nothing that waits runs under the lock), so a thread that
     * finds it held usually gets it within a few hundred nanoseconds, while parking and the
     * holder's unpark cost microseconds each (a system call on both sides, more under a
     * hypervisor): with many threads exchanging buckets, a lock that parks at once turns every
     * collision into that cost and the depot into a convoy. This is the adaptive mutex's rule
     * (FreeBSD's mtx(9), which UMA's zone lock is): spin while the holder is likely to let go
     * soon, block otherwise. The spin is bounded, so a holder descheduled on an oversubscribed
     * machine costs the spinners {@value #LOCK_SPINS} spin waits each before they park.
     */
    private void acquire() {
        for (int i = 0; i < LOCK_SPINS; i++) {
            if (lock.tryLock()) {
                return;
            }
            Thread.onSpinWait();
        }
        lock.lock();
    }

    /** How many times {@link #acquire()} tries the lock before it parks. */
    static final int LOCK_SPINS = 256;

    Smr smr() {
        return smr;
    }

    /** The calling thread's cache, claimed on first use. */
    Cache cache() {
        return caches.current();
    }

    /** An item whose grace period has passed, or null if none is available without waiting. */
    @SuppressWarnings("unchecked")
    T pop(Cache c) {
        int n = c.allocCount;
        if (n == 0) {
            if (!refill(c)) {
                return null;
            }
            n = c.allocCount;
        }
        c.allocCount = --n;
        final Object[] items = c.allocItems;
        final T item = (T) items[n];
        // Clear the slot: emptied arrays go to the depot's spares, and a reference left there would
        // keep an object its user dropped reachable for as long as the spare waits.
        items[n] = null;
        return item;
    }

    /**
     * Gives the cache's empty alloc array a ready bucket's items, or the oldest pending bucket's if
     * its goal passed; false if neither exists. The poll runs outside the lock (a LAZY poll may
     * perform a membarrier, and a scan reads every reader slot), and the reclaim hook too.
     */
    private boolean refill(Cache c) {
        if (c.refilling) {
            throw new IllegalStateException("the pool's onReclaim hook allocated from the pool it belongs to;"
                    + " a hook may only prepare the object it is given");
        }
        c.refilling = true;
        c.refilledSinceRetire = true;
        try {
            final Bucket own = c.own;
            // The thread's own bucket first: no lock, and no other thread's lines. Its goal is the
            // newest this thread took, so it may not have passed yet; the depot's head then may have.
            if (own != null && smr.pollIssued(own.goal) && takeOwn(c, own)) {
                return true;
            }
            return refill0(c);
        } finally {
            c.refilling = false;
        }
    }

    /**
     * Moves the cache's own bucket, whose goal has passed, into its empty alloc array; the bucket
     * object, now holding that empty array, becomes the cache's spare. With a reclaim hook, the hook
     * runs on every item first; if it throws, hookAll has requeued what was not hooked into the
     * depot and given the cache what was. False if another thread took the bucket for the depot
     * first (see {@link #stealOwnBuckets}).
     */
    private boolean takeOwn(Cache c, Bucket own) {
        if (!OWN.compareAndSet(c, own, null)) {
            return false;
        }
        if (onReclaim != null) {
            hookAll(c, own);
        }
        c.ownMoved += swapIntoAlloc(c, own);
        c.spare = own; // with the cache's empty array, for its next retireOwn
        return true;
    }

    private boolean refill0(Cache c) {
        long goal;
        Bucket b;
        acquire();
        try {
            b = ready.pollFirst();
            if (b != null) {
                readyItems -= b.count;
                take(c, b);
                return true;
            }
            b = pending.peekFirst();
            if (b == null) {
                return false;
            }
            goal = b.goal;
            // The common case under contention: the head's goal has passed already by the domain's
            // cached read sequence (another thread's poll raised it). That check only reads two
            // words, so it may run under the lock, and the refill then takes the lock once.
            if (smr.passedOrStale(goal)) {
                return takePending(c, b);
            }
        } finally {
            lock.unlock();
        }
        if (!smr.pollIssued(goal)) { // an issued goal: counted as passed once stale, never rejected
            return false;
        }
        acquire();
        try {
            b = pending.peekFirst();
            // Another thread may have taken the head meanwhile, or a retire may have queued a bucket
            // with an older goal in front of it. Any bucket tagged with this very goal has passed,
            // and so has one whose goal the cached bound covers (the poll just raised it); any other
            // goal is never judged by order here (it may be stale: see Smr.pollIssued), only by a
            // poll of its own on a later refill.
            if (b == null || (b.goal != goal && !smr.passedOrStale(b.goal))) {
                return false;
            }
            return takePending(c, b);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes {@code b}, the head of {@code pending}, whose goal has passed: into the cache at once,
     * or, if the pool has a reclaim hook, only after the hook ran on every item outside the lock
     * (the hook may be slow: SegmentPool's poison fill). Under lock; with a hook, it releases the
     * lock for the hook and takes it again (the caller's finally unlocks once).
     */
    private boolean takePending(Cache c, Bucket b) {
        pending.pollFirst();
        pendingItems -= b.count;
        if (onReclaim == null) {
            take(c, b);
            return true;
        }
        lock.unlock();
        try {
            hookAll(c, b);
        } finally {
            acquire();
        }
        take(c, b);
        return true;
    }

    /** Runs the reclaim hook on each of {@code b}'s items; b is the caller's alone. Not under lock. */
    private void hookAll(Cache c, Bucket b) {
        int hooked = 0;
        try {
            for (; hooked < b.count; hooked++) {
                onReclaim.accept(b.items[hooked]);
            }
        } catch (PoolClosedException closed) {
            // Not the item's fault: the pool was closed under the hook. Nothing is discarded or
            // counted as a failure; the item goes back with the rest (the closed pool never hands
            // it out again).
            keepHookedRequeueRest(c, b, hooked, false);
            throw closed;
        } catch (RuntimeException | Error e) {
            keepHookedRequeueRest(c, b, hooked, true);
            throw e;
        }
    }

    /**
     * Thrown by a reclaim hook that failed only because its pool was closed meanwhile (SegmentPool:
     * the arena was closed under the poison fill): the item is not discarded and no failure is
     * counted. An {@link IllegalStateException} carrying the pool's own message.
     */
    static final class PoolClosedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        PoolClosedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The reclaim hook threw on item {@code failed} of bucket {@code b}: the items before it (hooked)
     * go to the cache; that item is discarded if {@code discard} (its state is unknown, so it is
     * never reused), else kept with the rest; the rest goes back to the head of the pending list
     * with the same, passed goal, to be hooked before it is handed out.
     */
    private void keepHookedRequeueRest(Cache c, Bucket b, int failed, boolean discard) {
        acquire();
        try {
            final int from = discard ? failed + 1 : failed;
            int rest = b.count - from;
            if (rest > 0 && wouldPassBound(rest)) {
                // Others filled the room while we hooked: drop the rest to the GC rather than pass
                // the bound (safe: their grace period has passed).
                droppedSafe += rest;
            } else if (rest > 0) {
                Bucket r = takeEmpty();
                System.arraycopy(b.items, from, r.items, 0, rest);
                r.count = rest;
                r.goal = b.goal;
                pending.addFirst(r);
                pendingItems += rest;
                noteIdle();
            }
            java.util.Arrays.fill(b.items, failed, b.count, null);
            b.count = failed;
            if (discard) {
                hookFailures++;
            }
            take(c, b);
        } finally {
            lock.unlock();
        }
    }

    /** Moves bucket {@code b}'s items into the cache's (empty) alloc array; b goes to the empties. Under lock. */
    private void take(Cache c, Bucket b) {
        movedToCaches += swapIntoAlloc(c, b);
        empties.addLast(b); // with the cache's empty array
    }

    /**
     * Swaps bucket {@code b}'s items into the cache's empty alloc array: the cache gets b's array
     * and count, b gets the empty array. Returns the count. The caller says where b goes next.
     */
    private static int swapIntoAlloc(Cache c, Bucket b) {
        final Object[] items = b.items;
        final int count = b.count;
        b.items = c.allocItems;
        b.count = 0;
        c.allocItems = items;
        c.allocCount = count;
        return count;
    }

    /**
     * Frees an item the caller has unpublished. All or nothing: if it throws (the tagging
     * {@code advance()} would have to wait inside a section of the domain), the item was not taken.
     */
    void push(Cache c, T item) {
        makeRoom(c);
        storeAndTag(c, item);
    }

    /**
     * Where {@code item} already sits in the calling thread's cache, by identity: "free bucket"
     * (freed, not yet tagged), "alloc bucket" (freed earlier, safe, not handed out since), "tagged
     * bucket" (freed, tagged, kept for this thread's next refill), or null.
     * For SmrPool's double-free check under -ea; O(bucketSize), owner only.
     */
    String cachedIn(Cache c, Object item) {
        for (int i = 0; i < c.freeCount; i++) {
            if (c.freeItems[i] == item) {
                return "free bucket";
            }
        }
        for (int i = 0; i < c.allocCount; i++) {
            if (c.allocItems[i] == item) {
                return "alloc bucket";
            }
        }
        final Bucket own = c.own;
        for (int i = 0; own != null && i < own.count; i++) {
            if (own.items[i] == item) {
                return "tagged bucket";
            }
        }
        return null;
    }

    /**
     * The first half of {@link #push}: if an earlier tagging was refused and left the free array
     * full, tag it now. May throw (the refusal again); nothing is stored then.
     */
    void makeRoom(Cache c) {
        if (c.freeCount == bucketSize) {
            retire(c);
        }
    }

    /**
     * The second half of {@link #push}, after {@link #makeRoom}: stores the item, so it is taken
     * whatever happens next, and tags the array if that filled it. A refusal to wait is absorbed:
     * the full array stays in the cache for the next push or flush to tag.
     */
    void storeAndTag(Cache c, T item) {
        int n = c.freeCount;
        c.freeItems[n++] = item;
        c.freeCount = n;
        if (n == bucketSize) {
            try {
                retire(c);
            } catch (IllegalStateException refused) {
                // advance() refused to wait inside the caller's section. The item is stored, so this
                // free has happened and must not throw (a caller that retried would free it twice).
            }
        }
    }

    /**
     * Tags the cache's free items with a goal and queues them as a pending bucket (or drops them
     * past the bound, if the pool allows); gives the cache an empty free array.
     *
     * <p>The goal is taken outside the lock: {@code advance()} may park in its forced wait (the
     * write sequence too far ahead of the oldest reader) until that reader leaves its section, and a
     * reader may allocate and free inside its section. Were the lock held across the wait, that
     * reader would block on the lock held by the writer that waits for it: a deadlock, and every
     * other thread's allocate, free and flush stuck behind the lock meanwhile.
     *
     * <p>One lock hold, after the goal: the bound is checked and the bucket queued together, so the
     * bound holds whatever other threads queued while this one took its goal. A bucket dropped
     * there has cost an advance for nothing; a racy look at the bound first skips the advance when
     * the depot is already full, the one case where drops come in a row.
     */
    private void retire(Cache c) {
        if (c.refilledSinceRetire && maxIdle > 0) { // maxIdle 0: a pool that never reuses keeps nothing either
            retireOwn(c);
        } else {
            retireToDepot(c);
        }
    }

    /**
     * For a thread that allocates as well as frees (it refilled since its last retire): tags the
     * free items and keeps them as the cache's own bucket, for its own next refill, without the
     * lock; the bucket it kept before, if its refill did not take it (its goal had not passed), goes
     * to the depot. A thread that allocates about as much as it frees then recycles its own items
     * and never touches the depot's lock or lines: the depot is only for what flows between threads.
     * A thread that only frees never keeps one (its buckets go to the depot, where allocating
     * threads find them). The goal is taken first, so a refused advance changes nothing.
     */
    private void retireOwn(Cache c) {
        final int n = c.freeCount;
        final long goal = smr.advance(); // see retireToDepot: never under the lock
        Bucket b = c.spare;
        if (b == null) {
            b = new Bucket(new Object[bucketSize]); // only until the cache has its spare (see takeOwn)
        }
        c.spare = null;
        final Object[] empty = b.items;
        b.items = c.freeItems;
        b.count = n;
        b.goal = goal;
        c.freeItems = empty;
        c.freeCount = 0;
        c.ownRetired += n;
        c.ownTagged++;
        c.refilledSinceRetire = false;
        final Bucket older = (Bucket) OWN.getAndSet(c, b); // null if none, or if another thread took it
        if (older != null) {
            acquire();
            try {
                queueTagged(older);
                c.spare = takeEmpty(); // the cache's next retire needs a bucket object
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Queues a bucket some cache kept as its own (already tagged and counted as retired) in the
     * depot, or drops it past the bound (heap pools only; the bucket object goes to the empties).
     * Under lock.
     */
    private void queueTagged(Bucket b) {
        if (wouldPassBound(b.count)) {
            droppedSafe += b.count; // counted as freed when it was tagged
            java.util.Arrays.fill(b.items, 0, b.count, null);
            b.count = 0;
            empties.addLast(b);
            return;
        }
        enqueuePending(b);
        pendingItems += b.count;
        noteIdle();
    }

    /** Tags the cache's free items and queues them in the depot (see {@link #retire}). */
    private void retireToDepot(Cache c) {
        final int n = c.freeCount;
        if (pendingItems + readyItems + n > maxIdle) { // racy: only saves the advance; decided under the lock
            acquire();
            try {
                if (wouldPassBound(n)) {
                    drop(c, n);
                    return;
                }
            } finally {
                lock.unlock();
            }
        }
        // After the caller unpublished every item in the array (they were freed before). The array
        // stays in the cache meanwhile: only its owner touches it (a dead owner's cache is claimed
        // by CAS first), so nothing is detached and nothing needs undoing if this throws (refused:
        // the full array stays in the cache for the next push or flush).
        final long goal = smr.advance();
        acquire();
        try {
            if (wouldPassBound(n)) {
                drop(c, n); // others filled the depot while this thread took its goal
                return;
            }
            Bucket b = takeEmpty();
            Object[] spare = b.items;
            b.items = c.freeItems;
            b.count = n;
            b.goal = goal;
            enqueuePending(b);
            pendingItems += n;
            retired += n;
            tagged++;
            noteIdle();
            c.freeItems = spare;
            c.freeCount = 0;
        } finally {
            lock.unlock();
        }
    }

    /** Drops the cache's {@code n} free items past the bound (heap pools: the GC has them). Under lock. */
    private void drop(Cache c, int n) {
        dropped += n;
        java.util.Arrays.fill(c.freeItems, 0, n, null);
        c.freeCount = 0;
    }

    /**
     * Queues a freshly tagged bucket in goal order. Under lock.
     *
     * <p>Goals are taken outside the lock, so two retiring threads may queue theirs in the other
     * order than {@code advance()} returned them; DEFERRED goals of different threads interleave
     * likewise. The bucket goes behind the last bucket whose goal is not after its own, which keeps
     * {@code pending} sorted oldest first (from the tail: the disorder is at most the few retires
     * that overlapped). Safety does not rest on the order: {@link #refill0} takes only a bucket whose
     * own goal it polled (it compares goals for equality, never for order), so a bucket is never
     * handed out before its goal passed, whatever its place. The order only serves progress: the
     * head, which refill polls and SegmentPool waits for, is the oldest goal, so no bucket whose goal
     * passed waits behind one whose goal has not. (The comparison is wrap-safe within the window; a
     * goal left unpolled for more than 2^46 advances may compare wrongly, which can only delay
     * buckets queued behind it until the head's goal passes: see {@link Smr#pollIssued}.)
     */
    private void enqueuePending(Bucket b) {
        final Bucket last = pending.peekLast();
        if (last == null || Smr.delta(last.goal, b.goal) <= 0) {
            pending.addLast(b); // the usual case, without an iterator: retire allocates nothing
            return;
        }
        int later = 0;
        for (java.util.Iterator<Bucket> it = pending.descendingIterator(); it.hasNext(); ) {
            if (Smr.delta(it.next().goal, b.goal) <= 0) {
                break;
            }
            later++;
        }
        if (later == 0) {
            pending.addLast(b);
            return;
        }
        Bucket[] moved = new Bucket[later];
        for (int i = later - 1; i >= 0; i--) {
            moved[i] = pending.pollLast();
        }
        pending.addLast(b);
        for (Bucket m : moved) {
            pending.addLast(m);
        }
    }

    /** Whether {@code n} more idle items would pass {@code maxIdle}. Under lock. */
    private boolean wouldPassBound(long n) {
        return pendingItems + readyItems + n > maxIdle;
    }

    /** Raises the high-water mark to the current idle count. Under lock. */
    private void noteIdle() {
        long idle = pendingItems + readyItems;
        if (idle > idleHighWater) {
            idleHighWater = idle;
        }
    }

    /** An empty bucket (with an empty array) from the empties, or a new one. Under lock. */
    private Bucket takeEmpty() {
        Bucket e = empties.pollFirst();
        return e != null ? e : new Bucket(new Object[bucketSize]);
    }

    /**
     * Moves the calling thread's cached items to the depot: its free items as a pending bucket
     * (tagged now), its safe items as a ready bucket. For a thread that stops using the pool.
     */
    void flush(Cache c) {
        final Bucket own = (Bucket) OWN.getAndSet(c, null);
        if (own != null) {
            acquire();
            try {
                queueTagged(own);
            } finally {
                lock.unlock();
            }
        }
        if (c.freeCount > 0) {
            retireToDepot(c);
        }
        int n = c.allocCount;
        if (n > 0) {
            acquire();
            try {
                // The cache count first: a racing stats() then over-counts the reused items for a
                // moment instead of under-counting them below zero.
                c.allocCount = 0;
                movedToCaches -= n; // they were never handed out
                if (wouldPassBound(n)) {
                    // Past the bound: drop them to the GC like a full free array (safe: their grace
                    // period has passed, and the GC keeps an object alive while anyone holds it).
                    droppedSafe += n; // not in dropped: these were counted as freed when retired
                    java.util.Arrays.fill(c.allocItems, 0, n, null);
                    return;
                }
                Bucket b = takeEmpty();
                Object[] spare = b.items;
                b.items = c.allocItems;
                b.count = n;
                ready.addLast(b);
                readyItems += n;
                noteIdle();
                c.allocItems = spare;
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Moves into the depot the items held by caches whose owner thread has ended (a dead thread's
     * cache is otherwise inherited only by a thread that registers anew, which a fixed set of
     * long-lived threads never does), and the buckets live threads kept as their own
     * ({@link #stealOwnBuckets}). Returns whether any item moved. A claimed cache is emptied and
     * its slot left ownerless, ready for the next thread that registers.
     */
    boolean recoverDeadCaches() {
        final Thread me = Thread.currentThread();
        boolean moved = stealOwnBuckets();
        for (Cache c : caches.snapshot()) {
            final Thread owner = c.ownerThread();
            // The dead owner's writes to its cache happen-before our isAlive() that returned false,
            // and the CAS makes us the cache's only user until we give it back.
            if (owner != null && owner != me && !owner.isAlive() && c.claimFrom(owner, me)) {
                try {
                    if (c.allocCount > 0 || c.freeCount > 0 || c.own != null) {
                        flush(c);
                        moved = true;
                    }
                } finally {
                    c.disown(); // even if the flush threw: what is left is inherited later
                }
            }
        }
        return moved;
    }

    /**
     * Moves into the depot the buckets that live threads kept as their own (retireOwn): tagged
     * items no other thread could otherwise reach until their owner refills or flushes. For a
     * depot that ran dry: a bounded pool (SegmentPool) whose every free segment sits in such a
     * bucket would otherwise report exhaustion, not wait for the grace period. Each bucket is taken
     * by CAS, so the owner's refill and this never both get it; the owner then refills from the
     * depot like any thread. Returns whether any bucket moved.
     */
    private boolean stealOwnBuckets() {
        boolean moved = false;
        for (Cache c : caches.snapshot()) {
            final Bucket b = c.own;
            if (b != null && OWN.compareAndSet(c, b, null)) { // the volatile read published b's fields
                acquire();
                try {
                    queueTagged(b);
                } finally {
                    lock.unlock();
                }
                moved = true;
            }
        }
        return moved;
    }

    /**
     * For a refill miss of a pool whose allocation never waits (SmrPool): every
     * {@link #recoveryInterval()}-th miss of the calling thread, moves dead threads' cached items
     * into the depot ({@link #recoverDeadCaches}), so that items cached by a thread that died are not
     * stranded while only already-registered threads use the pool. Rate-limited because the scan
     * reads every slot: one scan per that many misses costs about what the misses' own polls cost.
     * Returns whether any item moved (the caller then tries the depot again).
     */
    boolean recoverAfterMisses(Cache c) {
        if (++c.missesSinceRecovery < recoveryInterval()) {
            return false;
        }
        c.missesSinceRecovery = 0;
        return tryRecoverDeadCaches();
    }

    /**
     * {@link #recoverDeadCaches}, for callers that must not fail for it (an allocation that does not
     * wait): a refusal to tag inside the caller's section counts as nothing moved.
     */
    boolean tryRecoverDeadCaches() {
        try {
            return recoverDeadCaches();
        } catch (IllegalStateException refused) {
            // Tagging a dead cache's free items was refused inside the caller's section (advance()
            // would have to wait): those items stay in the dead cache, for a later scan or the next
            // thread that registers. The caller's allocation must not fail for it.
            return false;
        }
    }

    /** Refill misses of a thread between two scans for dead threads' caches: the bucket size, at least 16. */
    int recoveryInterval() {
        return Math.max(16, bucketSize);
    }

    /** {@link #oldestPendingGoal()}: a ready bucket exists, so look again instead of waiting. */
    static final long READY_NOW = -2;

    /**
     * What an allocation that found nothing may wait for: {@link #READY_NOW} if a ready bucket
     * exists (another thread's flush moved items there after the caller's refill missed), else the
     * goal of the oldest pending bucket, or -1 if none is pending. Ready and pending are read in
     * one lock hold, so -1 means that at that moment the depot held nothing at all: "exhausted" is
     * then true of that moment, not a miss of items flushed between two looks.
     */
    long oldestPendingGoal() {
        acquire();
        try {
            if (!ready.isEmpty()) {
                return READY_NOW;
            }
            Bucket head = pending.peekFirst();
            return head == null ? -1L : head.goal;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a pending bucket exists (something a wait could make available). */
    boolean hasPending() {
        return pendingItems > 0;
    }

    /**
     * Counters for the pools' stats, {created, reused, freed}: exact when no thread is using the
     * pool, approximate otherwise (cache fields are read racily).
     */
    long[] cacheCounters() {
        long created = 0;
        long cachedAlloc = 0;
        long cachedFree = 0;
        long ownMoved = 0;
        long ownRetired = 0;
        for (Cache c : caches.snapshot()) {
            created += c.created;
            cachedAlloc += c.allocCount;
            cachedFree += c.freeCount;
            ownMoved += c.ownMoved;
            ownRetired += c.ownRetired;
        }
        // Racy against running threads (see above), so keep the derived figure within its range.
        return new long[] {created, Math.max(0, movedToCaches + ownMoved - cachedAlloc),
            retired + ownRetired + dropped + cachedFree};
    }

    long pendingItems() {
        return pendingItems;
    }

    long readyItems() {
        return readyItems;
    }

    long idleHighWater() {
        return idleHighWater;
    }

    long dropped() {
        return dropped + droppedSafe;
    }

    /** Items discarded because the reclaim hook threw on them. */
    long hookFailures() {
        return hookFailures;
    }

    long bucketsTagged() {
        long n = tagged;
        for (Cache c : caches.snapshot()) {
            n += c.ownTagged;
        }
        return n;
    }

    /** Items in every cache's arrays and own bucket (racy while running). */
    long cachedItems() {
        long n = 0;
        for (Cache c : caches.snapshot()) {
            final Bucket own = c.own;
            n += c.allocCount + c.freeCount + (own == null ? 0 : own.count);
        }
        return n;
    }
}
