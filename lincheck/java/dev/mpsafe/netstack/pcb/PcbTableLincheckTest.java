package dev.mpsafe.netstack.pcb;

import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Section;
import java.util.ArrayList;
import java.util.List;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of {@link PcbTable}'s bind, connect, remove and lookup against a sequential
 * model that encodes BSD's rule: the connected PCB with the exact 4-tuple first, then the
 * unconnected PCB bound to the destination address, then the one bound to 0.0.0.0. One small
 * subclass per grace scheme.
 *
 * <p>Small fixed domains so that operations collide: local addresses {0.0.0.0, A, B}, ports
 * {1, 2} (two buckets, so the port buckets differ and the exact buckets are shared), one peer
 * address with ports {1, 2}. connect and remove find their PCB by exact local address and port
 * ({@link PcbTable#boundTo}), and retry when a racing operation removed it between that find and
 * their own call (the table refuses a removed PCB and changes nothing, so a retry is invisible);
 * a connect from 0.0.0.0 uses A as the routed source address, and a connect of a connected PCB
 * is a reconnect. Every removal's {@code afterGrace} poisons the owner; a lookup reports a
 * poisoned owner it still holds inside its section, which the model never produces, so a callback
 * run before its grace period fails the test.
 *
 * <p>Model checking explores interleavings of the real table and domain code under sequential
 * consistency (it checks the algorithm: the order of connect's stores, the flags, the retries);
 * the stress run executes on the hardware with real threads. Iteration counts are small and
 * explicit, as for {@code GraceMapLincheckTest}: about 15 to 30 s per subclass here.
 *
 * <p>What these budgets catch, checked by breaking the code: {@code afterGrace} run before the
 * grace period (a poisoned owner, found by model checking within seconds). What they did not
 * catch: a lookup that ignores the removed flag, whose only symptom is one thread seeing the new
 * PCB and then the old one in a window of a few stores; {@code PcbConnectTest} (jcstress) is the
 * guard for that.
 */
@Param(name = "addr", gen = IntGen.class, conf = "0:2")
@Param(name = "port", gen = IntGen.class, conf = "1:2")
@Param(name = "peer", gen = IntGen.class, conf = "1:2")
public abstract class PcbTableLincheckTest {

    static final int A = 0x0a000001;
    static final int B = 0x0a000002;
    static final int PEER = 0xc0000207;
    static final int[] ADDRESSES = {0, A, B};

    /** The socket: poisoned by afterGrace. */
    static final class Owner {
        volatile boolean poisoned;
    }

    private final GraceDomain domain = newDomain();
    private final PcbTable<Owner> table = PcbTable.<Owner>builder(domain).name("udp").buckets(2).build();

    /** A fresh domain; called once per Lincheck invocation. */
    protected abstract GraceDomain newDomain();

    /** Called after each remove, for domains whose deferred callbacks run on a poll; or nothing. */
    protected void pump(GraceDomain domain) {
    }

    @Operation
    public String bind(@Param(name = "addr") int addr, @Param(name = "port") int port) {
        try {
            table.bind(ADDRESSES[addr], port, new Owner());
            return "ok";
        } catch (PortInUseException e) {
            return "in use";
        }
    }

    @Operation
    public String connect(@Param(name = "addr") int addr, @Param(name = "port") int port,
            @Param(name = "peer") int peer) {
        int local = ADDRESSES[addr];
        for (;;) {
            Pcb<Owner> p = table.boundTo(local, port);
            if (p == null) {
                return "none";
            }
            try {
                table.connect(p, local == 0 ? A : local, PEER, peer);
                return "ok";
            } catch (PortInUseException e) {
                return "in use";
            } catch (IllegalStateException e) {
                // removed by a racing operation after boundTo: nothing changed; look again
            }
        }
    }

    @Operation
    public String remove(@Param(name = "addr") int addr, @Param(name = "port") int port) {
        for (;;) {
            Pcb<Owner> p = table.boundTo(ADDRESSES[addr], port);
            if (p == null) {
                return "none";
            }
            try {
                Owner owner = p.owner();
                table.remove(p, () -> owner.poisoned = true);
                pump(domain);
                return "ok";
            } catch (IllegalStateException e) {
                // removed by a racing operation after boundTo: nothing changed; look again
            }
        }
    }

    @Operation
    public String lookup(@Param(name = "addr") int addr, @Param(name = "port") int port,
            @Param(name = "peer") int peer) {
        try (Section s = domain.enter()) {
            Pcb<Owner> p = table.lookup(ADDRESSES[addr], port, PEER, peer);
            if (p == null) {
                return null;
            }
            return p + (p.owner().poisoned ? " POISONED" : "");
        }
    }

    @Test
    void modelCheckingTest() {
        new ModelCheckingOptions()
                .iterations(10)
                .invocationsPerIteration(100)
                .threads(3)
                .actorsPerThread(2)
                .sequentialSpecification(Model.class)
                .check(this.getClass());
    }

    @Test
    void stressTest() {
        new StressOptions()
                .iterations(20)
                .invocationsPerIteration(1_000)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(Model.class)
                .check(this.getClass());
    }

    /** The sequential specification: a list of bindings and BSD's lookup rule. */
    public static final class Model {
        private record Entry(int la, int lp, int ra, int rp) {
            @Override
            public String toString() {
                return "udp " + (la == 0 ? "*" : Ipv4Address.format(la)) + ":" + lp + " <- "
                        + (ra == 0 ? "*" : Ipv4Address.format(ra)) + ":" + (rp == 0 ? "*" : Integer.toString(rp));
            }
        }

        private final List<Entry> entries = new ArrayList<>();

        private Entry at(int la, int lp) {
            return entries.stream().filter(e -> e.la == la && e.lp == lp).findFirst().orElse(null);
        }

        public String bind(int addr, int port) {
            int la = ADDRESSES[addr];
            if (entries.stream().anyMatch(e -> e.lp == port && (e.la == la || e.la == 0 || la == 0))) {
                return "in use";
            }
            entries.add(new Entry(la, port, 0, 0));
            return "ok";
        }

        public String connect(int addr, int port, int peer) {
            Entry e = at(ADDRESSES[addr], port);
            if (e == null) {
                return "none";
            }
            Entry next = new Entry(e.la == 0 ? A : e.la, port, PEER, peer);
            if (entries.stream().anyMatch(x -> x != e && x.equals(next))) {
                return "in use";
            }
            entries.remove(e);
            entries.add(next);
            return "ok";
        }

        public String remove(int addr, int port) {
            Entry e = at(ADDRESSES[addr], port);
            if (e == null) {
                return "none";
            }
            entries.remove(e);
            return "ok";
        }

        public String lookup(int addr, int port, int peer) {
            int la = ADDRESSES[addr];
            for (Entry e : entries) {
                if (e.ra == PEER && e.rp == peer && e.la == la && e.lp == port) {
                    return e.toString();
                }
            }
            for (Entry e : entries) {
                if (e.ra == 0 && e.lp == port && e.la == la) {
                    return e.toString();
                }
            }
            for (Entry e : entries) {
                if (e.ra == 0 && e.lp == port && e.la == 0) {
                    return e.toString();
                }
            }
            return null;
        }
    }
}
