package dev.mpsafe.pcq;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Negative control for {@link PcqWakeupTest}: the same protocol with the waiter store weakened to
 * a release store and both loads to acquire loads, which is what the code would be without its
 * volatile accesses. The lost wake-up then shows up even on x86, because a release store may sit
 * in the store buffer while the following load executes. This test documents why pcq's wake-up
 * accesses are volatile, and shows the harness can see the failure; it never fails the run.
 */
@JCStressTest
@Description("Negative control: release/acquire instead of volatile in the wake-up protocol. "
        + "Expected to show the lost wake-up (1, 0) on x86 and ARM.")
@Outcome(id = "1, 0", expect = ACCEPTABLE_INTERESTING, desc = "lost wake-up: why pcq uses volatile here")
@Outcome(expect = ACCEPTABLE, desc = "no race observed this time")
@State
public class PcqWakeupWeakNegativeControl {

    private static final VarHandle PRODUCER_INDEX;
    private static final VarHandle WAITER;

    long producerIndex;
    Object waiter;

    @Actor
    public void consumer(II_Result r) {
        WAITER.setRelease(this, this); // announce (too weak)
        r.r1 = (long) PRODUCER_INDEX.getAcquire(this) == 0 ? 1 : 0; // would park if empty
    }

    @Actor
    public void producer(II_Result r) {
        PRODUCER_INDEX.setRelease(this, 1L); // claim (too weak)
        r.r2 = WAITER.getAcquire(this) != null ? 1 : 0; // would wake
    }

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PRODUCER_INDEX = l.findVarHandle(PcqWakeupWeakNegativeControl.class, "producerIndex", long.class);
            WAITER = l.findVarHandle(PcqWakeupWeakNegativeControl.class, "waiter", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
