package dev.mpsafe.sync;

import dev.mpsafe.pserialize.Pserialize;

/** {@link GraceMap} over a fenced pserialize, reclaiming with {@code synchronize()}. */
public class GraceMapPserializeFencedLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        return new GraceMap(Pserialize.create(GraceOptions.named("gracemap-fenced"), Pserialize.Mode.FENCED),
                GraceMap.Reclaim.SYNCHRONIZE, null, BUCKETS);
    }
}
