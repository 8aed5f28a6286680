package dev.mpsafe.netstack.ip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.epoch.EpochTestHooks;
import dev.mpsafe.netstack.GraceScheme;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Participant;
import dev.mpsafe.sync.Section;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RouteTableTest {

    private final List<GraceDomain> domains = new ArrayList<>();

    private GraceDomain domain(GraceScheme s) {
        GraceDomain d = s.create("routes");
        domains.add(d);
        return d;
    }

    @AfterEach
    void closeDomains() {
        for (GraceDomain d : domains) {
            if (d instanceof Epoch e) {
                e.close();
            }
        }
    }

    static int ip(String s) {
        return Ipv4Address.parse(s);
    }

    @Test
    void shouldMatchTheLongestPrefix() {
        RouteTable t = RouteTable.create(domain(GraceScheme.SMR_DEFAULT));
        Route def = Route.via(0, 0, ip("192.0.2.1"), 1);
        Route net8 = Route.onLink(ip("10.0.0.0"), 8, 2);
        Route net24 = Route.via(ip("10.1.2.0"), 24, ip("10.0.0.254"), 3);
        Route host = Route.onLink(ip("10.1.2.3"), 32, 4);
        for (Route r : List.of(net24, def, host, net8)) {
            assertNull(t.add(r));
        }
        assertSame(host, t.resolve(ip("10.1.2.3")));
        assertSame(net24, t.resolve(ip("10.1.2.4")));
        assertSame(net8, t.resolve(ip("10.200.0.1")));
        assertSame(def, t.resolve(ip("8.8.8.8")));
        assertEquals(ip("10.0.0.254"), t.resolve(ip("10.1.2.9")).nextHopFor(ip("10.1.2.9")));
        assertEquals(ip("10.9.9.9"), t.resolve(ip("10.9.9.9")).nextHopFor(ip("10.9.9.9")), "on-link");
        assertSame(def, t.remove(0, 0));
        assertNull(t.resolve(ip("8.8.8.8")), "no default route: no match");
        assertEquals(3, t.size());
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldAgreeWithABruteForceLongestPrefixMatchOnRandomTables(GraceScheme scheme) {
        GraceDomain d = domain(scheme);
        RouteTable t = RouteTable.create(d);
        SplittableRandom random = new SplittableRandom(42 + scheme.ordinal());
        List<Route> reference = new ArrayList<>();
        for (int i = 0; i < 800; i++) {
            int len = random.nextInt(33);
            int net = random.nextInt() & Route.mask(len);
            if (random.nextInt(4) == 0 && !reference.isEmpty()) {
                Route victim = reference.get(random.nextInt(reference.size()));
                assertSame(victim, t.remove(victim.network(), victim.prefixLength()));
                reference.remove(victim);
                continue;
            }
            Route r = Route.onLink(net, len, random.nextInt(8));
            Route replaced = t.add(r);
            Route expectedReplaced = reference.stream()
                    .filter(x -> x.network() == net && x.prefixLength() == len).findFirst().orElse(null);
            assertSame(expectedReplaced, replaced);
            reference.remove(expectedReplaced);
            reference.add(r);
        }
        assertEquals(reference.size(), t.size());
        Participant p = d.register();
        try {
            for (int i = 0; i < 20_000; i++) {
                int dst = i % 2 == 0 ? random.nextInt()
                        : reference.get(random.nextInt(reference.size())).network() | random.nextInt(256);
                Route expected = null;
                for (Route r : reference) {
                    if (r.matches(dst) && (expected == null || r.prefixLength() > expected.prefixLength())) {
                        expected = r;
                    }
                }
                p.enter();
                try {
                    assertSame(expected, t.lookup(dst), () -> "lookup " + Ipv4Address.format(dst));
                } finally {
                    p.exit();
                }
            }
        } finally {
            p.release();
        }
    }

    @Test
    void shouldRejectBadRoutesNamingTheValueAndTheLimitAndChangeNothing() {
        RouteTable t = RouteTable.create(domain(GraceScheme.EPOCH));
        t.add(Route.onLink(ip("10.0.0.0"), 8, 1));
        var tooLong = assertThrows(IllegalArgumentException.class, () -> Route.onLink(0, 33, 1));
        assertEquals("prefix length 33 is outside 0..32", tooLong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Route.onLink(0, -1, 1));
        var hostBits = assertThrows(IllegalArgumentException.class, () -> Route.onLink(ip("10.0.0.1"), 8, 1));
        assertEquals("network 10.0.0.1/8 has host bits set; the network of that prefix is 10.0.0.0",
                hostBits.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Route.onLink(0, 0, -1));
        assertThrows(IllegalArgumentException.class, () -> t.remove(ip("10.0.0.1"), 8));
        var dup = assertThrows(IllegalArgumentException.class, () -> t.replaceAll(
                List.of(Route.onLink(ip("10.0.0.0"), 8, 1), Route.onLink(ip("10.0.0.0"), 8, 2))));
        assertTrue(dup.getMessage().startsWith("two routes for 10.0.0.0/8"), dup.getMessage());
        assertEquals(1, t.size(), "nothing changed");
        assertEquals(1, t.resolve(ip("10.1.1.1")).interfaceIndex());
        assertNull(t.remove(ip("11.0.0.0"), 8));
    }

    @Test
    void shouldNotHandARouteStillInTheTableToTheHookWhenItIsAddedAgain() {
        List<Route> reclaimed = new ArrayList<>();
        RouteTable t = RouteTable.builder(domain(GraceScheme.SMR_DEFAULT)).onRemoved(reclaimed::add).build();
        Route r = Route.onLink(ip("10.0.0.0"), 8, 1);
        assertNull(t.add(r));
        assertNull(t.add(r), "the same route again replaces nothing");
        assertEquals(List.of(), reclaimed, "the hook saw a route that lookups still return");
        assertSame(r, t.resolve(ip("10.1.2.3")));
    }

    /**
     * A hook that throws for some routes is still called for every route a change removed; the
     * first failure comes out of the writer (on a domain that runs the hook on its thread) with
     * the later one suppressed in it, and the change stays made.
     */
    @ParameterizedTest
    @EnumSource(value = GraceScheme.class, names = {"PSERIALIZE_FENCED", "SMR_DEFAULT"})
    void shouldHandEveryRemovedRouteToTheHookWhenItThrowsForSome(GraceScheme scheme) {
        List<Route> seen = new ArrayList<>();
        RouteTable t = RouteTable.builder(domain(scheme)).onRemoved(r -> {
            seen.add(r);
            if (seen.size() != 2) {
                throw new IllegalStateException("hook failed on " + r);
            }
        }).build();
        Route a = Route.onLink(ip("10.0.0.0"), 8, 1);
        Route b = Route.onLink(ip("10.1.0.0"), 16, 1);
        Route c = Route.onLink(ip("10.1.2.0"), 24, 1);
        t.replaceAll(List.of(a, b, c));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.replaceAll(List.of()));
        assertEquals(0, t.size(), "the new table is kept");
        assertEquals(java.util.Set.of(a, b, c), java.util.Set.copyOf(seen), "routes handed to the hook: " + seen);
        assertEquals(3, seen.size(), "routes handed to the hook: " + seen);
        assertEquals("hook failed on " + seen.get(0), e.getMessage());
        assertEquals(1, e.getSuppressed().length, List.of(e.getSuppressed()).toString());
        assertEquals("hook failed on " + seen.get(2), e.getSuppressed()[0].getMessage());
    }

    /**
     * The rare late refusal documented at {@link RouteTable#remove}: inside a section of an Epoch
     * that passes the check but then refuses the deferral (it cannot start its domain thread),
     * remove throws after the change; the route is gone, the message names it, and the hook never
     * sees it.
     */
    @Test
    void shouldThrowAfterTheChangeNamingTheRouteWhenTheEpochRefusesTheDeferralInsideASection() {
        Epoch e = (Epoch) domain(GraceScheme.EPOCH);
        List<Route> reclaimed = Collections.synchronizedList(new ArrayList<>());
        RouteTable t = RouteTable.builder(e).onRemoved(reclaimed::add).build();
        Route a = Route.onLink(ip("10.0.0.0"), 8, 1);
        t.add(a);
        EpochTestHooks.failThreadStarts(e);
        IllegalStateException x;
        try (Section _ = e.enter()) {
            x = assertThrows(IllegalStateException.class, () -> t.remove(ip("10.0.0.0"), 8));
        } finally {
            EpochTestHooks.startThreadsNormally(e);
        }
        e.barrier();
        assertEquals(0, t.size(), "the change is kept");
        assertTrue(x.getMessage().contains(a.toString()) && x.getMessage().contains("will not"), x.getMessage());
        assertEquals(List.of(), reclaimed, "the hook saw a route whose hand-off was refused");
    }

    @Test
    void shouldRunTheRemovalHookAfterTheEpochWasClosed() {
        Epoch e = (Epoch) domain(GraceScheme.EPOCH);
        List<Route> reclaimed = Collections.synchronizedList(new ArrayList<>());
        RouteTable t = RouteTable.builder(e).onRemoved(reclaimed::add).build();
        Route a = Route.onLink(ip("10.0.0.0"), 8, 1);
        Route b = Route.onLink(ip("10.0.0.0"), 8, 2);
        Route c = Route.onLink(ip("11.0.0.0"), 8, 3);
        t.add(a);
        t.add(c);
        e.close();
        assertSame(a, t.add(b), "replaced");
        assertSame(c, t.remove(ip("11.0.0.0"), 8));
        t.replaceAll(List.of());
        assertEquals(List.of(a, c, b), reclaimed, "the hook ran for every removed route, on the writer's thread");
    }

    /**
     * An epoch that cannot start its domain thread refuses the hook's callback, and the writer runs
     * it itself. Before, Epoch.call accepted the callback and then threw; callOrWait ran the hook
     * on the writer and the epoch ran it again once its thread started: every route twice.
     */
    @Test
    void shouldRunTheRemovalHookOnceWhenTheEpochCannotStartItsThread() {
        Epoch e = (Epoch) domain(GraceScheme.EPOCH);
        List<Route> reclaimed = Collections.synchronizedList(new ArrayList<>());
        RouteTable t = RouteTable.builder(e).onRemoved(reclaimed::add).build();
        Route r = Route.onLink(ip("10.0.0.0"), 8, 1);
        t.add(r);
        EpochTestHooks.failThreadStarts(e);
        try {
            assertSame(r, t.remove(ip("10.0.0.0"), 8));
            assertEquals(List.of(r), reclaimed, "run on the writer's thread after the grace period");
        } finally {
            EpochTestHooks.startThreadsNormally(e);
        }
        e.barrier();
        assertEquals(List.of(r), reclaimed, "the hook ran once for the route, not again from the epoch");
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldRefuseARemovalWhoseHookWouldWaitForTheCallersSectionChangingNothing(GraceScheme scheme) {
        GraceDomain d = domain(scheme);
        if (d instanceof Epoch e) {
            e.close(); // a closed epoch defers nothing: like the schemes without callbacks
        }
        List<Route> reclaimed = new ArrayList<>();
        RouteTable t = RouteTable.builder(d).onRemoved(reclaimed::add).build();
        Route r = Route.onLink(ip("10.0.0.0"), 8, 1);
        t.add(r);
        try (Section s = d.enter()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.remove(ip("10.0.0.0"), 8));
            assertTrue(e.getMessage().contains("would wait for this section"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> t.add(Route.onLink(ip("10.0.0.0"), 8, 2)));
            assertThrows(IllegalStateException.class, () -> t.replaceAll(List.of()));
            assertSame(r, t.lookup(ip("10.1.1.1")), "nothing changed");
            t.add(Route.onLink(ip("11.0.0.0"), 8, 3)); // replaces nothing: allowed
        }
        assertEquals(List.of(), reclaimed);
        assertSame(r, t.remove(ip("10.0.0.0"), 8), "outside the section the removal goes ahead");
        assertEquals(List.of(r), reclaimed);
    }

    @Test
    void shouldRequireASectionForLookupWhenAssertionsAreOn() {
        RouteTable t = RouteTable.create(domain(GraceScheme.SMR_DEFAULT));
        boolean assertions = false;
        assert assertions = true;
        if (assertions) {
            assertThrows(IllegalStateException.class, () -> t.lookup(1));
        }
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldNotHandARemovedRouteToTheHookWhileAReaderThatFoundItIsInside(GraceScheme scheme) throws Exception {
        GraceDomain d = domain(scheme);
        Set<Route> reclaimed = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        RouteTable t = RouteTable.builder(d).onRemoved(reclaimed::add).build();
        Route r = Route.onLink(ip("10.0.0.0"), 8, 1);
        t.add(r);
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        AtomicReference<Route> seen = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try (Section s = d.enter()) {
                seen.set(t.lookup(ip("10.1.1.1")));
                inside.countDown();
                leave.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        Thread writer = Thread.ofPlatform().start(() -> t.remove(ip("10.0.0.0"), 8));
        // The writer either waits (synchronize) or defers (epoch.call); either way, not yet.
        writer.join(d instanceof Deferring ? 5_000 : 200);
        assertSame(r, seen.get());
        assertFalse(reclaimed.contains(r), "the hook ran while a reader that found the route was inside");
        assertNull(t.resolve(ip("10.1.1.1")), "new lookups no longer find it");
        leave.countDown();
        reader.join();
        writer.join();
        if (d instanceof Deferring deferring) {
            deferring.barrier();
        }
        assertTrue(reclaimed.contains(r), "the hook ran after the reader left");
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldNeverLetAReaderInsideASectionSeeAReclaimedRouteUnderChurn(GraceScheme scheme) throws Exception {
        GraceDomain d = domain(scheme);
        Set<Route> reclaimed = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        RouteTable t = RouteTable.builder(d).onRemoved(reclaimed::add).build();
        int[] nets = {ip("10.0.0.0"), ip("10.1.0.0"), ip("10.1.1.0"), ip("0.0.0.0")};
        int[] lens = {8, 16, 24, 0};
        for (int i = 0; i < nets.length; i++) {
            t.add(Route.onLink(nets[i], lens[i], 0));
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong lookups = new AtomicLong();
        AtomicLong violations = new AtomicLong();
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            readers.add(Thread.ofPlatform().start(() -> {
                Participant p = d.register();
                SplittableRandom random = new SplittableRandom();
                long n = 0;
                while (!stop.get()) {
                    p.enter();
                    try {
                        Route r = t.lookup(ip("10.1.1.1") ^ random.nextInt(1 << 20));
                        if (r != null && reclaimed.contains(r)) {
                            violations.incrementAndGet();
                        }
                    } finally {
                        p.exit();
                    }
                    n++;
                }
                p.release();
                lookups.addAndGet(n);
            }));
        }
        SplittableRandom random = new SplittableRandom(7);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        int changes = 0;
        while (System.nanoTime() < deadline) {
            int i = random.nextInt(nets.length);
            t.add(Route.onLink(nets[i], lens[i], random.nextInt(1, 100)));
            changes++;
        }
        stop.set(true);
        for (Thread r : readers) {
            r.join();
        }
        if (d instanceof Deferring deferring) {
            deferring.barrier();
        }
        assertEquals(0, violations.get(), "readers saw reclaimed routes");
        assertTrue(lookups.get() > 1_000, "readers made progress: " + lookups.get());
        assertEquals(changes, reclaimed.size(), "every replaced route reached the hook exactly once");
    }
}
