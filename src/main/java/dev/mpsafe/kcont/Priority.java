package dev.mpsafe.kcont;

/**
 * The priority class of a continuation. Every round of a worker first runs the expired timers,
 * then serves these classes in declaration order, each up to its per-round count budget and within
 * the round's time budget, and always at least one continuation of every class that has work: so a
 * class can delay the ones after it by at most one round, never starve them.
 *
 * <p>The order follows Linux's softirq vectors (timers before network receive), not NetBSD's
 * softint levels, where the network ranks above the clock (seed 004: a saturated network path
 * stopped TCP timers).
 */
public enum Priority {
    /** Clock work: timer follow-ups, protocol timers' immediate work. Served first. */
    CLOCK,
    /** Network work: packet input and output, socket wake-ups. */
    NET,
    /** Everything else: bulk copies, housekeeping. Served last, but every round. */
    BULK
}
