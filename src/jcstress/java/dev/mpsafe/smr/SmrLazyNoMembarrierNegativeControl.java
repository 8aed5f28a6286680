package dev.mpsafe.smr;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;

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
 * Negative control: a LAZY reader (no fence) against a scan that fences only the poller and skips
 * the membarrier. The reader's announcement can still sit in its store buffer when the poller
 * scans, so the poller misses a reader that read the old value: this is why LAZY polls need the
 * membarrier, and why DEFAULT readers need their fence (a DEFAULT reader without its fence is this
 * reader). It shows that the litmus sees the failure on x86. It never fails the run. Where
 * membarrier is unavailable the domain falls back to fenced readers and (0, 0) cannot appear.
 */
@JCStressTest
@Description("Negative control: fence-free smr reader, poller without membarrier. Expected to show (0, 0).")
@Outcome(id = "0, 0", expect = ACCEPTABLE_INTERESTING, desc = "missed reader: why LAZY needs membarrier")
@Outcome(expect = ACCEPTABLE, desc = "no race observed this time")
@State
public class SmrLazyNoMembarrierNegativeControl {

    final Smr domain = Smr.create(GraceOptions.named("jcstress"), Smr.Mode.LAZY);
    int published;

    @Actor
    public void reader(II_Result r) {
        domain.enter();
        r.r1 = (int) PUBLISHED.getAcquire(this);
    }

    @Actor
    public void writer(II_Result r) {
        PUBLISHED.setRelease(this, 1);
        r.r2 = domain.scanWithoutMembarrierFindsReader() ? 1 : 0;
    }

    private static final VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = MethodHandles.lookup().findVarHandle(SmrLazyNoMembarrierNegativeControl.class, "published",
                    int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
