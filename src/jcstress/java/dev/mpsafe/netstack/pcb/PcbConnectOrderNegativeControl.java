package dev.mpsafe.netstack.pcb;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;

import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Section;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/**
 * Negative control for {@link PcbConnectTest}: a reader that probes the exact table before loading
 * the port bucket. If its exact probe precedes connect's exact store and its port load follows the
 * store that unlinks the old PCB, it finds neither. The window is the writer's few hundred
 * nanoseconds between those stores, so the outcome is rare; it never fails the run.
 */
@JCStressTest
@Description("Negative control: lookup with the exact probe before the port-bucket load, racing connect. "
        + "Can show 0 (neither PCB) on any hardware: why lookup loads the port bucket first.")
@Outcome(id = "0", expect = ACCEPTABLE_INTERESTING, desc = "neither: why the reader must load the port bucket first")
@Outcome(expect = ACCEPTABLE, desc = "old or new PCB found; no race observed this time")
@State
public class PcbConnectOrderNegativeControl {

    static final int A = 0x0a000001;
    static final int PEER = 0xc0000207;

    final Smr domain = Smr.create(GraceOptions.named("jcstress-pcb"), Smr.Mode.DEFAULT);
    final PcbTable<String> table = PcbTable.<String>builder(domain).buckets(4).name("udp").build();
    final Pcb<String> bound = table.bind(0, 4000, "sock");

    @Actor
    public void writer() {
        table.connect(bound, A, PEER, 53);
    }

    @Actor
    public void reader(I_Result r) {
        try (Section s = domain.enter()) {
            Pcb<String> p = table.lookupExactFirstForNegativeControl(A, 4000, PEER, 53);
            r.r1 = p == null ? 0 : p == bound ? 1 : 2;
        }
    }
}
