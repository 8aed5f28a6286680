package dev.mpsafe.netstack.pcb;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;

/**
 * {@link PcbTable} over an epoch: remove defers {@code afterGrace} with {@code call()}, and the
 * removing thread polls twice to run the callbacks that became ready. Callbacks run on the
 * scenario's threads ({@code withCallbacksOnDomainThread(false)}), for the reason given in
 * {@code GraceMapEpochLincheckTest}: Lincheck has no per-invocation teardown to stop a domain
 * thread.
 */
public class PcbTableEpochLincheckTest extends PcbTableLincheckTest {
    @Override
    protected GraceDomain newDomain() {
        return Epoch.create(GraceOptions.named("pcb-epoch").withCallbacksOnDomainThread(false));
    }

    @Override
    protected void pump(GraceDomain domain) {
        Epoch epoch = (Epoch) domain;
        epoch.poll(); // advance
        epoch.poll(); // advance again and run the callbacks that became ready
    }
}
