package dev.mpsafe.testing;

import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Waits for another thread to reach a given point: parked, blocked or in a system call inside a
 * given method. Nothing signals such a point, so the waits poll the thread's state and stack every
 * millisecond, with a deadline that fails the test and says where the thread is instead. They
 * replace a fixed sleep ("let it reach X"), which is too short on a loaded 2-core machine and
 * needlessly long elsewhere.
 *
 * <p>State and stack are two separate reads, not one snapshot: {@link #isIn} reads the state on
 * both sides of the stack, so a thread that moves on between the reads is not taken as there.
 *
 * <p>Thread safety: safe for use by any thread.
 */
public final class ThreadWaits {

    /** How long {@link #awaitIn} waits before it fails: generous, so that load only slows a test. */
    public static final long TIMEOUT_S = 30;

    private ThreadWaits() {
    }

    /**
     * Whether {@code t} is in one of {@code states} with a frame of {@code type.method} on its stack.
     * A thread in a native call (such as a system call made through the FFM API) is
     * {@link Thread.State#RUNNABLE}.
     *
     * @param states the states that count; at least one
     */
    public static boolean isIn(Thread t, Class<?> type, String method, Thread.State... states) {
        if (states.length == 0) {
            throw new IllegalArgumentException("no thread state given for " + type.getSimpleName() + "." + method);
        }
        Set<Thread.State> wanted = EnumSet.of(states[0], states);
        if (!wanted.contains(t.getState())) {
            return false;
        }
        boolean inMethod = false;
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().equals(method) && e.getClassName().equals(type.getName())) {
                inMethod = true;
                break;
            }
        }
        return inMethod && wanted.contains(t.getState());
    }

    /**
     * Waits until {@code t} {@link #isIn is in} {@code type.method} in one of {@code states}, or
     * has ended; in the second case the caller's own assertion on what the thread did decides (it
     * names the failure better than "never got there" would). Fails after {@link #TIMEOUT_S}
     * seconds, with the thread's state and stack.
     *
     * @param states the states that count; at least one
     * @throws InterruptedException if the calling thread is interrupted
     */
    public static void awaitIn(Thread t, Class<?> type, String method, Thread.State... states)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (!isIn(t, type, method, states) && t.isAlive()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + TIMEOUT_S + " s for " + t.getName() + " to be in "
                        + type.getSimpleName() + "." + method + " (" + EnumSet.of(states[0], states) + "): "
                        + stackOf(t));
            }
            Thread.sleep(1); // polls a condition (a state and a stack frame) that has no signal to wait on
        }
    }

    /**
     * Describes {@code t} for a failure message: its name, its state, its innermost frame (where
     * it waits) and its frames in this project's code.
     */
    public static String stackOf(Thread t) {
        StringBuilder b = new StringBuilder(t.getName()).append(' ').append(t.getState());
        StackTraceElement[] frames = t.getStackTrace();
        for (int i = 0; i < frames.length; i++) {
            if (i == 0 || frames[i].getClassName().startsWith("dev.mpsafe")) {
                b.append("\n    at ").append(frames[i]);
            }
        }
        return b.toString();
    }
}
