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
 * The reader-announce vs writer-check StoreLoad litmus on the real FENCED code paths: the reader's
 * {@code enter} (slot store, full fence) then a load of the published value, against the writer's
 * release store of a new value then perform's first step (full fence, slot scan).
 */
@JCStressTest
@Description("FENCED pserialize: either the reader sees the new value or the writer sees the reader "
        + "inside its section. Without the reader's fence, x86 shows the forbidden outcome "
        + "(see PserializeNoBarrierNegativeControl).")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw the new value; writer saw no reader (or one that left)")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader saw the new value; writer saw it inside")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "reader saw the old value; writer saw it inside and waits")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "reader saw the old value but the writer would not wait for it")
@State
public class PserializeFencedStoreLoadTest {

    final Pserialize domain = Pserialize.create(GraceOptions.named("jcstress"), Pserialize.Mode.FENCED);
    int published; // release store by the writer, acquire load by the reader, as in real use

    @Actor
    public void reader(II_Result r) {
        domain.readEnter();
        r.r1 = (int) PUBLISHED.getAcquire(this);
        // stays inside: the writer's scan runs while we may still be in the section
    }

    @Actor
    public void writer(II_Result r) {
        PUBLISHED.setRelease(this, 1);
        r.r2 = domain.scanFindsReaderInside() ? 1 : 0;
    }

    private static final java.lang.invoke.VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = java.lang.invoke.MethodHandles.lookup().findVarHandle(PserializeFencedStoreLoadTest.class, "published", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
