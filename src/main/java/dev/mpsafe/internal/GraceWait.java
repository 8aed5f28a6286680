package dev.mpsafe.internal;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Stall;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A writer's wait for a reader: spin briefly, then yield, then park with a growing timeout (so a
 * long wait does not burn a core), and report a {@link Stall} once per reader when the wait for it
 * passes the domain's threshold (to the handler and as a JFR event).
 *
 * <p>One instance per waiting call (or per waiting thread, with {@link #reset()} between waits);
 * not thread-safe.
 */
public final class GraceWait {

    private static final int SPINS = 64;
    private static final int YIELDS = 16;
    private static final long MAX_PARK_NANOS = 1_000_000; // 1 ms

    private final String domain;
    private final long thresholdNanos;
    private final java.util.function.Consumer<Stall> handler;

    private ThreadSlot waitingFor;
    private long waitStart;
    private boolean reported;
    private int rounds;

    public GraceWait(GraceOptions options) {
        this.domain = options.name();
        this.thresholdNanos = options.stallThreshold().toNanos();
        this.handler = options.stallHandler();
    }

    /**
     * Called when the writer has just seen {@code slot} holding it up (or null when it waits for
     * something other than a reader); pauses a little.
     */
    public void pause(ThreadSlot slot) {
        observe(slot);
        final int r = rounds;
        if (r < Integer.MAX_VALUE) {
            rounds = r + 1; // saturates: a wait of 2^31 rounds (weeks) must not wrap back to spinning
        }
        if (r < SPINS) {
            Thread.onSpinWait();
        } else if (r < SPINS + YIELDS) {
            Thread.yield();
        } else {
            long park = Math.min(MAX_PARK_NANOS, 1_000L << Math.min(20, r - SPINS - YIELDS));
            // These waits are not interruptible, but a set interrupt flag makes parkNanos return at
            // once: clear it for the park and restore it after, so the waiter parks instead of
            // spinning and its caller still sees the interrupt. Restoring it (Thread.interrupt)
            // also leaves a park permit, so the next round first spends that permit in a 1 ns park;
            // at worst that swallows a real unpark, which only lengthens this bounded park.
            final boolean interrupted = Thread.interrupted();
            if (interrupted) {
                LockSupport.parkNanos(this, 1L);
            }
            LockSupport.parkNanos(this, park);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The stall-reporting half of {@link #pause}, for a waiter that does its own waiting (the
     * epoch domain thread parks for its dispatch tick): notes that {@code slot} holds it up now,
     * and reports a stall once the same slot has held it up past the threshold.
     */
    public void observe(ThreadSlot slot) {
        long now = System.nanoTime();
        if (slot != waitingFor) {
            waitingFor = slot;
            waitStart = now;
            reported = false;
        } else if (!reported && now - waitStart > thresholdNanos) {
            reported = true;
            report(slot, now - waitStart);
        }
    }

    /** Called when the writer made progress: restart the backoff. */
    public void progressed() {
        rounds = 0;
    }

    /**
     * Ends the wait: the next {@link #observe}/{@link #pause} starts a new one (its own threshold,
     * its own report). For a long-lived waiter that reuses one instance across waits.
     */
    public void reset() {
        waitingFor = null;
        reported = false;
        rounds = 0;
    }

    private void report(ThreadSlot slot, long waitedNanos) {
        Thread reader = slot == null ? null : slot.owner();
        if (reader == null) {
            return;
        }
        GraceStallEvent event = new GraceStallEvent();
        if (event.isEnabled()) {
            event.domain = domain;
            event.readerThread = reader.getName();
            event.readerThreadId = reader.threadId();
            event.waited = waitedNanos;
            event.commit();
        }
        try {
            handler.accept(new Stall(domain, reader, Duration.ofNanos(waitedNanos)));
        } catch (RuntimeException | Error e) {
            // A broken handler must not break the writer; the JFR event has been recorded.
            System.getLogger("dev.mpsafe.sync").log(System.Logger.Level.ERROR, "stall handler threw", e);
        }
    }
}
