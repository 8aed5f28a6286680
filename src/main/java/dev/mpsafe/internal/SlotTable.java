package dev.mpsafe.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The registry of a domain's reader slots: writers scan {@link #snapshot()}, readers claim a slot
 * once and keep it. A slot whose owner thread has terminated (or released it) is recycled for the
 * next registering thread before the table grows, so a pool of short-lived threads does not grow
 * the scan.
 *
 * <p>Ordering: a new slot is published by the volatile store of the array, and its owner is set
 * before that. A reader registers before its first announcement, so a writer whose scan follows
 * (in the synchronization order) a reader's announcement also sees the reader's slot in the array.
 *
 * <p>Lookup: {@link #current()} first tries a small direct-mapped cache indexed by the thread's id
 * and validated by the slot's owner, and falls back to a {@link ThreadLocal}. A cache entry is a
 * hint, never trusted: a slot is used only if its owner is the calling thread, which only that
 * thread can have made true (it created the slot, or claimed it by CAS). Entries are installed
 * only over an empty entry or one whose owner is gone, so two live threads whose ids collide do not
 * evict each other back and forth: the later one keeps using the thread-local. A thread can lose
 * its thread-local while it lives (JDK 25's common-pool workers clear theirs every time they go
 * idle); its next lookup then finds its slot again by owner in {@link #register()}, instead of
 * taking a new one while the old one, owned by a live thread, could never be recycled.
 *
 * <p>Thread safety: safe for concurrent use; growth is serialized by a lock, lookups are lock-free.
 *
 * @param <S> the scheme's slot type
 */
public final class SlotTable<S extends ThreadSlot> {

    private static final VarHandle SLOTS;
    private static final VarHandle HINTS = MethodHandles.arrayElementVarHandle(ThreadSlot[].class);
    /** Entries of the thread-id cache; a power of two. */
    static final int HINT_ENTRIES = 128;

    private final ReentrantLock growLock = new ReentrantLock();
    private final Supplier<S> factory;
    /**
     * The calling thread's slot, held weakly. A strong value would pin the domain for as long as
     * the thread lives: the value (the slot) reaches the domain, the domain this table, and the table
     * this thread-local, which is the key of the thread's entry, so the entry's weak key would never
     * clear. The slots array keeps every slot strongly reachable while the domain is.
     */
    private final ThreadLocal<WeakReference<S>> mine = new ThreadLocal<>();
    /** The thread-id cache: slot i holds a hint for threads whose id is i modulo its length. */
    private final ThreadSlot[] hints = new ThreadSlot[HINT_ENTRIES];
    @SuppressWarnings("unused") // accessed through SLOTS; its runtime type is S[]
    private ThreadSlot[] slots;

    /**
     * @param type the slot class, so that {@link #snapshot()} is a real {@code S[]}
     * @param factory makes a new slot
     */
    @SuppressWarnings("unchecked")
    public SlotTable(Class<S> type, Supplier<S> factory) {
        this.factory = factory;
        SLOTS.setVolatile(this, (ThreadSlot[]) java.lang.reflect.Array.newInstance(type, 0));
    }

    /** The slots registered so far, including free ones; never modified after publication. */
    @SuppressWarnings("unchecked")
    public S[] snapshot() {
        return (S[]) SLOTS.getVolatile(this);
    }

    /** The number of slots (live, dead or free) a writer scans. */
    public int size() {
        return snapshot().length;
    }

    /** The calling thread's slot, registering it on first use. */
    @SuppressWarnings("unchecked")
    public S current() {
        final Thread me = Thread.currentThread();
        // A plain read is enough: the entry is only a hint, and the owner check below is what
        // makes it ours (see the class comment). A stale or torn-in-time entry fails that check.
        ThreadSlot h = hints[hintIndex(me)];
        if (h != null && h.owner() == me) {
            return (S) h;
        }
        return currentSlow(me);
    }

    private S currentSlow(Thread me) {
        S s = mineOrNull();
        if (s == null || s.owner() != me) {
            s = register();
            mine.set(new WeakReference<>(s));
        }
        int i = hintIndex(me);
        ThreadSlot h = (ThreadSlot) HINTS.getVolatile(hints, i);
        if (h == null || h.ownerGone() || h == s) {
            HINTS.setRelease(hints, i, s);
        }
        return s;
    }

    /** The calling thread's slot if it has one, without registering. */
    public S currentIfRegistered() {
        final Thread me = Thread.currentThread();
        ThreadSlot h = hints[hintIndex(me)];
        if (h != null && h.owner() == me) {
            @SuppressWarnings("unchecked")
            S s = (S) h;
            return s;
        }
        S s = mineOrNull();
        return s != null && s.owner() == me ? s : null;
    }

    private S mineOrNull() {
        final WeakReference<S> ref = mine.get();
        return ref == null ? null : ref.get();
    }

    private static int hintIndex(Thread t) {
        return (int) t.threadId() & (HINT_ENTRIES - 1);
    }

    /**
     * Gives the calling thread its slot: the one it already owns (after it lost its thread-local;
     * see the class comment), else a recycled one whose owner is gone, else a new one. Each call
     * returns a slot owned by the caller that no other thread holds; a thread owns at most one.
     */
    public S register() {
        final Thread me = Thread.currentThread();
        for (S s : snapshot()) {
            Thread owner = s.owner();
            if (owner == me) {
                return s; // ours already, state and all: only the thread-local was lost
            }
            if ((owner == null || !owner.isAlive()) && s.casOwner(owner, me)) {
                s.resetForNewOwner();
                return s;
            }
        }
        S s = factory.get();
        s.svOwner(me);
        growLock.lock();
        try {
            S[] old = snapshot();
            S[] grown = Arrays.copyOf(old, old.length + 1); // keeps the runtime type S[]
            grown[old.length] = s;
            SLOTS.setVolatile(this, grown);
        } finally {
            growLock.unlock();
        }
        return s;
    }

    /** Gives a slot back for reuse; the caller must own it and be outside any section. */
    public void release(S s) {
        if (s.owner() == Thread.currentThread()) {
            s.resetForNewOwner();
            // Offline until the next owner's reset: an enter() through a kept reference to the
            // released participant takes the slow path and is refused there, at no cost to the
            // fast path (writers skip offline slots, and an ownerless one anyway). Once another
            // thread registers and the reset clears the bit, only the -ea owner check still
            // catches such an enter (Participant.enter says so).
            s.soState(s.lpState() | ThreadSlot.OFFLINE_BIT); // release, as every state store (ReaderSlot)
            s.svOwner(null); // the hint, if it points here, now fails the owner check
            if (mineOrNull() == s) {
                mine.remove();
            }
        }
    }

    static {
        try {
            SLOTS = MethodHandles.lookup().findVarHandle(SlotTable.class, "slots", ThreadSlot[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
