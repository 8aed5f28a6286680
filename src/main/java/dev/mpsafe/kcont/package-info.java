/**
 * kcont: kernel continuations, timers and worker "CPUs" that never starve the clock.
 *
 * <p>A {@link dev.mpsafe.kcont.KcontGroup} owns {@link dev.mpsafe.kcont.Worker}s, one thread each,
 * by default one per processor. A {@link dev.mpsafe.kcont.Kcont} is a preallocated, reusable
 * continuation bound to a worker: {@code schedule} it now or after a delay from any thread (no
 * lock, no allocation: the object is its own entry in the worker's {@link dev.mpsafe.pcq.Pcq}
 * inbox, hashed timer wheel and run queues), {@code reschedule}, {@code cancel}, or {@code drain}
 * it. Scheduling a pending continuation coalesces and counts, as FreeBSD's taskqueue does.
 *
 * <p>Each worker round runs expired timers first, then the {@link dev.mpsafe.kcont.Priority}
 * classes CLOCK, NET, BULK, each within a count budget and the round's time budget, and each at
 * least once: a saturated network class cannot stop the timers (the NetBSD failure in seed 004).
 * Budget exhaustions are counted like Linux's {@code time_squeeze}; lateness of timers is kept in
 * a histogram per worker ({@link dev.mpsafe.kcont.WorkerStats}); JFR events report long runs and
 * exhausted budgets and worker deaths. A call refused because the group is shutting down, or
 * because the worker it needs has died, throws
 * {@link java.util.concurrent.RejectedExecutionException}; {@code false} from {@code schedule}
 * only ever means "coalesced". See {@code docs/kcont.md} for the contract, the algorithm, the
 * ordering argument and the measured figures.
 */
package dev.mpsafe.kcont;
