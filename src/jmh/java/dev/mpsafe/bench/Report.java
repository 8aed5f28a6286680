package dev.mpsafe.bench;

import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Metric;
import dev.mpsafe.bench.Catalog.Series;
import dev.mpsafe.bench.Catalog.Variant;
import dev.mpsafe.bench.Compare.Row;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The comparison's Markdown report and its printed summary. */
final class Report {

    /** Rows that are peers or baselines, not mpsafe's own primitives. */
    static final Set<String> PEERS = Set.of("rwlock", "stamped", "stampedOptimistic", "refcount", "volatileRead",
            "bareFenced", "abq", "jctools", "jctoolsRelaxed", "clq", "netbsd", "stpe", "tpe", "netty", "netFirst", "clqPool", "newObject",
            "arenaShared", "arenaConfined");

    /** The heading of the section that opens a partial report; {@link ReportCheck} looks for it. */
    static final String FAILED_RUNS = "## Failed runs";

    private final Compare.Mode mode;
    private final String only;
    private final List<Case> cases;
    private final List<Row> rows;
    private final List<Compare.Failure> failures;
    private final Machine machine;
    private final Instant started;
    private final long tookMillis;
    private final Map<String, Path> plots;

    /**
     * @param mode the run's mode
     * @param only the {@code --only} case-id regex the run was given, or null for every case
     * @param cases the cases that ran
     * @param rows the runs that completed
     * @param failures the runs that failed (then the report is partial and says so first)
     */
    Report(Compare.Mode mode, String only, List<Case> cases, List<Row> rows, List<Compare.Failure> failures,
            Machine machine, Instant started, long tookMillis, Map<String, Path> plots) {
        this.mode = mode;
        this.only = only;
        this.cases = cases;
        this.rows = rows;
        this.failures = failures;
        this.machine = machine;
        this.started = started;
        this.tookMillis = tookMillis;
        this.plots = plots;
    }

    static boolean ours(String label) {
        return !PEERS.contains(label);
    }

    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("# mpsafe comparison report\n\n");
        sb.append("Mode **").append(mode.id()).append("**, measured ").append(started.truncatedTo(ChronoUnit.SECONDS))
                .append(", took ").append(Compare.duration(tookMillis)).append(" (")
                .append(rows.size()).append(" JMH runs").append(failures.isEmpty() ? "" : ", " + failures.size()
                        + " more failed").append("). Made by `").append(command()).append("`.")
                .append(only == null ? "" : " This report is a " + selection() + ": the other cases did not run.")
                .append("\n\n");
        sb.append(String.format(Locale.ROOT, "Each run: %d fork(s), %d warm-up iteration(s) of %s, %d measured "
                + "iteration(s) of %s.%n%n", mode.forks, mode.warmups, mode.warmupTime, mode.iterations,
                mode.iterationTime));
        if (!failures.isEmpty()) {
            sb.append(failedRuns()).append('\n');
        }

        sb.append("## Machine\n\n| | |\n|---|---|\n");
        sb.append("| CPU | ").append(cell(machine.cpu())).append(" |\n");
        sb.append("| processors | ").append(machine.cpus()).append(" |\n");
        sb.append("| memory | ").append(cell(machine.memory())).append(" |\n");
        sb.append("| JDK | ").append(cell(machine.jdk())).append(" |\n");
        sb.append("| OS | ").append(cell(machine.os())).append(" |\n");
        sb.append("| load average at start (1/5/15 min) | ").append(cell(machine.loadAverage())).append(" |\n");
        sb.append("| membarrier(2) | ").append(machine.membarrier() ? "available: the asymmetric read sides ran"
                : "**not available**: the asymmetric rows measured fenced readers").append(" |\n");
        sb.append("| pserialize, ASYMMETRIC requested | ").append(cell(machine.pserializeMode())).append(" |\n");
        sb.append("| SMR, LAZY requested | ").append(cell(machine.smrLazyMode())).append(" |\n");
        sb.append("| benchmark JVM flags | `").append(cell(machine.jvmFlags())).append("` |\n\n");

        sb.append("## How to read it\n\n");
        sb.append("- A figure is the **median** of the measured iterations; **±** is the half-width of the 99.9% "
                + "confidence interval of their mean (Student's t, as JMH's \"Error\"). Percentiles are over every "
                + "sample, with the same interval over each iteration's percentile.\n");
        sb.append("- With several forks, \"(forks a–b)\" is the range of the forks' own medians (or percentiles), "
                + "and ± is at least the 99.9% half-width computed from those per-fork values (Student's t with "
                + "forks − 1 degrees of freedom: 31.6 standard errors for 3 forks): the iterations of one JVM share "
                + "its JIT decisions, so they are not independent samples, and the fork is the unit.\n");
        sb.append("- **± ?**: the error is unknown. One iteration; or a percentile or a histogram bound on which "
                + "every iteration agrees exactly, which at a timer's resolution or a bucket bound says nothing "
                + "about the error. **≤** marks a histogram bucket's upper bound (the lateness histogram has one "
                + "bucket per tick below 16, then one per power of two): the true value is at most that.\n");
        sb.append("- **×** columns divide by the case's baseline in the same series of the same run: above 1, "
                + "the row is better than the baseline (faster, or more per second), whichever way the unit "
                + "points. In brackets, the ratio's 99.9% interval, computed on its logarithm from both "
                + "figures' intervals, so it is asymmetric and never below 0. **†** marks a ratio whose interval "
                + "includes 1: the run did not measure a difference from the baseline. (?): a figure's error is "
                + "unknown. ∞: the baseline's figure is 0, or a lower-is-better row's is.\n");
        sb.append("- ⚠ flags a row with a figure whose iterations spread by more than ").append(noisyPercent())
                .append(" of their mean (coefficient of variation: standard deviation / mean), whose forks' "
                        + "medians differ by more than ").append(noisyPercent())
                .append(" of it, or whose error is unknown: don't read its third digit, and check a gap under "
                        + "about 1.5× against the intervals.\n");
        sb.append("- **alloc** is bytes allocated per benchmark operation as JMH counts them (`-prof gc`, "
                + "gc.alloc.rate.norm): every call of the benchmark's methods, so in a group benchmark every "
                + "method's calls together (read-with-writer: reads and writes), and for the pcq cases every "
                + "offer and poll attempt, failed ones included. It is not per item moved, nor per the case's "
                + "first figure.\n");
        sb.append("- On a machine with few cores, rows with more threads than cores measure time-slicing. "
                + "Compare rows of the same run only.\n\n");

        sb.append("## Summary\n\n").append(summaryTable()).append('\n');

        for (Case c : cases) {
            sb.append("## ").append(c.title()).append("\n\n");
            sb.append(c.question()).append(' ')
                    .append(c.higherIsBetter() ? "Higher is better." : "Lower is better.")
                    .append(" Baseline: `").append(c.baseline()).append("`.\n\n");
            Path plot = plots.get(c.id());
            if (plot != null) {
                sb.append("![").append(c.title()).append("](plots/").append(plot.getFileName()).append(")\n\n");
            }
            for (Series s : c.series()) {
                sb.append("### ").append(c.title()).append(": ").append(s.name()).append("\n\n");
                sb.append(table(c, s)).append('\n');
            }
        }
        long noisy = rows.stream().filter(r -> r.figures().stream().anyMatch(Stats.Figure::noisy)).count();
        sb.append("---\n\n").append(noisy).append(" of ").append(rows.size())
                .append(" rows have a figure flagged ⚠ (spread above ").append(noisyPercent())
                .append(", forks apart, or error unknown).\n");
        return sb.toString();
    }

    /** The table of one series: a row per variant, every metric with its error and ratio. */
    String table(Case c, Series s) {
        Optional<Row> base = find(c, s, c.baseline());
        StringBuilder sb = new StringBuilder("| row |");
        StringBuilder align = new StringBuilder("|---|");
        for (Metric m : c.metrics()) {
            String unit = base.map(b -> b.figures().get(c.metrics().indexOf(m)).unit()).orElse("");
            sb.append(' ').append(m.name()).append(" (").append(unit).append(") | × ").append(c.baseline()).append(" |");
            align.append("---:|---:|");
        }
        sb.append(" alloc B/op | |\n");
        align.append("---:|---|\n");
        sb.append(align);
        for (Variant v : s.variants()) {
            Row r = rows.stream().filter(x -> x.c() == c && x.series() == s && x.variant() == v).findFirst()
                    .orElse(null);
            if (r == null) {
                if (failures.stream().anyMatch(f -> f.c() == c && f.series() == s && f.variant() == v)) {
                    // A line, not a gap: the reader sees which row is missing, and why, in place.
                    sb.append("| ").append(ours(v.label()) ? "**" + v.label() + "**" : v.label())
                            .append(" | **failed** (see Failed runs) |")
                            .append(" – |".repeat(2 * c.metrics().size() - 1)).append(" – | |\n");
                }
                continue;
            }
            sb.append("| ").append(ours(r.variant().label()) ? "**" + r.variant().label() + "**" : r.variant().label())
                    .append(" |");
            boolean noisy = false;
            for (int i = 0; i < c.metrics().size(); i++) {
                Stats.Figure f = r.figures().get(i);
                noisy |= f.noisy();
                sb.append(' ').append(text(f)).append(" | ");
                if (base.isPresent() && base.get() != r) {
                    sb.append(ratio(Stats.ratio(f, base.get().figures().get(i), c.metrics().get(i).higherIsBetter(c))));
                } else {
                    sb.append(base.isPresent() ? "1" : "n/a");
                }
                sb.append(" |");
            }
            sb.append(' ').append(text(r.allocPerOp())).append(" | ").append(noisy ? "⚠" : "").append(" |\n");
        }
        return sb.toString();
    }

    /**
     * The section that opens a partial report: how many runs failed, each one's row, benchmark and
     * exception, and the command that runs their cases again.
     */
    String failedRuns() {
        StringBuilder sb = new StringBuilder(FAILED_RUNS + "\n\n");
        sb.append("**").append(failures.size()).append(" of ").append(failures.size() + rows.size())
                .append(" runs failed: this report is partial.** The failed rows say \"failed\" in the tables "
                        + "below; the ratios, the summary and the plots have only the runs that completed (a failed "
                        + "baseline leaves its series without ratios). Compare exited with status 1, and the "
                        + "manifest records these failures, so ReportCheck refuses this folder. To run their cases "
                        + "again: `")
                .append(command(failures.stream().map(f -> f.c().id()).distinct()
                        .collect(java.util.stream.Collectors.joining("|", "^(", ")$"))))
                .append("`.\n\n");
        sb.append("| case | series | row | benchmark | failure |\n|---|---|---|---|---|\n");
        for (Compare.Failure f : failures) {
            Variant v = f.variant();
            sb.append("| ").append(cell(f.c().title())).append(" | ").append(cell(f.series().name())).append(" | ")
                    .append(cell(v.label())).append(" | `").append(cell(v.benchmark()))
                    .append(v.params().isEmpty() ? "" : " " + cell(v.params().toString())).append("` | ")
                    .append(cell(f.cause())).append(" |\n");
        }
        return sb.toString();
    }

    /** Per case and series: the baseline, mpsafe's best row, and the best other peer, on the first metric. */
    String summaryTable() {
        StringBuilder sb = new StringBuilder(
                "| question | series | baseline | best of mpsafe | × baseline | best other peer | × baseline |\n"
                        + "|---|---|---|---|---:|---|---:|\n");
        for (Case c : cases) {
            Metric first = c.metrics().get(0);
            boolean higher = first.higherIsBetter(c);
            Comparator<Row> better = Comparator.comparingDouble(r -> r.figures().get(0).value());
            if (!higher) {
                better = better.reversed();
            }
            for (Series s : c.series()) {
                Optional<Row> base = find(c, s, c.baseline());
                List<Row> inSeries = rows.stream().filter(r -> r.c() == c && r.series() == s).toList();
                Optional<Row> bestOurs = inSeries.stream().filter(r -> ours(r.variant().label())).max(better);
                Optional<Row> bestPeer = inSeries.stream()
                        .filter(r -> !ours(r.variant().label()) && !r.variant().label().equals(c.baseline()))
                        .max(better);
                sb.append("| ").append(c.title()).append(" | ").append(s.name()).append(" | ");
                sb.append(base.map(b -> b.variant().label() + " " + figure(b.figures().get(0))).orElse("n/a"));
                sb.append(" | ").append(bestOurs.map(r -> "**" + r.variant().label() + "** " + figure(r.figures().get(0)))
                        .orElse("–"));
                sb.append(" | ").append(ratioCell(bestOurs, base, higher));
                sb.append(" | ").append(bestPeer.map(r -> r.variant().label() + " " + figure(r.figures().get(0)))
                        .orElse("–"));
                sb.append(" | ").append(ratioCell(bestPeer, base, higher)).append(" |\n");
            }
        }
        return sb.toString();
    }

    /** What the command prints at the end. */
    String summary() {
        return "## mpsafe comparison (" + mode.id() + " mode" + (only == null ? "" : ", " + selection())
                + "): summary\n\n" + summaryTable() + "\nMachine: " + machine.oneLine() + "\n"
                + (failures.isEmpty() ? "" : "\n" + failures.size() + " of " + (failures.size() + rows.size())
                        + " runs FAILED, listed under \"Failed runs\" in report.md: this summary has only the runs "
                        + "that completed.\n");
    }

    /** The command that runs this report's cases again (the report folder aside). */
    String command() {
        return command(only);
    }

    private String command(String only) {
        return "./mvnw -Pcompare verify -Dcompare.mode=" + mode.id()
                + (only == null ? "" : " -Dcompare.args=\"--only '" + only + "'\"");
    }

    /** "selection: 1 of 13 cases (`--only 'kcont'`)", for a run given {@code --only}. */
    private String selection() {
        return "selection: " + cases.size() + " of " + Catalog.cases(mode, machine.cpus()).size() + " cases (`--only '"
                + only + "'`)";
    }

    private Optional<Row> find(Case c, Series s, String label) {
        return rows.stream().filter(r -> r.c() == c && r.series() == s && r.variant().label().equals(label))
                .findFirst();
    }

    private static String ratioCell(Optional<Row> row, Optional<Row> base, boolean higher) {
        if (row.isEmpty() || base.isEmpty()) {
            return "–";
        }
        return ratio(Stats.ratio(row.get().figures().get(0), base.get().figures().get(0), higher));
    }

    /**
     * A ratio with its interval, "4.62 (1.94–11.0)"; † where the interval includes 1, "(?)" where it
     * is unknown; "∞" where the baseline is 0 (higher is better) or the row is 0 (lower is better).
     */
    static String ratio(Stats.Ratio x) {
        if (Double.isInfinite(x.value())) {
            return "∞";
        }
        if (Double.isNaN(x.value())) {
            return "n/a";
        }
        if (!x.intervalKnown()) {
            return fmt(x.value()) + (x.value() == 0 ? "" : " (?)");
        }
        return fmt(x.value()) + " (" + fmt(x.low()) + "–" + (Double.isInfinite(x.high()) ? "∞" : fmt(x.high())) + ")"
                + (x.includesOne() ? " †" : "");
    }

    private static String figure(Stats.Figure f) {
        return text(f, " " + f.unit()) + (f.noisy() ? " ⚠" : "");
    }

    /**
     * A figure as the report prints it: "7279 ± 147", "≤ 1023 ± ?" (a bucket bound with an unknown
     * error), "1.20 ± 0.06 (forks 1.15–1.27)"; "n/a" when not measured.
     */
    static String text(Stats.Figure f) {
        return text(f, "");
    }

    /** As {@link #text(Stats.Figure)}, with {@code unit} after the error and before the fork range. */
    private static String text(Stats.Figure f, String unit) {
        if (Double.isNaN(f.value())) {
            return "n/a";
        }
        String s = (f.bound() ? "≤ " + exact(f.value()) : fmt(f.value()))
                + (Double.isNaN(f.error()) ? " ± ?" : " ± " + fmt(f.error())) + unit;
        if (f.forks() > 1) {
            s += " (forks " + fmt(f.forkLow()) + "–" + fmt(f.forkHigh()) + ")";
        }
        return s;
    }

    /** A bound is printed whole: rounding 1023 to 1020 would understate it. */
    private static String exact(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format(Locale.ROOT, Math.abs(v) >= 1e4 ? "%,d" : "%d",
                (long) v) : fmt(v);
    }

    private static String noisyPercent() {
        return Math.round(Stats.NOISY_CV * 100) + "%";
    }

    /**
     * Three significant figures, trailing zeros kept, no exponent: "0.0400", "8.43", "30.7",
     * "142,000", "28.4M", "1.00G". The one exception: from 100 to 9,999 every integer digit stays
     * ("1023", not "1020"), which is no longer to read. "0.00" for 0; "n/a" for NaN and infinities.
     */
    static String fmt(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        if (v == 0) {
            return "0.00";
        }
        long whole = Math.round(v);
        if (Math.abs(whole) >= 100 && Math.abs(whole) < 10_000) {
            return Long.toString(whole);
        }
        // Round first, then pick the suffix: 999.6 M is 1.00G, not "1.00e+03M".
        BigDecimal r = new BigDecimal(v).round(new MathContext(3, RoundingMode.HALF_EVEN));
        double a = Math.abs(r.doubleValue());
        if (a >= 1e9) {
            return threeFigures(r.movePointLeft(9)) + "G";
        }
        if (a >= 1e6) {
            return threeFigures(r.movePointLeft(6)) + "M";
        }
        if (a >= 1e4) {
            return String.format(Locale.ROOT, "%,d", r.longValueExact());
        }
        return threeFigures(r);
    }

    /** {@code r} (already rounded to 3 significant figures) with exactly 3, trailing zeros kept. */
    private static String threeFigures(BigDecimal r) {
        int integerDigits = r.precision() - r.scale();
        return r.setScale(Math.max(0, 3 - integerDigits), RoundingMode.HALF_EVEN).toPlainString();
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
