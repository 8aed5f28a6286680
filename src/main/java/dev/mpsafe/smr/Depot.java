package dev.mpsafe.smr;

import dev.mpsafe.internal.SlotTable;
import dev.mpsafe.internal.ThreadSlot;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The machinery both pools share, after FreeBSD's UMA with SMR zones: per-thread caches of two
 * buckets, and a depot of full buckets behind one lock. Freed items go into the thread's free
 * bucket; a full free bucket is tagged with {@link Smr#advance()}'s goal and queued as pending; a
 * pending bucket becomes the allocating thread's bucket only once {@link Smr#poll(long)} says its
 * goal passed. Items are never reused from the bucket they were freed into.
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
     * section that could have reached the item. The bucket leaves `pending` only after poll(goal)
     * returned true (in this thread, under the lock). Items of ready buckets have passed already.
     * A thread's free bucket is never allocated from. `pending` is kept oldest goal first (see
     * enqueuePending), but only for progress: a bucket is taken only after its own goal was polled.
     *
     * Bounds: pending + ready items (+ room a retire holds while it takes its goal) never exceed maxIdle; a full free bucket that would pass the
     * bound is dropped (heap pools only: the GC reclaims the items once no reader holds them, so
     * dropping needs no grace period). Each thread's cache holds at most 2 * bucketSize more.
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
     * A thread's two arrays, padded (ThreadSlot) so that caches of different threads never share a
     * line. {@code allocItems[0, allocCount)} are safe to hand out; {@code freeItems[0, freeCount)}
     * were freed and are not yet tagged.
     */
    static final class Cache extends ThreadSlot {
        Object[] allocItems;
        int allocCount;
        Object[] freeItems;
        int freeCount;
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
    /** Room held for free arrays whose goal is being taken outside the lock (retire). Under lock. */
    private long reserved;
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
        try {
            return refill0(c);
        } finally {
            c.refilling = false;
        }
    }

    private boolean refill0(Cache c) {
        long goal;
        lock.lock();
        try {
            Bucket b = ready.pollFirst();
            if (b != null) {
                readyItems -= b.count;
                take(c, b);
                return true;
            }
            Bucket head = pending.peekFirst();
            if (head == null) {
                return false;
            }
            goal = head.goal;
        } finally {
            lock.unlock();
        }
        if (!smr.pollIssued(goal)) { // an issued goal: counted as passed once stale, never rejected
            return false;
        }
        Bucket b;
        lock.lock();
        try {
            b = pending.peekFirst();
            // Another thread may have taken the head meanwhile, or a retire may have queued a bucket
            // with an older goal in front of it. Any bucket tagged with this very goal has passed;
            // a different goal is never judged by order here (it may be stale: see Smr.pollIssued),
            // only by a poll of its own on a later refill.
            if (b == null || b.goal != goal) {
                return false;
            }
            pending.pollFirst();
            pendingItems -= b.count;
        } finally {
            lock.unlock();
        }
        // The bucket is ours alone now: run the hook on every item before any can be handed out.
        int hooked = 0;
        try {
            if (onReclaim != null) {
                for (; hooked < b.count; hooked++) {
                    onReclaim.accept(b.items[hooked]);
                }
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
        lock.lock();
        try {
            take(c, b);
        } finally {
            lock.unlock();
        }
        return true;
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
        lock.lock();
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
        Object[] items = b.items;
        int count = b.count;
        b.items = c.allocItems; // the bucket takes the empty array back to the empties
        b.count = 0;
        empties.addLast(b);
        movedToCaches += count;
        c.allocItems = items;
        c.allocCount = count;
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
     * (freed, not yet tagged), "alloc bucket" (freed earlier, safe, not handed out since), or null.
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
     */
    private void retire(Cache c) {
        final int n = c.freeCount;
        lock.lock();
        try {
            if (wouldPassBound(n)) {
                dropped += n;
                java.util.Arrays.fill(c.freeItems, 0, n, null);
                c.freeCount = 0;
                return;
            }
            // Hold room for the n items while the goal is taken unlocked, so that the bound still
            // holds when they are queued (other threads may queue or flush meanwhile).
            reserved += n;
        } finally {
            lock.unlock();
        }
        final long goal;
        try {
            // After the caller unpublished every item in the array (they were freed before). The
            // array stays in the cache meanwhile: only its owner touches it (a dead owner's cache is
            // claimed by CAS first), so nothing is detached and nothing needs undoing if this throws.
            goal = smr.advance();
        } catch (RuntimeException | Error e) {
            lock.lock();
            try {
                reserved -= n; // refused: the full array stays in the cache for the next push or flush
            } finally {
                lock.unlock();
            }
            throw e;
        }
        lock.lock();
        try {
            reserved -= n;
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

    /** Whether {@code n} more idle items would pass {@code maxIdle} (room held by retires counts). Under lock. */
    private boolean wouldPassBound(long n) {
        return pendingItems + readyItems + reserved + n > maxIdle;
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
        if (c.freeCount > 0) {
            retire(c);
        }
        int n = c.allocCount;
        if (n > 0) {
            lock.lock();
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
     * long-lived threads never does). Returns whether any item moved. A claimed cache is emptied and
     * its slot left ownerless, ready for the next thread that registers.
     */
    boolean recoverDeadCaches() {
        final Thread me = Thread.currentThread();
        boolean moved = false;
        for (Cache c : caches.snapshot()) {
            final Thread owner = c.ownerThread();
            // The dead owner's writes to its cache happen-before our isAlive() that returned false,
            // and the CAS makes us the cache's only user until we give it back.
            if (owner != null && owner != me && !owner.isAlive() && c.claimFrom(owner, me)) {
                try {
                    if (c.allocCount > 0 || c.freeCount > 0) {
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
        lock.lock();
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
        for (Cache c : caches.snapshot()) {
            created += c.created;
            cachedAlloc += c.allocCount;
            cachedFree += c.freeCount;
        }
        // Racy against running threads (see above), so keep the derived figure within its range.
        return new long[] {created, Math.max(0, movedToCaches - cachedAlloc), retired + dropped + cachedFree};
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
        return tagged;
    }

    /** Items in every cache's buckets (racy while running). */
    long cachedItems() {
        long n = 0;
        for (Cache c : caches.snapshot()) {
            n += c.allocCount + c.freeCount;
        }
        return n;
    }
}
