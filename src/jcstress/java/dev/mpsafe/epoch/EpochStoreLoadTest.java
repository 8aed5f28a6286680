package dev.mpsafe.epoch;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/** The reader-announce vs writer-scan StoreLoad litmus on epoch's real code paths. */
@JCStressTest
@Description("epoch: either the reader sees the new value or the writer's scan sees the reader "
        + "active. Without the reader's full fence x86 shows (0, 0).")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw the new value; writer saw no reader")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader saw the new value; writer saw it active")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "reader saw the old value; writer saw it active and waits")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "reader saw the old value but the writer would not wait for it")
@State
public class EpochStoreLoadTest {

    final Epoch domain = Epoch.create(dev.mpsafe.sync.GraceOptions.named("jcstress").withCallbacksOnDomainThread(false));
    int published; // release store by the writer, acquire load by the reader, as in real use

    @Actor
    public void reader(II_Result r) {
        domain.enter();
        r.r1 = (int) PUBLISHED.getAcquire(this);
    }

    @Actor
    public void writer(II_Result r) {
        PUBLISHED.setRelease(this, 1);
        r.r2 = domain.scanFindsReaderActive() ? 1 : 0;
    }

    private static final java.lang.invoke.VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = java.lang.invoke.MethodHandles.lookup().findVarHandle(EpochStoreLoadTest.class, "published", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
