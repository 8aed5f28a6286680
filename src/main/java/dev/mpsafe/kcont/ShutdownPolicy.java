package dev.mpsafe.kcont;

/** What {@link KcontGroup#shutdown(ShutdownPolicy)} does with continuations that are still pending. */
public enum ShutdownPolicy {
    /**
     * Run every continuation that is pending for immediate execution or whose deadline has passed,
     * until none is left; continuations whose deadline is still in the future are discarded and
     * counted ({@link KcontGroup#discardedCount()}). New {@code schedule} calls are refused
     * ({@link java.util.concurrent.RejectedExecutionException}) from the moment shutdown starts, so a
     * continuation that keeps rescheduling itself cannot hold it up.
     */
    RUN_PENDING,
    /**
     * Finish the continuation that is running now, then discard every pending one and count it
     * ({@link KcontGroup#discardedCount()}).
     */
    DISCARD
}
