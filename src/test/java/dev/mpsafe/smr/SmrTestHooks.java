package dev.mpsafe.smr;

import dev.mpsafe.sync.GraceOptions;

/** Smr's package-private test hooks, for tests in other packages (the torture's negative controls). */
public final class SmrTestHooks {
    private SmrTestHooks() {
    }

    /**
     * A DEFAULT domain whose writers may run only {@code maxDelta} sequences ahead of the oldest
     * reader, so that {@code advance()} inside a section refuses after a few calls.
     */
    public static Smr withMaxDelta(String name, long maxDelta) {
        return Smr.create(GraceOptions.named(name), Smr.Mode.DEFAULT, 0, maxDelta, false, "test");
    }

    /** A deliberately broken domain: every poll says the goal passed, so pools reuse at once. */
    public static Smr brokenNoWait(String name) {
        return Smr.createBrokenNoWait(GraceOptions.named(name));
    }
}
