package dev.mpsafe.sync;

/**
 * A domain that runs callbacks after a grace period: epoch_call / call_rcu.
 *
 * <p>Callbacks never run on a thread that is inside a section of this domain, and the library never
 * waits for a callback from inside one. A callback that throws is counted and handed to the
 * domain's error handler ({@link GraceOptions#callbackErrorHandler}); the domain keeps working.
 *
 * <p>Interrupts: the waits ({@link #barrier()}, and a {@link #call} that waits for room at the
 * pending bound) are not interruptible and keep the caller's interrupt status, as
 * {@link #synchronize()} does. A domain that runs callbacks on its callers' threads runs each with
 * the interrupt status clear and gives the caller back its own status afterwards: a callback can
 * neither see the caller's interrupt nor clear or set it for the caller.
 *
 * <p>Memory consistency effects: actions in a thread before it calls {@link #call(Runnable)}
 * happen-before the callback runs.
 */
public interface Deferring extends GraceDomain {

    /**
     * Runs {@code callback} after every section that began before this call has ended. Never runs
     * it before returning. May be called inside a section. Where the domain bounds its pending
     * callbacks, a call outside a section at the bound first waits for room (not interruptibly).
     *
     * <p>A call either accepts the callback, and then returns normally and runs it exactly once, or
     * refuses it by throwing, and then never runs it: an implementation must not throw once it has
     * accepted the callback. {@link #callOrWait} relies on this to run a refused action itself
     * without running it twice.
     *
     * @throws NullPointerException if {@code callback} is null
     * @throws IllegalStateException if the domain is closed, or cannot take callbacks now for a
     *     reason the implementation documents (an {@code Epoch} whose domain thread could not be
     *     started); the callback was refused
     */
    void call(Runnable callback);

    /**
     * Waits until every callback passed to {@link #call} before this call has run (epoch_drain_callbacks,
     * rcu_barrier). Not interruptible: keeps the caller's interrupt status.
     *
     * @throws IllegalStateException if the calling thread is inside a section of this domain
     */
    void barrier();

    /** Callbacks accepted and not yet run. */
    long pendingCallbacks();

    /**
     * Whether the calling thread runs this domain's callbacks now: it is the domain's own callback
     * thread, or a caller's thread while it runs callbacks for the domain. Such a thread must not
     * wait for another thread that may itself be waiting for callbacks to run (at the pending
     * bound, or in {@link #barrier()}): that thread would wait for this one. A socket's
     * {@code close()} checks it before it waits for another close, as it checks
     * {@link #inSection()}. The default, {@code false}, suits only a domain that never runs
     * callbacks on a thread that could block on such a wait; an implementation that does (its own
     * thread, or callers' threads) must override it, or code that relies on it deadlocks there.
     */
    default boolean inCallback() {
        return false;
    }

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

    /**
     * Whether {@code domain} takes deferred callbacks now: it is {@code Deferring} and not closed.
     * Callers that must decide before they change anything of their own ask here.
     */
    static boolean canDefer(GraceDomain domain) {
        return domain instanceof Deferring deferring && !deferring.isClosed();
    }

    /**
     * Runs {@code action} exactly once, once every section of {@code domain} that began before this
     * call has ended: through {@link #call} when the domain {@linkplain #canDefer can defer}, else
     * (or if {@code call} refuses it: the domain was closed during this call, or could not take
     * callbacks for another reason it documents) after {@link GraceDomain#synchronize()} on this
     * thread. Callers check first, with {@link #canDefer}, that they are not inside a section when
     * the domain cannot defer.
     *
     * @param done what the caller has already done, for the message if {@code action} cannot run
     * @throws IllegalStateException if {@code call} refused the action while the calling thread is
     *     inside one of the domain's sections (waiting would never end): {@code action} did not run
     *     and never will; the refusal is the cause. Also whatever {@code synchronize()} throws when
     *     called inside a section.
     */
    static void callOrWait(GraceDomain domain, Runnable action, String done) {
        if (canDefer(domain)) {
            try {
                ((Deferring) domain).call(action);
                return;
            } catch (IllegalStateException refused) {
                // call() throws only when it refused the action (its contract above), so running it
                // here cannot run it twice. Refused because the domain was closed since the check,
                // or could not take it now (an Epoch that could not start its domain thread). Wait
                // here instead, unless this thread is in a section: that wait would never end.
                if (domain.inSection()) {
                    IllegalStateException e = new IllegalStateException(done + ", but domain '" + domain.name()
                            + "' refused the action that was to follow the grace period ("
                            + (((Deferring) domain).isClosed() ? "closed meanwhile" : refused.getMessage())
                            + ") and this thread is inside one of its sections: the action did not run and"
                            + " will not");
                    e.initCause(refused);
                    throw e;
                }
            }
        }
        domain.synchronize();
        action.run();
    }
}
