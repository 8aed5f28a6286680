package dev.mpsafe.smr;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceDomainContractTest;
import dev.mpsafe.sync.GraceOptions;

/** The grace-period contract for an SMR domain in mode Smr.Mode.LAZY. */
class SmrLazyContractTest extends GraceDomainContractTest {
    @Override
    protected GraceDomain create(GraceOptions options) {
        return Smr.create(options, Smr.Mode.LAZY);
    }
}
