package dev.mpsafe.netstack.ip;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A token bucket for ICMP error rate limiting (RFC 1812 4.3.2.8, RFC 1122 3.2.2): at most
 * {@code burst} tokens at once, one more every {@code interval} nanoseconds of the caller's clock.
 * It reads no system clock: time comes from the {@link LongSupplier} it was made with, so tests
 * drive it.
 *
 * <p><b>Algorithm.</b> The bucket is kept as a single word, the theoretical arrival time
 * {@code tat} of the generic cell rate algorithm (ITU-T I.371): the clock value at which the
 * bucket would be full again. Taking a token at time {@code now} moves it to
 * {@code max(tat, now) + interval}; the take is refused when that lies more than
 * {@code burst * interval} ahead of {@code now} (the bucket would be below empty). One word means
 * one CAS and no lock, and no state to keep consistent across fields. Times are compared by
 * difference, so a clock that wraps (as {@code System.nanoTime} may) is fine.
 *
 * <p><b>No overflow.</b> Invariant: {@code tat - now <= span} (the bucket is never below empty).
 * The take computes {@code ahead = max(tat - now, 0)}, compares {@code ahead > span - interval}
 * (that is, {@code ahead + interval > span}, and {@code span >= interval} since the burst is at
 * least 1) and only then adds, so every intermediate value lies in {@code 0..span} and fits a
 * long for any setting the constructor accepts: {@code (1, Long.MAX_VALUE)}, one token and then
 * none for 292 years, works as meant. (Adding first, {@code tat + interval} wrapped negative for
 * such settings and every take was granted.) A clock that stands still for more than
 * {@code 2^63} ns is beyond what comparison by difference can tell; no real clock does.
 *
 * <p><b>Linearization point:</b> the successful CAS of {@code tat}. A refused take changes
 * nothing. Progress: lock-free (a CAS fails only because another take succeeded).
 *
 * <p>Thread safety: safe for any number of threads.
 *
 * <p>Memory consistency effects: none promised; the word publishes no other data.
 */
final class TokenBucket {

    private final LongSupplier nanos;
    private final long interval;
    private final long span;
    /** Theoretical arrival time; written only by CAS. */
    private long tat;

    /**
     * @throws IllegalArgumentException if {@code burst} or {@code interval} is not positive, or
     *     {@code burst * interval} overflows a long
     */
    TokenBucket(LongSupplier nanos, int burst, long interval) {
        this.nanos = Objects.requireNonNull(nanos, "nanos");
        if (burst < 1) {
            throw new IllegalArgumentException("burst " + burst + " below 1");
        }
        if (interval < 1) {
            throw new IllegalArgumentException("interval " + interval + " ns below 1");
        }
        try {
            this.span = Math.multiplyExact((long) burst, interval);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("burst " + burst + " * interval " + interval
                    + " ns exceeds " + Long.MAX_VALUE + " ns");
        }
        this.interval = interval;
        // Full at creation. Plain write: the object reaches other threads only through the
        // stack's final field, and final-field semantics publish it.
        this.tat = nanos.getAsLong();
    }

    /** Takes a token if one is left now; returns whether it did. */
    boolean tryAcquire() {
        final long now = nanos.getAsLong();
        for (;;) {
            // Volatile read pairs with the volatile CAS below. The word carries no other data, so
            // atomicity is all that matters; the stronger mode costs nothing on x86 and this is
            // the error path, not the fast path.
            final long tat = lvTat();
            // How far the bucket is below full now, in clock time: 0..span (invariant), so
            // neither this nor ahead + interval (at most span) overflows, whatever the settings.
            final long ahead = Math.max(tat - now, 0);
            if (ahead > span - interval) { // ahead + interval > span, without the sum
                return false;
            }
            final long next = now + (ahead + interval); // a clock value: may wrap, compared by difference
            if (casTat(tat, next)) {
                return true;
            }
        }
    }

    private long lvTat() {
        return (long) TAT.getVolatile(this);
    }

    private boolean casTat(long expected, long value) {
        return TAT.compareAndSet(this, expected, value);
    }

    // VarHandle mechanics
    private static final VarHandle TAT;

    static {
        try {
            TAT = MethodHandles.lookup().findVarHandle(TokenBucket.class, "tat", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
