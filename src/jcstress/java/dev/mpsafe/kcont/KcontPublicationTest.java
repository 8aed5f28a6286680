package dev.mpsafe.kcont;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Claim O1 (Kcont overview): plain writes made before {@code schedule()} are seen by the run that
 * answers it. schedule's CAS of the state word is a volatile write; the worker's run CAS reads it
 * and so synchronizes-with it. The worker side is the real path: {@code runRound()} takes the
 * continuation from the pcq inbox and runs it.
 */
@JCStressTest
@Description("Writes before schedule() are seen by the run. On x86 (TSO) stores stay in order, so "
        + "without the release/acquire pairing only a JIT reordering of the plain writes past the "
        + "state CAS could show the forbidden outcomes; on ARM or POWER plain ordering would show them.")
@Outcome(id = "-1, -1", expect = ACCEPTABLE, desc = "the worker's round came before the schedule: nothing ran")
@Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "the run saw both writes made before schedule()")
@Outcome(expect = FORBIDDEN, desc = "the run saw a stale field: publication by schedule() is broken")
@State
public class KcontPublicationTest {

    int a;
    int b;
    int seenA = -1;
    int seenB = -1;

    final Worker worker = KcontStates.manualWorker();
    final Kcont k = worker.kcont("pub", Priority.NET, () -> {
        seenA = a;
        seenB = b;
    });

    @Actor
    public void scheduler() {
        a = 1;
        b = 2;
        k.schedule();
    }

    @Actor
    public void worker(II_Result r) {
        worker.runRound();
        r.r1 = seenA; // the run, if any, happened on this thread
        r.r2 = seenB;
    }
}
