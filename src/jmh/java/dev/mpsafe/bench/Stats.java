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
 * Reads figures out of JMH results, each with its error.
 *
 * <p>A figure's value is the median of the measured iterations (all forks), which a noisy
 * iteration moves less than the mean; its error is the half-width of the 99.9% confidence
 * interval of the iterations' mean (Student's t), the same statistic JMH prints as "Error". A
 * percentile of a sampled benchmark is taken over every sample, and its error is the same
 * interval over the percentile of each iteration. One iteration has no error: such figures show
 * "n/a" and are flagged as noisy.
 */
final class Stats {

    /** Figures whose error exceeds this fraction of their value are flagged. */
    static final double NOISY = 0.10;

    private Stats() {
    }

    /**
     * One figure.
     *
     * @param value the median (or the percentile)
     * @param error the 99.9% confidence half-width, or NaN with one iteration
     * @param unit what it counts
     * @param iterations how many measured iterations it came from
     */
    record Figure(double value, double error, String unit, int iterations) {
        double relativeError() {
            return Double.isNaN(error) || value == 0 ? (error == 0 ? 0 : Double.NaN) : Math.abs(error / value);
        }

        /** Error above {@link #NOISY} of the value, or unknown. */
        boolean noisy() {
            return !(relativeError() <= NOISY);
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
        List<IterationResult> iterations = new ArrayList<>();
        for (BenchmarkResult fork : run.getBenchmarkResults()) {
            iterations.addAll(fork.getIterationResults());
        }
        double[] perIteration = new double[iterations.size()];
        String unit = null;
        for (int i = 0; i < perIteration.length; i++) {
            Result<?> r = pick(m, iterations.get(i).getPrimaryResult(), iterations.get(i).getSecondaryResults(), run);
            perIteration[i] = m.kind() == Kind.PERCENTILE ? r.getStatistics().getPercentile(m.percentile()) : r.getScore();
            unit = r.getScoreUnit();
        }
        double value = m.kind() == Kind.PERCENTILE
                ? run.getPrimaryResult().getStatistics().getPercentile(m.percentile())
                : median(perIteration);
        return new Figure(value, confidenceHalfWidth(perIteration), m.unit() != null ? m.unit() : micro(unit),
                perIteration.length);
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
                return figure(new Metric("alloc", key, Kind.SCORE, Double.NaN, "B/op", false, null), run);
            }
        }
        return new Figure(Double.NaN, Double.NaN, "B/op", 0);
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /** Half-width of the 99.9% confidence interval of the mean; NaN for fewer than 2 values. */
    static double confidenceHalfWidth(double[] values) {
        int n = values.length;
        if (n < 2) {
            return Double.NaN;
        }
        double mean = Arrays.stream(values).average().orElseThrow();
        double ss = 0;
        for (double v : values) {
            ss += (v - mean) * (v - mean);
        }
        double sd = Math.sqrt(ss / (n - 1));
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
     * @param value the ratio; 0 or infinity where a figure is 0 (lower-is-better row at 0: infinity),
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
