package dev.mpsafe.epoch;

import java.util.concurrent.TimeUnit;

final class GraceDomainWaits {
    private GraceDomainWaits() {
    }

    /** Waits (bounded) until {@code t} reaches {@code state}; fails the test if it never does. */
    static void awaitState(Thread t, Thread.State state) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != state) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(t.getName() + " never reached " + state + ", is " + t.getState());
            }
            Thread.onSpinWait();
        }
    }
}
