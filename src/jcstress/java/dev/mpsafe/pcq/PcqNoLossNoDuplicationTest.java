package dev.mpsafe.pcq;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Two producers race, and the second one then consumes once; afterwards the arbiter drains what is
 * left. Every item comes out exactly once. r1 is what the strict get() saw, r2 and r3 what the
 * arbiter drained (0 for nothing). Two actors, not three, so the test also runs on 2-CPU machines
 * (jcstress skips tests with more actors than CPUs).
 */
@JCStressTest
@Description("No loss and no duplication when two producers race a strict consumer. A strict "
        + "get() that returned null for a claimed slot, or a consumer that read a slot before the "
        + "producer's release store, would lose or duplicate an item.")
@Outcome(id = "1, 2, 0", expect = ACCEPTABLE, desc = "1 was claimed first; the consumer took it, the arbiter found 2")
@Outcome(id = "2, 1, 0", expect = ACCEPTABLE, desc = "2 was claimed first; the consumer took it, the arbiter found 1")
@Outcome(expect = FORBIDDEN, desc = "an item was lost or duplicated")
@State
public class PcqNoLossNoDuplicationTest {

    final Pcq<Integer> q = Pcq.create(2);

    @Actor
    public void producer1() {
        q.put(1);
    }

    @Actor
    public void producer2AndConsumer(III_Result r) {
        q.put(2);
        Integer e = q.get(); // never empty: our own put completed; strict, so it waits for a pending 1
        r.r1 = e == null ? 0 : e;
    }

    @Arbiter
    public void arbiter(III_Result r) {
        Integer a = q.get();
        Integer b = q.get();
        Integer c = q.get(); // must be null: only two items were ever put
        r.r2 = a == null ? 0 : a;
        r.r3 = b == null ? 0 : (c == null ? b : -1);
    }
}
