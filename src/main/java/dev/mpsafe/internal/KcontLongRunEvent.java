package dev.mpsafe.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR event: one continuation ran longer than its group's long-run threshold. */
@Name("dev.mpsafe.KcontLongRun")
@Label("Kcont Long Run")
@Category({"mpsafe", "Continuations"})
@Description("A continuation ran longer than the group's long-run threshold, holding up its worker")
@StackTrace(false)
public final class KcontLongRunEvent extends jdk.jfr.Event {
    @Label("Worker")
    public String worker;

    @Label("Continuation")
    public String kcont;

    @Label("Priority Class")
    public String priority;

    @Label("Ran For")
    @Timespan(Timespan.NANOSECONDS)
    public long ran;
}
