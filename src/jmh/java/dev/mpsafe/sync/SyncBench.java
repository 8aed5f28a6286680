package dev.mpsafe.sync;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.pserialize.Pserialize;

/**
 * The grace-period domains the sync benchmarks compare, by the name their {@code impl} parameter
 * uses, so that every benchmark builds them the same way.
 */
final class SyncBench {

    private SyncBench() {
    }

    /**
     * A new domain: {@code pserializeFenced}, {@code pserializeAsymmetric} or {@code epoch}.
     * Prints a NOTE when ASYMMETRIC falls back to FENCED, so that a fallen-back row is not read
     * as the asymmetric figure.
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
            default -> throw new IllegalArgumentException("unknown impl '" + impl
                    + "'; use pserializeFenced, pserializeAsymmetric or epoch");
        };
    }

    /** Closes the domain if it has anything to close: an epoch's domain thread and pending callbacks. */
    static void close(GraceDomain domain) {
        if (domain instanceof Epoch e) {
            e.close();
        }
    }
}
