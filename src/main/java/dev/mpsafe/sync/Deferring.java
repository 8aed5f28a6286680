package dev.mpsafe.sync;

/**
 * A domain that runs callbacks after a grace period: epoch_call / call_rcu.
 *
 * <p>Callbacks never run on a thread that is inside a section of this domain, and the library never
 * waits for a callback from inside one. A callback that throws is counted and handed to the
 * domain's error handler ({@link GraceOptions#callbackErrorHandler}); the domain keeps working.
 *
 * <p>Memory consistency effects: actions in a thread before it calls {@link #call(Runnable)}
 * happen-before the callback runs.
 */
public interface Deferring extends GraceDomain {

    /**
     * Runs {@code callback} after every section that began before this call has ended. Never runs
     * it before returning. May be called inside a section.
     *
     * @throws NullPointerException if {@code callback} is null
     * @throws IllegalStateException if the domain is closed
     */
    void call(Runnable callback);

    /**
     * Waits until every callback passed to {@link #call} before this call has run (epoch_drain_callbacks,
     * rcu_barrier).
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     */
    void barrier();

    /** Callbacks accepted and not yet run. */
    long pendingCallbacks();

    /**
     * Whether the domain was closed, so that {@link #call} refuses every callback from now on.
     * Callers that must decide before they change anything whether a deferral will be accepted
     * (a socket's close unlinks first and defers after) ask here; the domain's read sections and
     * {@link #synchronize()} keep working after a close. The default is for domains that cannot
     * be closed.
     */
    default boolean isClosed() {
        return false;
    }
}
