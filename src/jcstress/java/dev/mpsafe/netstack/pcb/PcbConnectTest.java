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
 * connect is atomic for readers. The reader looks up the datagram of the peer being connected
 * (r1), then one from another peer (r2). r1 must be the old bound PCB or the new connected one,
 * whole, never nothing; and once r1 saw the new PCB, r2 must not see the old one.
 */
@JCStressTest
@Description("PcbTable.connect atomicity: a lookup racing connect finds the old or the new PCB, never "
        + "neither, and never new-then-old. Rests on connect's order (removed flag + successor, then "
        + "exact slot, then wild slot, each a release store) and lookup's (acquire of the wild slot "
        + "before the exact slot, acquire of the flag). Algorithmic orders fail on x86 too: with lookup "
        + "ignoring the removed flag, -m quick showed (2, 1) on x86 in every configuration; reordering "
        + "the reader's two loads can show (0, *) (PcbConnectOrderNegativeControl). The release/acquire "
        + "pairs themselves cannot be shown wrong on x86 (TSO), only on ARM or by the JIT.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "before connect: the old PCB for both peers")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "old for this peer; connect happened in between")
@Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "after connect: the new PCB, whole; nothing for another peer")
@Outcome(id = "2, 1", expect = FORBIDDEN, desc = "new, then old: connect not atomic")
@Outcome(id = "0, .*", expect = FORBIDDEN, desc = "neither the old nor the new PCB")
@Outcome(expect = FORBIDDEN, desc = "a torn PCB")
@State
public class PcbConnectTest {

    static final int A = 0x0a000001;
    static final int PEER = 0xc0000207;
    static final int OTHER = 0xc0000208;

    final Smr domain = Smr.create(GraceOptions.named("jcstress-pcb"), Smr.Mode.DEFAULT);
    final PcbTable<String> table = PcbTable.<String>builder(domain).buckets(4).name("udp").build();
    final Pcb<String> bound = table.bind(0, 4000, "sock");

    @Actor
    public void writer() {
        table.connect(bound, A, PEER, 53);
    }

    @Actor
    public void reader(II_Result r) {
        try (Section s = domain.enter()) {
            r.r1 = code(table.lookup(A, 4000, PEER, 53));
            r.r2 = code(table.lookup(A, 4000, OTHER, 53));
        }
    }

    int code(Pcb<String> p) {
        if (p == null) {
            return 0;
        }
        if (p == bound) {
            return 1;
        }
        boolean whole = p.localAddress() == A && p.localPort() == 4000 && p.remoteAddress() == PEER
                && p.remotePort() == 53 && "sock".equals(p.owner());
        return whole ? 2 : -1;
    }
}
