package dev.mpsafe.netstack.ip;

import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.SyncBench;
import java.util.ArrayList;
import java.util.List;
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
 * Question: what does a route lookup cost the stack's send path under each grace-period scheme,
 * against the same table behind a {@code ReentrantReadWriteLock}, at 1 and 2 threads?
 *
 * <p>The table: 1,000 random routes with prefix lengths 8 to 32, plus a default route (what a host
 * with a few VPN and container routes, or a small router, carries). One operation: take the read
 * side, look up the next destination of a fixed random sequence of 4,096, release. No writer
 * runs: this is the read path's cost. Every scheme's row and the {@code rwlock} row probe the
 * same immutable table ({@link RouteTable.Lpm}), so the difference between rows is the
 * synchronization alone.
 *
 * <ul>
 *   <li>{@code rwlock}: read lock, probe, unlock: the baseline.</li>
 *   <li>{@code pserializeFenced}, {@code pserializeAsymmetric}, {@code epoch}, {@code smrDefault},
 *       {@code smrLazy}, {@code smrDeferred}: {@code p.enter(); table.lookup(dst); p.exit();}
 *       with the thread's participant, as the stack's workers do.</li>
 * </ul>
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.netstack\.ip\.RouteLookup\..*' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 * Do not pass {@code -t}: {@code RouteLookup.OneThread} and {@code RouteLookup.TwoThreads} set
 * the thread counts.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public abstract class RouteLookup {

    @Threads(1)
    public static class OneThread extends RouteLookup {
    }

    @Threads(2)
    public static class TwoThreads extends RouteLookup {
    }

    static final int ROUTES = 1_000;
    static final int DESTINATIONS = 4_096;

    /** The tables (one per scheme, same routes), the lock, and the destinations. */
    @State(Scope.Benchmark)
    public static class Tables {
        final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
        RouteTable.Lpm locked;
        RouteTable fenced;
        RouteTable asymmetric;
        RouteTable epoch;
        RouteTable smrDefault;
        RouteTable smrLazy;
        RouteTable smrDeferred;
        final int[] destinations = new int[DESTINATIONS];

        @Setup(Level.Trial)
        public void build() {
            SplittableRandom random = new SplittableRandom(2026);
            List<Route> routes = new ArrayList<>();
            routes.add(Route.via(0, 0, 0x0a000001, 0));
            while (routes.size() < ROUTES + 1) {
                int len = random.nextInt(8, 33);
                int net = random.nextInt() & Route.mask(len);
                if (routes.stream().noneMatch(r -> r.network() == net && r.prefixLength() == len)) {
                    routes.add(Route.onLink(net, len, random.nextInt(4)));
                }
            }
            for (int i = 0; i < DESTINATIONS; i++) {
                // Half hit a random route's prefix (often a long match), half are random (mostly the default).
                destinations[i] = i % 2 == 0 ? random.nextInt()
                        : routes.get(random.nextInt(routes.size())).network() | random.nextInt(256);
            }
            locked = RouteTable.Lpm.of(routes);
            fenced = table(SyncBench.domain("pserializeFenced", "rt-fenced"), routes);
            asymmetric = table(SyncBench.domain("pserializeAsymmetric", "rt-asym"), routes);
            epoch = table(SyncBench.domain("epoch", "rt-epoch"), routes);
            smrDefault = table(SyncBench.domain("smrDefault", "rt-smr"), routes);
            smrLazy = table(SyncBench.domain("smrLazy", "rt-smr-lazy"), routes);
            smrDeferred = table(SyncBench.domain("smrDeferred", "rt-smr-deferred"), routes);
        }

        private static RouteTable table(GraceDomain domain, List<Route> routes) {
            RouteTable t = RouteTable.create(domain);
            t.replaceAll(routes);
            return t;
        }

        @TearDown(Level.Trial)
        public void close() {
            SyncBench.close(epoch.domain());
        }
    }

    /** A thread's participants and its position in the destination sequence. */
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

        int destination(Tables t) {
            return t.destinations[next++ & (DESTINATIONS - 1)];
        }
    }

    @Benchmark
    public Route rwlock(Tables t, Reader r) {
        int dst = r.destination(t);
        ReentrantReadWriteLock.ReadLock lock = t.rwlock.readLock();
        lock.lock();
        try {
            return t.locked.lookup(dst);
        } finally {
            lock.unlock();
        }
    }

    @Benchmark
    public Route pserializeFenced(Tables t, Reader r) {
        return lookup(r.fenced, t.fenced, r.destination(t));
    }

    @Benchmark
    public Route pserializeAsymmetric(Tables t, Reader r) {
        return lookup(r.asymmetric, t.asymmetric, r.destination(t));
    }

    @Benchmark
    public Route epoch(Tables t, Reader r) {
        return lookup(r.epoch, t.epoch, r.destination(t));
    }

    @Benchmark
    public Route smrDefault(Tables t, Reader r) {
        return lookup(r.smrDefault, t.smrDefault, r.destination(t));
    }

    @Benchmark
    public Route smrLazy(Tables t, Reader r) {
        return lookup(r.smrLazy, t.smrLazy, r.destination(t));
    }

    @Benchmark
    public Route smrDeferred(Tables t, Reader r) {
        return lookup(r.smrDeferred, t.smrDeferred, r.destination(t));
    }

    private static Route lookup(Participant p, RouteTable table, int dst) {
        p.enter();
        try {
            return table.lookup(dst);
        } finally {
            p.exit();
        }
    }
}
