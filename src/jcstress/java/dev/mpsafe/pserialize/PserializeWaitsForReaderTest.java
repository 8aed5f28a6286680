package dev.mpsafe.pserialize;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Protected;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/**
 * A reader that saw the old object is waited for: the writer replaces the object, performs, and
 * then poisons the old one. A reader that loaded the old object inside its section must never see
 * the poison. Runs in the default (asymmetric where available) mode, the weaker one.
 */
@JCStressTest
@Description("pserialize: perform() waits for a reader that saw the old object; the reader never "
        + "sees it poisoned.")
@Outcome(id = "1", expect = ACCEPTABLE, desc = "reader used the old object before it was reclaimed")
@Outcome(id = "2", expect = ACCEPTABLE, desc = "reader used the new object")
@Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the reader saw poison")
@State
public class PserializeWaitsForReaderTest {

    static final class Obj {
        int value;

        Obj(int value) {
            this.value = value;
        }
    }

    final Pserialize domain = Pserialize.create("jcstress");
    final Protected<Obj> ref = Protected.create(domain, null, new Obj(1));

    @Actor
    public void reader(I_Result r) {
        domain.readEnter();
        Obj o = ref.load();
        int v = o.value;
        Thread.onSpinWait();
        r.r1 = Math.min(v, o.value); // read twice: poison at either read is caught
        domain.readExit();
    }

    @Actor
    public void writer() {
        Obj old = ref.exchange(new Obj(2));
        domain.perform();
        old.value = -1; // reclaim: poison
    }
}
