package dev.mpsafe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The report's statistics on hand-made figures: no JMH run needed. */
class StatsTest {

    private static Stats.Figure fig(double value, double error) {
        return new Stats.Figure(value, error, "ns/op", 5);
    }

    @Test
    void shouldKeepARatioIntervalAboveZeroWhenErrorsExceedTheValues() {
        // The committed quick report's kcont round trip: stpe 4677 ± 38,695 ns, kcont 224 ± 573 ns,
        // which the old symmetric propagation printed as 20.9 ± 181 (down to -160).
        Stats.Ratio r = Stats.ratio(fig(224, 573), fig(4677, 38_695), false);
        assertEquals(4677.0 / 224, r.value(), 1e-9);
        assertEquals(0, r.low());
        assertEquals(Double.POSITIVE_INFINITY, r.high());
        assertTrue(r.includesOne());
        assertEquals("20.9 (0.00–∞) †", Report.ratio(r));
    }

    @Test
    void shouldGiveAnAsymmetricIntervalThatExcludesOneWhenTheGapIsClear() {
        // 9.47 ± 1.63 ns against the baseline 21.4 ± 8.59 ns, lower is better.
        Stats.Ratio r = Stats.ratio(fig(9.47, 1.63), fig(21.4, 8.59), false);
        assertEquals(21.4 / 9.47, r.value(), 1e-9);
        assertTrue(r.low() > 1 && r.low() < r.value(), "low " + r.low());
        assertTrue(r.high() > r.value(), "high " + r.high());
        // Each side is the figure's own interval mapped to a log scale: 1.32 to 3.32 around 2.26.
        assertEquals(1.32, r.low(), 0.01);
        assertEquals(3.32, r.high(), 0.01);
        assertFalse(r.includesOne());
        assertFalse(Report.ratio(r).contains("†"), Report.ratio(r));
    }

    @Test
    void shouldMarkARatioWhoseIntervalIncludesOne() {
        Stats.Ratio r = Stats.ratio(fig(1.83, 5.1), fig(7.23, 3.3), true);
        assertTrue(r.low() >= 0);
        assertTrue(r.includesOne() == (r.low() <= 1 && r.high() >= 1));
        Stats.Ratio close = Stats.ratio(fig(30.7, 1.7), fig(45.5, 15.7), false);
        assertTrue(close.includesOne(), close.toString());
        assertTrue(Report.ratio(close).endsWith(" †"), Report.ratio(close));
    }

    @Test
    void shouldGiveInfinityForALowerIsBetterRowAtZero() {
        Stats.Ratio r = Stats.ratio(fig(0, 0), fig(1023, 10), false);
        assertEquals(Double.POSITIVE_INFINITY, r.value());
        assertEquals("∞", Report.ratio(r));
        assertEquals("0", Report.ratio(Stats.ratio(fig(0, 0), fig(5, 1), true)).replace("0.00", "0"));
        assertEquals("n/a", Report.ratio(Stats.ratio(fig(0, 0), fig(0, 0), false)));
    }

    @Test
    void shouldGiveInfinityForAHigherIsBetterBaselineAtZeroAndSaySo() {
        // Timer runs: higher is better, and the netFirst baseline's timers may never run.
        Stats.Ratio r = Stats.ratio(fig(5, 1), fig(0, 0), true);
        assertEquals("∞", Report.ratio(r));
        String legend = new Report(Compare.Mode.QUICK, null, List.of(), List.of(), List.of(),
                new Machine("cpu", 2, "1 GiB", "jdk", "os", "-flags", "0 0 0", "ASYMMETRIC", "LAZY"),
                java.time.Instant.EPOCH, 0, java.util.Map.of()).markdown();
        assertTrue(legend.contains("∞: the baseline's figure is 0, or a lower-is-better row's is."), legend);
    }

    @Test
    void shouldGiveThePowersOfTwoBelowCpusOnlyInFullMode() {
        assertEquals(List.of(1, 8), Catalog.threadCounts(Compare.Mode.QUICK, 8));
        assertEquals(List.of(1, 8), Catalog.threadCounts(Compare.Mode.SMOKE, 8));
        assertEquals(List.of(1, 2, 4, 8), Catalog.threadCounts(Compare.Mode.FULL, 8));
        assertEquals(List.of(1, 2, 4, 6), Catalog.threadCounts(Compare.Mode.FULL, 6));
    }

    @Test
    void shouldLeaveTheIntervalUnknownWhenAFigureHasNoError() {
        Stats.Ratio r = Stats.ratio(fig(1, 6.89), fig(1023, Double.NaN), false);
        assertFalse(r.intervalKnown());
        assertEquals("1023 (?)", Report.ratio(r));
    }

    @Test
    void shouldNotFlagFiveIterationsThatAgreeWithinAFewPercent() {
        // CV 3.2%: the old rule (99.9% half-width above 10%, t = 8.61 with 5 iterations) flagged it.
        Stats.Figure f = Stats.summarise(new double[][] {{100, 104, 96, 102, 98}}, Double.NaN, null, "ns/op", false,
                false);
        assertEquals(100, f.value());
        assertTrue(f.error() / f.value() > 0.10, "the old rule would flag: " + f.error());
        assertEquals(0.0316, f.spread(), 1e-3);
        assertFalse(f.noisy());
    }

    @Test
    void shouldFlagIterationsThatSpreadByMoreThanTenPercent() {
        Stats.Figure f = Stats.summarise(new double[][] {{100, 130, 80, 110, 90}}, Double.NaN, null, "ns/op", false,
                false);
        assertTrue(f.spread() > Stats.NOISY_CV, "cv " + f.spread());
        assertTrue(f.noisy());
    }

    @Test
    void shouldCallZeroSpreadUnknownAtAResolutionOrBucketBound() {
        double[][] same = {{1023, 1023, 1023, 1023, 1023}};
        Stats.Figure bound = Stats.summarise(same, Double.NaN, null, "ticks", true, true);
        assertTrue(Double.isNaN(bound.error()));
        assertTrue(bound.noisy());
        assertEquals("≤ 1023 ± ?", Report.text(bound));
        Stats.Figure p50 = Stats.summarise(new double[][] {{0.04, 0.04, 0.04}}, 0.04, null, "µs/op", true, false);
        assertEquals(Report.fmt(0.04) + " ± ?", Report.text(p50));
        // Not quantised: equal iterations are a real zero spread (e.g. 0 bytes allocated).
        Stats.Figure alloc = Stats.summarise(new double[][] {{0, 0, 0}}, Double.NaN, null, "B/op", false, false);
        assertEquals(0, alloc.error());
        assertFalse(alloc.noisy());
    }

    @Test
    void shouldTakeABucketBoundAsTheMedianOfAnEvenCount() {
        // The mean of the middle two, 767, is no bucket bound and "≤ 767" claims nothing: take the
        // upper one, so that "≤" still holds for half the iterations or more.
        Stats.Figure f = Stats.summarise(new double[][] {{511, 511, 1023, 1023}}, Double.NaN, null, "ticks", true,
                true);
        assertEquals(1023, f.value(), Report.text(f));
        Stats.Figure forks = Stats.summarise(new double[][] {{511, 1023}, {1023, 2047}}, Double.NaN, null, "ticks",
                true, true);
        assertEquals(1023, forks.forkLow(), Report.text(forks));
        assertEquals(2047, forks.forkHigh(), Report.text(forks));
        // Not a bound: the usual median.
        assertEquals(767, Stats.summarise(new double[][] {{511, 511, 1023, 1023}}, Double.NaN, null, "ns/op", false,
                false).value());
    }

    @Test
    void shouldSayWhatTheAllocationColumnIsPer() {
        String md = new Report(Compare.Mode.QUICK, null, List.of(), List.of(), List.of(),
                new Machine("cpu", 2, "1 GiB", "jdk", "os", "-flags", "0 0 0", "ASYMMETRIC", "LAZY"),
                java.time.Instant.EPOCH, 0, java.util.Map.of()).markdown();
        assertTrue(md.contains("per benchmark operation as JMH counts them"), md);
    }

    @Test
    void shouldShowOneIterationsErrorAsUnknown() {
        Stats.Figure f = Stats.summarise(new double[][] {{42}}, Double.NaN, null, "ns/op", false, false);
        assertTrue(Double.isNaN(f.error()));
        assertTrue(f.noisy());
        assertEquals("42.0 ± ?", Report.text(f));
    }

    @Test
    void shouldWidenTheErrorAndFlagWhenForksDisagree() {
        // Three forks, each steady within itself, one of them 20% off: a JIT decision, not noise.
        // Twenty iterations a fork: pooled as if independent, their interval would be about ±4.
        double[][] forks = new double[3][20];
        for (int i = 0; i < 20; i++) {
            forks[0][i] = 100 + (i % 3 - 1);
            forks[1][i] = 120 + (i % 3 - 1);
            forks[2][i] = 100 + (i % 3 - 1);
        }
        Stats.Figure f = Stats.summarise(forks, Double.NaN, null, "ns/op", false, false);
        assertEquals(3, f.forks());
        assertEquals(100, f.forkLow());
        assertEquals(120, f.forkHigh());
        assertTrue(Stats.confidenceHalfWidth(java.util.Arrays.stream(forks).flatMapToDouble(java.util.Arrays::stream)
                .toArray()) < 5);
        // The fork is the unit: t(2, 0.9995) = 31.6 times the standard error of the three fork medians
        // (sd 11.5 / sqrt 3), not half their range (10), which is about a 60% interval.
        assertEquals(31.599 * Math.sqrt(400.0 / 3) / Math.sqrt(3), f.error(), 0.01);
        assertTrue(f.forksDisagree());
        assertTrue(f.noisy());
        assertTrue(Report.text(f).endsWith("(forks 100–120)"), Report.text(f));
        double[][] agree = {{100, 101, 99, 100, 100}, {101, 100, 100, 99, 100}, {100, 100, 101, 99, 100}};
        assertFalse(Stats.summarise(agree, Double.NaN, null, "ns/op", false, false).noisy());
    }

    /** Three forks, twenty iterations each, fork i steady (±1) around centre[i]. */
    private static double[][] forks(double... centre) {
        double[][] f = new double[centre.length][20];
        for (int k = 0; k < centre.length; k++) {
            for (int i = 0; i < 20; i++) {
                f[k][i] = centre[k] + (i % 3 - 1);
            }
        }
        return f;
    }

    @Test
    void shouldNotCallADifferenceMeasuredWhenTheForksDoNotShowIt() {
        // A's forks 100/100/120, B's 125/125/145: Welch's t on the fork medians is 2.65 (df 4), not
        // significant even at 95%. Half the fork range as the error gave "1.25 (1.10–1.42)", no †.
        Stats.Figure a = Stats.summarise(forks(100, 100, 120), Double.NaN, null, "ops/µs", false, false);
        Stats.Figure b = Stats.summarise(forks(125, 125, 145), Double.NaN, null, "ops/µs", false, false);
        Stats.Ratio r = Stats.ratio(b, a, true);
        assertTrue(r.includesOne(), Report.ratio(r));
        assertTrue(Report.ratio(r).endsWith(" †"), Report.ratio(r));
    }

    @Test
    void shouldKeepThePooledIntervalWhenForksAgreeClosely() {
        // Fork medians 100, 100, 100: the fork-level interval is 0, the iterations' own one is not.
        double[][] f = forks(100, 100, 100);
        Stats.Figure fig = Stats.summarise(f, Double.NaN, null, "ns/op", false, false);
        double pooled = Stats.confidenceHalfWidth(java.util.Arrays.stream(f).flatMapToDouble(java.util.Arrays::stream)
                .toArray());
        assertTrue(pooled > 0);
        assertEquals(pooled, fig.error(), 1e-12);
    }
}
