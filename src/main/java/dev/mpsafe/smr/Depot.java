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
     * them.
     *
     * Safety (never hand out an item a reader may still see): an item enters a free bucket after
     * the caller unpublished it; the bucket's goal is taken later still, so the goal covers every
     * section that could have reached the item. The bucket leaves `pending` only after poll(goal)
     * returned true (in this thread, under the lock). Items of ready buckets have passed already.
     * A thread's free bucket is never allocated from.
     *
     * Bounds: pending + ready items never exceed maxIdle; a full free bucket that would pass the
     * bound is dropped (heap pools only: the GC reclaims the items once no reader holds them, so
     * dropping needs no grace period). Each thread's cache holds at most 2 * bucketSize more.
     */

    /** A fixed-size array of items and the goal that tags it while it is pending. */
    static final class Bucket {
        final Object[] items;
        int count;
        long goal;

        Bucket(int size) {
            items = new Object[size];
        }
    }

    /** A thread's two buckets, padded (ThreadSlot) so that caches of different threads never share a line. */
    static final class Cache extends ThreadSlot {
        Bucket alloc;
        Bucket free;
        /** Items this thread took from its alloc bucket; owner-written, read racily by stats. */
        long reused;
        /** Items this thread freed. */
        long freed;
        /** Items created by the pool for this thread (factory or slab). */
        long created;

        @Override
        protected void resetForNewOwner() {
            // The new owner inherits the buckets and their items: nothing is lost with a thread.
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
    private volatile long tagged;

    @SuppressWarnings("unchecked")
    Depot(Smr smr, int bucketSize, long maxIdle, Consumer<? super T> onReclaim) {
        this.smr = smr;
        this.bucketSize = bucketSize;
        this.maxIdle = maxIdle;
        this.onReclaim = (Consumer<Object>) onReclaim;
        this.caches = new SlotTable<>(Cache.class, () -> {
            Cache c = new Cache();
            c.alloc = new Bucket(bucketSize);
            c.free = new Bucket(bucketSize);
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
        Bucket a = c.alloc;
        if (a.count == 0 && !refill(c)) {
            return null;
        }
        a = c.alloc;
        int n = --a.count;
        Object item = a.items[n];
        a.items[n] = null;
        c.reused++;
        return (T) item;
    }

    /**
     * Gives the cache a ready bucket, or the oldest pending one if its goal passed; false if
     * neither exists. Runs the reclaim hook on a passed bucket's items, outside the lock.
     */
    private boolean refill(Cache c) {
        Bucket b;
        boolean passed = false;
        lock.lock();
        try {
            b = ready.pollFirst();
            if (b != null) {
                readyItems -= b.count;
            } else {
                Bucket head = pending.peekFirst();
                if (head == null || !smr.poll(head.goal)) {
                    return false;
                }
                b = pending.pollFirst();
                pendingItems -= b.count;
                passed = true;
            }
            empties.addLast(c.alloc);
            c.alloc = b;
        } finally {
            lock.unlock();
        }
        if (passed && onReclaim != null) {
            for (int i = 0; i < b.count; i++) {
                onReclaim.accept(b.items[i]);
            }
        }
        return true;
    }

    /** Frees an item the caller has unpublished. */
    void push(Cache c, T item) {
        Bucket f = c.free;
        if (f.count == bucketSize) {
            retire(c); // a previous retire threw (advance inside a section): try again first
            f = c.free;
        }
        f.items[f.count++] = item;
        c.freed++;
        if (f.count == bucketSize) {
            retire(c);
        }
    }

    /**
     * Tags the cache's free bucket with a goal and queues it as pending (or drops it past the
     * bound, if the pool allows); gives the cache an empty free bucket.
     */
    private void retire(Cache c) {
        Bucket f = c.free;
        lock.lock();
        try {
            if (pendingItems + readyItems + f.count > maxIdle) {
                dropped += f.count;
                java.util.Arrays.fill(f.items, 0, f.count, null);
                f.count = 0;
                return;
            }
            f.goal = smr.advance(); // after the caller unpublished every item in the bucket
            pending.addLast(f);
            pendingItems += f.count;
            tagged++;
            long idle = pendingItems + readyItems;
            if (idle > idleHighWater) {
                idleHighWater = idle;
            }
            Bucket e = empties.pollFirst();
            c.free = e != null ? e : new Bucket(bucketSize);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves the calling thread's cached items to the depot: its free items as a pending bucket
     * (tagged now), its safe items as a ready bucket. For a thread that stops using the pool.
     */
    void flush(Cache c) {
        if (c.free.count > 0) {
            retire(c);
        }
        if (c.alloc.count > 0) {
            lock.lock();
            try {
                ready.addLast(c.alloc);
                readyItems += c.alloc.count;
                Bucket e = empties.pollFirst();
                c.alloc = e != null ? e : new Bucket(bucketSize);
            } finally {
                lock.unlock();
            }
        }
    }

    /** Whether a pending bucket exists (something a wait could make available). */
    boolean hasPending() {
        return pendingItems > 0;
    }

    /** Counters for the pool's stats: {created, reused, freed} summed over caches (racy while running). */
    long[] cacheCounters() {
        long created = 0;
        long reused = 0;
        long freed = 0;
        for (Cache c : caches.snapshot()) {
            created += c.created;
            reused += c.reused;
            freed += c.freed;
        }
        return new long[] {created, reused, freed};
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
        return dropped;
    }

    long bucketsTagged() {
        return tagged;
    }

    /** Items in every cache's buckets (racy while running). */
    long cachedItems() {
        long n = 0;
        for (Cache c : caches.snapshot()) {
            n += c.alloc.count + c.free.count;
        }
        return n;
    }
}
