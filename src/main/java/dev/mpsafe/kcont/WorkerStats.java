package dev.mpsafe.kcont;

/**
 * A snapshot of one worker's counters. Each value is read separately, so a snapshot taken while
 * the worker runs is not one instant; each counter only grows (except {@code queueDepth}).
 *
 * @param worker the worker's name
 * @param queueDepth continuations waiting: in the inbox, the run queues, the timer list and the
 *     wheel (stale entries of cancelled ones included until the worker meets them)
 * @param runs continuations run
 * @param failures runs that threw
 * @param coalesced {@code schedule} calls folded into a pending request and answered by a run
 * @param longRuns runs longer than the group's long-run threshold
 * @param timerSqueezes rounds in which expired timers were left for the next round
 * @param clockSqueezes rounds in which CLOCK work was left for the next round
 * @param netSqueezes rounds in which NET work was left for the next round (Linux's time_squeeze)
 * @param bulkSqueezes rounds in which BULK work was left for the next round
 * @param lateness how late delayed continuations started, in ticks
 */
public record WorkerStats(
        String worker,
        long queueDepth,
        long runs,
        long failures,
        long coalesced,
        long longRuns,
        long timerSqueezes,
        long clockSqueezes,
        long netSqueezes,
        long bulkSqueezes,
        LatenessHistogram lateness) {

    /**
     * Returns the squeezes of one class.
     *
     * @param priority the class
     * @return rounds in which that class was left with work
     */
    public long squeezes(Priority priority) {
        return switch (priority) {
            case CLOCK -> clockSqueezes;
            case NET -> netSqueezes;
            case BULK -> bulkSqueezes;
        };
    }

    /**
     * Returns every budget exhaustion: timers and all classes.
     *
     * @return the total squeeze count
     */
    public long totalSqueezes() {
        return timerSqueezes + clockSqueezes + netSqueezes + bulkSqueezes;
    }
}
