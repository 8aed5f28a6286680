package dev.mpsafe.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.smr.SmrTestHooks;
import dev.mpsafe.sync.ReclaimTorture.Reclaim;
import dev.mpsafe.sync.ReclaimTorture.Result;
import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The use-after-reclaim torture ({@link ReclaimTorture}) against every scheme and write-side form,
 * and a negative control showing that the torture catches a domain that does not wait.
 *
 * <p>Each case runs for {@code -Dmpsafe.torture.millis} (default {@value #DEFAULT_MILLIS} ms); CI
 * keeps the default, a soak run raises it, e.g.
 * {@code ./mvnw test -Dtest=ReclaimTortureTest -Dmpsafe.torture.millis=60000}.
 */
class ReclaimTortureTest {

    static final long DEFAULT_MILLIS = 1000;
    /**
     * A negative control looks for failures this long at most; it ends at the
     * {@value #NEGATIVE_ENOUGH}th, usually within tens of milliseconds.
     */
    static final Duration NEGATIVE_DURATION = Duration.ofSeconds(3);
    static final long NEGATIVE_ENOUGH = 50;

    static Duration duration() {
        return Duration.ofMillis(Long.getLong("mpsafe.torture.millis", DEFAULT_MILLIS));
    }

    /** Every scheme, mode and write-side form; one torture run each. */
    enum Scheme {
        PSERIALIZE_FENCED(o -> Pserialize.create(o, Pserialize.Mode.FENCED), Reclaim.SYNCHRONIZE, false, false),
        PSERIALIZE_ASYMMETRIC(o -> Pserialize.create(o, Pserialize.Mode.ASYMMETRIC), Reclaim.SYNCHRONIZE, false,
                false),
        PSERIALIZE_ASYMMETRIC_VIRTUAL_READERS(o -> Pserialize.create(o, Pserialize.Mode.ASYMMETRIC),
                Reclaim.SYNCHRONIZE, false, true),
        EPOCH_SYNCHRONIZE(Epoch::create, Reclaim.SYNCHRONIZE, false, false),
        EPOCH_CALL_DOMAIN_THREAD(Epoch::create, Reclaim.CALL, false, false),
        EPOCH_CALL_DOMAIN_THREAD_VIRTUAL_READERS(Epoch::create, Reclaim.CALL, false, true),
        EPOCH_CALL_CALLER_RUNS(o -> Epoch.create(o.withCallbacksOnDomainThread(false)), Reclaim.CALL, true, false),
        EPOCH_POLL_COOKIES(Epoch::create, Reclaim.POLL, false, false),
        SMR_DEFAULT_SYNCHRONIZE(o -> Smr.create(o, Smr.Mode.DEFAULT), Reclaim.SYNCHRONIZE, false, false),
        SMR_DEFAULT_POLL(o -> Smr.create(o, Smr.Mode.DEFAULT), Reclaim.POLL, false, false),
        SMR_DEFAULT_POOL(o -> Smr.create(o, Smr.Mode.DEFAULT), Reclaim.SMR_POOL, false, false),
        SMR_DEFAULT_SEGMENT_POOL(o -> Smr.create(o, Smr.Mode.DEFAULT), Reclaim.SEGMENT_POOL, false, false),
        SMR_LAZY_POLL(o -> Smr.create(o, Smr.Mode.LAZY), Reclaim.POLL, false, false),
        SMR_LAZY_POOL(o -> Smr.create(o, Smr.Mode.LAZY), Reclaim.SMR_POOL, false, false),
        SMR_LAZY_SEGMENT_POOL(o -> Smr.create(o, Smr.Mode.LAZY), Reclaim.SEGMENT_POOL, false, false),
        SMR_LAZY_POOL_VIRTUAL_READERS(o -> Smr.create(o, Smr.Mode.LAZY), Reclaim.SMR_POOL, false, true),
        SMR_DEFERRED_POLL(o -> Smr.create(o, Smr.Mode.deferred(8)), Reclaim.POLL, false, false),
        SMR_DEFERRED_POOL(o -> Smr.create(o, Smr.Mode.deferred(8)), Reclaim.SMR_POOL, false, false),
        SMR_DEFERRED_SEGMENT_POOL(o -> Smr.create(o, Smr.Mode.deferred(8)), Reclaim.SEGMENT_POOL, false, false);

        final Function<GraceOptions, GraceDomain> factory;
        final Reclaim reclaim;
        final boolean pumpEpochPoll;
        final boolean virtualReaders;

        Scheme(Function<GraceOptions, GraceDomain> factory, Reclaim reclaim, boolean pumpEpochPoll,
                boolean virtualReaders) {
            this.factory = factory;
            this.reclaim = reclaim;
            this.pumpEpochPoll = pumpEpochPoll;
            this.virtualReaders = virtualReaders;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Scheme.class)
    void shouldNeverLetReaderSeeReclaimedNodeWhenWriterWaitsForGracePeriod(Scheme scheme) throws Exception {
        GraceDomain domain = scheme.factory.apply(GraceOptions.named("torture-" + scheme));
        ReclaimTorture torture = ReclaimTorture.of(domain, scheme.reclaim)
                .duration(duration())
                .readers(2)
                .virtualReaders(scheme.virtualReaders);
        if (scheme.pumpEpochPoll) {
            Epoch epoch = (Epoch) domain;
            torture.pump(epoch::poll); // caller-run callbacks: the writer's poll() runs them
        }
        Result r;
        try {
            r = torture.run();
        } finally {
            if (domain instanceof AutoCloseable c) {
                c.close(); // Epoch: runs what is still pending
            }
        }
        String what = scheme + " on " + domain + ": " + r;
        assertEquals(0, r.failures(), "a reader saw a reclaimed node: " + what);
        assertTrue(r.reads() > 0, "no reads: " + what);
        assertTrue(r.replacements() > 0, "no replacements: " + what);
        assertTrue(r.reclamations() > 0, "no reclamations: " + what);
        System.out.println("torture " + what);
    }

    /** Negative control: a synchronize() that returns at once must be caught. */
    @Test
    void shouldCatchUseAfterReclaimWhenSynchronizeDoesNotWait() throws Exception {
        Result r = ReclaimTorture.of(new NonWaitingDomain(), Reclaim.SYNCHRONIZE)
                .duration(NEGATIVE_DURATION)
                .stopAfterFailures(NEGATIVE_ENOUGH)
                .run();
        System.out.println("torture negative control (synchronize returns at once): " + r);
        assertTrue(r.failures() > 0, "the torture missed a synchronize() that does not wait: " + r);
        assertTrue(r.reclamations() > 0, r.toString());
    }

    /** Negative control: a call() that runs the callback at once must be caught. */
    @Test
    void shouldCatchUseAfterReclaimWhenCallRunsCallbackAtOnce() throws Exception {
        Result r = ReclaimTorture.of(new NonWaitingDomain(), Reclaim.CALL)
                .duration(NEGATIVE_DURATION)
                .stopAfterFailures(NEGATIVE_ENOUGH)
                .run();
        System.out.println("torture negative control (call runs the callback at once): " + r);
        assertTrue(r.failures() > 0, "the torture missed a call() that does not wait: " + r);
    }

    /** Negative control: a poll() that says every goal has passed must be caught. */
    @Test
    void shouldCatchUseAfterReclaimWhenPollAlwaysSaysPassed() throws Exception {
        Result r = ReclaimTorture.of(new NonWaitingDomain(), Reclaim.POLL)
                .duration(NEGATIVE_DURATION)
                .stopAfterFailures(NEGATIVE_ENOUGH)
                .run();
        System.out.println("torture negative control (poll always true): " + r);
        assertTrue(r.failures() > 0, "the torture missed a poll() that does not wait: " + r);
    }

    /** Negative controls: pools over an SMR domain whose polls never wait must be caught. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Reclaim.class, names = {"SMR_POOL", "SEGMENT_POOL"})
    void shouldCatchUseAfterReclaimWhenPoolReusesWithoutGracePeriod(Reclaim form) throws Exception {
        Result r = ReclaimTorture.of(SmrTestHooks.brokenNoWait("no-wait-" + form), form)
                .duration(NEGATIVE_DURATION)
                .stopAfterFailures(NEGATIVE_ENOUGH)
                .run();
        System.out.println("torture negative control (" + form + " over a poll that never waits): " + r);
        assertTrue(r.failures() > 0, "the torture missed a pool that reuses at once: " + r);
    }

    /** Negative control: a domain whose inner exit ends the outer section must be caught. */
    @Test
    void shouldCatchUseAfterReclaimWhenInnerExitEndsSection() throws Exception {
        Result r = ReclaimTorture.of(new InnerExitEndsSectionDomain(), Reclaim.SYNCHRONIZE)
                .duration(NEGATIVE_DURATION)
                .stopAfterFailures(NEGATIVE_ENOUGH)
                .run();
        System.out.println("torture negative control (inner exit ends the section): " + r);
        assertTrue(r.failures() > 0, "the torture missed a domain that mishandles nesting: " + r);
    }

    /**
     * A deliberately broken domain: real read sections (a fenced pserialize, so that
     * {@link Protected}'s -ea checks still pass), but {@code synchronize()} returns at once,
     * {@code call()} runs the callback at once and every {@code poll()} goal has passed.
     */
    static final class NonWaitingDomain implements Deferring, Polling {
        private final GraceDomain sections = Pserialize.create(GraceOptions.named("non-waiting"),
                Pserialize.Mode.FENCED);

        @Override
        public String name() {
            return "non-waiting";
        }

        @Override
        public Section enter() {
            return sections.enter();
        }

        @Override
        public Participant register() {
            return sections.register();
        }

        @Override
        public boolean inSection() {
            return sections.inSection();
        }

        @Override
        public int participants() {
            return sections.participants();
        }

        @Override
        public void synchronize() {
            // BUG, on purpose: no wait
        }

        @Override
        public void call(Runnable callback) {
            callback.run(); // BUG, on purpose: no grace period
        }

        @Override
        public void barrier() {
        }

        @Override
        public long pendingCallbacks() {
            return 0;
        }

        @Override
        public long advance() {
            return 0;
        }

        @Override
        public boolean poll(long goal) {
            return true; // BUG, on purpose
        }

        @Override
        public String toString() {
            return "NonWaitingDomain";
        }
    }

    /**
     * A deliberately broken domain: a real fenced pserialize underneath, but a nested section's
     * exit ends the whole section (the bug a depth counter prevents), so the rest of the outer
     * section runs unprotected while {@code synchronize()} is correct.
     */
    static final class InnerExitEndsSectionDomain implements GraceDomain {
        private final Pserialize real = Pserialize.create(GraceOptions.named("inner-exit-ends-section"),
                Pserialize.Mode.FENCED);
        private final ThreadLocal<BrokenParticipant> mine = ThreadLocal.withInitial(BrokenParticipant::new);

        final class BrokenParticipant implements Participant {
            private final Participant inner = real.register();
            private int depth;
            private boolean endedEarly;

            @Override
            public GraceDomain domain() {
                return InnerExitEndsSectionDomain.this;
            }

            @Override
            public void enter() {
                if (depth++ == 0) {
                    inner.enter();
                    endedEarly = false;
                }
            }

            @Override
            public void exit() {
                depth--;
                if (depth == 1) {
                    inner.exit(); // BUG, on purpose: the outer section is still open
                    endedEarly = true;
                } else if (depth == 0 && !endedEarly) {
                    inner.exit();
                }
            }

            @Override
            public boolean inSection() {
                return depth > 0;
            }

            @Override
            public void offline() {
            }

            @Override
            public void online() {
            }

            @Override
            public void release() {
            }
        }

        @Override
        public String name() {
            return "inner-exit-ends-section";
        }

        @Override
        public Section enter() {
            BrokenParticipant p = mine.get();
            p.enter();
            return p;
        }

        @Override
        public Participant register() {
            return mine.get();
        }

        @Override
        public boolean inSection() {
            return mine.get().inSection();
        }

        @Override
        public void synchronize() {
            real.synchronize();
        }

        @Override
        public int participants() {
            return real.participants();
        }

        @Override
        public String toString() {
            return "InnerExitEndsSectionDomain";
        }
    }
}
