package dev.mpsafe.sync;

import dev.mpsafe.smr.Smr;

/**
 * {@link GraceMap} over an SMR domain in mode DEFERRED(4), its nodes from an {@link
 * dev.mpsafe.smr.SmrPool}: most advances are deferred, so the pool's polls force the write
 * sequence.
 */
public class GraceMapSmrDeferredPoolLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        Smr smr = Smr.create(GraceOptions.named("gracemap-smr-deferred-pool"), Smr.Mode.deferred(4));
        return new GraceMap(smr, GraceMap.Reclaim.SMR_POOL, null, BUCKETS);
    }
}
