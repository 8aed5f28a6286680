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
 * thread, or, when the domain is {@link Deferring} (epoch) and not closed, from {@code call()}
 * without making the writer wait. A writer inside a section of a domain that cannot defer (one
 * without callbacks, or a closed epoch) is refused before anything changes, since the wait would
 * be for its own section. Use the hook to release what a route holds (a reference on a neighbour entry, a
 * cached header in a pool).
 *
 * <p><b>Lookup structure.</b> A multibit trie (strides 16, 8, 8) with prefix expansion: a lookup
 * is at most three dependent array loads, however many routes and prefix lengths the table holds.
 * Rebuilding it costs O(routes + covered entries), about a millisecond for a few thousand routes,
 * which is why changes are meant to be rare. At most {@value #MAX_ROUTES} routes.
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
        try (var _ = domain.enter()) {
            return table.load().lookup(destination);
        }
    }

    /**
     * Adds {@code route}, replacing the route with the same network and prefix length if there is
     * one (which then goes to the removal hook after a grace period).
     *
     * <p>Adding the very route object that is already in the table changes nothing and returns
     * null: it replaces nothing, and the hook does not see it.
     *
     * @return the route it replaced, or null
     * @throws IllegalStateException if the table holds {@value #MAX_ROUTES} routes and this one is
     *     new, or if it replaces a route while the caller is inside a section of a domain that
     *     cannot defer the removal hook now (see {@link #remove}); nothing changes then, except in
     *     the rare case described at {@link #remove}, where it comes after the change. Also what
     *     the hook throws when it runs on this thread, after the change (see
     *     {@link Builder#onRemoved})
     */
    public Route add(Route route) {
        Objects.requireNonNull(route, "route");
        Route old;
        writers.lock();
        try {
            Lpm current = table.serializedLoad();
            old = current.exact(route.network(), route.prefixLength());
            if (old == route) {
                return null; // already there: no new table, nothing for the hook
            }
            if (old == null && current.size() >= MAX_ROUTES) {
                throw new IllegalStateException("route table full: " + MAX_ROUTES + " routes; not adding " + route);
            }
            if (old != null) {
                checkRetireWouldNotWaitForCaller("add(" + route + ")");
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
     * <p><b>An exception after the change.</b> The check that refuses a removal inside a section
     * passes when the domain can defer (an {@code Epoch} that is open); the route is then
     * unlinked and, once the lock is released, handed to the domain to call the hook after a
     * grace period. If the domain refuses that hand-off (closed meanwhile by another thread, or an
     * {@code Epoch} that cannot start its domain thread) while the caller is inside one of its
     * sections, waiting here would never end, so this throws an {@link IllegalStateException}
     * <em>after</em> the change: the new table is published and kept, and the removed routes,
     * named in the message, are never handed to the hook; releasing what they hold is then the
     * caller's job. Outside a section this cannot happen (the hook then runs after a wait on this
     * thread). {@link #add} and {@link #replaceAll} behave the same way.
     *
     * @return the route removed (handed to the removal hook after a grace period), or null if none
     * @throws IllegalArgumentException for a prefix length outside 0..32 or host bits in {@code network}
     * @throws IllegalStateException if the table has a removal hook and the caller is inside a
     *     section of a domain that cannot defer it now (pserialize, SMR, or an epoch that was
     *     closed): running the hook would wait for the caller's own section. Nothing changes then.
     *     In one rare case it comes after the change instead: see above. Also what the hook throws
     *     when it runs on this thread, after the change (see {@link Builder#onRemoved})
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
            checkRetireWouldNotWaitForCaller("remove(" + old + ")");
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
     * @throws IllegalStateException if it removes a route while the caller is inside a section of
     *     a domain that cannot defer the removal hook now (see {@link #remove}); nothing changes
     *     then, except in the rare case described at {@link #remove}, where it comes after the
     *     change. Also what the hook throws when it runs on this thread, after the change (see
     *     {@link Builder#onRemoved})
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
            if (!removed.isEmpty()) {
                checkRetireWouldNotWaitForCaller("replaceAll(" + next.size() + " routes)");
            }
            table.exchange(built);
        } finally {
            writers.unlock();
        }
        retire(removed);
    }

    /** Every route, in no particular order (a snapshot). */
    public List<Route> routes() {
        try (var _ = domain.enter()) {
            return List.of(table.load().routes());
        }
    }

    public int size() {
        try (var _ = domain.enter()) {
            return table.load().size();
        }
    }

    /**
     * Throws, before anything changes, if handing a removed route to the hook would have to wait
     * for the caller's own section: the domain cannot defer now and the caller is inside one.
     */
    private void checkRetireWouldNotWaitForCaller(String op) {
        if (onRemoved != null && !Deferring.canDefer(domain) && domain.inSection()) {
            throw new IllegalStateException(op + " inside a section of domain '" + domain.name() + "', which "
                    + (domain instanceof Deferring ? "is closed and defers no more callbacks" : "cannot defer")
                    + ": the removal hook would wait for this section; nothing was changed");
        }
    }

    /**
     * Hands {@code removed} to the hook once no section can still see them: deferred when the
     * domain takes callbacks, else after a wait on this thread (which the callers' check made sure
     * is outside a section), so the hook is never lost, even if the domain is closed meanwhile.
     */
    private void retire(List<Route> removed) {
        if (removed.isEmpty() || onRemoved == null) {
            return;
        }
        Deferring.callOrWait(domain, () -> handToHook(removed), "routes " + removed + " were removed");
    }

    /**
     * Hands every route in {@code removed} to the hook, each in its own try: a hook that throws
     * for one route does not cost the others theirs. The first failure is rethrown once all were
     * handed over, with the later ones suppressed in it.
     */
    private void handToHook(List<Route> removed) {
        Throwable first = null;
        for (Route r : removed) {
            try {
                onRemoved.accept(r);
            } catch (Throwable t) {
                if (first == null) {
                    first = t;
                } else {
                    first.addSuppressed(t);
                }
            }
        }
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) { // a checked exception thrown sneakily: keep it, as the cause
            throw new IllegalStateException("the removal hook failed: " + first, first);
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
         * {@link Deferring} and not closed. It must not enter a section of the domain it waits
         * for. A route handed to the hook, or removed and waiting for it, must not be added again
         * (the hook would release what the table still uses): add a new {@link Route} instead.
         *
         * <p>A hook that throws for one route is still called for every other route removed by
         * the same change; the first failure is then rethrown, with the later ones suppressed in
         * it. When the hook runs on the writer's thread, that exception comes out of the
         * {@code add}, {@code remove} or {@code replaceAll} that removed the routes, after the
         * table has changed (the new table is already published and is kept); when it runs from
         * the domain's callbacks, it goes to the domain's error handler.
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
     * An immutable longest-prefix-match table: a multibit trie with strides 16, 8 and 8 and
     * controlled prefix expansion, so a lookup is at most three dependent array loads whatever the
     * table holds. The root has an entry per /16; an entry is the best route for that whole /16,
     * or a {@link Mid} node when a longer prefix lies inside it. A {@code Mid} has an entry per /24
     * of its /16: the best route, or a leaf {@code Route[256]} with the best route per address.
     * Building inserts the routes shortest prefix first, each overwriting the entries it covers
     * (everything already there is shorter, hence less specific), pushing a route down into a new
     * node where a longer prefix needs one. Memory: 256 KB of root (compressed oops) plus about
     * 1 KB per /16 holding a longer prefix and per /24 holding a prefix longer than /24.
     */
    static final class Lpm {
        static final Lpm EMPTY = of(List.of());

        private static final int ROOT_BITS = 16;

        /** A /16 split into its 256 /24s; each entry a {@code Route}, a {@code Route[256]} leaf, or null. */
        private static final class Mid {
            final Object[] slots = new Object[256];

            Mid(Route fill) {
                Arrays.fill(slots, fill);
            }
        }

        private final Object[] root;
        private final Route[] all;

        private Lpm(Object[] root, Route[] all) {
            this.root = root;
            this.all = all;
        }

        /**
         * @throws IllegalArgumentException if two routes have the same network and prefix length
         */
        static Lpm of(List<Route> routes) {
            Route[] sorted = routes.toArray(new Route[0]);
            Arrays.sort(sorted, (a, b) -> a.prefixLength() != b.prefixLength()
                    ? Integer.compare(a.prefixLength(), b.prefixLength())
                    : Integer.compareUnsigned(a.network(), b.network()));
            for (int i = 1; i < sorted.length; i++) {
                if (sorted[i].prefixLength() == sorted[i - 1].prefixLength()
                        && sorted[i].network() == sorted[i - 1].network()) {
                    throw new IllegalArgumentException("two routes for " + Ipv4Address.format(sorted[i].network())
                            + "/" + sorted[i].prefixLength() + ": " + sorted[i - 1] + " and " + sorted[i]);
                }
            }
            Object[] root = new Object[1 << ROOT_BITS];
            for (Route r : sorted) {
                insert(root, r);
            }
            return new Lpm(root, routes.toArray(new Route[0]));
        }

        /** Writes {@code r} over every entry its prefix covers; all of them hold shorter prefixes. */
        private static void insert(Object[] root, Route r) {
            int len = r.prefixLength();
            int net = r.network();
            if (len <= ROOT_BITS) {
                int from = net >>> ROOT_BITS;
                for (int i = from, to = from + (1 << (ROOT_BITS - len)); i < to; i++) {
                    root[i] = cover(root[i], r);
                }
                return;
            }
            int i = net >>> ROOT_BITS;
            Mid mid = root[i] instanceof Mid m ? m : new Mid((Route) root[i]);
            root[i] = mid;
            if (len <= 24) {
                int from = (net >>> 8) & 0xff;
                for (int j = from, to = from + (1 << (24 - len)); j < to; j++) {
                    mid.slots[j] = cover(mid.slots[j], r);
                }
                return;
            }
            int j = (net >>> 8) & 0xff;
            Route[] leaf;
            if (mid.slots[j] instanceof Route[] l) {
                leaf = l;
            } else {
                leaf = new Route[256];
                Arrays.fill(leaf, (Route) mid.slots[j]);
                mid.slots[j] = leaf;
            }
            int from = net & 0xff;
            Arrays.fill(leaf, from, from + (1 << (32 - len)), r);
        }

        /** {@code entry} with {@code r} written over every route in it (it is more specific than all of them). */
        private static Object cover(Object entry, Route r) {
            if (entry instanceof Mid mid) {
                for (int j = 0; j < 256; j++) {
                    mid.slots[j] = cover(mid.slots[j], r);
                }
                return mid;
            }
            if (entry instanceof Route[] leaf) {
                Arrays.fill(leaf, r);
                return leaf;
            }
            return r;
        }

        Route lookup(int destination) {
            Object e = root[destination >>> ROOT_BITS];
            if (e instanceof Mid mid) {
                e = mid.slots[(destination >>> 8) & 0xff];
                if (e instanceof Route[] leaf) {
                    return leaf[destination & 0xff];
                }
            }
            return (Route) e;
        }

        /** The route for exactly {@code network/prefixLength}, or null (writers only: a scan). */
        Route exact(int network, int prefixLength) {
            for (Route r : all) {
                if (r.network() == network && r.prefixLength() == prefixLength) {
                    return r;
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

        @Override
        public String toString() {
            return "Lpm[" + all.length + " routes]";
        }
    }
}
