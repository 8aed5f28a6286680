package dev.mpsafe.smr;

import dev.mpsafe.sync.GraceOptions;

/** Smr's package-private test hooks, for tests in other packages (the torture's negative controls). */
public final class SmrTestHooks {
    private SmrTestHooks() {
    }

    /** A deliberately broken domain: every poll says the goal passed, so pools reuse at once. */
    public static Smr brokenNoWait(String name) {
        return Smr.createBrokenNoWait(GraceOptions.named(name));
    }
}
