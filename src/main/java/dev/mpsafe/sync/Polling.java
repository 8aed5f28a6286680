package dev.mpsafe.sync;

/**
 * A domain with cookies: take a goal now, check later without blocking (FreeBSD's
 * {@code smr_advance}/{@code smr_poll}, liburcu's {@code start_poll_synchronize_rcu}). This is what
 * pools build on: tag freed items with a goal, reuse them once {@link #poll(long)} says it passed.
 */
public interface Polling extends GraceDomain {

    /**
     * Returns a goal that is reached once every section that began before this call has ended.
     * Never blocks.
     */
    long advance();

    /**
     * Whether {@code goal} has been reached. Never blocks; may scan the readers a bounded number of
     * times (a scheme's page says how many) to make progress.
     */
    boolean poll(long goal);
}
