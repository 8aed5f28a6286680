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
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * A PCB published by bind is seen whole by a racing lookup: its fields, and the owner's state
 * written before bind. The owner's {@code id} is a plain field written before {@code bind}: only
 * the release store of the bucket slot and the reader's acquire load make it visible (the PCB's
 * own fields are final, which would also protect them).
 */
@JCStressTest
@Description("PcbTable.bind publication: a lookup racing bind finds nothing or the PCB whole, with the "
        + "owner's plain field as written before bind. The release store of the bucket slot (soWild) "
        + "and the acquire load in lookup (laWild) order it; x86 (TSO) keeps stores in order and loads "
        + "in order, so on x86 only a compiler reordering could show the torn outcomes; an ARM run can "
        + "show the hardware's.")
@Outcome(id = "-1, 0, 0, 0", expect = ACCEPTABLE, desc = "not yet bound")
@Outcome(id = "1, 53, 42, 0", expect = ACCEPTABLE, desc = "found, whole: address, port, owner state, unconnected")
@Outcome(expect = FORBIDDEN, desc = "found a torn PCB or an owner without its state")
@State
public class PcbPublicationTest {

    static final int A = 0x0a000001;

    /** The socket: a plain field, written before bind. */
    static final class Owner {
        int id;
    }

    final Smr domain = Smr.create(GraceOptions.named("jcstress-pcb"), Smr.Mode.DEFAULT);
    final PcbTable<Owner> table = PcbTable.<Owner>builder(domain).buckets(4).name("udp").build();

    @Actor
    public void writer() {
        Owner o = new Owner();
        o.id = 42;
        table.bind(A, 53, o);
    }

    @Actor
    public void reader(IIII_Result r) {
        try (Section s = domain.enter()) {
            Pcb<Owner> p = table.lookup(A, 53, 0xc0000207, 1000);
            if (p == null) {
                r.r1 = -1;
                return;
            }
            r.r1 = p.localAddress() == A ? 1 : 0;
            r.r2 = p.localPort();
            Owner o = p.owner();
            r.r3 = o == null ? -1 : o.id;
            r.r4 = p.remoteAddress() | p.remotePort() | (p.removed() ? 1 : 0);
        }
    }
}
