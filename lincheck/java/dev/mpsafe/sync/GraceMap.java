package dev.mpsafe.sync;

import dev.mpsafe.smr.Smr;
import dev.mpsafe.smr.SmrPool;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A small read-mostly hash map built on the grace-period contract, for Lincheck (test code): the
 * shape of a kernel's RCU-protected routing or ARP table. Lookups take no lock and run inside a
 * read section; writers serialize on one lock, never modify a published node (an update publishes
 * a copy), and give unlinked nodes back to a free-list pool only after a grace period. Later puts
 * reuse pooled nodes, so a node recycled too early would be rewritten under a concurrent lookup,
 * which would then return a wrong value or miss a key that was present all along.
 *
 * <p>A fixed number of buckets (key modulo the count; {@value #DEFAULT_BUCKETS} by default, fewer in
 * the Lincheck tests so that their few keys share chains), each a singly linked list; new keys go
 * to the head of their bucket. Keys and values are ints; {@code null} means absent.
 *
 * <p>Thread safety: safe for any number of concurrent {@link #get} callers and writers; writers
 * serialize on the map's lock.
 */
final class GraceMap {

    /*
     * Implementation overview.
     *
     * Buckets: a Protected<Node> per bucket (release store by writers, acquire load by readers).
     * Node.next: plain store while a fresh node is private to the writer, release store when it
     * links a published node to another (unlink, replace), acquire load by readers. key and value
     * are plain: written before the node is published, read after an acquire load of a pointer to
     * it, rewritten only after a grace period (reclaim, reuse).
     *
     * Linearization points: put/remove at their single release store (bucket head or prev.next),
     * or at the lock acquisition when they change nothing. get has no fixed instruction: it returns
     * v for k only if k -> v held at some instant of its walk, since each node it reaches was
     * reached from a node that was either linked at that load or unlinked after the walk reached it
     * (and an unlinked node's next is frozen: writers never modify unlinked nodes, and the grace
     * period keeps them from being reclaimed while the walk's section runs). It returns null only
     * if k was absent at some instant: a key present throughout is only ever replaced in place
     * (same position in its chain), and a walk cannot pass that position without visiting it.
     * Lincheck checks exactly this.
     *
     * Reclamation (Reclaim): SYNCHRONIZE waits in the writer; CALL defers it to a callback that
     * takes the writers' lock; POLL tags it with a cookie and reclaims it once polled; SMR_POOL
     * frees it to an SmrPool, whose reclaim hook poisons it when its goal passed. Reclaiming
     * poisons the node (key MIN_VALUE, next null) before pooling it, so a walk holding a node that
     * was reclaimed too early goes wrong at once even before the node is reused.
     */

    static final int DEFAULT_BUCKETS = 4;
    static final int POISON_KEY = Integer.MIN_VALUE;

    /** How a writer waits for the grace period before pooling an unlinked node. */
    enum Reclaim { SYNCHRONIZE, CALL, POLL, SMR_POOL }

    private final GraceDomain domain;
    private final Reclaim reclaim;
    private final Runnable pump;
    private final ReentrantLock writersLock = new ReentrantLock();
    private final Protected<Node>[] heads;
    /** The pool, linked through next; guarded by writersLock. */
    private Node free;
    /** POLL: unlinked nodes with their goals, oldest first, linked through retiredNext; guarded by writersLock. */
    private Node retiredHead;
    private Node retiredTail;
    /** Nodes taken from the pool (rather than allocated); guarded by writersLock. */
    private long reused;
    /** SMR_POOL: the nodes' pool, instead of the free list; buckets of one, so every free is tagged at once. */
    private final SmrPool<Node> smrPool;

    /** A map with {@value #DEFAULT_BUCKETS} buckets. */
    GraceMap(GraceDomain domain, Reclaim reclaim, Runnable pump) {
        this(domain, reclaim, pump, DEFAULT_BUCKETS);
    }

    /**
     * @param pump called by writers before they take a node from the pool and after they defer a
     *     reclamation with {@code call()} (for schemes whose deferred callbacks run on the caller of
     *     a poll), or null
     */
    @SuppressWarnings("unchecked")
    GraceMap(GraceDomain domain, Reclaim reclaim, Runnable pump, int buckets) {
        if (buckets < 1) {
            throw new IllegalArgumentException("buckets must be >= 1, got " + buckets);
        }
        this.domain = Objects.requireNonNull(domain, "domain");
        this.reclaim = Objects.requireNonNull(reclaim, "reclaim");
        this.pump = pump;
        if (reclaim == Reclaim.CALL && !(domain instanceof Deferring)) {
            throw new IllegalArgumentException("Reclaim.CALL needs a Deferring domain, got " + domain);
        }
        if (reclaim == Reclaim.POLL && !(domain instanceof Polling)) {
            throw new IllegalArgumentException("Reclaim.POLL needs a Polling domain, got " + domain);
        }
        if (reclaim == Reclaim.SMR_POOL && !(domain instanceof Smr)) {
            throw new IllegalArgumentException("Reclaim.SMR_POOL needs an Smr domain, got " + domain);
        }
        smrPool = reclaim == Reclaim.SMR_POOL
                ? SmrPool.<Node>builder((Smr) domain, Node::new).bucketSize(1).onReclaim(GraceMap::poison).build()
                : null;
        heads = new Protected[buckets];
        for (int i = 0; i < buckets; i++) {
            heads[i] = Protected.create(domain, writersLock, null);
        }
    }

    /** The value for {@code key}, or null. Lock-free: one read section. */
    Integer get(int key) {
        try (Section s = domain.enter()) {
            for (Node n = heads[bucket(key)].load(); n != null; n = n.laNext()) {
                if (n.key == key) {
                    return n.value;
                }
            }
            return null;
        }
    }

    /** Maps {@code key} to {@code value}; returns the previous value, or null. */
    Integer put(int key, int value) {
        writersLock.lock();
        try {
            Protected<Node> head = heads[bucket(key)];
            Node prev = null;
            Node n = head.serializedLoad();
            while (n != null && n.key != key) {
                prev = n;
                n = n.next; // plain: only writers modify next, and we hold their lock
            }
            Node fresh = allocate(key, value);
            if (n == null) {
                fresh.next = head.serializedLoad(); // plain: fresh is not yet published
                head.store(fresh); // release: publishes fresh's fields
                return null;
            }
            Integer previous = n.value;
            fresh.next = n.next;
            link(head, prev, fresh); // n is now unreachable for new walks
            retire(n);
            return previous;
        } finally {
            writersLock.unlock();
        }
    }

    /** Removes {@code key}; returns its value, or null if absent. */
    Integer remove(int key) {
        writersLock.lock();
        try {
            Protected<Node> head = heads[bucket(key)];
            Node prev = null;
            Node n = head.serializedLoad();
            while (n != null && n.key != key) {
                prev = n;
                n = n.next;
            }
            if (n == null) {
                return null;
            }
            Integer previous = n.value;
            link(head, prev, n.next);
            retire(n);
            return previous;
        } finally {
            writersLock.unlock();
        }
    }

    /** How many puts took their node from the pool; for tests. */
    long reused() {
        writersLock.lock();
        try {
            return reused;
        } finally {
            writersLock.unlock();
        }
    }

    private int bucket(int key) {
        return Math.floorMod(key, heads.length);
    }

    private static void link(Protected<Node> head, Node prev, Node next) {
        if (prev == null) {
            head.store(next);
        } else {
            prev.soNext(next);
        }
    }

    /** A node from the pool (reused: that is the point), or a new one. Under writersLock. */
    private Node allocate(int key, int value) {
        if (pump != null) {
            pump.run();
        }
        if (reclaim == Reclaim.POLL) {
            reclaimPolled();
        }
        Node n;
        if (smrPool != null) {
            n = smrPool.allocate();
            if (n.key == POISON_KEY) {
                reused++; // the pool's reclaim hook poisoned it: a recycled node
            }
        } else if ((n = free) != null) {
            free = n.next;
            reused++;
        } else {
            n = new Node();
        }
        n.key = key; // plain: the node is private to this writer until published
        n.value = value;
        n.next = null;
        return n;
    }

    /** n has just been unlinked: pool it after a grace period. Under writersLock. */
    private void retire(Node n) {
        switch (reclaim) {
            case SYNCHRONIZE -> {
                domain.synchronize();
                pool(n);
            }
            case CALL -> {
                ((Deferring) domain).call(() -> {
                    writersLock.lock(); // callbacks may run on another thread (the domain's)
                    try {
                        pool(n);
                    } finally {
                        writersLock.unlock();
                    }
                });
                if (pump != null) {
                    pump.run(); // caller-run callbacks: reclaim now if no reader holds it back
                }
            }
            case POLL -> {
                n.goal = ((Polling) domain).advance(); // after the unlink: the release store above
                n.retiredNext = null;
                if (retiredTail == null) {
                    retiredHead = n;
                } else {
                    retiredTail.retiredNext = n;
                }
                retiredTail = n;
            }
            case SMR_POOL -> smrPool.free(n); // after the unlink; the pool tags it with a goal
        }
    }

    /** POLL: pools every retired node whose goal has passed, oldest first. Under writersLock. */
    private void reclaimPolled() {
        Polling polling = (Polling) domain;
        while (retiredHead != null && polling.poll(retiredHead.goal)) {
            Node n = retiredHead;
            retiredHead = n.retiredNext;
            if (retiredHead == null) {
                retiredTail = null;
            }
            pool(n);
        }
    }

    /** Poisons n and puts it in the pool. Under writersLock, after n's grace period. */
    private void pool(Node n) {
        poison(n);
        n.next = free;
        free = n;
    }

    /** After n's grace period: a walk that still held it would now go wrong at once. */
    private static void poison(Node n) {
        n.key = POISON_KEY;
        n.value = -1;
        n.next = null;
    }

    /** A map entry; see the overview for which accesses are plain and why. */
    static final class Node {
        private static final VarHandle NEXT;

        int key;
        int value;
        Node next;
        /** POLL bookkeeping, writer-only. */
        long goal;
        Node retiredNext;

        Node laNext() {
            return (Node) NEXT.getAcquire(this);
        }

        void soNext(Node n) {
            NEXT.setRelease(this, n);
        }

        static {
            try {
                NEXT = MethodHandles.lookup().findVarHandle(Node.class, "next", Node.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }
}
