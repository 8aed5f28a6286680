package dev.mpsafe.netstack.pcb;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Section;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * PcbTable's reclamation claim on the real code path: a lookup racing remove never holds a PCB
 * whose afterGrace already ran. The reader reads the "reclaimed" flag that afterGrace sets while
 * still inside the section that found the PCB.
 */
@JCStressTest
@Description("PcbTable.remove: afterGrace never runs while a reader that found the PCB is inside its "
        + "section. The order comes from the domain's grace period (synchronize() after the unlinking "
        + "stores); its StoreLoad half is what the smr/pserialize StoreLoad tests and their negative "
        + "controls show can fail on x86 without the fence or membarrier.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "found the PCB; not reclaimed while inside")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "already removed: not found")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "not found; reclaimed meanwhile")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "the PCB's afterGrace ran while the reader that found it was inside")
@Outcome(expect = FORBIDDEN, desc = "a PCB that was never bound")
@State
public class PcbGraceTest {

    static final int A = 0x0a000001;

    final Smr domain = Smr.create(GraceOptions.named("jcstress-pcb"), Smr.Mode.DEFAULT);
    final PcbTable<String> table = PcbTable.<String>builder(domain).buckets(4).name("udp").build();
    final Pcb<String> pcb = table.bind(A, 53, "dns");
    volatile int reclaimed;

    @Actor
    public void reader(II_Result r) {
        try (Section s = domain.enter()) {
            Pcb<String> found = table.lookup(A, 53, 0xc0000207, 1000);
            r.r1 = found == null ? 0 : found == pcb ? 1 : -1;
            r.r2 = reclaimed;
        }
    }

    @Actor
    public void writer() {
        table.remove(pcb, () -> reclaimed = 1); // unlinks, synchronize(), then the callback
    }
}
