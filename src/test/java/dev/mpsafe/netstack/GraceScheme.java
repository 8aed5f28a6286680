package dev.mpsafe.netstack;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import java.util.function.Function;

/**
 * Every grace-period scheme and mode the netstack can run on, for tests that run once per scheme
 * ({@code @EnumSource(GraceScheme.class)}). The caller closes the domain it creates.
 */
public enum GraceScheme {
    PSERIALIZE_FENCED(name -> Pserialize.create(GraceOptions.named(name), Pserialize.Mode.FENCED)),
    PSERIALIZE_ASYMMETRIC(name -> Pserialize.create(GraceOptions.named(name), Pserialize.Mode.ASYMMETRIC)),
    EPOCH(Epoch::create),
    SMR_DEFAULT(name -> Smr.create(name, Smr.Mode.DEFAULT)),
    SMR_LAZY(name -> Smr.create(name, Smr.Mode.LAZY)),
    SMR_DEFERRED(name -> Smr.create(name, Smr.Mode.deferred(16)));

    private final Function<String, GraceDomain> factory;

    GraceScheme(Function<String, GraceDomain> factory) {
        this.factory = factory;
    }

    /** A new domain of this scheme, named {@code name}. */
    public GraceDomain create(String name) {
        return factory.apply(name);
    }
}
