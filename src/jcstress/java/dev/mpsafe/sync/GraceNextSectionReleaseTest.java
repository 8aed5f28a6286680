package dev.mpsafe.sync;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/**
 * A writer's grace period may end because its scan read a later store to the reader's state word
 * than the exit: an offline or online, the next section's enter, a nested level of it. The reads of
 * the section that used the old object must still happen-before the writer's reclaim, which is why
 * every store the owner makes to the word is a release store and none is opaque (see ReaderSlot
 * and the overviews of Pserialize, Epoch and Smr).
 *
 * <p>What it guards: the JMM gives the happens-before edge only through the release; with an
 * opaque enter it would rest on hardware properties. No machine we know shows the failure: x86
 * keeps stores in order, and on ARM a store to the same word after a store-release (the exit) stays
 * after it. The test fails only on a JIT that uses the JMM's full freedom for an opaque enter, or if
 * the exit stops being a release store. One nested test per scheme, in the mode with the fewest
 * fences (ASYMMETRIC pserialize and LAZY SMR fall back to fenced readers where membarrier is
 * missing, which only adds ordering).
 */
public final class GraceNextSectionReleaseTest {

    private GraceNextSectionReleaseTest() {
    }

    static final class Obj {
        int value;

        Obj(int value) {
            this.value = value;
        }
    }

    /** The shared shape: the reader reads the object twice in one section, then enters a second. */
    abstract static class Shape {
        final GraceDomain domain;
        final Protected<Obj> ref;

        Shape(GraceDomain domain) {
            this.domain = domain;
            this.ref = Protected.create(domain, null, new Obj(1));
        }

        void read(I_Result r) {
            final Participant p = domain.register(); // the thread's participant, as enter() uses
            int v;
            p.enter();
            try {
                Obj o = ref.load();
                v = o.value;
                Thread.onSpinWait();
                v = Math.min(v, o.value);
            } finally {
                p.exit();
            }
            // Each store below may be the value a writer's scan reads instead of the exit above:
            // offline, online, the next section's enter, a nested level of it, and their exits.
            p.offline();
            p.online();
            p.enter();
            p.enter();
            Thread.onSpinWait();
            p.exit();
            p.exit();
            r.r1 = v;
        }

        /**
         * The same with the token form: its exit is a release store of the token, with no load
         * before it, and each later store may again be what the scan reads.
         */
        void readTokens(I_Result r) {
            final Participant p = domain.register();
            int v;
            final long t = p.enterToken();
            try {
                Obj o = ref.load();
                v = o.value;
                Thread.onSpinWait();
                v = Math.min(v, o.value);
            } finally {
                p.exit(t);
            }
            p.offline();
            p.online();
            long outer = p.enterToken();
            long inner = p.enterToken();
            Thread.onSpinWait();
            p.exit(inner);
            p.exit(outer);
            r.r1 = v;
        }

        void write() {
            Obj old = ref.exchange(new Obj(2));
            domain.synchronize();
            old.value = -1; // reclaim
        }
    }

    @JCStressTest
    @Description("pserialize ASYMMETRIC: the reclaim after a grace period that ended on the reader's next enter "
            + "is never seen by the earlier section. x86 and ARM cannot show a failure (see the class comment).")
    @Outcome(id = "1", expect = ACCEPTABLE, desc = "the reader used the old object before its reclaim")
    @Outcome(id = "2", expect = ACCEPTABLE, desc = "the reader used the new object")
    @Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the earlier section saw the poison")
    @State
    public static class PserializeAsymmetric extends Shape {
        public PserializeAsymmetric() {
            super(Pserialize.create(GraceOptions.named("jcstress"), Pserialize.Mode.ASYMMETRIC));
        }

        @Actor
        public void reader(I_Result r) {
            read(r);
        }

        @Actor
        public void writer() {
            write();
        }
    }

    @JCStressTest
    @Description("epoch: the reclaim after a grace period that ended on the reader's next enter is never seen "
            + "by the earlier section. x86 and ARM cannot show a failure (see the class comment).")
    @Outcome(id = "1", expect = ACCEPTABLE, desc = "the reader used the old object before its reclaim")
    @Outcome(id = "2", expect = ACCEPTABLE, desc = "the reader used the new object")
    @Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the earlier section saw the poison")
    @State
    public static class EpochDomain extends Shape {
        public EpochDomain() {
            super(Epoch.create(GraceOptions.named("jcstress").withCallbacksOnDomainThread(false)));
        }

        @Actor
        public void reader(I_Result r) {
            read(r);
        }

        @Actor
        public void writer() {
            write();
        }
    }

    @JCStressTest
    @Description("SMR LAZY: the reclaim after a grace period that ended on the reader's next enter is never "
            + "seen by the earlier section. x86 and ARM cannot show a failure (see the class comment).")
    @Outcome(id = "1", expect = ACCEPTABLE, desc = "the reader used the old object before its reclaim")
    @Outcome(id = "2", expect = ACCEPTABLE, desc = "the reader used the new object")
    @Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the earlier section saw the poison")
    @State
    public static class SmrLazy extends Shape {
        public SmrLazy() {
            super(Smr.create(GraceOptions.named("jcstress"), Smr.Mode.LAZY));
        }

        @Actor
        public void reader(I_Result r) {
            read(r);
        }

        @Actor
        public void writer() {
            write();
        }
    }

    @JCStressTest
    @Description("SMR DEFAULT: the reclaim after a grace period that ended on the reader's next enter is never "
            + "seen by the earlier section. x86 and ARM cannot show a failure (see the class comment).")
    @Outcome(id = "1", expect = ACCEPTABLE, desc = "the reader used the old object before its reclaim")
    @Outcome(id = "2", expect = ACCEPTABLE, desc = "the reader used the new object")
    @Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the earlier section saw the poison")
    @State
    public static class SmrDefault extends Shape {
        public SmrDefault() {
            super(Smr.create(GraceOptions.named("jcstress"), Smr.Mode.DEFAULT));
        }

        @Actor
        public void reader(I_Result r) {
            read(r);
        }

        @Actor
        public void writer() {
            write();
        }
    }

    @JCStressTest
    @Description("pserialize ASYMMETRIC, token form: the reclaim after a grace period that ended on the reader's "
            + "token exit or a later store is never seen by the section. x86 and ARM cannot show a failure "
            + "(see the class comment).")
    @Outcome(id = "1", expect = ACCEPTABLE, desc = "the reader used the old object before its reclaim")
    @Outcome(id = "2", expect = ACCEPTABLE, desc = "the reader used the new object")
    @Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the section saw the poison")
    @State
    public static class PserializeAsymmetricTokens extends Shape {
        public PserializeAsymmetricTokens() {
            super(Pserialize.create(GraceOptions.named("jcstress"), Pserialize.Mode.ASYMMETRIC));
        }

        @Actor
        public void reader(I_Result r) {
            readTokens(r);
        }

        @Actor
        public void writer() {
            write();
        }
    }

    @JCStressTest
    @Description("SMR LAZY, token form: the reclaim after a grace period that ended on the reader's token exit "
            + "or a later store is never seen by the section. x86 and ARM cannot show a failure (see the class "
            + "comment).")
    @Outcome(id = "1", expect = ACCEPTABLE, desc = "the reader used the old object before its reclaim")
    @Outcome(id = "2", expect = ACCEPTABLE, desc = "the reader used the new object")
    @Outcome(id = "-1", expect = FORBIDDEN, desc = "use after reclaim: the section saw the poison")
    @State
    public static class SmrLazyTokens extends Shape {
        public SmrLazyTokens() {
            super(Smr.create(GraceOptions.named("jcstress"), Smr.Mode.LAZY));
        }

        @Actor
        public void reader(I_Result r) {
            readTokens(r);
        }

        @Actor
        public void writer() {
            write();
        }
    }
}
