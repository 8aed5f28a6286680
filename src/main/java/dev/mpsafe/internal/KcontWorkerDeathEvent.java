package dev.mpsafe.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR event: a kcont worker's thread died of something thrown outside any continuation's body (an
 * {@code Error} from the group's error handler, a failing ticker, an out-of-memory in the worker's
 * own code). Committed once, by the dying thread, after it discarded what was pending on it.
 */
@Name("dev.mpsafe.KcontWorkerDeath")
@Label("Kcont Worker Death")
@Category({"mpsafe", "Continuations"})
@Description("A worker thread died; its pending continuations were discarded and requests bound to it are refused")
@StackTrace(false)
public final class KcontWorkerDeathEvent extends jdk.jfr.Event {
    @Label("Worker")
    public String worker;

    @Label("Cause")
    public String cause;
}
