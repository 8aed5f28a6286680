package dev.mpsafe.bench;

import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Kind;
import dev.mpsafe.bench.Catalog.Metric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.distribution.TDistribution;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

/**
 * Reads figures out of JMH results, each with its error and its spread.
 *
 * <p>A figure's value is the median of the measured iterations (all forks), which a noisy
 * iteration moves less than the mean. Its error is the half-width of the 99.9% confidence
 * interval of the iterations' mean (Student's t, as JMH's "Error"). A percentile of a sampled
 * benchmark is taken over every sample, and its error is the same interval over the percentile of
 * each iteration.
 *
 * <p>With several forks (full mode) the iterations of one fork are not independent: they share
 * one JVM's JIT decisions, which differ from fork to fork. So each fork is also summarised by its
 * own median (or percentile); the figure carries the range of those, and its error is the larger
 * of the pooled interval above and the 99.9% interval of the forks' values themselves (Student's t
 * with forks - 1 degrees of freedom: 31.6 standard errors for 3 forks), so that a figure whose
 * forks disagree gets the wide interval it has.
 *
 * <p>The error is unknown (NaN, printed "± ?") for one iteration, and where every iteration agrees
 * exactly on a figure that is quantised: a percentile of sampled times (the timer's resolution)
 * or a histogram bucket bound ({@link Catalog.Metric#bound}). There, agreement says nothing about
 * the error. A figure is flagged noisy ({@link Figure#noisy}) when its iterations' coefficient of
 * variation exceeds {@link #NOISY_CV}, when its forks' medians differ by more than that fraction of
 * the value, or when its error is unknown.
 */
final class Stats {

    /**
     * The flag's threshold: iterations whose standard deviation exceeds this fraction of their
     * mean (or fork medians further apart than this fraction of the value) are flagged. At 10%
     * one iteration in three is more than 10% off the mean: the third digit means nothing, and
     * a difference of less than about 1.5× needs a closer look.
     */
    static final double NOISY_CV = 0.10;

    private Stats() {
    }

    /**
     * One figure.
     *
     * @param value the median (or the percentile)
     * @param error the 99.9% confidence half-width: of the iterations' mean, and with several forks
     *     at least that of the forks' values' mean (t with forks - 1 degrees of freedom); NaN when unknown
     * @param unit what it counts
     * @param iterations how many measured iterations it came from, all forks together
     * @param forks how many forks
     * @param spread the iterations' coefficient of variation (standard deviation / |mean|), NaN
     *     for fewer than 2
     * @param forkLow the lowest fork median (or percentile), NaN with one fork
     * @param forkHigh the highest fork median (or percentile), NaN with one fork
     * @param bound whether the value is a histogram bucket's upper bound (printed "≤ value")
     */
    record Figure(double value, double error, String unit, int iterations, int forks, double spread,
            double forkLow, double forkHigh, boolean bound) {

        /** A single-fork figure whose spread is unknown (tests, and what JMH did not measure). */
        Figure(double value, double error, String unit, int iterations) {
            this(value, error, unit, iterations, 1, Double.NaN, Double.NaN, Double.NaN, false);
        }

        /** Whether the forks' medians differ by more than {@link #NOISY_CV} of the value. */
        boolean forksDisagree() {
            return forks > 1 && !(forkHigh - forkLow <= NOISY_CV * Math.abs(value));
        }

        /** Spread above {@link #NOISY_CV}, forks apart, or the error unknown. */
        boolean noisy() {
            return Double.isNaN(error) || !(spread <= NOISY_CV) || forksDisagree();
        }
    }

    /** Every figure the case asks for, read from one run. */
    static List<Figure> figures(Case c, RunResult run) {
        List<Figure> figures = new ArrayList<>();
        for (Metric m : c.metrics()) {
            figures.add(figure(m, run));
        }
        return figures;
    }

    static Figure figure(Metric m, RunResult run) {
        List<BenchmarkResult> forks = new ArrayList<>(run.getBenchmarkResults());
        double[][] perFork = new double[forks.size()][];
        double[] forkPercentiles = new double[forks.size()];
        String unit = null;
        for (int f = 0; f < forks.size(); f++) {
            List<IterationResult> iterations = new ArrayList<>(forks.get(f).getIterationResults());
            perFork[f] = new double[iterations.size()];
            for (int i = 0; i < iterations.size(); i++) {
                IterationResult it = iterations.get(i);
                Result<?> r = pick(m, it.getPrimaryResult(), it.getSecondaryResults(), run);
                perFork[f][i] = m.kind() == Kind.PERCENTILE ? r.getStatistics().getPercentile(m.percentile())
                        : r.getScore();
                unit = r.getScoreUnit();
            }
            if (m.kind() == Kind.PERCENTILE) {
                forkPercentiles[f] = forks.get(f).getPrimaryResult().getStatistics().getPercentile(m.percentile());
            }
        }
        boolean percentile = m.kind() == Kind.PERCENTILE;
        return summarise(perFork,
                percentile ? run.getPrimaryResult().getStatistics().getPercentile(m.percentile()) : Double.NaN,
                percentile ? forkPercentiles : null, m.unit() != null ? m.unit() : micro(unit),
                percentile || m.bound(), m.bound());
    }

    /**
     * Summarises one figure's measured iterations.
     *
     * @param perFork the iterations' values, one array per fork
     * @param value the figure's value, or NaN for the median of every iteration
     * @param forkValues each fork's own value, or null for the median of its iterations
     * @param unit the unit
     * @param quantised whether equal iterations are a resolution or bucket artefact (then the error
     *     is unknown, not 0)
     * @param bound whether the value is a bucket's upper bound
     */
    static Figure summarise(double[][] perFork, double value, double[] forkValues, String unit, boolean quantised,
            boolean bound) {
        double[] all = Arrays.stream(perFork).flatMapToDouble(Arrays::stream).toArray();
        double v = Double.isNaN(value) ? median(all, bound) : value;
        double error = confidenceHalfWidth(all);
        double forkLow = Double.NaN;
        double forkHigh = Double.NaN;
        if (perFork.length > 1) {
            double[] fv = new double[perFork.length];
            for (int f = 0; f < fv.length; f++) {
                fv[f] = forkValues != null ? forkValues[f] : median(perFork[f], bound);
            }
            forkLow = Arrays.stream(fv).min().orElseThrow();
            forkHigh = Arrays.stream(fv).max().orElseThrow();
            // The fork is the independent unit: its values give a 99.9% interval with t(forks - 1).
            // The pooled interval still counts where the forks agree more closely than their
            // iterations spread (it is then the wider one).
            error = Math.max(error, confidenceHalfWidth(fv));
        }
        if (quantised && all.length > 1 && Arrays.stream(all).allMatch(x -> x == all[0])) {
            error = Double.NaN;
        }
        return new Figure(v, error, unit, all.length, perFork.length, coefficientOfVariation(all), forkLow,
                forkHigh, bound);
    }

    /** Standard deviation over |mean|; NaN for fewer than 2 values, infinite for a spread around 0. */
    static double coefficientOfVariation(double[] values) {
        if (values.length < 2) {
            return Double.NaN;
        }
        double mean = Arrays.stream(values).average().orElseThrow();
        double sd = standardDeviation(values, mean);
        return sd == 0 ? 0 : sd / Math.abs(mean);
    }

    private static double standardDeviation(double[] values, double mean) {
        double ss = 0;
        for (double v : values) {
            ss += (v - mean) * (v - mean);
        }
        return Math.sqrt(ss / (values.length - 1));
    }

    private static Result<?> pick(Metric m, Result<?> primary, Map<String, Result> secondary, RunResult run) {
        if (m.key() == null) {
            return primary;
        }
        Result<?> r = secondary.get(m.key());
        if (r == null) {
            throw new IllegalStateException("no result '" + m.key() + "' in " + run.getParams().getBenchmark()
                    + "; it has " + secondary.keySet());
        }
        return r;
    }

    /** JMH writes microseconds as "us"; the report writes µs. */
    static String micro(String unit) {
        return unit == null ? null : unit.replaceAll("\\bus\\b", "µs");
    }

    /** Bytes allocated per operation (JMH {@code -prof gc}) with its error; NaN when not measured. */
    static Figure allocPerOp(RunResult run) {
        for (String key : run.getSecondaryResults().keySet()) {
            if (key.endsWith("gc.alloc.rate.norm")) {
                return figure(new Metric("alloc", key, Kind.SCORE, Double.NaN, "B/op", false, null, false), run);
            }
        }
        return new Figure(Double.NaN, Double.NaN, "B/op", 0);
    }

    static double median(double[] values) {
        return median(values, false);
    }

    /**
     * The median; of an even count, the mean of the middle two, or with {@code bound} the upper one:
     * the mean of two bucket bounds is no bound, and the upper one keeps "≤" true for at least half
     * the values.
     */
    static double median(double[] values, boolean bound) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 || bound ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /** Half-width of the 99.9% confidence interval of the mean; NaN for fewer than 2 values. */
    static double confidenceHalfWidth(double[] values) {
        int n = values.length;
        if (n < 2) {
            return Double.NaN;
        }
        double sd = standardDeviation(values, Arrays.stream(values).average().orElseThrow());
        double t = new TDistribution(n - 1).inverseCumulativeProbability(1 - 0.001 / 2);
        return t * sd / Math.sqrt(n);
    }

    /**
     * How many times better one figure is than its baseline (above 1: better), with its confidence
     * interval. The interval is built on the logarithm of the ratio, so it is asymmetric and never
     * reaches below 0: each figure's half-width becomes a log-scale distance up, ln(1 + e/v), and
     * down, -ln(1 - e/v) (infinite when the interval reaches 0), and the two figures' distances
     * combine in quadrature.
     *
     * @param value the ratio; 0 or infinity where a figure is 0 (infinity for a higher-is-better
     *     baseline at 0 or a lower-is-better row at 0),
     *     NaN where undefined (both 0, or a negative figure)
     * @param low the interval's lower end (0 when unbounded), NaN when unknown
     * @param high the interval's upper end (infinity when unbounded), NaN when unknown
     */
    record Ratio(double value, double low, double high) {
        static final Ratio UNDEFINED = new Ratio(Double.NaN, Double.NaN, Double.NaN);

        boolean intervalKnown() {
            return !Double.isNaN(low) && !Double.isNaN(high);
        }

        /** Whether the interval includes 1: no measured difference from the baseline. */
        boolean includesOne() {
            return intervalKnown() && low <= 1 && high >= 1;
        }
    }

    /** The ratio of {@code f} to {@code base}, oriented so that above 1 means {@code f} is better. */
    static Ratio ratio(Figure f, Figure base, boolean higherIsBetter) {
        Figure num = higherIsBetter ? f : base;
        Figure den = higherIsBetter ? base : f;
        double n = num.value();
        double d = den.value();
        if (Double.isNaN(n) || Double.isNaN(d) || n < 0 || d < 0 || (n == 0 && d == 0)) {
            return Ratio.UNDEFINED;
        }
        if (d == 0) {
            return new Ratio(Double.POSITIVE_INFINITY, Double.NaN, Double.NaN);
        }
        if (n == 0) {
            return new Ratio(0, Double.NaN, Double.NaN);
        }
        double x = n / d;
        if (Double.isNaN(num.error()) || Double.isNaN(den.error())) {
            return new Ratio(x, Double.NaN, Double.NaN);
        }
        double up = Math.hypot(logUp(num), logDown(den));
        double down = Math.hypot(logDown(num), logUp(den));
        return new Ratio(x, x * Math.exp(-down), x * Math.exp(up));
    }

    /** How far the figure's interval reaches above its value, on a log scale. */
    private static double logUp(Figure f) {
        return Math.log1p(Math.abs(f.error()) / f.value());
    }

    /** How far the figure's interval reaches below its value, on a log scale; infinite if it reaches 0. */
    private static double logDown(Figure f) {
        double rel = Math.abs(f.error()) / f.value();
        return rel >= 1 ? Double.POSITIVE_INFINITY : -Math.log1p(-rel);
    }
}
