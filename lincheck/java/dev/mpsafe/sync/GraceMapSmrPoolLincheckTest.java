package dev.mpsafe.sync;

import dev.mpsafe.smr.Smr;

/**
 * {@link GraceMap} over an SMR domain in mode DEFAULT, its nodes from an {@link
 * dev.mpsafe.smr.SmrPool} (buckets of one): an unlinked node is freed to the pool and handed to
 * a later put once its goal passed.
 */
public class GraceMapSmrPoolLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        Smr smr = Smr.create(GraceOptions.named("gracemap-smr-pool"), Smr.Mode.DEFAULT);
        return new GraceMap(smr, GraceMap.Reclaim.SMR_POOL, null, BUCKETS);
    }
}
