package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;

/**
 * {@link GraceMap} over an epoch, reclaiming with {@code call()}, callbacks run by the writers'
 * polls ({@code withCallbacksOnDomainThread(false)}).
 *
 * <p>Why not the domain thread: Lincheck makes a fresh test instance, hence a fresh epoch, for
 * every invocation and has no per-invocation teardown, so each invocation would start a reclaimer
 * thread that is never closed (thousands per run). With caller-run callbacks every step of the
 * reclamation happens on the scenario's own threads, where the model checker controls it. The
 * domain-thread mode is covered by {@code ReclaimTortureTest} (EPOCH_CALL_DOMAIN_THREAD).
 */
public class GraceMapEpochLincheckTest extends GraceMapLincheckTest {
    @Override
    protected GraceMap newMap() {
        Epoch epoch = Epoch.create(GraceOptions.named("gracemap-epoch").withCallbacksOnDomainThread(false));
        Runnable pump = () -> {
            epoch.poll(); // advance
            epoch.poll(); // advance again and run the callbacks that became ready
        };
        return new GraceMap(epoch, GraceMap.Reclaim.CALL, pump, BUCKETS);
    }
}
