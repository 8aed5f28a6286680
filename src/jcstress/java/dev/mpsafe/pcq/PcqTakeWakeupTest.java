package dev.mpsafe.pcq;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/**
 * End to end: a consumer really parks in {@code poll(timeout)} while a producer puts. A lost
 * wake-up leaves the consumer asleep until its timeout, which is far longer than any schedule
 * jcstress makes, and returns null: the forbidden outcome.
 */
@JCStressTest
@Description("No lost wake-up when the consumer parks in poll(timeout) as a producer puts.")
@Outcome(id = "1", expect = ACCEPTABLE, desc = "the consumer got the item")
@Outcome(id = "-1", expect = FORBIDDEN, desc = "lost wake-up: the consumer slept through the put until its timeout")
@Outcome(id = "-2", expect = FORBIDDEN, desc = "the consumer was interrupted")
@State
public class PcqTakeWakeupTest {

    final Pcq<Integer> q = Pcq.create(2);

    @Actor
    public void consumer(I_Result r) {
        try {
            Integer e = q.poll(20, TimeUnit.SECONDS);
            r.r1 = e == null ? -1 : e;
        } catch (InterruptedException ie) {
            r.r1 = -2;
        }
    }

    @Actor
    public void producer() {
        q.put(1);
    }
}
