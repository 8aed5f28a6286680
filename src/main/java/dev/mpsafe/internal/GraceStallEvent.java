package dev.mpsafe.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR event: a writer waited longer than the stall threshold for a reader's section. */
@Name("dev.mpsafe.GracePeriodStall")
@Label("Grace Period Stall")
@Category({"mpsafe", "Grace periods"})
@Description("A writer waited longer than the domain's stall threshold for a reader still inside its section")
@StackTrace(true)
public final class GraceStallEvent extends jdk.jfr.Event {
    @Label("Domain")
    public String domain;

    @Label("Reader Thread")
    public String readerThread;

    @Label("Reader Thread Id")
    public long readerThreadId;

    @Label("Waited")
    @Timespan(Timespan.NANOSECONDS)
    public long waited;
}
