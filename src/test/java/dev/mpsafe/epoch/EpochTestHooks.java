package dev.mpsafe.epoch;

import java.util.function.Consumer;

/**
 * Test hooks of {@link Epoch} for tests in other packages (the netstack's tables retire through an
 * epoch): the field behind them is package-private, and tests run on the class path.
 */
public final class EpochTestHooks {
    private EpochTestHooks() {
    }

    /** Makes every start of {@code e}'s domain thread fail as a JVM out of native threads does. */
    public static void failThreadStarts(Epoch e) {
        e.threadStarter = t -> {
            throw new OutOfMemoryError("unable to create native thread (test)");
        };
    }

    /** Undoes {@link #failThreadStarts}. */
    public static void startThreadsNormally(Epoch e) {
        e.threadStarter = (Consumer<Thread>) Thread::start;
    }
}
