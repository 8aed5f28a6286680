package dev.mpsafe.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR event: a worker stopped serving a class with work left, because the class used up its count
 * budget, the round used up its time budget, or a timer came due (Linux counts the first two as
 * {@code time_squeeze}).
 */
@Name("dev.mpsafe.KcontBudgetExhausted")
@Label("Kcont Budget Exhausted")
@Category({"mpsafe", "Continuations"})
@Description("A worker stopped serving a priority class with work left, to keep timers and the other classes served")
@StackTrace(false)
public final class KcontBudgetEvent extends jdk.jfr.Event {
    @Label("Worker")
    public String worker;

    @Label("Class")
    public String priority;

    @Label("Reason")
    public String reason;

    @Label("Ran This Round")
    public int ran;
}
