package dev.mpsafe.pcq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.AbstractQueue;
import java.util.Iterator;

/**
 * Benchmark-only: a faithful model of NetBSD's {@code subr_pcq.c} design, kept to show in numbers
 * why {@link Pcq} departs from it. Not part of the library.
 *
 * <ul>
 *   <li>Both indices live in one 32-bit word, 16 bits each (producer high, consumer low), so the
 *       capacity is at most 65535 and one slot is always empty: {@code n} slots hold {@code n - 1}
 *       items.</li>
 *   <li>A producer claims a slot by CAS on that word, then release-stores its item.</li>
 *   <li>The consumer also CASes the same word to advance its index, retrying against producers'
 *       claims, so every get contends with every put for one cache line.</li>
 *   <li>A claimed but unwritten slot makes get return null (the relaxed behaviour).</li>
 * </ul>
 *
 * Thread safety: any number of producers, one consumer.
 */
final class NetBsdPcq<E> extends AbstractQueue<E> {

    static final int MAX_SLOTS = 0xffff;

    private static final VarHandle PC;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

    @SuppressWarnings("unused") // accessed through PC
    private volatile int pc;
    private final int slots;
    private final Object[] items;

    NetBsdPcq(int slots) {
        if (slots < 2 || slots > MAX_SLOTS) {
            throw new IllegalArgumentException("NetBSD pcq needs 2.." + MAX_SLOTS + " slots, got " + slots);
        }
        this.slots = slots;
        this.items = new Object[slots];
    }

    private int next(int index) {
        int n = index + 1;
        return n == slots ? 0 : n;
    }

    @Override
    public boolean offer(E e) {
        int word;
        int producer;
        for (;;) {
            word = (int) PC.getOpaque(this);
            producer = word >>> 16;
            int consumer = word & 0xffff;
            int nextProducer = next(producer);
            if (nextProducer == consumer) {
                return false; // full, with one slot still empty
            }
            if (PC.compareAndSet(this, word, (nextProducer << 16) | consumer)) {
                break;
            }
        }
        SLOT.setRelease(items, producer, e);
        return true;
    }

    @Override
    @SuppressWarnings("unchecked")
    public E poll() {
        int word = (int) PC.getOpaque(this);
        int consumer = word & 0xffff;
        if ((word >>> 16) == consumer) {
            return null; // empty
        }
        E e = (E) SLOT.getAcquire(items, consumer);
        if (e == null) {
            return null; // claimed, not yet written: NetBSD returns NULL here
        }
        SLOT.set(items, consumer, null);
        int nextConsumer = next(consumer);
        // The slot clear must be visible before the index moves; the CAS is a full barrier.
        while (!PC.compareAndSet(this, word, (word & 0xffff0000) | nextConsumer)) {
            word = (int) PC.getOpaque(this);
        }
        return e;
    }

    @Override
    @SuppressWarnings("unchecked")
    public E peek() {
        int word = (int) PC.getOpaque(this);
        return (E) SLOT.getAcquire(items, word & 0xffff);
    }

    @Override
    public int size() {
        int word = (int) PC.getVolatile(this);
        int n = (word >>> 16) - (word & 0xffff);
        return n < 0 ? n + slots : n;
    }

    @Override
    public Iterator<E> iterator() {
        throw new UnsupportedOperationException();
    }

    static {
        try {
            PC = MethodHandles.lookup().findVarHandle(NetBsdPcq.class, "pc", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
