package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;

/**
 * {@link GraceMap} over an epoch, reclaiming with cookies: an unlinked node is tagged with
 * {@code advance()} and pooled once {@code poll(goal)} says the goal passed, the way a pool builds
 * on {@link Polling}. No callbacks, so no domain thread is ever started.
 */
public class GraceMapEpochPollLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        return new GraceMap(Epoch.create(GraceOptions.named("gracemap-epoch-poll")), GraceMap.Reclaim.POLL, null,
                BUCKETS);
    }
}
