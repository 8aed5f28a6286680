package dev.mpsafe.kcont;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * A snapshot of a worker's timer lateness: how many ticks after its deadline tick each delayed
 * continuation started. A continuation that starts during its deadline tick has lateness 0; one
 * that starts during the next tick has lateness 1, and so on.
 *
 * <p>Buckets: one per value for 0 to 15 ticks (so "within 2 ticks" is exact), then one per power
 * of two ([16, 31], [32, 63], ...). {@link #percentile} returns the upper bound of the bucket that
 * holds the requested rank: never an underestimate.
 *
 * <p>Thread safety: immutable.
 */
public final class LatenessHistogram {

    /** Values below this many ticks have a bucket each. */
    static final int EXACT = 16;
    /** Number of buckets: 16 exact ones, then powers of two from 2^4 up to 2^62 (59 buckets). */
    static final int BUCKETS = EXACT + 59;

    private static final VarHandle COUNT = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] counts;
    private final long total;

    LatenessHistogram(long[] counts) {
        this.counts = counts;
        long t = 0;
        for (long c : counts) {
            t += c;
        }
        this.total = t;
    }

    /** The bucket of a lateness of {@code ticks} (>= 0). */
    static int bucket(long ticks) {
        if (ticks < EXACT) {
            return (int) ticks;
        }
        return EXACT - 4 + (63 - Long.numberOfLeadingZeros(ticks));
    }

    /** The largest lateness that falls into {@code bucket}. */
    static long upperBound(int bucket) {
        if (bucket < EXACT) {
            return bucket;
        }
        final int exp = bucket - EXACT + 4; // the bucket holds [2^exp, 2^(exp+1) - 1]
        return exp >= 62 ? Long.MAX_VALUE : (1L << (exp + 1)) - 1;
    }

    /**
     * Adds one sample. Only the owning worker writes {@code counts}: a plain read and an opaque
     * write suffice (no lost updates with one writer; opaque keeps the 64-bit store untorn and lets
     * a monitoring thread see it eventually, which is all a statistic needs).
     */
    static void record(long[] counts, long ticks) {
        final int b = bucket(Math.max(0L, ticks));
        COUNT.setOpaque(counts, b, (long) COUNT.get(counts, b) + 1);
    }

    /** Copies a live array written by {@link #record} (opaque reads: each count is untorn). */
    static LatenessHistogram snapshot(long[] live) {
        final long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = (long) COUNT.getOpaque(live, i);
        }
        return new LatenessHistogram(copy);
    }

    /**
     * Returns the number of samples.
     *
     * @return how many delayed continuations were measured
     */
    public long count() {
        return total;
    }

    /**
     * Returns the number of samples with exactly this lateness, for values below 16 ticks.
     *
     * @param ticks a lateness from 0 to 15
     * @return the number of samples with that lateness
     * @throws IllegalArgumentException if {@code ticks} is not between 0 and 15
     */
    public long countAt(int ticks) {
        if (ticks < 0 || ticks >= EXACT) {
            throw new IllegalArgumentException("countAt takes a lateness from 0 to " + (EXACT - 1) + " ticks, got " + ticks);
        }
        return counts[ticks];
    }

    /**
     * Returns an upper bound, in ticks, of the lateness at quantile {@code q}: exact below 16 ticks.
     *
     * @param q the quantile, from 0 (exclusive) to 1 (inclusive), e.g. 0.99
     * @return the lateness bound, or 0 if there are no samples
     * @throws IllegalArgumentException if {@code q} is not in (0, 1]
     */
    public long percentile(double q) {
        if (!(q > 0.0 && q <= 1.0)) {
            throw new IllegalArgumentException("quantile must be in (0, 1], got " + q);
        }
        if (total == 0) {
            return 0;
        }
        final long rank = (long) Math.ceil(q * total); // 1-based rank of the sample we want
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return upperBound(i);
            }
        }
        return upperBound(BUCKETS - 1);
    }

    /**
     * Returns an upper bound of the largest lateness seen.
     *
     * @return the maximum's bucket bound in ticks, or 0 if there are no samples
     */
    public long max() {
        for (int i = BUCKETS - 1; i >= 0; i--) {
            if (counts[i] != 0) {
                return upperBound(i);
            }
        }
        return 0;
    }

    /** Returns the count, the 50th, 99th and 100th percentile bounds, and the non-empty buckets. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("LatenessHistogram[n=").append(total)
                .append(", p50<=").append(percentile(0.5)).append(", p99<=").append(percentile(0.99))
                .append(", max<=").append(max()).append(" ticks, buckets={");
        String sep = "";
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] != 0) {
                b.append(sep).append("<=").append(upperBound(i)).append(':').append(counts[i]);
                sep = ", ";
            }
        }
        return b.append("}]").toString();
    }

    long[] counts() {
        return Arrays.copyOf(counts, counts.length);
    }
}
