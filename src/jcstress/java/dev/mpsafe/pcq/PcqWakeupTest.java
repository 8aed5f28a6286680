package dev.mpsafe.pcq;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The wake-up protocol as a store-buffering litmus, on the real code paths: the consumer's
 * {@code prepareToPark} (volatile store of the waiter, then volatile load of the producer index)
 * against the producer's {@code put0} (CAS of the producer index, then volatile load of the waiter).
 * The lost wake-up is the outcome where the consumer decides to park on what it saw as an empty
 * queue while the producer saw no waiter to wake.
 *
 * <p>The consumer announces a thread that is never started, so the producer's unpark is harmless
 * to the jcstress worker threads.
 */
@JCStressTest
@Description("No lost wake-up: either the consumer sees the item, or the producer sees the "
        + "parked consumer. Needs StoreLoad order on both sides; x86 shows the failure when either "
        + "side is weakened to release/acquire (see PcqWakeupWeakNegativeControl).")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "consumer saw the claim and will not park; no wake-up needed")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "consumer saw the claim and the producer also woke it (harmless)")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "consumer parks and the producer wakes it")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "lost wake-up: consumer parks on a non-empty queue, nobody wakes it")
@State
public class PcqWakeupTest {

    static final Thread NEVER_STARTED = new Thread(() -> { }, "pcq-jcstress-announced-consumer");

    final Pcq<Integer> q = Pcq.create(4);

    @Actor
    public void consumer(II_Result r) {
        r.r1 = q.prepareToPark(NEVER_STARTED) ? 1 : 0;
    }

    @Actor
    public void producer(II_Result r) {
        r.r2 = q.put0(1) == Pcq.PUT_AND_WOKE ? 1 : 0;
    }
}
