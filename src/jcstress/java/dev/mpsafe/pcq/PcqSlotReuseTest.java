package dev.mpsafe.pcq;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IZI_Result;

/**
 * Slot reuse (claim 2 of docs/pcq.md): a queue of capacity 1 holds one item; the consumer takes it
 * while a producer tries to put into the same, only slot. The consumer nulls the slot before it
 * release-stores its index, and the producer acquire-loads that index before it claims the slot,
 * so a put that succeeds writes after the null store and its item survives. The forbidden outcome
 * is a successful put whose item is gone: the consumer's null store landed after the producer's
 * item.
 */
@JCStressTest
@Description("A get races a put into the only slot of a full queue of capacity 1: a put that "
        + "returns true must leave its item for the next get. x86 keeps stores in order, so here it "
        + "fails only if the null store is moved after the index store in program order; weakening "
        + "the index store to plain or its load to plain needs ARM to show.")
@Outcome(id = "1, true, 2", expect = ACCEPTABLE, desc = "get took the old item; put found the slot free")
@Outcome(id = "1, false, -1", expect = ACCEPTABLE, desc = "put saw the queue still full and did nothing")
@Outcome(id = "1, true, -1", expect = FORBIDDEN, desc = "put succeeded but its item was erased by the consumer's null store")
@Outcome(expect = FORBIDDEN, desc = "get lost the old item, or the queue invented one")
@State
public class PcqSlotReuseTest {

    final Pcq<Integer> q = Pcq.create(1);

    public PcqSlotReuseTest() {
        q.put(1);
    }

    @Actor
    public void consumer(IZI_Result r) {
        Integer e = q.get();
        r.r1 = e == null ? -1 : e;
    }

    @Actor
    public void producer(IZI_Result r) {
        r.r2 = q.put(2);
    }

    @Arbiter
    public void arbiter(IZI_Result r) {
        Integer e = q.relaxedGet(); // relaxed: a lost item must show as null, not as a hang
        r.r3 = e == null ? -1 : e;
    }
}
