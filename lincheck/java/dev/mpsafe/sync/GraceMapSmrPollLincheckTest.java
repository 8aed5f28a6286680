package dev.mpsafe.sync;

import dev.mpsafe.smr.Smr;

/**
 * {@link GraceMap} over an SMR domain in mode DEFAULT, reclaiming with cookies: an unlinked
 * node is tagged with {@code advance()} and pooled once {@code poll(goal)} passes.
 */
public class GraceMapSmrPollLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        Smr smr = Smr.create(GraceOptions.named("gracemap-smr-poll"), Smr.Mode.DEFAULT);
        return new GraceMap(smr, GraceMap.Reclaim.POLL, null, BUCKETS);
    }
}
