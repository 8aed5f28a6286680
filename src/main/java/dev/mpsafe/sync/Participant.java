package dev.mpsafe.sync;

/**
 * A thread's registration with a {@link GraceDomain}: its reader slot. Obtain one with
 * {@link GraceDomain#register()} and keep it in a local or a field of a thread-confined object; it
 * is the zero-overhead path, skipping the thread-local lookup of {@link GraceDomain#enter()}.
 *
 * <p>Only the thread that registered may use a participant. With {@code -ea} other threads get an
 * {@link IllegalStateException}. (The check of {@code enter} follows the assertion status of the
 * scheme's package, that of the other operations the status of {@code dev.mpsafe.internal}; a
 * plain {@code -ea} turns both on.)
 *
 * <h2>Nesting</h2>
 * Sections nest: {@link #enter()} inside a section only counts, and the section ends at the
 * matching outermost {@link #exit()}. An {@code exit()} without an {@code enter()} throws
 * {@link IllegalStateException}. Nesting is per domain: sections of different domains are
 * independent. The token form ({@link #enterToken()}, {@link #exit(long)}) nests the same way and
 * mixes with the plain one: a level opened by {@code enterToken()} may be closed by {@code exit()}.
 *
 * <h2>Rules inside a section</h2>
 * Keep it short and do not block: a writer waiting for a grace period waits for the section. A
 * thread inside a section must not call the same domain's waiting operations
 * ({@code synchronize}, {@code barrier}); they throw {@link IllegalStateException} instead of
 * deadlocking.
 *
 * <h2>Offline</h2>
 * {@link #offline()} declares that the thread will not enter sections of this domain until
 * {@link #online()}, for example before it blocks for long. For these schemes a thread outside a
 * section is already quiescent, so offline is a promise that the library checks ({@code enter}
 * while offline throws) and that lets writers' scans and stall reports skip the slot.
 *
 * <h2>Lifetime</h2>
 * When the thread terminates, its slot counts as quiescent at once, even if the thread died inside
 * a section, and is recycled for the next thread that registers. {@link #release()} gives it back
 * earlier.
 *
 * <p>Thread safety: confined to the registering thread.
 */
public interface Participant extends Section {

    /** The domain this participant belongs to. */
    GraceDomain domain();

    /**
     * Enters a section, or one more nesting level of the current one.
     *
     * @throws IllegalStateException if the participant is offline or released, or (with
     *     {@code -ea}) used by a thread other than its owner. Without {@code -ea}, an enter through a
     *     kept reference to a released participant is refused only until another registration
     *     reuses its slot; after that it would nest on the new owner's section, so never use a
     *     participant after {@link #release()}
     */
    void enter();

    /**
     * Leaves one nesting level; the section ends at the outermost level.
     *
     * @throws IllegalStateException if not inside a section
     */
    void exit();

    /**
     * Enters like {@link #enter()} and returns a token for the matching {@link #exit(long)}: the
     * fastest section, for the hottest paths. NetBSD's readers work the same way
     * ({@code s = pserialize_read_enter(); ... pserialize_read_exit(s);}).
     * <pre>{@code
     * long t = p.enterToken();
     * try {
     *     ... read ...
     * } finally {
     *     p.exit(t);
     * }
     * }</pre>
     * The token is the participant's state before this enter. {@code exit(t)} stores it back and
     * does not load the state first, which saves the dependent load of {@link #exit()}. Tokens nest
     * like the sections they open: exit them in the reverse order of their enters.
     *
     * <p>The default implementation is {@link #enter()} and returns 0; the library's participants
     * override it.
     *
     * @return the token to pass to {@link #exit(long)}; meaningful only to this participant
     * @throws IllegalStateException as {@link #enter()}
     */
    default long enterToken() {
        enter();
        return 0L;
    }

    /**
     * Leaves the section level that the {@link #enterToken()} which returned {@code token} opened.
     *
     * <p>Checked only with {@code -ea} (the check is the load this form saves): then a token that
     * does not belong to the innermost open level of this participant, an exit without an enter,
     * or a caller other than the owner gets an {@link IllegalStateException} and the state is left
     * as it was. Without {@code -ea} such a misuse is not detected: a wrong token can end a section
     * too early, leave the participant looking inside one, which stalls writers (their stall
     * reports name this thread), or overwrite an offline or released mark, so that a later
     * {@link #enter()} is no longer refused. Use {@link #enter()}/{@link #exit()} where that is not
     * acceptable.
     *
     * <p>The default implementation is {@link #exit()}; the library's participants override it.
     *
     * @param token what the matching {@link #enterToken()} returned
     * @throws IllegalStateException with {@code -ea}, as described above
     */
    default void exit(long token) {
        exit();
    }

    /** Same as {@link #exit()}, for try-with-resources on the result of {@link GraceDomain#enter()}. */
    @Override
    default void close() {
        exit();
    }

    /** Whether the thread is inside a section of this domain. */
    boolean inSection();

    /**
     * Declares the thread offline: it promises not to enter a section until {@link #online()}.
     *
     * @throws IllegalStateException if inside a section
     */
    void offline();

    /** Ends {@link #offline()}. */
    void online();

    /**
     * Gives the slot back to the domain; the participant must not be used again. A second
     * {@code release()} is such a use: it throws with {@code -ea} (the slot has no owner) and does
     * nothing without it.
     *
     * @throws IllegalStateException if inside a section, or (with {@code -ea}) called by a thread
     *     other than the owner, or a second time
     */
    void release();
}
