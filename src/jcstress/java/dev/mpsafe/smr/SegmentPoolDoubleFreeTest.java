package dev.mpsafe.smr;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.sync.GraceOptions;
import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Two threads free the same segment at once (a double free racing with itself): the segment's
 * state CAS lets exactly one succeed; the other gets IllegalStateException. Without the CAS (a
 * check-then-set), both could succeed and the segment would sit in the pool twice, to be handed to
 * two owners.
 */
@JCStressTest
@Description("SegmentPool: of two racing frees of one segment, exactly one succeeds.")
@Outcome(id = {"1, 0", "0, 1"}, expect = ACCEPTABLE, desc = "one free succeeded, the other was refused")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "both succeeded: the segment is in the pool twice")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "both refused: a valid free was rejected")
@State
public class SegmentPoolDoubleFreeTest {

    /**
     * One pool for every state: a pool per state would open and close a shared arena per state
     * (tens of microseconds each, which made this test take minutes per configuration). Each state
     * takes its own segment from it; the segment freed once goes back for later states. No thread
     * ever reads in a section of this domain, so grace periods pass at once.
     */
    static final SegmentPool POOL = SegmentPool.builder(Smr.create(GraceOptions.named("jcstress"),
            Smr.Mode.DEFAULT), 64).maxBytes(256L << 20).build();

    final SegmentPool pool = POOL;
    final MemorySegment segment = pool.allocate();

    @Actor
    public void first(II_Result r) {
        r.r1 = tryFree();
    }

    @Actor
    public void second(II_Result r) {
        r.r2 = tryFree();
    }

    private int tryFree() {
        try {
            pool.free(segment);
            return 1;
        } catch (IllegalStateException e) {
            return 0;
        }
    }
}
