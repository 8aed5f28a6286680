package dev.mpsafe.pserialize;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;

import dev.mpsafe.sync.GraceOptions;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Negative control: the ASYMMETRIC reader (no fence) against a writer that fences only itself and
 * skips the membarrier. The reader's announcement can still sit in its store buffer when the
 * writer scans, so the writer misses a reader that read the old value. This shows why the
 * asymmetric writer must call membarrier, and that the litmus can see the failure on x86. It never
 * fails the run.
 */
@JCStressTest
@Description("Negative control: fence-free reader, writer without membarrier. Expected to show (0, 0).")
@Outcome(id = "0, 0", expect = ACCEPTABLE_INTERESTING, desc = "missed reader: why the asymmetric writer needs membarrier")
@Outcome(expect = ACCEPTABLE, desc = "no race observed this time")
@State
public class PserializeNoBarrierNegativeControl {

    final Pserialize domain = Pserialize.create(GraceOptions.named("jcstress"), Pserialize.Mode.ASYMMETRIC);
    int published; // release store by the writer, acquire load by the reader, as in real use

    @Actor
    public void reader(II_Result r) {
        domain.readEnter();
        r.r1 = (int) PUBLISHED.getAcquire(this);
    }

    @Actor
    public void writer(II_Result r) {
        PUBLISHED.setRelease(this, 1);
        r.r2 = domain.scanWithoutMembarrierFindsReaderInside() ? 1 : 0;
    }

    private static final java.lang.invoke.VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = java.lang.invoke.MethodHandles.lookup().findVarHandle(PserializeNoBarrierNegativeControl.class, "published", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
