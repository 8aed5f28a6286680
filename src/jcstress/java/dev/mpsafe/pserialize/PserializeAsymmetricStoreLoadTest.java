package dev.mpsafe.pserialize;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The same litmus in the ASYMMETRIC mode: the reader issues no fence at all; the writer calls
 * {@code membarrier(2)} before it scans. This backs the soundness argument in Pserialize's
 * implementation overview (hardware: the barrier every running thread executes; compiler: C2
 * keeps the opaque announcement before the later load). Where membarrier is unavailable the domain
 * falls back to FENCED and the test degenerates to the fenced one.
 */
@JCStressTest
@Description("ASYMMETRIC pserialize (membarrier): either the reader sees the new value or the writer "
        + "sees the reader inside. Without the membarrier, x86 shows the forbidden outcome (see "
        + "PserializeNoBarrierNegativeControl). Evidence for HotSpot on this architecture, not a proof.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw the new value; writer saw no reader")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader saw the new value; writer saw it inside")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "reader saw the old value; writer saw it inside and waits")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "reader saw the old value but the writer would not wait for it")
@State
public class PserializeAsymmetricStoreLoadTest {

    final Pserialize domain = Pserialize.create(GraceOptions.named("jcstress"), Pserialize.Mode.ASYMMETRIC);
    int published;

    @Actor
    public void reader(II_Result r) {
        domain.readEnter();
        r.r1 = (int) PUBLISHED.getAcquire(this);
    }

    @Actor
    public void writer(II_Result r) {
        PUBLISHED.setRelease(this, 1);
        r.r2 = domain.scanFindsReaderInside() ? 1 : 0;
    }

    private static final java.lang.invoke.VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = java.lang.invoke.MethodHandles.lookup()
                    .findVarHandle(PserializeAsymmetricStoreLoadTest.class, "published", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
