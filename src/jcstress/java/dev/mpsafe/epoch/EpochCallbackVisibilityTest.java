package dev.mpsafe.epoch;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Callback visibility: plain writes made before {@code call} are seen by the callback, which here
 * runs on the other actor's thread (callers run callbacks through poll()). The hand-off is the
 * callback lock: released by call(), acquired by the dispatcher before it runs the callback.
 */
@JCStressTest
@Description("epoch: writes made before call() are seen by the callback, run on another thread. "
        + "On x86 only a JIT reordering could break it; on ARM a missing release/acquire would.")
@Outcome(id = "-1, -1", expect = ACCEPTABLE, desc = "the callback was not ready yet when the poller looked")
@Outcome(id = "42, 43", expect = ACCEPTABLE, desc = "the callback ran and saw both writes")
@Outcome(expect = FORBIDDEN, desc = "the callback ran but missed a write made before call()")
@State
public class EpochCallbackVisibilityTest {

    final Epoch domain = Epoch.create(GraceOptions.named("jcstress").withCallbacksOnDomainThread(false));
    int a;
    int b;
    int seenA = -1;
    int seenB = -1;

    @Actor
    public void caller() {
        a = 42;
        b = 43;
        domain.call(() -> {
            seenA = a;
            seenB = b;
        });
    }

    @Actor
    public void poller(II_Result r) {
        for (int i = 0; i < 4; i++) {
            domain.poll();
        }
        r.r1 = seenA; // the callback, if it ran, ran on this thread
        r.r2 = seenB;
    }
}
