package dev.mpsafe.kcont;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Kcont.wakeTick: a request that relies on an inbox entry another thread is about to put still
 * wakes the worker in time. Set-up: a producer (P1) has made a 400 ms request (its CAS set P and
 * Q) and not yet put the entry. One actor is P2, which reschedules the request to 5 ms (Q is set,
 * so it only decides about the wake-up, and finds the worker still awake), followed by the worker,
 * which announces a park until 300 ms and looks at its inbox; the other is P1, which puts the entry
 * and decides about the wake-up. If the worker parks on an empty inbox, P1 must claim its wake-up
 * (wakeAt back to AWAKE): it reads the state again after its put and finds the 5 ms request. (Two
 * actors, so that the test runs on 2 CPUs: jcstress schedules no 3-actor test there.)
 */
@JCStressTest
@Description("A wake-up decided before the entry it relies on was put. Without P1's second look at the "
        + "state (waking for its own 400 ms deadline only), the interleaving P2, worker, P1 leaves "
        + "the worker parked until 300 ms with a 5 ms request queued: the forbidden outcome, a logical "
        + "race that x86 shows as readily as ARM. The StoreLoad half (P1's put and its reload "
        + "against P2's CAS and its wakeAt load) is volatile on both sides, as in KcontWakeupTest.")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "the worker saw the entry: it does not park")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "the worker saw the entry; a producer woke it anyway (harmless)")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "the worker parked on an empty inbox; a producer claimed its wake-up")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "lost wake-up: parked until 300 ms with a 5 ms request queued")
@State
public class KcontRelyOnEntryWakeupTest {

    // A stopped clock: jcstress builds states well before their actors run, and with a real clock
    // "5 ms from now" could fall after the 300 ms park computed at construction.
    final KcontGroup group = KcontGroup.builder("jcstress").manual().workers(1).wheelSize(16).maxKconts(2)
            .ticker(() -> 0L).build();
    final Worker worker = group.worker(0);
    final Kcont k = worker.kcont("rely", Priority.CLOCK, () -> { });
    final long tick400 = group.deadlineTick(400, TimeUnit.MILLISECONDS);
    final long until300 = group.nanosOfTick(group.deadlineTick(300, TimeUnit.MILLISECONDS));

    public KcontRelyOnEntryWakeupTest() {
        // P1's request CAS, as Kcont.request makes it, before its put.
        long s = k.lvState();
        if (!k.casState(s, s | Kcont.PENDING | Kcont.QUEUED | Kcont.COUNT_ONE | Kcont.deadlineBits(tick400))) {
            throw new IllegalStateException("set-up CAS failed");
        }
    }

    @Actor
    public void reschedulerThenWorker(II_Result r) {
        k.reschedule(5, TimeUnit.MILLISECONDS); // the worker is awake: no wake-up claimed
        r.r1 = worker.prepareToPark(until300) ? 1 : 0;
    }

    @Actor
    public void putter() {
        k.enqueue(worker, tick400);
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r2 = worker.awakeForTest() ? 1 : 0;
    }
}
