package dev.mpsafe.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The project's main job: runs the curated JMH comparison of mpsafe's primitives against their
 * peers, in one JVM fork per benchmark and peer, prints a progress line per run and a summary table
 * of medians with their errors and ratios against the peer measured in the same run, and writes
 * the raw JMH JSON and the table as Markdown.
 *
 * <pre>
 *   ./mvnw -Pcompare verify                         # quick mode, a few minutes
 *   ./mvnw -Pcompare verify -Dcompare.mode=full     # more forks and iterations
 *   ./mvnw -Pcompare verify -Dcompare.mode=smoke    # one short iteration each: checks it runs
 * </pre>
 *
 * So far it covers pcq against JCTools {@code MpscArrayQueue}, {@code ArrayBlockingQueue},
 * {@code ConcurrentLinkedQueue} and the NetBSD-style packed-word design.
 */
public final class Compare {

    /** How long each benchmark runs. */
    enum Mode {
        SMOKE(1, 1, ms(100), 1, ms(100)),
        QUICK(1, 2, TimeValue.seconds(1), 5, TimeValue.seconds(1)),
        FULL(3, 5, TimeValue.seconds(1), 10, TimeValue.seconds(1));

        final int forks;
        final int warmups;
        final TimeValue warmupTime;
        final int iterations;
        final TimeValue iterationTime;

        Mode(int forks, int warmups, TimeValue warmupTime, int iterations, TimeValue iterationTime) {
            this.forks = forks;
            this.warmups = warmups;
            this.warmupTime = warmupTime;
            this.iterations = iterations;
            this.iterationTime = iterationTime;
        }

        /** Rough wall time of one run, JVM start included, for the progress line. */
        long estimateMillis() {
            long perFork = 1_500 + warmups * warmupTime.convertTo(TimeUnit.MILLISECONDS)
                    + iterations * iterationTime.convertTo(TimeUnit.MILLISECONDS);
            return forks * perFork;
        }

        private static TimeValue ms(long v) {
            return TimeValue.milliseconds(v);
        }
    }

    /**
     * One row group of the table: a benchmark method, the metric to read, and the peers.
     *
     * @param title what the rows answer
     * @param benchmark the fully qualified benchmark (class.method or class.group)
     * @param metric the secondary result to read, or {@code null} for the primary score
     * @param higherIsBetter whether a larger figure is better (throughput) or worse (time)
     * @param impls the values of the {@code impl} parameter; the first is ours, the baseline
     */
    record Case(String title, String benchmark, String metric, boolean higherIsBetter, List<String> impls) {
    }

    /** One measured figure. */
    record Row(Case c, String impl, double median, double error, String unit, long samples, double allocPerOp) {
        double relativeError() {
            return Double.isNaN(error) || median == 0 ? Double.NaN : error / median;
        }
    }

    static final List<String> QUEUES = List.of("pcq", "jctools", "abq", "clq", "netbsd");

    static final List<Case> CASES = List.of(
            new Case("pcq 1P1C throughput", "dev.mpsafe.pcq.PcqThroughput.p1c1", "pollsMade", true, QUEUES),
            new Case("pcq 2P1C throughput", "dev.mpsafe.pcq.PcqThroughput.p2c1", "pollsMade", true, QUEUES),
            new Case("pcq 100-item burst to a consumer thread", "dev.mpsafe.pcq.PcqBurstCost.burst", null, false,
                    QUEUES));

    /** Results whose error exceeds this fraction of the median are flagged. */
    static final double NOISY = 0.10;

    private Compare() {
    }

    public static void main(String[] args) throws RunnerException, IOException {
        Mode mode = Mode.QUICK;
        Path out = Path.of("target", "compare");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mode" -> mode = parseMode(value(args, ++i, "--mode"));
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "-h", "--help" -> {
                    usage(System.out);
                    return;
                }
                default -> {
                    usage(System.err);
                    throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
            }
        }
        run(mode, out, System.out, System.err);
    }

    static List<Row> run(Mode mode, Path out, PrintStream table, PrintStream progress)
            throws RunnerException, IOException {
        Files.createDirectories(out);
        int total = CASES.stream().mapToInt(c -> c.impls().size()).sum();
        progress.printf(Locale.ROOT, "mpsafe compare: %s mode, %d runs, about %s%n", mode.name().toLowerCase(Locale.ROOT),
                total, duration(total * mode.estimateMillis()));

        List<RunResult> raw = new ArrayList<>();
        List<Row> rows = new ArrayList<>();
        long started = System.nanoTime();
        int done = 0;
        for (Case c : CASES) {
            for (String impl : c.impls()) {
                long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                long remaining = done == 0 ? total * mode.estimateMillis()
                        : elapsed * (total - done) / done;
                progress.printf(Locale.ROOT, "[%2d/%d] %-42s %-8s elapsed %s, about %s left%n", done + 1, total,
                        c.title(), impl, duration(elapsed), duration(remaining));
                RunResult result = runOne(mode, c, impl);
                raw.add(result);
                rows.add(toRow(c, impl, result));
                done++;
            }
        }

        ResultFormatFactory.getInstance(ResultFormatType.JSON, out.resolve("results.json").toString()).writeOut(raw);
        String markdown = markdown(mode, rows);
        Files.writeString(out.resolve("summary.md"), markdown, StandardCharsets.UTF_8);
        table.println();
        table.print(markdown);
        table.printf("%nRaw JMH JSON: %s%nMarkdown:     %s%n", out.resolve("results.json"), out.resolve("summary.md"));
        return rows;
    }

    private static RunResult runOne(Mode mode, Case c, String impl) throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include("^" + Pattern.quote(c.benchmark()) + "$")
                .param("impl", impl)
                .forks(mode.forks)
                .warmupIterations(mode.warmups)
                .warmupTime(mode.warmupTime)
                .measurementIterations(mode.iterations)
                .measurementTime(mode.iterationTime)
                .addProfiler(GCProfiler.class)
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT);
        Collection<RunResult> results = new Runner(options.build()).run();
        if (results.size() != 1) {
            throw new IllegalStateException("expected one result for " + c.benchmark() + " impl=" + impl
                    + ", got " + results.size() + " (does the benchmark exist and take @Param impl?)");
        }
        return results.iterator().next();
    }

    private static Row toRow(Case c, String impl, RunResult r) {
        Result<?> result = c.metric() == null ? r.getPrimaryResult() : r.getSecondaryResults().get(c.metric());
        if (result == null) {
            throw new IllegalStateException("no metric '" + c.metric() + "' in " + c.benchmark() + "; have "
                    + r.getSecondaryResults().keySet());
        }
        double alloc = Double.NaN;
        for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
            if (e.getKey().endsWith("gc.alloc.rate.norm")) {
                alloc = e.getValue().getScore();
            }
        }
        return new Row(c, impl, result.getStatistics().getPercentile(50), result.getScoreError(),
                result.getScoreUnit(), result.getSampleCount(), alloc);
    }

    /** The summary table: one section per case, ratios against our implementation in the same run. */
    static String markdown(Mode mode, List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("## mpsafe comparison (").append(mode.name().toLowerCase(Locale.ROOT)).append(" mode)\n\n");
        sb.append("Medians over measured iterations; error is JMH's 99.9% confidence half-width of the mean. ")
                .append("\"pcq ×\" is how many times better pcq is than that row (above 1: pcq wins), with its ")
                .append("propagated error. ⚠ marks an error above ").append((int) (NOISY * 100))
                .append("% of the median. Allocation is bytes per benchmark operation (JMH -prof gc).\n");
        for (Case c : CASES) {
            Row ours = rows.stream().filter(r -> r.c() == c && r.impl().equals(c.impls().get(0))).findFirst().orElse(null);
            sb.append("\n### ").append(c.title()).append(c.higherIsBetter() ? " (higher is better)" : " (lower is better)")
                    .append("\n\n");
            sb.append("| impl | median | ± error | unit | n | ").append(c.impls().get(0))
                    .append(" × | alloc B/op | |\n");
            sb.append("|---|---:|---:|---|---:|---:|---:|---|\n");
            for (Row r : rows) {
                if (r.c() != c) {
                    continue;
                }
                String ratio = "–";
                if (ours != null && r != ours) {
                    double x = c.higherIsBetter() ? ours.median() / r.median() : r.median() / ours.median();
                    double rel = Math.hypot(nanToZero(ours.relativeError()), nanToZero(r.relativeError()));
                    ratio = Double.isNaN(ours.relativeError()) || Double.isNaN(r.relativeError())
                            ? fmt(x) : fmt(x) + " ± " + fmt(x * rel);
                }
                boolean noisy = !(r.relativeError() <= NOISY); // NaN (one sample) counts as noisy
                sb.append("| ").append(r.impl())
                        .append(" | ").append(fmt(r.median()))
                        .append(" | ").append(Double.isNaN(r.error()) ? "n/a" : fmt(r.error()))
                        .append(" | ").append(r.unit())
                        .append(" | ").append(r.samples())
                        .append(" | ").append(ratio)
                        .append(" | ").append(Double.isNaN(r.allocPerOp()) ? "n/a" : fmt(r.allocPerOp()))
                        .append(" | ").append(noisy ? "⚠" : "")
                        .append(" |\n");
            }
        }
        return sb.toString();
    }

    private static double nanToZero(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    static String fmt(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        if (a >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String duration(long millis) {
        long s = Math.max(0, millis / 1000);
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    private static Mode parseMode(String s) {
        try {
            return Mode.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown mode '" + s + "'; use smoke, quick or full", e);
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static void usage(PrintStream out) {
        out.println("usage: Compare [--mode smoke|quick|full] [--out DIR]");
    }
}
