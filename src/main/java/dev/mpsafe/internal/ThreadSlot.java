package dev.mpsafe.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A reader's slot in a grace-period domain: the one word ({@code state}) a reader writes when it
 * enters or leaves a section and that writers scan, plus the owner-only bookkeeping around it.
 * Every scheme packs the same three fields into it (a scheme-defined tag, an offline bit, the
 * nesting depth; see the layout below) and gives only the tag its own meaning.
 *
 * <p>The slot is padded on both sides of {@code state} so that readers on different cores never
 * share a cache line: a reader's enter and exit then cost a store to a line it owns.
 *
 * <p>Ownership: a slot belongs to one thread at a time ({@link #owner()}). When the owner dies, the
 * slot counts as quiescent and can be claimed by another thread ({@link SlotTable}).
 *
 * <p>Thread safety: {@code state} and {@code owner} are read by any thread; {@code nextWord} is
 * written by pserialize's writers and SMR LAZY's pollers and read by the owner; everything else is
 * touched only by the owner.
 */
@SuppressWarnings("unused")
public abstract class ThreadSlot extends ThreadSlotState {
    long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p2a, p2b, p2c, p2d, p2e, p2f;

    /*
     * The state word, written only by the owner and read by writers:
     *
     *   63                         17   16   15            0
     *   +----------------------------+----+---------------+
     *   |  tag (scheme-defined)      | off|  depth        |
     *   +----------------------------+----+---------------+
     *
     * depth: section nesting depth; 0 = outside any section (what writers test).
     * off:   the owner declared itself offline (owner-only meaning; writers ignore it).
     * tag:   pserialize: the tag of the slot's next word (nextWord below), which a writer
     *        changes before it waits; epoch: the global epoch seen by the outermost enter; SMR:
     *        the write sequence seen by it (LAZY: the one in the slot's next word, which the
     *        slot's constructor and then pollers store). Every scheme's outermost exit stores 0: outside a section only the depth
     *        matters, and the word is 0 while the owner is outside and online.
     *
     * Keeping nesting in the same word means an outermost enter is a load of the word, a load of
     * the tag's source (the global epoch or sequence, or the slot's next word) and one store, and
     * a nested enter never looks like a new section.
     */

    /*
     * The layout's constants and decoders stay public, unlike the accessors below: the schemes'
     * domain classes (not subclasses) decode the words their scans load with them, and so do
     * tests and jcstress tests in other packages. They read and write no slot, so every reader
     * type that inherits them stays harmless.
     */

    /** Mask of the nesting depth in the state word. */
    public static final long DEPTH_MASK = (1L << 16) - 1;
    /** The deepest nesting a participant accepts. */
    public static final int MAX_DEPTH = (int) DEPTH_MASK;
    /** Set while the owner is offline. */
    public static final long OFFLINE_BIT = 1L << 16;
    /** Shift of the scheme's tag. */
    public static final int TAG_SHIFT = 17;

    /** The nesting depth in {@code state}. */
    public static int depthOf(long state) {
        return (int) (state & DEPTH_MASK);
    }

    /** The tag in {@code state}. */
    public static long tagOf(long state) {
        return state >>> TAG_SHIFT;
    }

    protected ThreadSlot() {
    }

    /**
     * Called by the new owner right after it claimed a slot whose previous owner died or released
     * it, before it uses the slot: reset {@code state} to "not reading" without reusing a value a
     * waiting writer may have snapshotted.
     */
    protected abstract void resetForNewOwner();
}

@SuppressWarnings("unused")
abstract class ThreadSlotPad0 {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
}

/*
 * Every accessor here is protected, not public. ThreadSlot's subclasses include the reader types
 * that the schemes' register() returns, public classes of exported packages, and a public member
 * inherited by such a class is callable on every participant a user holds, whatever the module
 * exports: soState(0) would end a section the owner is still in, casOwner would steal the slot.
 * Protected keeps them to the slot classes themselves (on their own type only) and to this package
 * (SlotTable, GraceWait). A scheme's domain class, which is not a subclass, reads its readers
 * through package-private bridges in its final reader class (scanState, orphaned...), one call
 * each, which inline to the accessor. GraceDomainContractTest fails if one becomes public again.
 */
abstract class ThreadSlotState extends ThreadSlotPad0 {
    private static final VarHandle STATE;
    private static final VarHandle OWNER;
    private static final VarHandle NEXT_WORD;

    private long state;
    /**
     * What the owner's next outermost section announces, next to {@code state} inside the same
     * padding (usually in its cache line): pserialize and SMR LAZY use it (their Readers say what the
     * value holds). Written by writers or pollers (and once by the constructor), read by the owner:
     * opaque in pserialize, release and acquire in SMR (each scheme's overview says why).
     */
    private long nextWord;
    private Thread owner;

    /** Volatile load: what a scanning writer reads after its fence. */
    protected final long lvState() {
        return (long) STATE.getVolatile(this);
    }

    /** Acquire load: a writer's re-read while it waits for the state to change. */
    protected final long laState() {
        return (long) STATE.getAcquire(this);
    }

    /** Plain load: only the owner may use it. */
    protected final long lpState() {
        return (long) STATE.get(this);
    }

    /**
     * Release store, for every change the owner makes (see ReaderSlot's ordering note): it orders
     * every earlier read and write of the owner before it. It does not order it before later loads:
     * an announcement is followed by a full fence (fenced modes) or relies on the writer's
     * membarrier (asymmetric modes), and HotSpot places compiler barriers around it as around an
     * opaque store, so the JIT does not drop, merge or delay it.
     */
    protected final void soState(long value) {
        STATE.setRelease(this, value);
    }

    /** Opaque load of the next word: the owner's outermost enter (pserialize). */
    protected final long loNextWord() {
        return (long) NEXT_WORD.getOpaque(this);
    }

    /** Opaque store of the next word (pserialize's perform; pserialize defines the value). */
    protected final void soNextWord(long value) {
        NEXT_WORD.setOpaque(this, value);
    }

    /**
     * Acquire load of the next word: the owner's outermost enter in SMR LAZY, whose section must
     * see what the poller that stored the word had seen (see Smr's overview).
     */
    protected final long laNextWord() {
        return (long) NEXT_WORD.getAcquire(this);
    }

    /** Release store of the next word: an SMR LAZY reader's constructor, before publication. */
    protected final void srNextWord(long value) {
        NEXT_WORD.setRelease(this, value);
    }

    /**
     * CAS of the next word (volatile, so also a release): an SMR LAZY poller hands the reader a
     * newer sequence only if no other poller changed the word since it read it.
     */
    protected final boolean casNextWord(long expect, long value) {
        return NEXT_WORD.compareAndSet(this, expect, value);
    }

    /**
     * The owning thread, or null while the slot is free (volatile load). Not offered to users:
     * a participant belongs to the thread that uses it, and a stall report names the thread.
     */
    protected final Thread owner() {
        return (Thread) OWNER.getVolatile(this);
    }

    /** Claims the slot from {@code expect} (null, or a dead thread) for {@code update}. */
    protected final boolean casOwner(Thread expect, Thread update) {
        return OWNER.compareAndSet(this, expect, update);
    }

    /** Volatile store of the owner: a new slot's first owner, or null when it is given back. */
    protected final void svOwner(Thread value) {
        OWNER.setVolatile(this, value);
    }

    /** Whether the owner is gone: then the slot can hold no section, whatever its state says. */
    protected final boolean ownerGone() {
        Thread t = owner();
        return t == null || !t.isAlive();
    }

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(ThreadSlotState.class, "state", long.class);
            OWNER = l.findVarHandle(ThreadSlotState.class, "owner", Thread.class);
            NEXT_WORD = l.findVarHandle(ThreadSlotState.class, "nextWord", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
