package dev.mpsafe.netstack.pcb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PcbTableTest {

    static final int A = ip("10.0.0.1");
    static final int B = ip("10.0.0.2");
    static final int PEER = ip("192.0.2.7");
    static final int OTHER_PEER = ip("192.0.2.8");

    private final List<GraceDomain> domains = new ArrayList<>();

    private GraceDomain domain(GraceScheme s) {
        GraceDomain d = s.create("pcbs");
        domains.add(d);
        return d;
    }

    private PcbTable<String> table(GraceScheme s) {
        return PcbTable.<String>builder(domain(s)).name("udp").build();
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

    /** {@code t.lookup} in a section of its own. */
    static <T> Pcb<T> find(PcbTable<T> t, int localAddress, int localPort, int remoteAddress, int remotePort) {
        try (Section s = t.domain().enter()) {
            return t.lookup(localAddress, localPort, remoteAddress, remotePort);
        }
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldPreferTheExactMatchThenTheSpecificAddressThenTheWildcard(GraceScheme scheme) {
        PcbTable<String> t = table(scheme);
        Pcb<String> any = t.bind(0, 53, "any");
        assertSame(any, find(t, A, 53, PEER, 1000), "only the wildcard");
        assertSame(any, find(t, B, 53, PEER, 1000));
        t.remove(any, null);

        Pcb<String> onA = t.bind(A, 53, "onA");
        Pcb<String> onB = t.bind(B, 53, "onB");
        Pcb<String> client = t.connect(t.bind(A, 0, "client"), A, PEER, 53);
        assertSame(onA, find(t, A, 53, PEER, 1000), "specific address A");
        assertSame(onB, find(t, B, 53, PEER, 1000), "specific address B");
        assertNull(find(t, ip("10.0.0.3"), 53, PEER, 1000), "no PCB on that address, none on 0.0.0.0");
        assertSame(client, find(t, A, client.localPort(), PEER, 53), "the exact 4-tuple");
        assertNull(find(t, A, client.localPort(), PEER, 54), "connected PCBs match only their peer");
        assertNull(find(t, A, client.localPort(), OTHER_PEER, 53));
        assertNull(find(t, B, client.localPort(), PEER, 53));
        assertNull(find(t, A, 54, PEER, 1000), "no PCB on the port");
        assertNull(find(t, A, 0, PEER, 1000));
        assertNull(find(t, A, 70_000, PEER, 1000), "out-of-range values match nothing");
        assertEquals(3, t.size());
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldPreferAConnectedPcbToTheWildcardOnItsPort(GraceScheme scheme) {
        PcbTable<String> t = table(scheme);
        Pcb<String> server = t.bind(A, 5000, "server");
        Pcb<String> conn = t.connect(t.bind(B, 5000, "conn"), B, PEER, 7);
        Pcb<String> wildB = t.bind(ip("10.0.0.9"), 5000, "other");
        assertSame(conn, find(t, B, 5000, PEER, 7), "exact before any wildcard");
        assertNull(find(t, B, 5000, PEER, 8), "B:5000 is connected; there is no wildcard on B");
        assertSame(server, find(t, A, 5000, PEER, 7));
        assertSame(wildB, find(t, ip("10.0.0.9"), 5000, PEER, 7));
        List<Pcb<String>> all = t.pcbs();
        assertEquals(Set.of(server, conn, wildB), new HashSet<>(all));
        assertEquals(3, all.size());
    }

    @Test
    void shouldRefuseOverlappingBindsNamingTheAddressPortAndHolder() {
        PcbTable<String> t = table(GraceScheme.SMR_DEFAULT);
        Pcb<String> any53 = t.bind(0, 53, "dns");
        var e = assertThrows(PortInUseException.class, () -> t.bind(A, 53, "x"));
        assertEquals("udp: local address 10.0.0.1:53 is in use by udp *:53 <- *:*", e.getMessage());
        assertSame(any53, e.holder());
        assertEquals(A, e.address());
        assertEquals(53, e.port());
        assertSame(any53, assertThrows(PortInUseException.class, () -> t.bind(0, 53, "x")).holder());

        Pcb<String> a80 = t.bind(A, 80, "web");
        assertSame(a80, assertThrows(PortInUseException.class, () -> t.bind(0, 80, "x")).holder(),
                "0.0.0.0 overlaps every address");
        assertSame(a80, assertThrows(PortInUseException.class, () -> t.bind(A, 80, "x")).holder());
        Pcb<String> b80 = t.bind(B, 80, "web on B"); // different addresses do not overlap

        Pcb<String> c = t.connect(t.bind(0, 9000, "client"), A, PEER, 53);
        assertSame(c, assertThrows(PortInUseException.class, () -> t.bind(A, 9000, "x")).holder(),
                "connected PCBs hold their port too");
        assertSame(c, assertThrows(PortInUseException.class, () -> t.bind(0, 9000, "x")).holder());
        assertEquals(4, t.size(), "refusals changed nothing");
        assertEquals(Set.of(any53, a80, b80, c), new HashSet<>(t.pcbs()));
        t.remove(any53, null);
        assertEquals(A, t.bind(A, 53, "now free").localAddress());
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldReplaceTheBoundPcbWithANewConnectedOneOnConnect(GraceScheme scheme) {
        PcbTable<String> t = table(scheme);
        Pcb<String> bound = t.bind(0, 4000, "sock");
        assertFalse(bound.connected());
        Pcb<String> c = t.connect(bound, A, PEER, 53);
        assertTrue(bound.removed(), "the old PCB is unlinked");
        assertFalse(c.removed());
        assertTrue(c.connected());
        assertEquals(A, c.localAddress());
        assertEquals(4000, c.localPort());
        assertEquals(PEER, c.remoteAddress());
        assertEquals(53, c.remotePort());
        assertSame("sock", c.owner());
        assertEquals("udp 10.0.0.1:4000 <- 192.0.2.7:53", c.toString());
        assertEquals("udp *:4000 <- *:*", bound.toString());
        assertEquals(1, t.size());
        assertSame(c, find(t, A, 4000, PEER, 53));
        assertNull(find(t, B, 4000, PEER, 53), "no longer bound to every address");
        assertNull(find(t, A, 4000, OTHER_PEER, 53), "no longer a wildcard for other peers");
        assertEquals(List.of(c), t.pcbs());

        var stale = assertThrows(IllegalStateException.class, () -> t.connect(bound, A, PEER, 54));
        assertEquals("udp *:4000 <- *:* was already removed (by remove, or replaced by connect)", stale.getMessage());
        assertThrows(IllegalStateException.class, () -> t.remove(bound, null));

        // A reconnect (Linux UDP semantics): same local address and port, new peer.
        Pcb<String> c2 = t.connect(c, A, OTHER_PEER, 5353);
        assertTrue(c.removed());
        assertSame(c2, find(t, A, 4000, OTHER_PEER, 5353));
        assertNull(find(t, A, 4000, PEER, 53));
        Pcb<String> same = t.connect(c2, A, OTHER_PEER, 5353); // to the same peer: a fresh PCB
        assertSame(same, find(t, A, 4000, OTHER_PEER, 5353));
        assertEquals(1, t.size());
        var moved = assertThrows(IllegalArgumentException.class, () -> t.connect(same, B, PEER, 53));
        assertEquals("local address 10.0.0.2 differs from 10.0.0.1, the address udp 10.0.0.1:4000 <- "
                + "192.0.2.8:5353 is bound to", moved.getMessage());
        assertSame(same, find(t, A, 4000, OTHER_PEER, 5353), "a refused connect changed nothing");
    }

    @Test
    void shouldRefuseBadArgumentsNamingTheValueAndTheLimitAndChangeNothing() {
        GraceDomain d = domain(GraceScheme.SMR_DEFAULT);
        var buckets = assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).buckets(1000));
        assertEquals("buckets 1000 is not a power of two in 1..1048576", buckets.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).buckets(0));
        assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).buckets(1 << 21));
        assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).buckets(-8));
        var first = assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).ephemeralPorts(0, 10));
        assertEquals("first ephemeral port 0 is outside 1..65535", first.getMessage());
        var last = assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).ephemeralPorts(100, 99));
        assertEquals("last ephemeral port 99 is outside 100..65535 (first 100 to 65535)", last.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PcbTable.builder(d).ephemeralPorts(1, 65536));
        assertThrows(NullPointerException.class, () -> PcbTable.builder(null));
        assertThrows(NullPointerException.class, () -> PcbTable.builder(d).random(null));
        assertThrows(NullPointerException.class, () -> PcbTable.builder(d).name(null));

        PcbTable<String> t = PcbTable.<String>builder(d).name("udp").buckets(1).build();
        Pcb<String> p = t.bind(A, 1, "p");
        var port = assertThrows(IllegalArgumentException.class, () -> t.bind(A, 65536, "x"));
        assertEquals("local port 65536 is outside 0..65535", port.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.bind(A, -1, "x"));
        var owner = assertThrows(NullPointerException.class, () -> t.bind(A, 2, null));
        assertEquals("owner", owner.getMessage());
        var rport = assertThrows(IllegalArgumentException.class, () -> t.connect(p, A, PEER, 0));
        assertEquals("remote port 0 is outside 1..65535", rport.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.connect(p, A, PEER, 65536));
        var raddr = assertThrows(IllegalArgumentException.class, () -> t.connect(p, A, 0, 53));
        assertEquals("remote address 0.0.0.0: connect needs a nonzero remote address", raddr.getMessage());
        var laddr = assertThrows(IllegalArgumentException.class, () -> t.connect(p, 0, PEER, 53));
        assertTrue(laddr.getMessage().startsWith("local address 0.0.0.0: connect needs the source address"),
                laddr.getMessage());
        assertThrows(NullPointerException.class, () -> t.connect(null, A, PEER, 53));
        assertThrows(NullPointerException.class, () -> t.remove(null, null));

        PcbTable<String> other = PcbTable.<String>builder(d).name("tcp").build();
        Pcb<String> foreign = other.bind(A, 1, "f");
        var notOurs = assertThrows(IllegalStateException.class, () -> t.connect(foreign, A, PEER, 53));
        assertTrue(notOurs.getMessage().startsWith("tcp 10.0.0.1:1 <- *:* belongs to PcbTable[tcp"),
                notOurs.getMessage());
        assertThrows(IllegalStateException.class, () -> t.remove(foreign, null));

        assertEquals(1, t.size(), "nothing changed");
        assertEquals(List.of(p), t.pcbs());
        assertFalse(p.removed());
        assertSame(p, find(t, A, 1, PEER, 53));
        assertFalse(foreign.removed());

        // lookup validates nothing (the data path's values come off the wire): a local port outside
        // 1..65535 matches nothing, while the remote address and port only select among connected
        // PCBs, so an out-of-range or zero remote port (UDP allows source port 0) still gets the
        // unconnected PCB on the local port.
        assertNull(find(t, A, 65537, PEER, 53), "local port 65537 matches nothing (its low bits are 1)");
        assertSame(p, find(t, A, 1, PEER, 70000));
        assertSame(p, find(t, A, 1, PEER, 0));
    }

    @Test
    void shouldRequireASectionForLookupWhenAssertionsAreOn() {
        PcbTable<String> t = table(GraceScheme.SMR_DEFAULT);
        boolean assertions = false;
        assert assertions = true;
        if (assertions) {
            assertThrows(IllegalStateException.class, () -> t.lookup(A, 1, PEER, 1));
        }
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldNotRunAfterGraceWhileAReaderThatFoundThePcbIsInside(GraceScheme scheme) throws Exception {
        GraceDomain d = domain(scheme);
        PcbTable<String> t = PcbTable.<String>builder(d).name("udp").build();
        Pcb<String> p = t.bind(A, 53, "dns");
        AtomicBoolean reclaimed = new AtomicBoolean();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        AtomicReference<Pcb<String>> seen = new AtomicReference<>();
        AtomicBoolean reclaimedInside = new AtomicBoolean();
        Thread reader = Thread.ofPlatform().start(() -> {
            try (Section s = d.enter()) {
                seen.set(t.lookup(A, 53, PEER, 1));
                inside.countDown();
                leave.await();
                reclaimedInside.set(reclaimed.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        Thread writer = Thread.ofPlatform().start(() -> t.remove(p, () -> reclaimed.set(true)));
        // The writer either waits (synchronize) or defers (epoch.call); either way, not yet.
        writer.join(d instanceof Deferring ? 5_000 : 200);
        assertSame(p, seen.get());
        assertFalse(reclaimed.get(), "afterGrace ran while a reader that found the PCB was inside");
        assertTrue(p.removed());
        assertNull(find(t, A, 53, PEER, 1), "new lookups no longer find it");
        assertEquals(0, t.size());
        leave.countDown();
        reader.join();
        writer.join();
        if (d instanceof Deferring deferring) {
            deferring.barrier();
        }
        assertFalse(reclaimedInside.get());
        assertTrue(reclaimed.get(), "afterGrace ran after the reader left");
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldRemoveOnceAndRefuseToWaitInsideASection(GraceScheme scheme) {
        GraceDomain d = domain(scheme);
        PcbTable<String> t = PcbTable.<String>builder(d).name("udp").build();
        Pcb<String> p = t.bind(A, 53, "dns");
        AtomicInteger runs = new AtomicInteger();
        try (Section s = d.enter()) {
            if (d instanceof Deferring) {
                t.remove(p, runs::incrementAndGet); // defers: allowed inside a section
                assertEquals(0, runs.get(), "not before the section ends");
            } else {
                var inside = assertThrows(IllegalStateException.class, () -> t.remove(p, runs::incrementAndGet));
                assertTrue(inside.getMessage().contains("inside a section of domain 'pcbs'"), inside.getMessage());
                assertFalse(p.removed(), "nothing changed");
                assertSame(p, t.lookup(A, 53, PEER, 1));
                t.remove(p, null); // no callback: nothing to wait for
            }
        }
        if (d instanceof Deferring deferring) {
            deferring.barrier();
            assertEquals(1, runs.get());
        }
        assertTrue(p.removed());
        var twice = assertThrows(IllegalStateException.class, () -> t.remove(p, runs::incrementAndGet));
        assertEquals("udp 10.0.0.1:53 <- *:* was already removed (by remove, or replaced by connect)",
                twice.getMessage());
        Pcb<String> c = t.connect(t.bind(0, 99, "c"), A, PEER, 1);
        t.remove(c, runs::incrementAndGet);
        if (d instanceof Deferring deferring) {
            deferring.barrier();
        }
        assertEquals(d instanceof Deferring ? 2 : 1, runs.get(), "each callback ran exactly once");
        assertNull(find(t, A, 99, PEER, 1));
        assertEquals(0, t.size());
    }

    @Test
    void shouldRunAfterGraceOnTheCallerWhenTheEpochWasClosed() {
        Epoch d = (Epoch) domain(GraceScheme.EPOCH);
        PcbTable<String> t = PcbTable.<String>builder(d).name("udp").build();
        Pcb<String> p = t.bind(A, 53, "dns");
        Pcb<String> q = t.bind(A, 54, "ntp");
        d.close();
        AtomicInteger runs = new AtomicInteger();
        try (Section s = d.enter()) {
            assertTrue(t.removalWouldWaitForCaller(), "a closed epoch defers no more");
            var inside = assertThrows(IllegalStateException.class, () -> t.remove(p, runs::incrementAndGet));
            assertTrue(inside.getMessage().contains("which is closed and defers no more callbacks"),
                    inside.getMessage());
            assertFalse(p.removed(), "nothing changed");
            assertSame(p, t.lookup(A, 53, PEER, 1));
        }
        assertFalse(t.removalWouldWaitForCaller());
        t.remove(p, runs::incrementAndGet);
        assertEquals(1, runs.get(), "ran on the caller after the grace period, not handed to the closed epoch");
        assertTrue(p.removed());
        t.remove(q, null);
        assertEquals(0, t.size());
    }

    /**
     * An epoch that cannot start its domain thread refuses the callback. remove used to run
     * afterGrace twice then: Epoch.call threw after it had accepted the callback, callOrWait took
     * that for "closed" and ran it on the caller, and the epoch ran it again once its thread
     * started. Inside a section the exception said "did not run", and it ran later all the same.
     */
    @Test
    void shouldRunAfterGraceExactlyOnceWhenTheEpochCannotStartItsThread() {
        Epoch d = (Epoch) domain(GraceScheme.EPOCH);
        PcbTable<String> t = PcbTable.<String>builder(d).name("udp").build();
        Pcb<String> p = t.bind(A, 53, "dns");
        AtomicInteger runs = new AtomicInteger();
        EpochTestHooks.failThreadStarts(d);
        try {
            t.remove(p, runs::incrementAndGet); // refused: waits and runs it here
            assertEquals(1, runs.get(), "ran on the caller after the grace period");
        } finally {
            EpochTestHooks.startThreadsNormally(d);
        }
        d.barrier(); // the thread starts now: it would run a callback the epoch had kept
        assertEquals(1, runs.get(), "afterGrace ran exactly once, not again from the epoch");

        // Inside a section (a second epoch: the first one's thread runs now).
        Epoch d2 = (Epoch) domain(GraceScheme.EPOCH);
        PcbTable<String> t2 = PcbTable.<String>builder(d2).name("udp").build();
        Pcb<String> q = t2.bind(A, 54, "ntp");
        AtomicInteger inside = new AtomicInteger();
        EpochTestHooks.failThreadStarts(d2);
        try (Section s = d2.enter()) {
            var e = assertThrows(IllegalStateException.class, () -> t2.remove(q, inside::incrementAndGet));
            assertTrue(e.getMessage().contains("remove(udp 10.0.0.1:54 <- *:*) unlinked the PCB")
                    && e.getMessage().contains("could not start") && e.getMessage().contains("did not run"),
                    e.getMessage());
        } finally {
            EpochTestHooks.startThreadsNormally(d2);
        }
        assertTrue(q.removed(), "unlinked before the deferral was refused, as remove documents");
        d2.barrier();
        assertEquals(0, inside.get(), "the action the exception says did not run does not run later");
    }

    @Test
    void shouldPickEphemeralPortsByRfc6056Algorithm1FromTheSeededGenerator() {
        GraceDomain d = domain(GraceScheme.SMR_DEFAULT);
        PcbTable<String> t = PcbTable.<String>builder(d).ephemeralPorts(40000, 40999)
                .random(new SplittableRandom(7)).build();
        SplittableRandom expected = new SplittableRandom(7);
        // Algorithm 1: a random start in the range, then the first free port upwards.
        int start = 40000 + expected.nextInt(1000);
        assertEquals(start, t.bind(A, 0, "a").localPort());
        int start2 = 40000 + expected.nextInt(1000);
        int taken = start2 == 40999 ? 40000 : start2; // make the start of the next draw busy
        SplittableRandom probe = new SplittableRandom(7);
        probe.nextInt(1000);
        assertEquals(start2, 40000 + probe.nextInt(1000));
        PcbTable<String> u = PcbTable.<String>builder(d).ephemeralPorts(40000, 40999)
                .random(new SplittableRandom(7)).build();
        u.bind(A, 0, "a");
        u.bind(0, taken, "busy");
        int got = u.bind(A, 0, "b").localPort();
        assertEquals(taken == 40999 ? 40000 : taken + 1, got, "skips the port in use, upwards with wrap-around");

        // Same seed, same sequence of binds: the same ports.
        List<Integer> first = new ArrayList<>();
        List<Integer> second = new ArrayList<>();
        for (List<Integer> out : List.of(first, second)) {
            PcbTable<String> s = PcbTable.<String>builder(d).random(new SplittableRandom(42)).build();
            for (int i = 0; i < 50; i++) {
                out.add(s.bind(A, 0, "x").localPort());
            }
        }
        assertEquals(first, second);
    }

    @Test
    void shouldPickDistinctRandomPortsInTheDefaultRange() {
        PcbTable<String> t = table(GraceScheme.EPOCH);
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            int port = t.bind(0, 0, "s" + i).localPort();
            assertTrue(port >= 49152 && port <= 65535, "port " + port + " outside 49152..65535");
            assertTrue(ports.add(port), "port " + port + " given twice");
        }
        // Randomized: the first ports of fresh tables (default generator) are not all the same.
        Set<Integer> starts = new HashSet<>();
        for (int i = 0; i < 8; i++) {
            starts.add(table(GraceScheme.SMR_DEFAULT).bind(0, 0, "x").localPort());
        }
        assertTrue(starts.size() > 1, "8 fresh tables all started at " + starts);
    }

    @Test
    void shouldReportExhaustionNamingTheRangeAndFreeAPortAgainAfterRemove() {
        PcbTable<String> t = PcbTable.<String>builder(domain(GraceScheme.SMR_DEFAULT)).name("udp")
                .ephemeralPorts(5000, 5009).random(new SplittableRandom(1)).build();
        List<Pcb<String>> bound = new ArrayList<>();
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            Pcb<String> p = t.bind(A, 0, "s" + i);
            bound.add(p);
            ports.add(p.localPort());
        }
        assertEquals(10, ports.size(), "the whole range, each port once");
        assertTrue(ports.stream().allMatch(p -> p >= 5000 && p <= 5009), ports.toString());
        var full = assertThrows(PortsExhaustedException.class, () -> t.bind(A, 0, "one too many"));
        assertEquals("udp: no free ephemeral port for 10.0.0.1 in 5000..5009: 10 of 10 in use", full.getMessage());
        assertEquals(5000, full.first());
        assertEquals(5009, full.last());
        assertEquals(10, full.inUse());
        assertThrows(PortsExhaustedException.class, () -> t.bind(0, 0, "wildcard overlaps"));
        assertEquals(10, t.size(), "nothing changed");
        Pcb<String> onB = t.bind(B, 0, "B does not overlap A");
        assertTrue(onB.localPort() >= 5000 && onB.localPort() <= 5009);
        t.remove(bound.get(3), null);
        assertEquals(bound.get(3).localPort(), t.bind(A, 0, "reuses the freed port").localPort());
    }

    @ParameterizedTest
    @EnumSource(GraceScheme.class)
    void shouldLoseNoPcbAndDuplicateNoneWhileWritersChurnAndReadersLookUp(GraceScheme scheme) throws Exception {
        GraceDomain d = domain(scheme);
        PcbTable<Integer> t = PcbTable.<Integer>builder(d).name("udp").buckets(16)
                .ephemeralPorts(20000, 20999).build();
        // Stable PCBs the readers must always find, whatever the writers do around them.
        List<Pcb<Integer>> stable = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            stable.add(i % 2 == 0 ? t.bind(0, 1000 + i, -i) : t.connect(t.bind(0, 1000 + i, -i), A, PEER, 1000 + i));
        }
        Set<Pcb<Integer>> reclaimed = ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong lookups = new AtomicLong();
        AtomicLong misses = new AtomicLong();
        AtomicLong violations = new AtomicLong();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int seed = r;
            readers.add(Thread.ofPlatform().start(() -> {
                Participant p = d.register();
                SplittableRandom random = new SplittableRandom(seed);
                long n = 0;
                while (!stop.get()) {
                    int i = random.nextInt(stable.size());
                    p.enter();
                    try {
                        Pcb<Integer> found = t.lookup(A, 1000 + i, PEER, 1000 + i);
                        if (found != stable.get(i)) {
                            misses.incrementAndGet();
                        }
                        // A churned PCB, found by its ephemeral port, must not be reclaimed while held.
                        Pcb<Integer> churned = t.lookup(B, 20000 + random.nextInt(1000), OTHER_PEER, 9);
                        if (churned != null && reclaimed.contains(churned)) {
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
        List<Set<Pcb<Integer>>> live = new ArrayList<>();
        List<Thread> writers = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int w = 0; w < 2; w++) {
            Set<Pcb<Integer>> mine = Collections.newSetFromMap(new IdentityHashMap<>());
            live.add(mine);
            int seed = 100 + w;
            writers.add(Thread.ofPlatform().start(() -> {
                try {
                    SplittableRandom random = new SplittableRandom(seed);
                    List<Pcb<Integer>> list = new ArrayList<>();
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(400);
                    int id = 0;
                    while (System.nanoTime() < deadline) {
                        int op = random.nextInt(3);
                        if (op == 0 || list.isEmpty()) {
                            list.add(t.bind(random.nextBoolean() ? 0 : B, 0, id++));
                        } else if (op == 1) {
                            Pcb<Integer> old = list.remove(random.nextInt(list.size()));
                            Pcb<Integer> next = t.connect(old, B, OTHER_PEER, 9);
                            if (!old.removed() || next.removed()) {
                                throw new AssertionError("connect did not replace " + old);
                            }
                            list.add(next);
                        } else {
                            Pcb<Integer> victim = list.remove(random.nextInt(list.size()));
                            t.remove(victim, () -> reclaimed.add(victim));
                        }
                    }
                    mine.addAll(list);
                } catch (Throwable e) {
                    failure.set(e);
                }
            }));
        }
        for (Thread w : writers) {
            w.join();
        }
        stop.set(true);
        for (Thread r : readers) {
            r.join();
        }
        if (d instanceof Deferring deferring) {
            deferring.barrier();
        }
        assertNull(failure.get(), () -> "writer failed: " + failure.get());
        assertEquals(0, misses.get(), "a stable PCB was not found");
        assertEquals(0, violations.get(), "a reader found a PCB whose afterGrace had run");
        assertTrue(lookups.get() > 1_000, "readers made progress: " + lookups.get());
        Set<Pcb<Integer>> expected = Collections.newSetFromMap(new IdentityHashMap<>());
        expected.addAll(stable);
        live.forEach(expected::addAll);
        List<Pcb<Integer>> all = t.pcbs();
        assertEquals(expected.size(), all.size(), "no PCB lost or duplicated");
        Set<Pcb<Integer>> actual = Collections.newSetFromMap(new IdentityHashMap<>());
        actual.addAll(all);
        assertEquals(expected, actual);
        assertEquals(expected.size(), t.size());
        assertTrue(expected.stream().noneMatch(Pcb::removed));
        assertTrue(reclaimed.stream().allMatch(Pcb::removed));
        // Every live PCB is found by the lookup rule, and ports are distinct per overlapping address.
        Set<Integer> ports = new HashSet<>();
        for (Pcb<Integer> p : all) {
            assertSame(p, p.connected()
                    ? find(t, p.localAddress(), p.localPort(), p.remoteAddress(), p.remotePort())
                    : find(t, B, p.localPort(), OTHER_PEER, 9));
            assertTrue(ports.add(p.localPort()) || p.localPort() < 20000, "port " + p.localPort() + " twice");
        }
        assertNotEquals(0, reclaimed.size());
    }
}
