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

/** epoch: synchronize() waits for a reader that saw the old object; it never sees it poisoned. */
@JCStressTest
@Description("epoch: synchronize() waits for a reader that saw the old object.")
@Outcome(id = "1", expect = ACCEPTABLE, desc = "reader used the old object before it was reclaimed")
@Outcome(id = "2", expect = ACCEPTABLE, desc = "reader used the new object")
@Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the reader saw poison")
@State
public class EpochWaitsForReaderTest {

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
        domain.synchronize();
        old.value = -1;
    }
}
