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
 * SMR's reader-enter vs writer advance+poll litmus on the real code paths, mode DEFAULT: the writer
 * publishes, takes a goal with advance() and polls it; the poll must not report the goal reached
 * while a reader that saw the old value is inside. (The poll counts dead threads' slots as running:
 * jcstress may end the reader's thread before the scan, and the litmus is about visibility.)
 */
@JCStressTest
@Description("smr DEFAULT: either the reader sees the new value or the writer's poll sees the reader "
        + "and holds the goal back. Needs the reader's full fence: without it x86 shows (0, 0) (see "
        + "SmrLazyNoMembarrierNegativeControl).")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw the new value; goal reached")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader saw the new value; goal held back anyway")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "reader saw the old value; goal held back for it")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "reader saw the old value but the goal was reported reached")
@State
public class SmrStoreLoadTest {

    final Smr domain = Smr.create(GraceOptions.named("jcstress"), Smr.Mode.DEFAULT);
    int published; // release store by the writer, acquire load by the reader, as in real use

    @Actor
    public void reader(II_Result r) {
        domain.enter();
        r.r1 = (int) PUBLISHED.getAcquire(this);
    }

    @Actor
    public void writer(II_Result r) {
        PUBLISHED.setRelease(this, 1);
        long goal = domain.advance();
        r.r2 = domain.pollCountingDeadReaders(goal) ? 0 : 1;
    }

    private static final VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = MethodHandles.lookup().findVarHandle(SmrStoreLoadTest.class, "published",
                    int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
