package dev.mpsafe.netstack.pcb;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Section;
import dev.mpsafe.sync.SyncBench;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Question: what does demultiplexing a datagram to its PCB cost the receive path under each
 * grace-period scheme, against the same lookup rule over {@code HashMap}s behind a
 * {@code ReentrantReadWriteLock}, at 1 and 2 threads? The goal: at least 10x the
 * read-locked maps at 2 threads.
 *
 * <p>The table: 1,000 connected PCBs (random local ports and peers, local address 10.0.0.1 or
 * 10.0.0.2) and 100 bound ones (half on 0.0.0.0, half on 10.0.0.1), 1024 buckets. Queries: a fixed
 * random sequence of 4,096 datagrams, about 60% for a connected PCB (exact hit), 30% for a bound
 * one (wildcard hit, some through the address, some through 0.0.0.0) and 10% for no PCB (miss).
 * No writer runs: this is the read path's cost.
 *
 * <ul>
 *   <li>{@code rwlock}: read lock; the exact map ({@code HashMap<Tuple, Pcb>}), then the
 *       wildcard map ({@code HashMap<Integer, Pcb[]>} by port, address before 0.0.0.0); unlock.
 *       The query keys are built in setup, so the baseline allocates nothing per lookup
 *       either.</li>
 *   <li>{@code pserializeFenced}, {@code pserializeAsymmetric}, {@code epoch}, {@code smrDefault},
 *       {@code smrLazy}, {@code smrDeferred}: {@code p.enter(); table.lookup(...); p.exit();}
 *       with the thread's participant, as the stack's workers do.</li>
 * </ul>
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.netstack\.pcb\.PcbLookup\..*' \
 *       -Djmh.args="-f 2 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 * Do not pass {@code -t}: {@code PcbLookup.OneThread} and {@code PcbLookup.TwoThreads} set the
 * thread counts.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public abstract class PcbLookup {

    @Threads(1)
    public static class OneThread extends PcbLookup {
    }

    @Threads(2)
    public static class TwoThreads extends PcbLookup {
    }

    static final int CONNECTED = 1_000;
    static final int BOUND = 100;
    static final int QUERIES = 4_096;
    static final int A = 0x0a000001;
    static final int B = 0x0a000002;

    /** A 4-tuple as the baseline's exact-map key. */
    record Tuple(int localAddress, int localPort, int remoteAddress, int remotePort) {
    }

    /** One datagram's fields, and the baseline's prebuilt keys for it. */
    record Query(int localAddress, int localPort, int remoteAddress, int remotePort, Tuple tuple, Integer port) {
    }

    /** The tables (one per scheme, same PCBs), the locked maps, and the queries. */
    @State(Scope.Benchmark)
    public static class Tables {
        final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
        final Map<Tuple, Pcb<Object>> lockedExact = new HashMap<>();
        final Map<Integer, Pcb<Object>[]> lockedWild = new HashMap<>();
        PcbTable<Object> fenced;
        PcbTable<Object> asymmetric;
        PcbTable<Object> epoch;
        PcbTable<Object> smrDefault;
        PcbTable<Object> smrLazy;
        PcbTable<Object> smrDeferred;
        final Query[] queries = new Query[QUERIES];

        @Setup(Level.Trial)
        public void build() {
            fenced = table(SyncBench.domain("pserializeFenced", "pcb-fenced"));
            asymmetric = table(SyncBench.domain("pserializeAsymmetric", "pcb-asym"));
            epoch = table(SyncBench.domain("epoch", "pcb-epoch"));
            smrDefault = table(SyncBench.domain("smrDefault", "pcb-smr"));
            smrLazy = table(SyncBench.domain("smrLazy", "pcb-smr-lazy"));
            smrDeferred = table(SyncBench.domain("smrDeferred", "pcb-smr-deferred"));
            List<PcbTable<Object>> all = List.of(fenced, asymmetric, epoch, smrDefault, smrLazy, smrDeferred);

            // The same binds on every table (seeded generators, so the same ephemeral ports).
            SplittableRandom random = new SplittableRandom(2026);
            List<Pcb<Object>> connected = new ArrayList<>();
            List<Pcb<Object>> bound = new ArrayList<>();
            Object owner = new Object();
            for (int i = 0; i < BOUND; i++) {
                int address = i % 2 == 0 ? 0 : A;
                int port = 1 + random.nextInt(40_000);
                if (fenced.pcbs().stream().anyMatch(p -> p.localPort() == port)) {
                    continue; // keep the 0.0.0.0 / A mix free of conflicts
                }
                Pcb<Object> p = null;
                for (PcbTable<Object> t : all) {
                    p = t.bind(address, port, owner);
                }
                bound.add(p);
            }
            while (connected.size() < CONNECTED) {
                int local = random.nextBoolean() ? A : B;
                int peer = 0xc0000000 | random.nextInt(1 << 16);
                int peerPort = 1 + random.nextInt(65535);
                Pcb<Object> p = null;
                for (PcbTable<Object> t : all) {
                    p = t.connect(t.bind(local, 0, owner), local, peer, peerPort);
                }
                connected.add(p);
            }
            for (Pcb<Object> p : connected) {
                lockedExact.put(new Tuple(p.localAddress(), p.localPort(), p.remoteAddress(), p.remotePort()), p);
            }
            Map<Integer, List<Pcb<Object>>> byPort = new HashMap<>();
            for (Pcb<Object> p : bound) {
                byPort.computeIfAbsent(p.localPort(), k -> new ArrayList<>()).add(p);
            }
            byPort.forEach((port, list) -> {
                @SuppressWarnings("unchecked")
                Pcb<Object>[] array = list.toArray(new Pcb[0]);
                lockedWild.put(port, array);
            });
            for (int i = 0; i < QUERIES; i++) {
                int kind = random.nextInt(10);
                int la;
                int lp;
                int ra = 0xc6336400 | random.nextInt(256); // 198.51.100.x: no connected PCB uses it
                int rp = 1 + random.nextInt(65535);
                if (kind < 6) {
                    Pcb<Object> p = connected.get(random.nextInt(connected.size()));
                    la = p.localAddress();
                    lp = p.localPort();
                    ra = p.remoteAddress();
                    rp = p.remotePort();
                } else if (kind < 9) {
                    Pcb<Object> p = bound.get(random.nextInt(bound.size()));
                    la = p.localAddress() == 0 ? (random.nextBoolean() ? A : B) : p.localAddress();
                    lp = p.localPort();
                } else {
                    la = A;
                    lp = 40_001 + random.nextInt(9_000); // below the ephemeral range, above the bound ports
                }
                queries[i] = new Query(la, lp, ra, rp, new Tuple(la, lp, ra, rp), lp);
            }
            // The baseline and the tables must agree on every query.
            for (Query q : queries) {
                Pcb<Object> expected = locked(q);
                for (PcbTable<Object> t : all) {
                    try (Section s = t.domain().enter()) {
                        Pcb<Object> got = t.lookup(q.localAddress(), q.localPort(), q.remoteAddress(), q.remotePort());
                        if ((expected == null) != (got == null)
                                || (got != null && !got.toString().equals(expected.toString()))) {
                            throw new AssertionError(q + ": table " + t + " found " + got + ", the maps " + expected);
                        }
                    }
                }
            }
        }

        private static PcbTable<Object> table(GraceDomain domain) {
            return PcbTable.builder(domain).name("udp").random(new SplittableRandom(7)).build();
        }

        /** The baseline's rule, without the lock: exact map, then the port's wildcards. */
        Pcb<Object> locked(Query q) {
            Pcb<Object> p = lockedExact.get(q.tuple());
            if (p != null) {
                return p;
            }
            Pcb<Object>[] wild = lockedWild.get(q.port());
            if (wild == null) {
                return null;
            }
            Pcb<Object> any = null;
            for (Pcb<Object> w : wild) {
                if (w.localAddress() == q.localAddress()) {
                    return w;
                }
                if (w.localAddress() == 0) {
                    any = w;
                }
            }
            return any;
        }

        @TearDown(Level.Trial)
        public void close() {
            SyncBench.close(epoch.domain());
        }
    }

    /** A thread's participants and its position in the query sequence. */
    @State(Scope.Thread)
    public static class Reader extends SyncBench.Participants {
        int next;

        @Setup(Level.Trial)
        public void register(Tables t) {
            registerAll(t.fenced.domain(), t.asymmetric.domain(), t.epoch.domain(), t.smrDefault.domain(),
                    t.smrLazy.domain(), t.smrDeferred.domain());
            next = (int) (Thread.currentThread().threadId() * 977);
        }

        @TearDown(Level.Trial)
        public void release() {
            releaseAll();
        }

        Query query(Tables t) {
            return t.queries[next++ & (QUERIES - 1)];
        }
    }

    @Benchmark
    public Pcb<Object> rwlock(Tables t, Reader r) {
        Query q = r.query(t);
        ReentrantReadWriteLock.ReadLock lock = t.rwlock.readLock();
        lock.lock();
        try {
            return t.locked(q);
        } finally {
            lock.unlock();
        }
    }

    @Benchmark
    public Pcb<Object> pserializeFenced(Tables t, Reader r) {
        return lookup(r.fenced, t.fenced, r.query(t));
    }

    @Benchmark
    public Pcb<Object> pserializeAsymmetric(Tables t, Reader r) {
        return lookup(r.asymmetric, t.asymmetric, r.query(t));
    }

    @Benchmark
    public Pcb<Object> epoch(Tables t, Reader r) {
        return lookup(r.epoch, t.epoch, r.query(t));
    }

    @Benchmark
    public Pcb<Object> smrDefault(Tables t, Reader r) {
        return lookup(r.smrDefault, t.smrDefault, r.query(t));
    }

    @Benchmark
    public Pcb<Object> smrLazy(Tables t, Reader r) {
        return lookup(r.smrLazy, t.smrLazy, r.query(t));
    }

    @Benchmark
    public Pcb<Object> smrDeferred(Tables t, Reader r) {
        return lookup(r.smrDeferred, t.smrDeferred, r.query(t));
    }

    private static Pcb<Object> lookup(Participant p, PcbTable<Object> table, Query q) {
        p.enter();
        try {
            return table.lookup(q.localAddress(), q.localPort(), q.remoteAddress(), q.remotePort());
        } finally {
            p.exit();
        }
    }
}
