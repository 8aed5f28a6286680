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
 * Claim O2 (Kcont overview): a continuation never runs after {@code cancel()} returned
 * {@code true}, and a request is never lost: exactly one of cancel's CAS and the worker's run CAS
 * takes the pending bit. The request is made before the actors start; the worker side is the real
 * {@code runRound()} path.
 */
@JCStressTest
@Description("cancel() races the worker's run of one pending request. Both sides clear the pending "
        + "bit with a CAS on the state word; a check-then-store on either side would let both win "
        + "(1, 1), which x86 shows as readily as any other machine since it is an atomicity race, "
        + "not a reordering.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "cancel won: the request never ran")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "the run won: cancel found nothing pending")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "ran after cancel() returned true")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "the request was neither run nor cancelled: lost")
@State
public class KcontCancelTest {

    final Worker worker = KcontStates.manualWorker();
    final Kcont k = worker.kcont("cancel", Priority.NET, () -> { });

    public KcontCancelTest() {
        k.schedule();
    }

    @Actor
    public void canceller(II_Result r) {
        r.r1 = k.cancel() ? 1 : 0;
    }

    @Actor
    public void worker(II_Result r) {
        r.r2 = worker.runRound();
    }
}
