package dev.mpsafe.smr;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.internal.SlotPeek;
import dev.mpsafe.internal.ThreadSlot;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Section;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * DEFERRED with two threads sharing one goal: writer A unpublishes and takes a deferred goal (no
 * write to the sequence); another thread's poll forces the write sequence to that same value, and
 * that thread then enters a section on the forced sequence. (One thread does both so that the test
 * runs on two CPUs; the forced CAS is not A's, which is the point.) If A's goal is the one the reader entered on, the reader
 * must see A's unpublish, or A's poll could report the goal reached while the reader still holds
 * the old object. A's deferred advance fences between its unpublish and its read of the sequence
 * for exactly this: without the fence, A's store can still sit in its store buffer while it reads
 * the old sequence.
 */
@JCStressTest
@Description("smr DEFERRED(1024): a writer's deferred goal g; another thread forces the sequence to g "
        + "and then enters a section on it. The reader must then see what the writer published "
        + "before advance(). Needs the fence in the deferred advance. x86 has not shown the failure "
        + "without it: the writer's store drains long before the other thread's poll and enter are "
        + "done (quick mode, 0 of about 2 million samples). It guards ARM and other weak hardware.")
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "reader entered on the shared goal and saw the unpublish")
@Outcome(id = "1, 0, 0", expect = ACCEPTABLE, desc = "reader entered before the forced advance; a scan holds the goal back for it")
@Outcome(id = "1, 0, 1", expect = ACCEPTABLE, desc = "reader entered before the forced advance and saw the unpublish")
@Outcome(id = {"2, 0, 0", "2, 0, 1", "2, 1, 0", "2, 1, 1"}, expect = ACCEPTABLE,
        desc = "the writer read the forced sequence: its goal is later than any the reader entered on")
@Outcome(id = "1, 1, 0", expect = FORBIDDEN, desc = "reader entered on the writer's goal without seeing its unpublish")
@State
public class SmrDeferredSharedGoalTest {

    final Smr domain = Smr.create(GraceOptions.named("jcstress"), Smr.Mode.deferred(1024));
    int published; // release store by the writer, acquire load by the reader, as in real use

    @Actor
    public void writer(III_Result r) {
        PUBLISHED.setRelease(this, 1);
        r.r1 = (int) domain.advance(); // deferred: the sequence plus one, no write
    }

    @Actor
    public void pollerThenReader(III_Result r) {
        domain.poll(domain.advance()); // deferred too: the poll forces the sequence to its goal
        Section s = domain.enter();
        r.r2 = (int) ThreadSlot.tagOf(SlotPeek.lpState((ThreadSlot) s)); // the sequence this section entered on
        r.r3 = (int) PUBLISHED.getAcquire(this);
        s.close();
    }

    private static final VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = MethodHandles.lookup().findVarHandle(SmrDeferredSharedGoalTest.class, "published", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
