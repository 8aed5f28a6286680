package dev.mpsafe.pcq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.AbstractQueue;
import java.util.Collection;
import java.util.Iterator;
import java.util.Objects;
import java.util.Spliterator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A bounded, lock-free, multi-producer single-consumer FIFO queue: NetBSD's {@code pcq(9)} contract
 * without its traps.
 *
 * <p>Any number of threads may {@link #put} at once; one thread at a time may consume with
 * {@link #get}, {@link #peek}, {@link #relaxedGet}, {@link #drain}, {@link #take} or
 * {@link #poll(long, TimeUnit)}. The consumer may change over time, provided the hand-over itself
 * happens-before the next consumer's first call (a lock, a {@code Thread.join}, a volatile flag).
 * With assertions enabled ({@code -ea}) two threads that consume at the same moment get an
 * {@link IllegalStateException}; without them that misuse is undefined behaviour.
 *
 * <h2>Capacity</h2>
 * {@link #create(int)} takes any capacity from 1 to {@link #MAX_CAPACITY} (2<sup>30</sup>), and
 * {@link #maxItems()} returns exactly that number: a queue of capacity {@code n} holds {@code n}
 * items, not NetBSD's {@code n - 1}, and the capacity need not be a power of two.
 *
 * <h2>Strict and relaxed consumption</h2>
 * A producer first claims a slot (an atomic increment of the producer index) and then writes its
 * item into it. Between the two steps the item is <em>pending</em>:
 * <ul>
 *   <li>{@link #get()}, {@link #peek()}, {@link #take()} and {@link #poll(long, TimeUnit)} are
 *       <b>strict</b>: if any slot has been claimed they wait (spinning, a few nanoseconds unless
 *       the producer was preempted between the two steps) for the item to appear. A strict get
 *       therefore never returns {@code null} while a completed put is pending. {@code take} and
 *       {@code poll(timeout)} wait for a pending item by spinning, then yielding, then sleeping
 *       in steps of at most {@value #PENDING_PARK_NANOS} ns, so they stay interruptible, and
 *       {@code poll(timeout)} is strict only until its deadline: at the deadline it returns
 *       {@code null} even if the oldest slot is still pending.</li>
 *   <li>{@link #relaxedGet()}, {@link #relaxedPeek()} and {@link #drain(Consumer, int)} are
 *       <b>relaxed</b>: they never wait, and report empty (or stop) at a claimed slot whose item is
 *       not written yet, even when a later producer has already completed its put. This is what
 *       NetBSD's {@code pcq_get} does. Use them when the caller will look again anyway (an event
 *       loop) and must never spin behind a preempted producer.</li>
 * </ul>
 * A producer that never completes its put (its thread is stopped between the two steps, say by a
 * {@code StackOverflowError}) leaves its slot pending for good: {@code get}, {@code peek} and
 * {@code clear} then wait forever, {@code take} waits until interrupted, and the relaxed
 * operations report empty while {@link #size()} counts the slot. JCTools' array queues share this;
 * it is the price of a claim-then-write queue without locks.
 *
 * <h2>Size</h2>
 * {@link #size()} returns the number of claimed slots not yet consumed, read as one consistent
 * snapshot of both indices: it is never negative, never above {@link #maxItems()}, exact when the
 * queue is quiescent, and counts pending items (so {@code size() > 0} may be followed by a
 * {@code relaxedGet()} that returns {@code null}, but a strict {@code get()} then returns an item).
 * {@link #isEmpty()} is {@code size() == 0}. Both are estimates the moment they return.
 *
 * <h2>Interoperability</h2>
 * Pcq implements {@link java.util.Queue}: {@code offer} is {@link #put}, {@code poll()} is
 * {@link #get}, and {@code add}, {@code remove()} and {@code element()} follow from them (the last
 * two are consumer operations). {@link #clear()} is a consumer operation that removes only what
 * was claimed when it started. Unsupported, because they would need to
 * traverse or edit the middle of a queue that producers are writing, and throwing
 * {@link UnsupportedOperationException}: {@link #iterator()} and everything built on it
 * ({@code contains}, {@code containsAll}, {@code remove(Object)}, {@code removeAll},
 * {@code retainAll}, {@code removeIf}, {@code toArray}, {@code forEach}, {@code spliterator},
 * {@code stream}, {@code parallelStream}, and so copying it into another collection), each
 * failing at the call itself; and {@link #addAll}, which could not be atomic on a bounded
 * multi-producer queue. {@code toString()} is supported: it gives the size and capacity, never
 * the items.
 *
 * <h2>Blocking</h2>
 * The consumer can park in {@link #take()} or {@link #poll(long, TimeUnit)}; both honour
 * interrupts. Before it parks, the consumer announces itself in a field and looks at the queue
 * once more. A producer pays for a wake-up (an {@code unpark}) only when it finds that
 * announcement, and only one producer per announcement: each clears it by CAS before it unparks
 * (so a producer preempted between its CAS and its unpark delays the wake-up until it runs again).
 * Otherwise a put's only extra cost is one load of a field the consumer rarely writes. A producer
 * that finds the announcement just as the consumer's second look finds its item wakes a consumer
 * that did not park; that consumer's next {@code park} then returns at once, a spurious wake-up
 * that {@link LockSupport} callers must tolerate anyway. Parking uses {@link LockSupport}, so a
 * virtual-thread consumer releases its carrier.
 *
 * <p>Thread safety: safe for any number of producer threads and one consumer thread at a time.
 *
 * <p>Memory consistency effects: actions in a thread before it {@code put}s an object
 * <i>happen-before</i> actions after the consumer obtains that object from any consumer operation.
 *
 * <p>Allocation: {@code put}, {@code get}, {@code peek}, {@code relaxedGet} and {@code drain}
 * allocate nothing.
 *
 * @param <E> the type of the elements
 */
public final class Pcq<E> extends PcqPad4<E> {

    /*
     * Implementation overview.
     *
     * Source: NetBSD sys/kern/subr_pcq.c keeps both 16-bit indices packed in one 32-bit word that
     * producers and the consumer both CAS; capacity is at most 65535 and one slot is lost to tell
     * full from empty; pcq_get returns NULL for a claimed but unwritten slot. We keep the contract
     * and use the layout of JCTools' MpscArrayQueue (Vyukov-style bounded MPSC) instead:
     *
     *   - producerIndex (pIndex): 64-bit, advanced only by a producer's CAS (the claim);
     *   - consumerIndex (cIndex): 64-bit, written only by the consumer, with release stores;
     *   - producerLimit: a cache of cIndex + capacity so that producers rarely read cIndex, whose
     *     cache line the consumer owns;
     *   - buffer: an array whose length is the next power of two >= capacity (plus padding at both
     *     ends), indexed by index & mask. Capacity is enforced by the limit, not by the array
     *     length, so any capacity is usable in full and no slot is sacrificed.
     *
     * Indices are unbounded 64-bit counters compared only by signed difference, so they may wrap
     * (the tests start them next to Long.MAX_VALUE through createAt).
     *
     * Invariants (at every instant):
     *   I1  cIndex <= pIndex <= cIndex + capacity        (signed differences)
     *   I2  slots [cIndex, pIndex) are claimed; each holds its item or null while pending
     *   I3  slots outside [cIndex, pIndex) hold null
     *   I4  producerLimit <= cIndex + capacity           (any value a producer computed)
     *
     * Linearization points:
     *   put:  the successful CAS of pIndex (FIFO order = claim order), or, when full, the load of
     *         cIndex that showed pIndex - cIndex >= capacity.
     *   get (strict): the release store of cIndex + 1; an empty result linearizes at the load of
     *         pIndex that showed pIndex == cIndex.
     *   relaxedGet: as get, but it may also report empty at the load of a slot whose item is
     *         pending; that result is not linearizable when a later put has completed, which is
     *         what "relaxed" means (lincheck/PcqRelaxedLincheckTest shows it).
     *
     * Publication:
     *   P1  a producer's plain writes to its item, and the item reference, are published by the
     *       release store of the slot (soElement); the consumer's acquire load of the slot
     *       (laElement) pairs with it.
     *   P2  the consumer nulls a slot with a plain store and then release-stores cIndex; a producer
     *       that reads cIndex (acquire), or reads a producerLimit computed from it (the limit is
     *       release-stored and acquire-loaded), therefore happens-after the null store, and its own
     *       later element store cannot be overwritten by that null.
     *
     * The wake-up protocol is a Dekker (store-buffering) pattern and needs StoreLoad order on both
     * sides, so its accesses are volatile:
     *   consumer: svWaiter(me); then lvProducerIndex(); parks only if pIndex == cIndex;
     *   producer: casProducerIndex(); ...; then lvWaiter(); unparks if non-null.
     * Volatile accesses are totally ordered (synchronization order). If the consumer's load of pIndex
     * missed the producer's CAS, it precedes the CAS in that order, so the consumer's store of the
     * waiter precedes it too, and the producer's later load of the waiter sees the consumer (the
     * consumer clears it only after it returns from park). With release/acquire instead, both sides
     * can miss each other and the consumer sleeps on a non-empty queue: the jcstress negative control
     * PcqWakeupWeakNegativeControl shows exactly that on x86.
     *
     * Progress: put is lock-free (a failed CAS means another producer succeeded). Relaxed consumer
     * operations are wait-free. Strict ones are blocking in the narrow sense that they wait for a
     * producer that has claimed a slot to write it: a producer preempted between its claim and its
     * write delays a strict consumer, as in JCTools and every array-based MPSC queue.
     *
     * Benign races: producerLimit may be lowered by a producer holding an older, smaller limit (I4
     * still holds; the next producer re-reads cIndex). size() reads the two indices at different
     * times and retries until cIndex was stable around the pIndex load.
     */

    /** The largest capacity {@link #create(int)} accepts: 2<sup>30</sup> = 1,073,741,824 items. */
    public static final int MAX_CAPACITY = 1 << 30;

    private static final boolean CHECK_SINGLE_CONSUMER = Pcq.class.desiredAssertionStatus();

    /** Result codes of {@link #put0}. */
    static final int FULL = 0;
    static final int PUT = 1;
    static final int PUT_AND_WOKE = 2;

    private Pcq(int capacity, long startIndex) {
        super(capacity, startIndex);
    }

    /**
     * Creates an empty queue that holds up to {@code capacity} items.
     *
     * @param capacity the exact number of items the queue can hold, from 1 to {@link #MAX_CAPACITY}
     * @param <E> the element type
     * @return a new, empty queue
     * @throws IllegalArgumentException if {@code capacity} is below 1 or above {@link #MAX_CAPACITY}
     */
    public static <E> Pcq<E> create(int capacity) {
        return new Pcq<>(checkCapacity(capacity), 0L);
    }

    /** Test hook: a queue whose indices both start at {@code startIndex}, to exercise wraparound. */
    static <E> Pcq<E> createAt(int capacity, long startIndex) {
        return new Pcq<>(checkCapacity(capacity), startIndex);
    }

    private static int checkCapacity(int capacity) {
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException(
                    "pcq capacity must be between 1 and " + MAX_CAPACITY + " (Pcq.MAX_CAPACITY), got " + capacity);
        }
        return capacity;
    }

    /**
     * Returns the capacity: the exact number of items this queue can hold.
     *
     * @return the capacity given to {@link #create(int)}
     */
    public int maxItems() {
        return capacity;
    }

    // ------------------------------------------------------------------------------------------
    // Producers

    /**
     * Appends {@code e} if there is room. Any thread may call it, concurrently with other producers
     * and with the consumer.
     *
     * @param e the item, not {@code null}
     * @return {@code true} if the item was added, {@code false} if the queue was full
     * @throws NullPointerException if {@code e} is {@code null} (null is how the consumer operations
     *     report an empty queue, so it cannot be an item)
     */
    public boolean put(E e) {
        return put0(e) != FULL;
    }

    /** {@link #put}, reporting whether it had to wake a parked consumer (for the jcstress tests). */
    int put0(E e) {
        if (e == null) {
            throw new NullPointerException("pcq does not accept null items: null is how get() reports an empty queue");
        }
        final int capacity = this.capacity;
        long producerLimit = lvProducerLimit();
        long pIndex;
        do {
            pIndex = lvProducerIndex();
            if (pIndex - producerLimit >= 0) {
                // NOTE: acquire load of cIndex pairs with the consumer's release store (P2).
                producerLimit = laConsumerIndex() + capacity;
                if (pIndex - producerLimit >= 0) {
                    return FULL;
                }
                soProducerLimit(producerLimit); // benign race: see the overview
            }
        } while (!casProducerIndex(pIndex, pIndex + 1));
        soElement(buffer, offset(pIndex, mask), e); // P1: publishes the item and what it points to
        // Dekker with the consumer's svWaiter/lvProducerIndex: our CAS above is the store, this the load.
        final Thread waiter = lvWaiter();
        // Claim the wake-up before paying for it: of the producers that see one announcement, only
        // the one whose CAS clears it unparks. A failed CAS means another producer (or the consumer
        // itself, retracting) took it, and the consumer needs nothing more from us.
        if (waiter != null && casWaiter(waiter, null)) {
            LockSupport.unpark(waiter);
            return PUT_AND_WOKE;
        }
        return PUT;
    }

    /**
     * Same as {@link #put}; {@link java.util.Queue} compatibility.
     *
     * @throws NullPointerException if {@code e} is {@code null}
     */
    @Override
    public boolean offer(E e) {
        return put0(e) != FULL;
    }

    /**
     * Adds {@code e} or throws if the queue is full.
     *
     * @throws IllegalStateException if the queue is full, naming the capacity
     * @throws NullPointerException if {@code e} is {@code null}
     */
    @Override
    public boolean add(E e) {
        if (put0(e) == FULL) {
            throw new IllegalStateException("pcq is full: capacity " + capacity + " items");
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------
    // The consumer: strict operations

    /**
     * Removes and returns the oldest item, or returns {@code null} if no slot has been claimed.
     * Strict: if the oldest slot is claimed but its producer has not written it yet, waits for it.
     * Single consumer only.
     *
     * @return the oldest item, or {@code null} if the queue is empty
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    public E get() {
        assert enterConsumer("get()");
        try {
            return get0();
        } finally {
            assert exitConsumer();
        }
    }

    /** Same as {@link #get()}: strict, single consumer only. */
    @Override
    public E poll() {
        return get();
    }

    private E get0() {
        final Object[] buffer = this.buffer;
        final long cIndex = lpConsumerIndex();
        final int offset = offset(cIndex, mask);
        E e = laElement(buffer, offset);
        if (e == null) {
            if (cIndex == lvProducerIndex()) {
                return null; // empty: nothing claimed
            }
            // A producer has claimed the slot and not yet written it: wait for its release store.
            do {
                Thread.onSpinWait();
                e = laElement(buffer, offset);
            } while (e == null);
        }
        spElement(buffer, offset, null); // published to producers by the release store below (P2)
        soConsumerIndex(cIndex + 1);
        return e;
    }

    /**
     * Returns the oldest item without removing it, or {@code null} if no slot has been claimed.
     * Strict, like {@link #get()}. Single consumer only.
     *
     * @return the oldest item, or {@code null} if the queue is empty
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    @Override
    public E peek() {
        assert enterConsumer("peek()");
        try {
            final Object[] buffer = this.buffer;
            final long cIndex = lpConsumerIndex();
            final int offset = offset(cIndex, mask);
            E e = laElement(buffer, offset);
            if (e == null && cIndex != lvProducerIndex()) {
                do {
                    Thread.onSpinWait();
                    e = laElement(buffer, offset);
                } while (e == null);
            }
            return e;
        } finally {
            assert exitConsumer();
        }
    }

    // ------------------------------------------------------------------------------------------
    // The consumer: relaxed operations

    /**
     * Removes and returns the oldest item if it has been written, else returns {@code null} at once.
     * Relaxed: returns {@code null} while the oldest slot's producer is between its claim and its
     * write, even if later producers have completed their puts. Single consumer only.
     *
     * @return the oldest item, or {@code null} if it is absent or not yet written
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    public E relaxedGet() {
        assert enterConsumer("relaxedGet()");
        try {
            return takeWritten();
        } finally {
            assert exitConsumer();
        }
    }

    /** The relaxed removal: the oldest item if its producer has written it, else {@code null}. */
    private E takeWritten() {
        final Object[] buffer = this.buffer;
        final long cIndex = lpConsumerIndex();
        final int offset = offset(cIndex, mask);
        final E e = laElement(buffer, offset);
        if (e != null) {
            spElement(buffer, offset, null); // published to producers by the release store below (P2)
            soConsumerIndex(cIndex + 1);
        }
        return e;
    }

    /**
     * Returns the oldest item if it has been written, else {@code null}, without removing it.
     * Relaxed, like {@link #relaxedGet()}. Single consumer only.
     *
     * @return the oldest item, or {@code null} if it is absent or not yet written
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    public E relaxedPeek() {
        assert enterConsumer("relaxedPeek()");
        try {
            return laElement(buffer, offset(lpConsumerIndex(), mask));
        } finally {
            assert exitConsumer();
        }
    }

    /**
     * Removes up to {@code limit} items, oldest first, and hands each to {@code consumer}. Relaxed:
     * stops early at the first slot whose item is not yet written. Each item is removed before it
     * is handed over, so if {@code consumer} throws, that item and the ones before it are consumed
     * and the rest stay queued. {@code consumer} may call other consumer operations of this queue.
     * Single consumer only.
     *
     * @param consumer receives the items
     * @param limit the most items to remove, {@code >= 0}
     * @return the number of items removed
     * @throws IllegalArgumentException if {@code limit} is negative
     * @throws NullPointerException if {@code consumer} is {@code null}
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    public int drain(Consumer<? super E> consumer, int limit) {
        Objects.requireNonNull(consumer, "consumer");
        if (limit < 0) {
            throw new IllegalArgumentException("drain limit must be >= 0, got " + limit);
        }
        assert enterConsumer("drain()");
        try {
            final Object[] buffer = this.buffer;
            final long mask = this.mask;
            int n = 0;
            while (n < limit) {
                // Re-read cIndex: the consumer callback may itself have consumed.
                final long cIndex = lpConsumerIndex();
                final int offset = offset(cIndex, mask);
                final E e = laElement(buffer, offset);
                if (e == null) {
                    break;
                }
                spElement(buffer, offset, null);
                soConsumerIndex(cIndex + 1);
                n++;
                consumer.accept(e);
            }
            return n;
        } finally {
            assert exitConsumer();
        }
    }

    // ------------------------------------------------------------------------------------------
    // The consumer: blocking

    /**
     * Removes and returns the oldest item, parking until one arrives. Strict. Single consumer only.
     *
     * @return the oldest item
     * @throws InterruptedException if the thread is interrupted on entry or while waiting; no item
     *     is consumed then
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    public E take() throws InterruptedException {
        assert enterConsumer("take()");
        try {
            return await(false, 0L);
        } finally {
            assert exitConsumer();
        }
    }

    /**
     * Removes and returns the oldest item, parking up to {@code timeout} for one to arrive. Strict
     * until the deadline: it waits for an item whose producer has claimed its slot but not yet
     * written it, and returns {@code null} only when the deadline passes with no item written in
     * the oldest slot. So with a zero timeout it behaves like {@link #relaxedGet()}. Single consumer
     * only.
     *
     * @param timeout how long to wait; zero or negative means do not wait
     * @param unit the unit of {@code timeout}
     * @return the oldest item, or {@code null} if none was written there in time
     * @throws InterruptedException if the thread is interrupted on entry or while waiting; no item
     *     is consumed then
     * @throws NullPointerException if {@code unit} is {@code null}
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    public E poll(long timeout, TimeUnit unit) throws InterruptedException {
        final long nanos = unit.toNanos(timeout);
        assert enterConsumer("poll(timeout)");
        try {
            return await(true, nanos);
        } finally {
            assert exitConsumer();
        }
    }

    private E await(boolean timed, long nanos) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (timed && nanos <= 0L) {
            return takeWritten(); // do not wait (and a saturated negative timeout cannot wrap below)
        }
        final long deadline = timed ? System.nanoTime() + nanos : 0L;
        final Thread me = Thread.currentThread();
        int pendingRounds = 0;
        for (;;) {
            final E e = takeWritten();
            if (e != null) {
                return e;
            }
            if (timed && (nanos = deadline - System.nanoTime()) <= 0L) {
                return null; // possibly with the oldest slot still pending: see poll(timeout)
            }
            if (lvProducerIndex() != lpConsumerIndex()) {
                // Pending: the oldest slot is claimed and its item not yet written. The Dekker
                // pair that owes us an unpark is the producer's claim (a volatile CAS) and its
                // waiter load; its write of the item is only a release store, and a release store
                // followed by a volatile load gives no StoreLoad order. So a producer may load
                // waiter before its write is visible to us, see no waiter, and never unpark: no
                // unpark is owed for this wait and parking untimed could sleep forever. Back off
                // instead, checking the deadline and the interrupt status between rounds.
                pendingWait(pendingRounds, timed, nanos);
                if (pendingRounds < PENDING_SPINS + PENDING_YIELDS) {
                    pendingRounds++; // saturates: past it every round sleeps, for as long as it takes
                }
            } else {
                pendingRounds = 0;
                if (prepareToPark(me)) {
                    if (timed) {
                        LockSupport.parkNanos(this, nanos);
                    } else {
                        LockSupport.park(this);
                    }
                }
                svWaiter(null); // nothing after this relies on it being seen promptly; see overview
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    /** Spin rounds before a consumer waiting on a pending slot starts yielding. */
    static final int PENDING_SPINS = 256;
    /** Yield rounds after the spins, before it starts sleeping. */
    static final int PENDING_YIELDS = 64;
    /** The longest sleep between looks at a pending slot, in ns: bounds the delay once it is written. */
    static final long PENDING_PARK_NANOS = 50_000L;

    /**
     * One round of waiting for a pending slot's producer: spin (it normally writes within
     * nanoseconds), then yield (it may be preempted), then sleep briefly (it may be descheduled for
     * long, or have died between its claim and its write). A timed sleep returns on interrupt.
     */
    private void pendingWait(int round, boolean timed, long nanosLeft) {
        if (round < PENDING_SPINS) {
            Thread.onSpinWait();
        } else if (round < PENDING_SPINS + PENDING_YIELDS) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(this, timed ? Math.min(nanosLeft, PENDING_PARK_NANOS) : PENDING_PARK_NANOS);
        }
    }

    /**
     * The consumer half of the wake-up protocol: announce that we are about to park, then look at
     * the producer index again. Returns {@code true} if nothing was claimed, so parking is safe: any
     * producer whose claim we missed will see the announcement and unpark us.
     */
    boolean prepareToPark(Thread me) {
        svWaiter(me); // volatile store: must not pass the volatile load of pIndex below (StoreLoad)
        return lvProducerIndex() == lpConsumerIndex();
    }

    // ------------------------------------------------------------------------------------------
    // Size

    /**
     * Returns the number of claimed, unconsumed slots: never negative, never above
     * {@link #maxItems()}. It is a consistent snapshot taken at one instant and includes items whose
     * producers have claimed a slot but not yet written it. Any thread may call it.
     *
     * @return the number of items in the queue, pending ones included
     */
    @Override
    public int size() {
        long after = lvConsumerIndex();
        for (;;) {
            final long before = after;
            final long pIndex = lvProducerIndex();
            after = lvConsumerIndex();
            if (before == after) {
                // cIndex was stable around the pIndex load, so by I1 0 <= size <= capacity.
                return (int) (pIndex - after);
            }
        }
    }

    /**
     * Returns whether no slot is claimed: {@code size() == 0}. Any thread may call it.
     *
     * @return {@code true} if the queue is empty
     */
    @Override
    public boolean isEmpty() {
        // cIndex first: pIndex only grows, so a later pIndex read can only make us say "not empty".
        final long cIndex = lvConsumerIndex();
        return lvProducerIndex() == cIndex;
    }

    /**
     * Removes the items that were claimed when it started, and no later ones: it returns even while
     * producers keep putting. Strict, like {@link #get()}: it waits for each of those items whose
     * producer is between its claim and its write. Single consumer only.
     *
     * @throws IllegalStateException with assertions enabled, if another thread is consuming now
     */
    @Override
    public void clear() {
        assert enterConsumer("clear()");
        try {
            final long end = lvProducerIndex();
            while (lpConsumerIndex() - end < 0) {
                get0(); // never null here: every index below end has been claimed
            }
        } finally {
            assert exitConsumer();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Unsupported java.util.Queue operations

    /**
     * Unsupported: a pcq cannot be traversed while producers write it.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Iterator<E> iterator() {
        throw traversal("iterator()");
    }

    /**
     * Unsupported, like {@link #iterator()}. Overridden so that it fails here, at once, rather
     * than from the spliterator's first use.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Spliterator<E> spliterator() {
        throw traversal("spliterator()");
    }

    /**
     * Unsupported, like {@link #iterator()}.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Stream<E> stream() {
        throw traversal("stream()");
    }

    /**
     * Unsupported, like {@link #iterator()}.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Stream<E> parallelStream() {
        throw traversal("parallelStream()");
    }

    /**
     * Unsupported, like {@link #iterator()}: {@link #drain} is the way to visit every item, taking it.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public void forEach(Consumer<? super E> action) {
        throw traversal("forEach()");
    }

    /**
     * Unsupported, like {@link #iterator()}.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public boolean removeIf(Predicate<? super E> filter) {
        throw traversal("removeIf()");
    }

    /**
     * Unsupported, like {@code contains}: it fails for every argument, an empty collection
     * included, rather than answering {@code true} for that one.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public boolean containsAll(Collection<?> c) {
        throw traversal("containsAll()");
    }

    private static UnsupportedOperationException traversal(String op) {
        return new UnsupportedOperationException("pcq does not support " + op
                + " (nor iteration, contains, remove(Object), toArray): use drain()");
    }

    /**
     * Unsupported: adding several items cannot be atomic on a bounded multi-producer queue.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public boolean addAll(Collection<? extends E> c) {
        throw new UnsupportedOperationException(
                "pcq does not support addAll: it could not be atomic; call put() per item and handle false");
    }

    /** Returns a summary with the size and capacity; never the items. */
    @Override
    public String toString() {
        return "Pcq[size=" + size() + ", capacity=" + capacity + "]";
    }

    // ------------------------------------------------------------------------------------------
    // Single-consumer misuse detection (only with -ea)

    /** Consumer-only nesting depth of the owner, for drain callbacks that consume. */
    private int consumerDepth;

    private boolean enterConsumer(String operation) {
        if (CHECK_SINGLE_CONSUMER) {
            final Thread me = Thread.currentThread();
            final Thread owner = lvConsumerOwner();
            if (owner == me) {
                consumerDepth++;
            } else if (owner == null && casConsumerOwner(null, me)) {
                consumerDepth = 1;
            } else {
                final Thread other = lvConsumerOwner();
                throw new IllegalStateException("pcq has a single consumer: " + operation + " called by thread '"
                        + me.getName() + "' while thread '" + (other == null ? "?" : other.getName())
                        + "' is consuming");
            }
        }
        return true;
    }

    private boolean exitConsumer() {
        if (CHECK_SINGLE_CONSUMER && --consumerDepth == 0) {
            soConsumerOwner(null);
        }
        return true;
    }
}

// ----------------------------------------------------------------------------------------------
// Field layout: one hot field per cache line, in a padding chain (superclass fields come first).
// 128 bytes of padding covers adjacent-line prefetch on x86 and 128-byte lines on Apple/ARM parts.

@SuppressWarnings("unused")
abstract class PcqPad0<E> extends AbstractQueue<E> {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** Written by producers' CAS; read by producers and (for emptiness) the consumer. */
abstract class PcqProducerIndexField<E> extends PcqPad0<E> {
    private static final VarHandle PRODUCER_INDEX;

    private volatile long producerIndex;

    final long lvProducerIndex() {
        return producerIndex;
    }

    final boolean casProducerIndex(long expect, long update) {
        return PRODUCER_INDEX.compareAndSet(this, expect, update);
    }

    final void spProducerIndex(long value) {
        PRODUCER_INDEX.set(this, value);
    }

    static {
        try {
            PRODUCER_INDEX = MethodHandles.lookup().findVarHandle(PcqProducerIndexField.class, "producerIndex", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}

@SuppressWarnings("unused")
abstract class PcqPad1<E> extends PcqProducerIndexField<E> {
    long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;
}

/** Producers' cached view of cIndex + capacity; read by every put, written rarely. */
abstract class PcqProducerLimitField<E> extends PcqPad1<E> {
    private static final VarHandle PRODUCER_LIMIT;

    private long producerLimit;

    final long lvProducerLimit() {
        return (long) PRODUCER_LIMIT.getAcquire(this); // pairs with soProducerLimit (P2)
    }

    final void soProducerLimit(long value) {
        PRODUCER_LIMIT.setRelease(this, value);
    }

    static {
        try {
            PRODUCER_LIMIT = MethodHandles.lookup().findVarHandle(PcqProducerLimitField.class, "producerLimit", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}

@SuppressWarnings("unused")
abstract class PcqPad2<E> extends PcqProducerLimitField<E> {
    long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p2a, p2b, p2c, p2d, p2e, p2f;
}

/** Written only by the consumer (and by a misbehaving second consumer under -ea). */
abstract class PcqConsumerFields<E> extends PcqPad2<E> {
    private static final VarHandle CONSUMER_INDEX;
    private static final VarHandle CONSUMER_OWNER;

    private long consumerIndex;
    /** The thread inside a consumer operation; maintained only with -ea. */
    private Thread consumerOwner;

    final long lpConsumerIndex() {
        return (long) CONSUMER_INDEX.get(this); // only the consumer writes it
    }

    final long laConsumerIndex() {
        return (long) CONSUMER_INDEX.getAcquire(this);
    }

    final long lvConsumerIndex() {
        return (long) CONSUMER_INDEX.getVolatile(this);
    }

    final void soConsumerIndex(long value) {
        CONSUMER_INDEX.setRelease(this, value);
    }

    final Thread lvConsumerOwner() {
        return (Thread) CONSUMER_OWNER.getVolatile(this);
    }

    final boolean casConsumerOwner(Thread expect, Thread update) {
        return CONSUMER_OWNER.compareAndSet(this, expect, update);
    }

    final void soConsumerOwner(Thread value) {
        CONSUMER_OWNER.setRelease(this, value);
    }

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CONSUMER_INDEX = lookup.findVarHandle(PcqConsumerFields.class, "consumerIndex", long.class);
            CONSUMER_OWNER = lookup.findVarHandle(PcqConsumerFields.class, "consumerOwner", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}

@SuppressWarnings("unused")
abstract class PcqPad3<E> extends PcqConsumerFields<E> {
    long p30, p31, p32, p33, p34, p35, p36, p37, p38, p39, p3a, p3b, p3c, p3d, p3e, p3f;
}

/**
 * Read by every put, written only when the consumer parks or wakes: kept off the consumer-index
 * line so producers do not miss in cache each time the consumer advances.
 */
abstract class PcqWaiterField<E> extends PcqPad3<E> {
    private static final VarHandle WAITER;

    private volatile Thread waiter;

    final Thread lvWaiter() {
        return waiter;
    }

    final void svWaiter(Thread value) {
        waiter = value;
    }

    final boolean casWaiter(Thread expect, Thread update) {
        return WAITER.compareAndSet(this, expect, update);
    }

    static {
        try {
            WAITER = MethodHandles.lookup().findVarHandle(PcqWaiterField.class, "waiter", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}

/**
 * The read-only fields and the slot accessors. HotSpot fills holes left by superclasses with a
 * subclass's fields, so these land next to {@code waiter} (JOL: waiter, buffer, mask, capacity in
 * one line). That costs nothing: every put reads {@code waiter} anyway, and only parking writes it.
 * The trailing padding is a class of its own ({@link PcqPad4}): in the same class as these fields,
 * HotSpot would lay the longs first and leave {@code capacity} at the object's tail, next to
 * whatever the heap puts after the queue.
 */
abstract class PcqFields<E> extends PcqWaiterField<E> {
    /** Empty slots before and after the used part of the array, so no other object shares its lines. */
    static final int BUFFER_PAD = 32;

    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

    final int capacity;
    final long mask;
    final Object[] buffer;

    PcqFields(int capacity, long startIndex) {
        this.capacity = capacity;
        final int length = 1 << (32 - Integer.numberOfLeadingZeros(capacity - 1)); // next power of two
        this.mask = length - 1;
        this.buffer = new Object[length + 2 * BUFFER_PAD];
        spProducerIndex(startIndex);
        soProducerLimit(startIndex + capacity);
        soConsumerIndex(startIndex);
    }

    static int offset(long index, long mask) {
        return BUFFER_PAD + (int) (index & mask);
    }

    @SuppressWarnings("unchecked")
    static <E> E laElement(Object[] buffer, int offset) {
        return (E) SLOT.getAcquire(buffer, offset);
    }

    static void soElement(Object[] buffer, int offset, Object e) {
        SLOT.setRelease(buffer, offset, e);
    }

    static void spElement(Object[] buffer, int offset, Object e) {
        SLOT.set(buffer, offset, e);
    }
}

/** Trailing padding: nothing after the queue's fields shares their cache line. */
@SuppressWarnings("unused")
abstract class PcqPad4<E> extends PcqFields<E> {
    long p40, p41, p42, p43, p44, p45, p46, p47, p48, p49, p4a, p4b, p4c, p4d, p4e, p4f;

    PcqPad4(int capacity, long startIndex) {
        super(capacity, startIndex);
    }
}
