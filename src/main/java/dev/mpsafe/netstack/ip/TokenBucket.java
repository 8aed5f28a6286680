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
            final long base = tat - now > 0 ? tat : now;
            final long next = base + interval;
            if (next - now > span) {
                return false;
            }
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
