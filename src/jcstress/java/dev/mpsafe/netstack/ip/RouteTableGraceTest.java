package dev.mpsafe.netstack.ip;

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
 * RouteTable's two claims on the real code path: a lookup racing a replacement of the route finds
 * the old route or the new one, complete (never none, never a half-built table), and the removal
 * hook never runs for the old route while a reader that found it is still inside its section.
 */
@JCStressTest
@Description("RouteTable: a lookup racing add() finds route 1 or route 2 whole, and route 1's removal "
        + "hook has not run while the reader that found it is inside. The ordering comes from "
        + "Protected's release exchange and acquire load (plus the final fields of the table and of "
        + "Route) and from the domain's grace period; x86 cannot show a reordered publication, and the "
        + "grace period's own negative controls are the smr/pserialize StoreLoad tests.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "found the old route; not reclaimed while inside")
@Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "found the new route")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "the old route was reclaimed while the reader that found it was inside")
@Outcome(id = "2, 1", expect = ACCEPTABLE, desc = "found the new route; the old one reclaimed meanwhile")
@Outcome(expect = FORBIDDEN, desc = "no route, or a route that was never added: a torn table")
@State
public class RouteTableGraceTest {

    static final int NET = 0x0a000000; // 10.0.0.0/8

    final Smr domain = Smr.create(GraceOptions.named("jcstress-routes"), Smr.Mode.DEFAULT);
    final Route first = Route.onLink(NET, 8, 1);
    volatile int firstReclaimed;
    final RouteTable table = RouteTable.builder(domain).onRemoved(r -> {
        if (r == first) {
            firstReclaimed = 1;
        }
    }).build();

    {
        table.add(first);
    }

    @Actor
    public void reader(II_Result r) {
        try (Section s = domain.enter()) {
            Route found = table.lookup(0x0a010203);
            r.r1 = found == null ? -1 : found.interfaceIndex();
            r.r2 = firstReclaimed;
        }
    }

    @Actor
    public void writer() {
        table.add(Route.onLink(NET, 8, 2)); // replaces first; its hook runs after synchronize()
    }
}
