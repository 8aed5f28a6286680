package dev.mpsafe.netstack.pcb;

import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;

/** {@link PcbTable} over SMR in mode DEFAULT: remove waits with {@code synchronize()}. */
public class PcbTableSmrLincheckTest extends PcbTableLincheckTest {
    @Override
    protected GraceDomain newDomain() {
        return Smr.create(GraceOptions.named("pcb-smr"), Smr.Mode.DEFAULT);
    }
}
