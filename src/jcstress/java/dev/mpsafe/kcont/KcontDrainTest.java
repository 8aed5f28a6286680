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
 * Claim O3 (Kcont overview): {@code drain()} returns only after a run that had started has
 * finished, and its writes are visible to the drainer. The body's last action is a plain write;
 * the drainer reads it plainly after drain returns. The pairing is the worker's atomic clear of
 * the running bit (after the body) with the drainer's volatile read of it, or the notify under the
 * drain monitor when the drainer had to wait.
 */
@JCStressTest
@Description("drain() against a running body. A drain that only cancelled, or that read the running "
        + "bit before the worker set it and did not wait, returns with the body unfinished: (0, 0). "
        + "That is a protocol race, visible on x86.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "drain cancelled the request before it ran")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "the run had started; drain waited for it and saw its write")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "drain returned before the run had finished")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "the run happened although drain cancelled the request")
@State
public class KcontDrainTest {

    int done;
    final Worker worker = KcontStates.manualWorker();
    final Kcont k = worker.kcont("drain", Priority.NET, () -> {
        for (int i = 0; i < 20; i++) {
            Thread.onSpinWait(); // give the drainer time to arrive while the body runs
        }
        done = 1;
    });

    public KcontDrainTest() {
        k.schedule();
    }

    @Actor
    public void worker() {
        worker.runRound();
    }

    @Actor
    public void drainer(II_Result r) {
        r.r1 = k.drain() ? 1 : 0;
        r.r2 = done;
    }
}
