package dev.mpsafe.smr;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Protected;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * SmrPool never hands out an object that a reader may still see. The writer replaces the
 * published item A with B, frees A (a bucket of one: tagged at once), allocates, and if it got A
 * back (the grace period passed), poisons it. The reader reads the published item inside a
 * section, then reads its value. A reader that saw A must never read the poison: either its
 * section ended before A was reused, or the pool held A back.
 */
@JCStressTest
@Description("SmrPool: an item reused (and poisoned) only after every reader that could see it left.")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader saw B; A was not reused yet")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "reader saw B; A was reused")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw A intact; A was held back")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader saw A intact, left, then A was reused")
@Outcome(id = "2, .*", expect = FORBIDDEN, desc = "reader saw A poisoned: reused under a reader")
@State
public class SmrPoolReuseTest {

    static final int POISON = -1;

    static final class Item {
        int value = 7; // plain: written before publication, poisoned only after a grace period
    }

    final Smr domain = Smr.create(GraceOptions.named("jcstress"), Smr.Mode.DEFAULT);
    final SmrPool<Item> pool = SmrPool.<Item>builder(domain, Item::new).bucketSize(1).build();
    final Item a = new Item();
    final Protected<Item> ref = Protected.create(domain, null, a);

    @Actor
    public void reader(II_Result r) {
        r.r1 = read(domain, ref, a);
    }

    /** The reader's section: 0 if it saw another item than {@code a}, 1 if a intact, 2 if a poisoned. */
    static int read(Smr domain, Protected<Item> ref, Item a) {
        Participant p = domain.register();
        p.enter();
        try {
            Item it = ref.enteredLoad();
            return it != a ? 0 : it.value == POISON ? 2 : 1;
        } finally {
            p.exit();
        }
    }

    @Actor
    public void writer(II_Result r) {
        Item old = ref.exchange(new Item());
        pool.free(old);
        Item x = pool.allocate();
        if (x == a) {
            x.value = POISON;
            r.r2 = 1;
        }
    }
}
