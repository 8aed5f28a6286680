package dev.mpsafe.sync;

import dev.mpsafe.pserialize.Pserialize;

/**
 * {@link GraceMap} over an asymmetric pserialize (membarrier; fenced where unavailable), reclaiming
 * with {@code synchronize()}. Under model checking it is the same as the fenced subclass (see the
 * base class); the stress run is where the missing reader fence and the membarrier matter.
 */
public class GraceMapPserializeAsymmetricLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        return new GraceMap(Pserialize.create(GraceOptions.named("gracemap-asymmetric"), Pserialize.Mode.ASYMMETRIC),
                GraceMap.Reclaim.SYNCHRONIZE, null, BUCKETS);
    }
}
