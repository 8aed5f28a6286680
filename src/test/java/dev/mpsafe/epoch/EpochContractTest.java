package dev.mpsafe.epoch;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceDomainContractTest;
import dev.mpsafe.sync.GraceOptions;

class EpochContractTest extends GraceDomainContractTest {
    @Override
    protected GraceDomain create(GraceOptions options) {
        return Epoch.create(options);
    }
}
