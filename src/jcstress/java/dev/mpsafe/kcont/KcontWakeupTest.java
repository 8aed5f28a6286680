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
 * Claim O5 (Kcont overview): a worker about to park and a producer handing it work cannot miss
 * each other. The worker announces the time it will wake (a volatile store) and then looks at its
 * inbox (volatile loads); the producer puts (a volatile CAS) and then reads the announcement (a
 * volatile load) to decide whether to unpark. This exercises the two halves exactly as
 * {@code Worker.idle} and {@code Kcont.enqueue} call them, without a real park.
 */
@JCStressTest
@Description("Store-buffering (Dekker) between the parking worker and a producer. With release/acquire "
        + "instead of volatile accesses both sides may read the old value, and x86 shows that "
        + "outcome (its store buffer reorders a store with a later load), as pcq's "
        + "PcqWakeupWeakNegativeControl does for the same pattern.")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "the worker saw the entry and does not park; no unpark needed")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "the worker saw the entry; the producer unparks anyway (harmless)")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "the worker parks; the producer saw it and unparks it")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "lost wake-up: the worker parks on a non-empty inbox and nobody unparks it")
@State
public class KcontWakeupTest {

    final Worker worker = KcontStates.manualWorker();
    final Kcont k = worker.kcont("wake", Priority.NET, () -> { });

    @Actor
    public void worker(II_Result r) {
        r.r1 = worker.prepareToPark(Long.MAX_VALUE) ? 1 : 0;
    }

    @Actor
    public void producer(II_Result r) {
        worker.post(k);
        r.r2 = worker.mustWake(Kcont.IMMEDIATE) ? 1 : 0;
    }
}
