package dev.mpsafe.netstack.ip;

import dev.mpsafe.pcq.Pcq;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The mechanism of a {@link Dispatch} model: the only place protocol code learns which model runs.
 * The IP layer brackets each received packet with {@link #enterInput}/{@link #exitInput} and each
 * caller's send with {@link #enterSocket}/{@link #exitSocket}; a transport brackets its socket
 * calls the same way and keeps each socket's received items in a {@link Mailbox} the model made.
 *
 * <p>Thread safety: safe for any number of threads.
 */
public abstract sealed class DispatchModel permits DispatchModel.BigLock, DispatchModel.MpSafe {

    private DispatchModel() {
        // only the two nested models; obtained through Ipv4Stack.Builder.dispatch
    }

    /** The model for {@code kind}. */
    static DispatchModel of(Dispatch kind) {
        return switch (kind) {
            case BIG_LOCK -> new BigLock();
            case MPSAFE -> new MpSafe();
        };
    }

    /** Which model this is. */
    public abstract Dispatch kind();

    /** Before one received packet's input path. */
    public abstract void enterInput();

    /** After it; on the same thread. */
    public abstract void exitInput();

    /**
     * Before a socket call (bind, connect, send, close) on {@code socket}, or a caller's output
     * (with {@code socket} null). Reentrant.
     */
    public abstract void enterSocket(Object socket);

    /** After it; on the same thread. */
    public abstract void exitSocket(Object socket);

    /** A socket's receive queue holding at most {@code capacity} items. */
    public abstract Mailbox newMailbox(int capacity);

    /**
     * A socket's receive queue: any number of delivering threads, one reading thread at a time
     * (the socket serializes its readers). Delivery never waits: a full mailbox refuses the item.
     */
    public interface Mailbox {
        /** Adds {@code item} and wakes a waiting reader; false (the item not taken) when full. */
        boolean deliver(Object item);

        /**
         * The oldest item: waits up to {@code nanos} for one (forever if negative, not at all if
         * zero) and returns null if none came.
         */
        Object receive(long nanos) throws InterruptedException;

        /** The oldest item, or null when none is queued; never waits. */
        Object poll();

        /** Hands every item now queued to {@code sink}; returns how many. Reader side. */
        int drain(Consumer<Object> sink);

        /** Items queued now (an estimate while deliveries run). */
        int size();

        /** The capacity given at creation. */
        int capacity();
    }

    /** {@link Dispatch#BIG_LOCK}: one reentrant lock around everything. */
    static final class BigLock extends DispatchModel {
        /** The giant lock. Fair locks would cost far more; like softnet_lock it is not fair. */
        final ReentrantLock giant = new ReentrantLock();

        @Override
        public Dispatch kind() {
            return Dispatch.BIG_LOCK;
        }

        @Override
        public void enterInput() {
            giant.lock();
        }

        @Override
        public void exitInput() {
            giant.unlock();
        }

        @Override
        public void enterSocket(Object socket) {
            giant.lock();
        }

        @Override
        public void exitSocket(Object socket) {
            giant.unlock();
        }

        @Override
        public Mailbox newMailbox(int capacity) {
            return new LockedMailbox(giant, capacity);
        }
    }

    /**
     * A pcq used only under the giant lock (so its single-consumer rule holds trivially); a reader
     * waits on a condition of the giant, which releases it while waiting (BSD's sbwait sleeping on
     * softnet_lock) and which delivery, holding the giant, signals.
     */
    static final class LockedMailbox implements Mailbox {
        private final ReentrantLock giant;
        private final Condition readable;
        private final Pcq<Object> queue;

        LockedMailbox(ReentrantLock giant, int capacity) {
            this.giant = giant;
            this.readable = giant.newCondition();
            this.queue = Pcq.create(capacity);
        }

        @Override
        public boolean deliver(Object item) {
            giant.lock(); // held already on the input path; reentrant
            try {
                if (!queue.put(item)) {
                    return false;
                }
                readable.signal();
                return true;
            } finally {
                giant.unlock();
            }
        }

        @Override
        public Object receive(long nanos) throws InterruptedException {
            giant.lockInterruptibly();
            try {
                Object item;
                while ((item = queue.get()) == null) {
                    if (nanos == 0) {
                        return null;
                    }
                    if (nanos < 0) {
                        readable.await();
                    } else if ((nanos = readable.awaitNanos(nanos)) <= 0) {
                        return queue.get();
                    }
                }
                return item;
            } finally {
                giant.unlock();
            }
        }

        @Override
        public Object poll() {
            giant.lock();
            try {
                return queue.get();
            } finally {
                giant.unlock();
            }
        }

        @Override
        public int drain(Consumer<Object> sink) {
            giant.lock();
            try {
                return queue.drain(sink, Integer.MAX_VALUE);
            } finally {
                giant.unlock();
            }
        }

        @Override
        public int size() {
            return queue.size();
        }

        @Override
        public int capacity() {
            return queue.maxItems();
        }
    }

    /** {@link Dispatch#MPSAFE}: no lock; the mailbox is a bare pcq. */
    static final class MpSafe extends DispatchModel {
        @Override
        public Dispatch kind() {
            return Dispatch.MPSAFE;
        }

        @Override
        public void enterInput() {
        }

        @Override
        public void exitInput() {
        }

        @Override
        public void enterSocket(Object socket) {
        }

        @Override
        public void exitSocket(Object socket) {
        }

        @Override
        public Mailbox newMailbox(int capacity) {
            return new PcqMailbox(capacity);
        }
    }

    /**
     * Seed 003's receive queue: delivery is the pcq's lock-free put, which unparks the reader only
     * if it is parked; the reader parks in the pcq's own {@code poll(timeout)}/{@code take()}.
     * The pcq's contract gives the ordering: whatever the delivering thread wrote into the packet
     * before its put happens-before the reader's use of it.
     */
    static final class PcqMailbox implements Mailbox {
        private final Pcq<Object> queue;

        PcqMailbox(int capacity) {
            this.queue = Pcq.create(capacity);
        }

        @Override
        public boolean deliver(Object item) {
            return queue.put(item);
        }

        @Override
        public Object receive(long nanos) throws InterruptedException {
            if (nanos == 0) {
                return queue.get();
            }
            return nanos < 0 ? queue.take() : queue.poll(nanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public Object poll() {
            return queue.get();
        }

        @Override
        public int drain(Consumer<Object> sink) {
            int n = 0;
            Object item;
            while ((item = queue.get()) != null) { // strict: a pending put is waited for, not left behind
                sink.accept(item);
                n++;
            }
            return n;
        }

        @Override
        public int size() {
            return queue.size();
        }

        @Override
        public int capacity() {
            return queue.maxItems();
        }
    }
}
