package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Protected;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The IPv4 routing table: longest-prefix match, read with no lock inside a grace-period read
 * section, changed by serialized writers, with removed routes handed to a hook only after a grace
 * period.
 *
 * <p><b>Readers.</b> {@link #lookup(int)} runs inside a section of the table's domain (the stack's
 * receive and send paths are already in one): it loads the current table with an acquire load and
 * probes it; no lock, no write to shared memory, no allocation. {@link #resolve(int)} opens its
 * own section for callers that are not in one.
 *
 * <p><b>Writers.</b> {@link #add}, {@link #remove} and {@link #replaceAll} are serialized by one
 * lock. Each builds a new immutable table (copy on write: route changes are rare next to lookups,
 * and a table of {@code n} routes costs O(n) to rebuild) and publishes it with a release exchange,
 * so a reader sees either the old table or the new one, each complete. A reader inside a section
 * may still hold a route the writer just removed; the {@linkplain Builder#onRemoved removal hook}
 * therefore runs only after a grace period: at once after {@code synchronize()} on the writer's
 * thread, or, when the domain is {@link Deferring} (epoch), from {@code call()} without making the
 * writer wait. Use the hook to release what a route holds (a reference on a neighbour entry, a
 * cached header in a pool).
 *
 * <p><b>Lookup structure.</b> One open-addressing hash table per populated prefix length, probed
 * from the longest length down; a lookup costs one probe per populated length (a host's table has
 * a handful). At most {@value #MAX_ROUTES} routes.
 *
 * <p><b>Ordering.</b> Everything a table holds is written before the {@link Protected#exchange}
 * that publishes it (release), and a reader reaches it only through the acquire load in
 * {@link Protected#load}: it sees every field of every route as built. The grace period orders the
 * removal hook after every section that could have loaded the old table (the domain's contract).
 */
public final class RouteTable {

    /** The most routes a table holds. */
    public static final int MAX_ROUTES = 1 << 20;

    private final GraceDomain domain;
    private final ReentrantLock writers = new ReentrantLock();
    private final Protected<Lpm> table;
    private final Consumer<? super Route> onRemoved;

    private RouteTable(Builder b) {
        this.domain = b.domain;
        this.onRemoved = b.onRemoved;
        this.table = Protected.create(domain, writers, Lpm.EMPTY);
    }

    /** A table whose lookups run in sections of {@code domain}; removed routes need no hook. */
    public static RouteTable create(GraceDomain domain) {
        return builder(domain).build();
    }

    public static Builder builder(GraceDomain domain) {
        return new Builder(domain);
    }

    /** The grace-period domain whose sections protect lookups. */
    public GraceDomain domain() {
        return domain;
    }

    /**
     * The route with the longest prefix that contains {@code destination}, or null when none does
     * (no default route). Call inside a section of {@link #domain()}; the route is immutable, and
     * the removal hook has not run for it while the section lasts.
     *
     * @throws IllegalStateException with {@code -ea}, outside a section of the domain
     */
    public Route lookup(int destination) {
        return table.load().lookup(destination);
    }

    /** {@link #lookup} in a section of its own, for callers that are not in one. */
    public Route resolve(int destination) {
        try (var section = domain.enter()) {
            return table.load().lookup(destination);
        }
    }

    /**
     * Adds {@code route}, replacing the route with the same network and prefix length if there is
     * one (which then goes to the removal hook after a grace period).
     *
     * @return the route it replaced, or null
     * @throws IllegalStateException if the table holds {@value #MAX_ROUTES} routes and this one is
     *     new; nothing changes then
     */
    public Route add(Route route) {
        Objects.requireNonNull(route, "route");
        Route old;
        writers.lock();
        try {
            Lpm current = table.serializedLoad();
            old = current.exact(route.network(), route.prefixLength());
            if (old == null && current.size() >= MAX_ROUTES) {
                throw new IllegalStateException("route table full: " + MAX_ROUTES + " routes; not adding " + route);
            }
            List<Route> next = new ArrayList<>(current.size() + 1);
            for (Route r : current.routes()) {
                if (r != old) {
                    next.add(r);
                }
            }
            next.add(route);
            table.exchange(Lpm.of(next));
        } finally {
            writers.unlock();
        }
        retire(old == null ? List.of() : List.of(old));
        return old;
    }

    /**
     * Removes the route for exactly {@code network/prefixLength}.
     *
     * @return the route removed (handed to the removal hook after a grace period), or null if none
     * @throws IllegalArgumentException for a prefix length outside 0..32 or host bits in {@code network}
     */
    public Route remove(int network, int prefixLength) {
        Route.onLink(network, prefixLength, 0); // validates, with the same messages as a route
        Route old;
        writers.lock();
        try {
            Lpm current = table.serializedLoad();
            old = current.exact(network, prefixLength);
            if (old == null) {
                return null;
            }
            List<Route> next = new ArrayList<>(current.size());
            for (Route r : current.routes()) {
                if (r != old) {
                    next.add(r);
                }
            }
            table.exchange(Lpm.of(next));
        } finally {
            writers.unlock();
        }
        retire(List.of(old));
        return old;
    }

    /**
     * Replaces the whole table with {@code routes} at once: a reader sees all of the old table or
     * all of the new one. Every old route not in the new table goes to the removal hook.
     *
     * @throws IllegalArgumentException if two routes have the same network and prefix length, or
     *     there are more than {@value #MAX_ROUTES}; nothing changes then
     */
    public void replaceAll(Collection<Route> routes) {
        List<Route> next = List.copyOf(routes);
        if (next.size() > MAX_ROUTES) {
            throw new IllegalArgumentException(next.size() + " routes; the table holds at most " + MAX_ROUTES);
        }
        Lpm built = Lpm.of(next); // throws on duplicates before anything changes
        List<Route> removed = new ArrayList<>();
        writers.lock();
        try {
            Lpm current = table.serializedLoad();
            for (Route r : current.routes()) {
                if (built.exact(r.network(), r.prefixLength()) != r) {
                    removed.add(r);
                }
            }
            table.exchange(built);
        } finally {
            writers.unlock();
        }
        retire(removed);
    }

    /** Every route, in no particular order (a snapshot). */
    public List<Route> routes() {
        try (var section = domain.enter()) {
            return List.of(table.load().routes());
        }
    }

    public int size() {
        try (var section = domain.enter()) {
            return table.load().size();
        }
    }

    /** Hands {@code removed} to the hook once no section can still see them. */
    private void retire(List<Route> removed) {
        if (removed.isEmpty() || onRemoved == null) {
            return;
        }
        if (domain instanceof Deferring deferring) {
            deferring.call(() -> removed.forEach(onRemoved));
        } else {
            domain.synchronize();
            removed.forEach(onRemoved);
        }
    }

    @Override
    public String toString() {
        return "RouteTable[" + domain.name() + ", " + size() + " routes]";
    }

    /** Options for a {@link RouteTable}. */
    public static final class Builder {
        private final GraceDomain domain;
        private Consumer<? super Route> onRemoved;

        private Builder(GraceDomain domain) {
            this.domain = Objects.requireNonNull(domain, "domain");
        }

        /**
         * Called with each route removed or replaced, once no section can still see it: on the
         * writer's thread after {@code synchronize()}, or from the domain's callbacks when it is
         * {@link Deferring}. It must not enter a section of the domain it waits for.
         */
        public Builder onRemoved(Consumer<? super Route> hook) {
            this.onRemoved = Objects.requireNonNull(hook, "hook");
            return this;
        }

        public RouteTable build() {
            return new RouteTable(this);
        }
    }

    /**
     * An immutable longest-prefix-match table: per populated prefix length (longest first), an
     * open-addressing table of networks (linear probing, load at most 1/2) with their routes.
     */
    static final class Lpm {
        static final Lpm EMPTY = of(List.of());

        private final int[] lengths;
        private final int[][] keys;
        private final Route[][] values;
        private final Route[] all;

        private Lpm(int[] lengths, int[][] keys, Route[][] values, Route[] all) {
            this.lengths = lengths;
            this.keys = keys;
            this.values = values;
            this.all = all;
        }

        static Lpm of(List<Route> routes) {
            int[] perLength = new int[Route.MAX_PREFIX_LENGTH + 1];
            for (Route r : routes) {
                perLength[r.prefixLength()]++;
            }
            int populated = 0;
            for (int n : perLength) {
                populated += n > 0 ? 1 : 0;
            }
            int[] lengths = new int[populated];
            int[][] keys = new int[populated][];
            Route[][] values = new Route[populated][];
            int[] slotOfLength = new int[Route.MAX_PREFIX_LENGTH + 1];
            int j = 0;
            for (int len = Route.MAX_PREFIX_LENGTH; len >= 0; len--) {
                if (perLength[len] > 0) {
                    int capacity = Integer.highestOneBit(Math.max(2, perLength[len]) * 2 - 1) << 1;
                    lengths[j] = len;
                    keys[j] = new int[capacity];
                    values[j] = new Route[capacity];
                    slotOfLength[len] = j++;
                }
            }
            for (Route r : routes) {
                int k = slotOfLength[r.prefixLength()];
                int[] ks = keys[k];
                Route[] vs = values[k];
                int m = ks.length - 1;
                int h = hash(r.network()) & m;
                while (vs[h] != null) {
                    if (ks[h] == r.network()) {
                        throw new IllegalArgumentException("two routes for " + Ipv4Address.format(r.network()) + "/" + r.prefixLength()
                                + ": " + vs[h] + " and " + r);
                    }
                    h = (h + 1) & m;
                }
                ks[h] = r.network();
                vs[h] = r;
            }
            return new Lpm(lengths, keys, values, routes.toArray(new Route[0]));
        }

        Route lookup(int destination) {
            final int[] lengths = this.lengths;
            for (int i = 0; i < lengths.length; i++) {
                int key = destination & Route.mask(lengths[i]);
                int[] ks = keys[i];
                Route[] vs = values[i];
                int m = ks.length - 1;
                int h = hash(key) & m;
                Route r;
                while ((r = vs[h]) != null) {
                    if (ks[h] == key) {
                        return r;
                    }
                    h = (h + 1) & m;
                }
            }
            return null;
        }

        Route exact(int network, int prefixLength) {
            for (int i = 0; i < lengths.length; i++) {
                if (lengths[i] == prefixLength) {
                    int[] ks = keys[i];
                    Route[] vs = values[i];
                    int m = ks.length - 1;
                    int h = hash(network) & m;
                    Route r;
                    while ((r = vs[h]) != null) {
                        if (ks[h] == network) {
                            return r;
                        }
                        h = (h + 1) & m;
                    }
                    return null;
                }
            }
            return null;
        }

        Route[] routes() {
            return all;
        }

        int size() {
            return all.length;
        }

        /** Spreads the network's bits (networks of one length differ in their high bits only). */
        private static int hash(int key) {
            int h = key * 0x9E3779B9;
            return h ^ (h >>> 16);
        }

        @Override
        public String toString() {
            return "Lpm" + Arrays.toString(lengths);
        }
    }
}
