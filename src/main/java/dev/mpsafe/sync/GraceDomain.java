package dev.mpsafe.sync;

/**
 * The grace-period contract every scheme provides: read sections, and a synchronous wait for the
 * sections that began before it.
 *
 * <h2>Read side</h2>
 * <pre>{@code
 * try (Section _ = domain.enter()) { ...read shared objects... }    // convenient
 *
 * Participant p = domain.register();                                 // hot path: keep p
 * p.enter(); try { ... } finally { p.exit(); }
 * }</pre>
 * Both forms allocate nothing per section. Sections nest (see {@link Participant}).
 *
 * <h2>Write side</h2>
 * A writer unpublishes an object (for example with {@link Protected#store}), then calls
 * {@link #synchronize()}: when it returns, no section that could have seen the object is still
 * running, and the object can be reclaimed. Schemes that also defer callbacks implement
 * {@link Deferring}; schemes with cookies implement {@link Polling}.
 *
 * <p>Memory consistency effects: every action inside a section that {@code synchronize()} waited
 * for happens-before the actions that follow {@code synchronize()} in the writer; and a section
 * that the writer did not wait for began after the writer's call, so it sees every write the
 * writer made before calling.
 *
 * <p>Thread safety: all methods are safe from any thread, subject to the per-method rules.
 */
public interface GraceDomain {

    /** A name for stall reports, JFR events and thread names. */
    String name();

    /**
     * Enters a section with the calling thread's participant, registering the thread on first use.
     * Costs a thread-local lookup more than {@link Participant#enter()}.
     *
     * @return the thread's participant, to close the section with try-with-resources
     */
    Section enter();

    /**
     * Returns the calling thread's participant, registering the thread if needed. The same object
     * {@link #enter()} uses.
     */
    Participant register();

    /** Whether the calling thread is inside a section of this domain; for assertions. */
    boolean inSection();

    /**
     * Waits until every section that began before this call has ended. Parks rather than spinning
     * for long; reports stalls (see {@link GraceOptions#stallThreshold}).
     *
     * <p>Not interruptible: an interrupt neither ends the wait nor is lost; the calling thread
     * returns with its interrupt status as it was (set if it was interrupted before or during the
     * wait).
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain: the
     *     wait would never end
     */
    void synchronize();

    /** The number of reader slots a writer scans (live, dead and free); for monitoring. */
    int participants();
}
