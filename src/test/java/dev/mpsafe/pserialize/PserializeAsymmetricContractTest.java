package dev.mpsafe.pserialize;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceDomainContractTest;
import dev.mpsafe.sync.GraceOptions;

/** The contract in the asymmetric mode (membarrier), where this machine has it; else fenced. */
class PserializeAsymmetricContractTest extends GraceDomainContractTest {
    @Override
    protected GraceDomain create(GraceOptions options) {
        return Pserialize.create(options, Pserialize.Mode.ASYMMETRIC);
    }
}
