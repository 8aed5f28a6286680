package dev.mpsafe.pcq;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * Two producers race for the last free slot of a queue of capacity 2 that already holds one item:
 * exactly one wins, and the queue ends up holding exactly two items. The claim is the CAS on the
 * producer index; a plain read-increment-write would let both win and overwrite one slot.
 */
@JCStressTest
@Description("Two producers race for the last slot: exactly one put() returns true and the queue "
        + "then holds exactly its capacity. The CAS makes this hold on every architecture.")
@Outcome(id = "true, false, 2", expect = ACCEPTABLE, desc = "the first producer won the slot")
@Outcome(id = "false, true, 2", expect = ACCEPTABLE, desc = "the second producer won the slot")
@Outcome(expect = FORBIDDEN, desc = "both or neither won, or the queue lost or invented an item")
@State
public class PcqLastSlotTest {

    final Pcq<Integer> q = Pcq.create(2);

    public PcqLastSlotTest() {
        q.put(0);
    }

    @Actor
    public void producer1(ZZI_Result r) {
        r.r1 = q.put(1);
    }

    @Actor
    public void producer2(ZZI_Result r) {
        r.r2 = q.put(2);
    }

    @Arbiter
    public void arbiter(ZZI_Result r) {
        int n = 0;
        while (q.get() != null) {
            n++;
        }
        r.r3 = n;
    }
}
