package dev.mpsafe.epoch;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Protected;
import dev.mpsafe.sync.Section;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/**
 * A deferred callback waits for a reader that saw the old object: the writer replaces the object
 * (a release-only store), defers its poisoning with call(), and polls hard so the callback runs as
 * early as the epochs allow. The reader must never see the poison. This needs the full fence at
 * the top of call(): without it the epoch that tags the callback may be read before the unpublish
 * is visible, and a reader entering in the next epoch could still see the old object.
 */
@JCStressTest
@Description("epoch: a callback deferred after an unpublish never runs while a reader that saw "
        + "the old object is inside its section.")
@Outcome(id = "1", expect = ACCEPTABLE, desc = "reader used the old object before it was reclaimed")
@Outcome(id = "2", expect = ACCEPTABLE, desc = "reader used the new object")
@Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the callback ran while the reader held the object")
@State
public class EpochCallbackWaitsForReaderTest {

    static final class Obj {
        int value;

        Obj(int value) {
            this.value = value;
        }
    }

    final Epoch domain = Epoch.create(GraceOptions.named("jcstress").withCallbacksOnDomainThread(false));
    final Protected<Obj> ref = Protected.create(domain, null, new Obj(1));

    @Actor
    public void reader(I_Result r) {
        try (Section s = domain.enter()) {
            Obj o = ref.load();
            int v = o.value;
            Thread.onSpinWait();
            r.r1 = Math.min(v, o.value);
        }
    }

    @Actor
    public void writer() {
        Obj old = ref.exchange(new Obj(2));
        domain.call(() -> old.value = -1);
        for (int i = 0; i < 4; i++) {
            domain.poll(); // caller-run callbacks: run it as soon as the epochs allow
        }
    }
}
