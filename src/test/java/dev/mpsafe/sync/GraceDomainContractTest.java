package dev.mpsafe.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.internal.SlotPeek;
import dev.mpsafe.internal.ThreadSlot;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/**
 * The grace-period contract, run against every scheme and mode by one small subclass each.
 * Waits are on conditions (latches, thread states), never on sleeps.
 */
public abstract class GraceDomainContractTest {

    /** A fresh domain with the given options. */
    protected abstract GraceDomain create(GraceOptions options);

    protected GraceDomain create() {
        return create(GraceOptions.named(getClass().getSimpleName()));
    }

    @Test
    void shouldNestSectionsAndReportInSection() {
        GraceDomain d = create();
        assertFalse(d.inSection());
        try (Section outer = d.enter()) {
            assertTrue(d.inSection());
            try (Section inner = d.enter()) {
                assertSame(outer, inner, "the thread's one participant serves every nesting level");
                assertTrue(d.inSection());
            }
            assertTrue(d.inSection(), "the section ends only at the outermost exit");
        }
        assertFalse(d.inSection());
    }

    @Test
    void shouldBeCollectableOnceUnreachableAlthoughALiveThreadEnteredIt() throws Exception {
        // The test thread outlives the domain: its thread-local entry must not keep the domain.
        WeakReference<GraceDomain> domain = useOnceAndDrop();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (domain.get() != null && System.nanoTime() - deadline < 0) {
            System.gc();
            Thread.onSpinWait();
        }
        assertNull(domain.get(), "a domain that only a live thread's slot lookup refers to was never collected");
    }

    private WeakReference<GraceDomain> useOnceAndDrop() throws Exception {
        GraceDomain d = create();
        try (Section s = d.enter()) {
            assertTrue(d.inSection());
        }
        Participant p = d.register(); // an explicit handle, never released
        p.enter();
        p.exit();
        d.synchronize();
        if (d instanceof AutoCloseable c) {
            c.close();
        }
        return new WeakReference<>(d);
    }

    @Test
    void shouldRefuseExitOfflineOnlineAndReleaseByAThreadOtherThanTheOwnerWhenAssertionsEnabled() throws Exception {
        boolean assertions = false;
        assert assertions = true;
        assertTrue(assertions, "this test needs -ea (surefire sets it)");
        GraceDomain d = create();
        Participant p = d.register();
        p.enter();
        String owner = Thread.currentThread().getName();
        for (String op : List.of("exit()", "offline()", "online()", "release()")) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    switch (op) {
                        case "exit()" -> p.exit();
                        case "offline()" -> p.offline();
                        case "online()" -> p.online();
                        default -> p.release();
                    }
                } catch (Throwable t) {
                    thrown.set(t);
                }
            }, "intruder");
            other.start();
            other.join();
            assertTrue(thrown.get() instanceof IllegalStateException, op + ": " + thrown.get());
            assertTrue(thrown.get().getMessage().endsWith("'" + d.name() + "': " + op
                    + " by thread 'intruder' on a participant owned by '" + owner + "'"), thrown.get().getMessage());
            assertTrue(p.inSection(), op + " by another thread changed the owner's section");
        }
        p.exit();
        p.release();
    }

    @Test
    void shouldRejectExitWithoutEnter() {
        GraceDomain d = create();
        Participant p = d.register();
        IllegalStateException e = assertThrows(IllegalStateException.class, p::exit);
        assertTrue(e.getMessage().contains("without enter"), e.getMessage());
        p.enter();
        p.exit();
        assertThrows(IllegalStateException.class, p::exit);
    }

    @Test
    void shouldThrowInsteadOfDeadlockingWhenSynchronizeInsideSection() {
        GraceDomain d = create();
        try (Section s = d.enter()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, d::synchronize);
            assertTrue(e.getMessage().contains("wait for itself"), e.getMessage());
        }
        d.synchronize(); // outside: fine
    }

    @Test
    void shouldWaitForReaderThatEnteredBefore() throws Exception {
        GraceDomain d = create();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = holdSection(d, "reader", inside, leave);
        inside.await();
        AtomicBoolean returned = new AtomicBoolean();
        Thread writer = startWaitingWriter(d, returned);
        assertFalse(returned.get(), "synchronize returned while a pre-existing reader was inside");
        leave.countDown();
        writer.join(10_000);
        assertTrue(returned.get(), "synchronize did not return after the reader left");
        reader.join();
    }

    @Test
    void shouldKeepWaitingWhileReaderOnlyExitsNestedLevels() throws Exception {
        GraceDomain d = create();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch nestNow = new CountDownLatch(1);
        CountDownLatch nested = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (Section outer = d.enter()) {
                inside.countDown();
                nestNow.await();
                for (int i = 0; i < 1000; i++) {
                    try (Section inner = d.enter()) {
                        assertTrue(d.inSection());
                    }
                }
                nested.countDown();
                leave.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, "nesting-reader");
        reader.start();
        inside.await();
        AtomicBoolean returned = new AtomicBoolean();
        Thread writer = startWaitingWriter(d, returned);
        nestNow.countDown();
        nested.await();
        awaitParkedOrSpinning(writer);
        assertFalse(returned.get(), "a nested exit ended the outer section for the writer");
        leave.countDown();
        writer.join(10_000);
        assertTrue(returned.get());
        reader.join();
    }

    @Test
    void shouldNestTokenSectionsLikePlainOnesAndMixWithThem() {
        GraceDomain d = create();
        Participant p = d.register();
        long outer = p.enterToken();
        assertTrue(p.inSection());
        long inner = p.enterToken();
        p.enter(); // a plain level inside token levels
        p.exit();
        p.exit(inner);
        assertTrue(p.inSection(), "the inner token ended the outer section");
        p.exit(outer);
        assertFalse(p.inSection());
        p.enterToken(); // a level opened with a token may be closed by the plain exit
        p.exit();
        assertFalse(p.inSection());
        d.synchronize(); // no section left behind
        p.release();
    }

    @Test
    void shouldRefuseAMisusedTokenWithoutChangingStateWhenAssertionsEnabled() throws Exception {
        boolean assertions = false;
        assert assertions = true;
        assertTrue(assertions, "this test needs -ea (surefire sets it)");
        GraceDomain d = create();
        Participant p = d.register();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.exit(0L));
        assertTrue(e.getMessage().contains("exit(token) without enter()"), e.getMessage());
        long outer = p.enterToken();
        for (long wrong : new long[] {1L << 17, dev.mpsafe.internal.ThreadSlot.OFFLINE_BIT, 1}) { // not outer's token (0)
            e = assertThrows(IllegalStateException.class, () -> p.exit(wrong));
            assertTrue(e.getMessage().contains("is not the state before the innermost open level"), e.getMessage());
            assertTrue(p.inSection(), "a refused exit(" + wrong + ") changed the state");
        }
        long inner = p.enterToken();
        for (long wrong : new long[] {outer, inner ^ (1L << 17), inner + 1, inner | dev.mpsafe.internal.ThreadSlot.OFFLINE_BIT}) {
            e = assertThrows(IllegalStateException.class, () -> p.exit(wrong)); // out of order, other tag or depth
            assertTrue(e.getMessage().contains("is not the state before the innermost open level"), e.getMessage());
            assertTrue(e.getMessage().contains("depth 2"), e.getMessage());
        }
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread other = new Thread(() -> {
            try {
                p.exit(inner);
            } catch (Throwable t) {
                thrown.set(t);
            }
        }, "intruder");
        other.start();
        other.join();
        assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
        assertTrue(thrown.get().getMessage().contains("exit(token) by thread 'intruder'"), thrown.get().getMessage());
        p.exit(inner); // both refusals left both levels open
        assertTrue(p.inSection());
        p.exit(outer);
        assertFalse(p.inSection());
        p.release();
    }

    @Test
    void shouldWaitForATokenSectionUntilItsOutermostTokenExit() throws Exception {
        GraceDomain d = create();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch exitInner = new CountDownLatch(1);
        CountDownLatch innerExited = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            Participant p = d.register();
            long outer = p.enterToken();
            long inner = p.enterToken();
            try {
                inside.countDown();
                exitInner.await();
                p.exit(inner);
                innerExited.countDown();
                leave.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                p.exit(outer);
            }
        }, "token-reader");
        reader.start();
        inside.await();
        AtomicBoolean returned = new AtomicBoolean();
        Thread writer = startWaitingWriter(d, returned);
        exitInner.countDown();
        innerExited.await();
        // The writer re-reads the word at least every millisecond while it waits: give it 200 ms to
        // return wrongly (an inner exit that ended the section), rather than asserting at once.
        writer.join(200);
        assertFalse(returned.get(), "synchronize returned while the reader was still inside its outer token section");
        leave.countDown();
        writer.join(10_000);
        assertTrue(returned.get(), "synchronize did not return after the outermost token exit");
        reader.join();
    }

    /**
     * The writer must notice that the section it waits for ended even when it never sees the
     * reader outside: the reader leaves and enters the next section at once, then stays there.
     * A scheme whose next section looked like the old one (same word) would keep the writer
     * waiting for the new section.
     */
    @Test
    void shouldReturnWhenTheAwaitedSectionEndsAndTheReaderAtOnceEntersAnother() throws Exception {
        GraceDomain d = create();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch switchNow = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            Participant p = d.register();
            long t = p.enterToken();
            try {
                inside.countDown();
                switchNow.await();
                p.exit(t);
                t = p.enterToken(); // the next section, with no pause in between
                leave.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                p.exit(t);
            }
        }, "switching-reader");
        reader.start();
        inside.await();
        AtomicBoolean returned = new AtomicBoolean();
        Thread writer = startWaitingWriter(d, returned);
        assertFalse(returned.get(), "synchronize returned while the first section was open");
        switchNow.countDown();
        writer.join(10_000);
        boolean done = returned.get();
        leave.countDown();
        reader.join();
        assertTrue(done, "synchronize still waited 10 s after the section it waited for had ended");
    }

    @Test
    void shouldRejectNestingBeyondLimitWithoutChangingState() {
        GraceDomain d = create();
        Participant p = d.register();
        for (int i = 0; i < 65_535; i++) {
            p.enter();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, p::enter);
        assertTrue(e.getMessage().contains("65535"), e.getMessage());
        for (int i = 0; i < 65_535; i++) {
            assertTrue(p.inSection());
            p.exit();
        }
        assertFalse(p.inSection(), "the rejected enter must not have counted");
        d.synchronize();
    }

    @Test
    void shouldNotWaitForThreadThatDiedInsideSection() {
        GraceDomain d = create();
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            Thread dead = new Thread(() -> d.register().enter(), "dies-inside");
            dead.start();
            dead.join();
            d.synchronize(); // must count the dead thread's slot as quiescent
        });
    }

    @Test
    void shouldRecycleSlotOfTerminatedThread() throws Exception {
        GraceDomain d = create();
        d.register();
        for (int i = 0; i < 20; i++) {
            Thread t = new Thread(() -> {
                try (Section s = d.enter()) {
                    assertTrue(d.inSection());
                }
            });
            t.start();
            t.join();
        }
        assertTrue(d.participants() <= 2, "slots of terminated threads were not recycled: " + d.participants());
    }

    @Test
    void shouldRejectEnterWhileOfflineAndOfflineInsideSection() {
        GraceDomain d = create();
        Participant p = d.register();
        p.offline();
        IllegalStateException e = assertThrows(IllegalStateException.class, p::enter);
        assertTrue(e.getMessage().contains("offline"), e.getMessage());
        p.online();
        p.enter();
        assertThrows(IllegalStateException.class, p::offline);
        assertThrows(IllegalStateException.class, p::release);
        p.exit();
        p.release();
    }

    @Test
    void shouldRefuseAReleasedParticipantWithoutRelyingOnAssertions() {
        GraceDomain d = create();
        Participant p = d.register();
        p.release();
        // The slot is marked offline on release, so enter()'s fast path falls to the refusal even
        // with assertions off (here -ea also checks the owner; the mark is what works without it).
        long state = SlotPeek.lpState((ThreadSlot) p);
        assertTrue((state & ThreadSlot.OFFLINE_BIT) != 0, "released slot not marked: " + state);
        IllegalStateException e = assertThrows(IllegalStateException.class, p::online);
        assertTrue(e.getMessage().contains("released"), e.getMessage());
        e = assertThrows(IllegalStateException.class, p::enter);
        assertTrue(e.getMessage().contains("released"), e.getMessage());
        Participant q = d.register(); // the recycled slot starts clean for its new owner
        q.enter();
        q.exit();
        q.release();
    }

    /**
     * What register() and enter() hand out is a participant and nothing more: the slot's loads and
     * stores (soState, lpState, the owner CAS...) belong to the scheme, and one made public by
     * inheritance lets any caller end a section or steal the slot. Every public method must be
     * Participant's (with Section's and AutoCloseable's) or Object's; only the pure state-word
     * helpers (static, they touch no slot) may come from ThreadSlot. A new public method on a
     * reader type is then a deliberate change of this test, not an accident of a superclass.
     */
    @Test
    void shouldExposeNoSlotAccessorOnAParticipantWhenRegisteredOrImplicit() {
        GraceDomain d = create();
        Participant p = d.register();
        List<String> registered = methodsBeyondParticipant(p.getClass());
        p.release();
        assertEquals(List.of(), registered, "public methods of " + p.getClass().getName() + " beyond Participant");
        try (Section s = d.enter()) {
            assertEquals(List.of(), methodsBeyondParticipant(s.getClass()),
                    "public methods of " + s.getClass().getName() + " beyond Participant");
        }
    }

    /** ThreadSlot's public static helpers: pure functions of a state word (see ThreadSlot). */
    private static final Set<String> STATE_WORD_HELPERS = Set.of("depthOf", "tagOf");

    /** The public methods of {@code type}, as "Declarer.name(params)", that the contract does not allow. */
    static List<String> methodsBeyondParticipant(Class<?> type) {
        Set<String> allowed = new HashSet<>();
        for (Method m : Participant.class.getMethods()) {
            allowed.add(signature(m));
        }
        for (Method m : Object.class.getMethods()) {
            allowed.add(signature(m));
        }
        List<String> beyond = new ArrayList<>();
        for (Method m : type.getMethods()) {
            boolean helper = Modifier.isStatic(m.getModifiers()) && STATE_WORD_HELPERS.contains(m.getName());
            if (!helper && !allowed.contains(signature(m))) {
                beyond.add(m.getDeclaringClass().getSimpleName() + "." + signature(m));
            }
        }
        Collections.sort(beyond);
        return beyond;
    }

    private static String signature(Method m) {
        return m.getName() + Arrays.toString(m.getParameterTypes());
    }

    @Test
    void shouldRejectParticipantUsedByAnotherThreadWhenAssertionsEnabled() throws Exception {
        GraceDomain d = create();
        Participant p = d.register();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread other = new Thread(() -> {
            try {
                p.enter();
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        other.start();
        other.join();
        assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
    }

    @Test
    void shouldReportStallWithReaderThreadAndDuration() throws Exception {
        List<Stall> stalls = new CopyOnWriteArrayList<>();
        GraceDomain d = create(GraceOptions.named("stall-test")
                .withStallThreshold(Duration.ofMillis(20))
                .withStallHandler(stalls::add));
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = holdSection(d, "slow-reader", inside, leave);
        inside.await();
        Thread writer = new Thread(d::synchronize, "writer");
        writer.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (stalls.isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        leave.countDown();
        writer.join(10_000);
        reader.join();
        assertEquals(1, stalls.size(), "one report per reader per wait: " + stalls);
        Stall s = stalls.get(0);
        assertSame(reader, s.reader());
        assertEquals("stall-test", s.domain());
        assertTrue(s.waited().toMillis() >= 20, "waited " + s.waited());
        assertTrue(s.toString().contains("slow-reader"), s.toString());
    }

    @Test
    void shouldCheckProtectedReferenceAccessWhenAssertionsEnabled() {
        GraceDomain d = create();
        ReentrantLock lock = new ReentrantLock();
        Protected<String> ref = Protected.create(d, lock, "v1");
        IllegalStateException e = assertThrows(IllegalStateException.class, ref::load);
        assertTrue(e.getMessage().contains("outside a section"), e.getMessage());
        try (Section s = d.enter()) {
            assertEquals("v1", ref.load());
        }
        assertThrows(IllegalStateException.class, () -> ref.store("v2"));
        assertThrows(IllegalStateException.class, ref::serializedLoad);
        lock.lock();
        try {
            assertEquals("v1", ref.exchange("v2"));
            assertEquals("v2", ref.serializedLoad());
            d.synchronize();
        } finally {
            lock.unlock();
        }
        try (Section s = d.enter()) {
            assertEquals("v2", ref.load());
        }
    }

    @Test
    void shouldWorkWithVirtualThreadReaders() throws Exception {
        GraceDomain d = create();
        int n = 200;
        List<Thread> readers = new ArrayList<>();
        CountDownLatch allInside = new CountDownLatch(n);
        CountDownLatch leave = new CountDownLatch(1);
        for (int i = 0; i < n; i++) {
            readers.add(Thread.ofVirtual().start(() -> {
                try (Section s = d.enter()) {
                    allInside.countDown();
                    leave.await(); // blocking inside a section: a stalled reader, on purpose
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }));
        }
        allInside.await();
        AtomicBoolean returned = new AtomicBoolean();
        Thread writer = startWaitingWriter(d, returned);
        assertFalse(returned.get());
        leave.countDown();
        writer.join(20_000);
        assertTrue(returned.get());
        for (Thread t : readers) {
            t.join();
        }
        assertTrue(d.participants() >= n, "each virtual thread has its own slot: " + d.participants());
    }

    /**
     * Starts a thread named {@code name} that enters a section of {@code d}, counts down
     * {@code inside}, and stays inside until {@code leave} is counted down.
     */
    protected static Thread holdSection(GraceDomain d, String name, CountDownLatch inside, CountDownLatch leave) {
        Thread reader = new Thread(() -> {
            try (Section s = d.enter()) {
                inside.countDown();
                leave.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, name);
        reader.start();
        return reader;
    }

    /**
     * Starts a thread named {@code name} that enters a section of {@code d} and stays until
     * {@code leave}; returns once it is inside. For the schemes' own tests too.
     */
    public static Thread readerInside(GraceDomain d, String name, CountDownLatch leave) throws InterruptedException {
        CountDownLatch inside = new CountDownLatch(1);
        Thread reader = holdSection(d, name, inside, leave);
        inside.await();
        return reader;
    }

    /**
     * Starts a thread named "writer" that calls {@code d.synchronize()} and then sets
     * {@code returned}; returns once that thread waits (or it ended, or 10 s passed).
     */
    protected static Thread startWaitingWriter(GraceDomain d, AtomicBoolean returned) {
        Thread writer = new Thread(() -> {
            d.synchronize();
            returned.set(true);
        }, "writer");
        writer.start();
        awaitParkedOrSpinning(writer);
        return writer;
    }

    /**
     * Waits until {@code t} is in its wait loop: parked, yielding or spinning for a while. For
     * other packages' tests too (an idle pool worker parks).
     */
    public static void awaitParkedOrSpinning(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING) {
            if (System.nanoTime() > deadline || !t.isAlive()) {
                return; // the caller's assertion on the outcome decides
            }
            Thread.onSpinWait();
        }
    }
}
