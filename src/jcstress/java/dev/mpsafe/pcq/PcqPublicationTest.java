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
 * Claim P1: plain writes a producer makes to an item before {@code put} are visible to the
 * consumer that {@code get}s it. The slot's release store (soElement) pairs with the consumer's
 * acquire load (laElement).
 */
@JCStressTest
@Description("Fields written before put() are seen after get(). On x86 (TSO) the hardware keeps "
        + "stores in order, so without the release store only a JIT reordering could show the "
        + "forbidden outcomes; on ARM/POWER a plain slot store shows them.")
@Outcome(id = "-1, -1", expect = ACCEPTABLE, desc = "get() ran before the put claimed a slot")
@Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "the item and both of its fields are seen")
@Outcome(expect = FORBIDDEN, desc = "the item was seen with a stale field: publication is broken")
@State
public class PcqPublicationTest {

    static final class Item {
        int a;
        int b;
    }

    final Pcq<Item> q = Pcq.create(2);

    @Actor
    public void producer() {
        Item item = new Item();
        item.a = 1;
        item.b = 2;
        q.put(item);
    }

    @Actor
    public void consumer(II_Result r) {
        Item item = q.get();
        if (item == null) {
            r.r1 = -1;
            r.r2 = -1;
        } else {
            r.r1 = item.a;
            r.r2 = item.b;
        }
    }
}
