package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;

/**
 * The grace-period domains the sync benchmarks compare, by the name their {@code impl} parameter
 * uses, so that every benchmark builds them the same way.
 */
final class SyncBench {

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
    static GraceDomain domain(String impl, String name) {
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
    static void close(GraceDomain domain) {
        if (domain instanceof Epoch e) {
            e.close();
        }
    }
}
