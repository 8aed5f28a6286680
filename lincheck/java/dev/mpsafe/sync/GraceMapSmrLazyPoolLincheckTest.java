package dev.mpsafe.sync;

import dev.mpsafe.smr.Smr;

/**
 * {@link GraceMap} over an SMR domain in mode LAZY, its nodes from an {@link
 * dev.mpsafe.smr.SmrPool}. Under model checking membarrier is a no-op (sequential consistency
 * is assumed); the stress run exercises the fence-free readers on the hardware.
 */
public class GraceMapSmrLazyPoolLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        Smr smr = Smr.create(GraceOptions.named("gracemap-smr-lazy-pool"), Smr.Mode.LAZY);
        return new GraceMap(smr, GraceMap.Reclaim.SMR_POOL, null, BUCKETS);
    }
}
