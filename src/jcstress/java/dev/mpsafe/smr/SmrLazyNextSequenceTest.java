package dev.mpsafe.smr;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * SMR LAZY's reader tags come from the reader's own slot: a scan stores there a sequence that its
 * membarrier covers, and the reader's next enter announces it (Smr's overview, "LAZY tags"). A
 * later scan that sees that sequence at or past its goal does not wait for the section, so the
 * section must see everything the goal's writer unpublished: the chain runs through the poller's
 * read of the write sequence, its release store into the slot and the reader's acquire load.
 *
 * <p>The domain is shared by every state of the run (static), so that the reader thread keeps one
 * slot and its enters announce what earlier scans stored, as a long-lived reader's do. The writer
 * replaces the object, takes a goal and polls it twice: the first scan stores a sequence past the
 * goal in the reader's slot, and the second may then pass the goal while the reader is inside a
 * section that announced it. Then the writer poisons the old object. Scans may also find the
 * reader inside a section for another state and hold the goal back: that is one of the acceptable
 * outcomes.
 */
@JCStressTest
@Description("smr LAZY: a section that announced the sequence a scan stored in its slot sees the writer's "
        + "replacement, so a later scan may pass the goal while it runs. x86 cannot show a failure: its "
        + "loads and stores stay in order (TSO), so the acquire load and release store that make the chain "
        + "are plain moves there; the test can fail on ARM without them. Where membarrier is unavailable "
        + "the domain falls back to DEFAULT (fenced readers reading the write sequence) and this checks that.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader used the old object; the goal was held back")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader used the old object before the goal passed and it was poisoned")
@Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "reader used the new object; the goal was held back")
@Outcome(id = "2, 1", expect = ACCEPTABLE, desc = "reader used the new object; the old one was poisoned")
@Outcome(id = "-1, 1", expect = FORBIDDEN, desc = "use after reclaim: the reader's section saw the poisoned object")
@State
public class SmrLazyNextSequenceTest {

    private static final Smr DOMAIN = Smr.create(GraceOptions.named("jcstress-lazy-next"), Smr.Mode.LAZY, 0,
            1L << Smr.MAX_DELTA_LOG2, 0, Smr.lazyUnavailableReason() == null, Smr.lazyUnavailableReason());

    static final class Obj {
        int value;

        Obj(int value) {
            this.value = value;
        }
    }

    Obj current = new Obj(1);

    @Actor
    public void reader(II_Result r) {
        final Smr.Reader p = DOMAIN.register();
        final long t = p.enterToken();
        try {
            final Obj o = (Obj) CURRENT.getAcquire(this);
            int v = o.value;
            Thread.onSpinWait();
            r.r1 = Math.min(v, o.value); // a second read: the poison may land between the two
        } finally {
            p.exit(t);
        }
    }

    @Actor
    public void writer(II_Result r) {
        final Obj old = (Obj) CURRENT.getAndSet(this, new Obj(2)); // volatile: the unpublish
        final long goal = DOMAIN.advance();
        final boolean passed = DOMAIN.poll(goal) || DOMAIN.poll(goal);
        if (passed) {
            old.value = -1; // reclaim
        }
        r.r2 = passed ? 1 : 0;
    }

    private static final VarHandle CURRENT;

    static {
        try {
            CURRENT = MethodHandles.lookup().findVarHandle(SmrLazyNextSequenceTest.class, "current", Obj.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
