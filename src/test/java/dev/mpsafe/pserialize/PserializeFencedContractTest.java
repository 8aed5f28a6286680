package dev.mpsafe.pserialize;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceDomainContractTest;
import dev.mpsafe.sync.GraceOptions;

class PserializeFencedContractTest extends GraceDomainContractTest {
    @Override
    protected GraceDomain create(GraceOptions options) {
        Pserialize p = Pserialize.create(options, Pserialize.Mode.FENCED);
        org.junit.jupiter.api.Assertions.assertEquals(Pserialize.Mode.FENCED, p.mode());
        return p;
    }
}
