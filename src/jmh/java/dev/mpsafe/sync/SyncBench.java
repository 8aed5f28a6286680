package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;

/**
 * The grace-period domains the benchmarks compare, by the name their {@code impl} parameter uses,
 * so that every benchmark (the sync suite's and the netstack's lookups) builds them the same way.
 */
public final class SyncBench {

    private SyncBench() {
    }

    /**
     * A new domain: {@code pserializeFenced}, {@code pserializeAsymmetric}, {@code epoch},
     * {@code smrDefault}, {@code smrLazy} or {@code smrDeferred} (limit
     * {@value #SMR_DEFERRED_LIMIT}). Prints a NOTE when ASYMMETRIC or LAZY falls back to a fenced
     * mode, so that a fallen-back row is not read as the membarrier figure.
     *
     * @throws IllegalArgumentException for any other name
     */
    public static GraceDomain domain(String impl, String name) {
        return domain(impl, GraceOptions.named(name));
    }

    /** As {@link #domain(String, String)}, with the caller's options. */
    static GraceDomain domain(String impl, GraceOptions options) {
        return switch (impl) {
            case "pserializeFenced" -> Pserialize.create(options, Pserialize.Mode.FENCED);
            case "pserializeAsymmetric" -> {
                Pserialize p = Pserialize.create(options, Pserialize.Mode.ASYMMETRIC);
                if (p.mode() != Pserialize.Mode.ASYMMETRIC) {
                    System.out.println("NOTE: pserialize ASYMMETRIC unavailable ("
                            + Pserialize.asymmetricUnavailableReason() + "): this row measures FENCED");
                }
                yield p;
            }
            case "epoch" -> Epoch.create(options);
            case "smrDefault" -> Smr.create(options, Smr.Mode.DEFAULT);
            case "smrLazy" -> smrLazy(options);
            case "smrDeferred" -> Smr.create(options, Smr.Mode.deferred(SMR_DEFERRED_LIMIT));
            default -> throw new IllegalArgumentException("unknown impl '" + impl
                    + "'; use pserializeFenced, pserializeAsymmetric, epoch, smrDefault, smrLazy or smrDeferred");
        };
    }

    /** The DEFERRED limit every benchmark uses (FreeBSD's UMA uses per-zone limits of this order). */
    static final int SMR_DEFERRED_LIMIT = 64;

    /** A LAZY SMR domain; prints a NOTE when it falls back to DEFAULT. */
    static Smr smrLazy(GraceOptions options) {
        Smr s = Smr.create(options, Smr.Mode.LAZY);
        if (s.mode() != Smr.Mode.LAZY) {
            System.out.println("NOTE: smr LAZY unavailable (" + Smr.lazyUnavailableReason()
                    + "): this row measures DEFAULT");
        }
        return s;
    }

    /** Closes the domain if it has anything to close: an epoch's domain thread and pending callbacks. */
    public static void close(GraceDomain domain) {
        if (domain instanceof Epoch e) {
            e.close();
        }
    }

    /**
     * One thread's participant in each of six domains, one per scheme and mode, for benchmarks
     * with a method per scheme (so that no dispatch sits between the harness and the section).
     * A benchmark's thread-scoped state extends it and calls {@link #registerAll} from its setup
     * (JMH runs a thread state's fixtures on its own thread) and {@link #releaseAll} from its
     * teardown.
     */
    public static class Participants {
        public Participant fenced;
        public Participant asymmetric;
        public Participant epoch;
        public Participant smrDefault;
        public Participant smrLazy;
        public Participant smrDeferred;

        /** Registers the calling thread with each domain, in the order of the fields. */
        public final void registerAll(GraceDomain fenced, GraceDomain asymmetric, GraceDomain epoch,
                GraceDomain smrDefault, GraceDomain smrLazy, GraceDomain smrDeferred) {
            this.fenced = fenced.register();
            this.asymmetric = asymmetric.register();
            this.epoch = epoch.register();
            this.smrDefault = smrDefault.register();
            this.smrLazy = smrLazy.register();
            this.smrDeferred = smrDeferred.register();
        }

        /** Gives every slot back. */
        public final void releaseAll() {
            for (Participant p : new Participant[] {fenced, asymmetric, epoch, smrDefault, smrLazy, smrDeferred}) {
                p.release();
            }
        }
    }
}
