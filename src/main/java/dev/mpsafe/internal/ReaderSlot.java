package dev.mpsafe.internal;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Participant;

/**
 * The part of a participant that every scheme shares: nesting, both exits, offline/online, release
 * and the ownership check, all on the {@link ThreadSlot} state word. A scheme supplies the outermost
 * enter (its announcement, in {@link #enterToken()}), and says how to reset the slot for a new owner
 * and how to give it back. Every scheme keeps the word at 0 while the owner is outside a section
 * and online, so an enter's fast path is one test, and the outermost exit (and its token) is the
 * constant 0.
 *
 * <p>Ordering: every store the owner makes to the state word is a release store: the outermost
 * enter and exit (in the schemes and here), nested enters and exits, offline, online, and the
 * table's release. Whatever value a writer's scan reads with its acquire load, then, every read
 * of the owner's earlier sections happens-before the scan, and so before what the writer does
 * once the grace period ends. A scan can end a grace period on any of those values (depth 0 after
 * an exit or an offline, a newer tag from the next section, a nested level of it), so an opaque
 * store anywhere would leave that edge to the hardware instead of the JMM. A release store is a
 * plain {@code mov} on x86 and an {@code stlr} on ARM (jcstress GraceNextSectionReleaseTest).
 *
 * <p>Thread safety: confined to the owner thread, like the participant it is.
 */
public abstract class ReaderSlot extends ThreadSlot implements Participant {

    /**
     * Whether exit, offline, online and release check that the caller owns the slot (each
     * scheme's enter checks it too). Every state change is the owner's alone: another thread's
     * exit, offline or online would race the owner's plain read-modify-write of the state word
     * (and could end a section the owner is still in), and its release would silently do nothing.
     * Only with {@code -ea}: a static final, so without it the checks cost nothing.
     */
    private static final boolean CHECKS = ReaderSlot.class.desiredAssertionStatus();

    private final GraceDomain domain;
    private final String kind;

    /**
     * @param domain the domain this slot belongs to
     * @param kind the scheme's name for messages ("pserialize", "epoch")
     */
    protected ReaderSlot(GraceDomain domain, String kind) {
        this.domain = domain;
        this.kind = kind;
    }

    @Override
    public final GraceDomain domain() {
        return domain;
    }

    /** Gives the slot back to the domain's table. */
    protected abstract void releaseSlot();

    /**
     * The scheme's enter: announces an outermost section, or nests through
     * {@link #enterNested(long)}. Returns the state before the call, which is the token.
     */
    @Override
    public abstract long enterToken();

    @Override
    public final void enter() {
        enterToken();
    }

    /**
     * Restores the state the matching enter found: 0 after an outermost level (every scheme's
     * "outside, online" state), the outer level after a nested one. A release store, like every
     * store of the owner (see the class comment), so the section's reads happen-before a scan that
     * sees it. No load: that is the whole point of the token (with -ea, {@link #checkToken} loads).
     */
    @Override
    public final void exit(long token) {
        if (CHECKS) {
            checkToken(token);
        }
        soState(token);
    }

    /**
     * The -ea check of {@link #exit(long)}: the owner, and exactly the token the innermost level's
     * enter returned (0 below an outermost level, the state minus one below a nested one).
     */
    private void checkToken(long token) {
        checkOwner("exit(token)");
        final long s = lpState();
        if (depthOf(s) == 0) {
            throw fail("exit(token) without enter()");
        }
        if (token != (depthOf(s) == 1 ? 0L : s - 1)) {
            throw fail("exit(token): token 0x" + Long.toHexString(token)
                    + " is not the state before the innermost open level (state 0x" + Long.toHexString(s)
                    + ", depth " + depthOf(s) + ")");
        }
    }

    /** The slow path of enter: already inside (nest one more level), or offline (refuse). */
    protected final void enterNested(long s) {
        if ((s & OFFLINE_BIT) != 0) {
            throw fail(owner() == null ? "enter() on a released participant; register() a new one"
                    : "enter() on an offline participant; call online() first");
        }
        if (depthOf(s) == MAX_DEPTH) {
            throw fail("sections nested deeper than " + MAX_DEPTH);
        }
        soState(s + 1); // same tag: writers keep waiting for this section (release: see the class comment)
    }

    /**
     * Leaves one level: the outermost exit stores 0 (every scheme's writers look only at the depth
     * of a slot outside a section), a nested one the depth minus one. The release store orders the
     * section's reads before it. Storing a constant rather than the reloaded state minus one keeps
     * the store's value independent of the reload, so a reader that enters again at once does not
     * wait for this exit's load to feed its own.
     */
    @Override
    public final void exit() {
        if (CHECKS) {
            checkOwner("exit()");
        }
        final long s = lpState();
        if ((s & DEPTH_MASK) == 1) {
            soState(0L); // depth 0, tag 0, online (a section cannot be offline)
        } else {
            exitNested(s);
        }
    }

    private void exitNested(long s) {
        if (depthOf(s) == 0) {
            throw fail("exit() " + ((s & OFFLINE_BIT) != 0 ? "on an offline participant" : "without enter()"));
        }
        soState(s - 1);
    }

    @Override
    public final boolean inSection() {
        return depthOf(lpState()) != 0;
    }

    @Override
    public final void offline() {
        if (CHECKS) {
            checkOwner("offline()");
        }
        final long s = lpState();
        if (depthOf(s) != 0) {
            throw fail("offline() inside a section");
        }
        soState(s | OFFLINE_BIT);
    }

    @Override
    public final void online() {
        if (owner() == null) {
            throw fail("online() on a released participant; register() a new one");
        }
        if (CHECKS) {
            checkOwner("online()");
        }
        soState(lpState() & ~OFFLINE_BIT);
    }

    @Override
    public final void release() {
        if (CHECKS) {
            checkOwner("release()");
        }
        if (inSection()) {
            throw fail("release() inside a section");
        }
        releaseSlot();
    }

    /** Throws unless the calling thread owns this slot (the -ea check of every participant operation). */
    protected final void checkOwner(String op) {
        Thread owner = owner();
        if (owner != Thread.currentThread()) {
            throw fail(op + " by thread '" + Thread.currentThread().getName() + "' on a participant owned by "
                    + (owner == null ? "nobody (released)" : "'" + owner.getName() + "'"));
        }
    }

    private IllegalStateException fail(String what) {
        return new IllegalStateException(kind + " '" + domain.name() + "': " + what);
    }

    @Override
    public String toString() {
        Thread o = owner();
        return kind + " participant of " + (o == null ? "nobody" : o.getName()) + ", depth " + depthOf(lpState());
    }
}
