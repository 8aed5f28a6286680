package dev.mpsafe.smr;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.smr.SmrPoolReuseTest.Item;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Protected;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * {@link SmrPoolReuseTest} through the freeing thread's own bucket: the writer allocates once
 * before it frees, so its free keeps the tagged bucket for its own next refill instead of queueing
 * it in the depot, and its allocation takes that bucket back without the depot's lock once the
 * goal polls as passed. The same reader, the same forbidden outcome: a reader that saw A must
 * never read the poison. (Were the own bucket taken without its poll, the reader could see A
 * poisoned; x86 shows that whenever the poll is skipped, since nothing then waits for the section.)
 */
@JCStressTest
@Description("SmrPool, a thread's own bucket: an item reused (and poisoned) only after every reader that could see it left.")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader saw B; A was not reused yet")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "reader saw B; A was reused")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw A intact; A was held back")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader saw A intact, left, then A was reused")
@Outcome(id = "2, .*", expect = FORBIDDEN, desc = "reader saw A poisoned: reused under a reader")
@State
public class SmrPoolOwnBucketReuseTest {

    final Smr domain = Smr.create(GraceOptions.named("jcstress-own"), Smr.Mode.DEFAULT);
    final SmrPool<Item> pool = SmrPool.<Item>builder(domain, Item::new).bucketSize(1).build();
    final Item a = new Item();
    final Protected<Item> ref = Protected.create(domain, null, a);

    @Actor
    public void reader(II_Result r) {
        r.r1 = SmrPoolReuseTest.read(domain, ref, a);
    }

    @Actor
    public void writer(II_Result r) {
        pool.allocate(); // a refill: this thread allocates, so its next tagged bucket stays its own
        Item old = ref.exchange(new Item());
        pool.free(old);
        Item x = pool.allocate();
        if (x == a) {
            x.value = SmrPoolReuseTest.POISON;
            r.r2 = 1;
        }
    }
}
