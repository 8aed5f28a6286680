package dev.mpsafe.bench;

import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Series;
import dev.mpsafe.bench.Catalog.Variant;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.openjdk.jmh.profile.GCProfiler;
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
 * The project's main job: answers "pserialize, epoch or SMR?" (and pcq and kcont against their
 * peers) on the machine it runs on. It runs the curated JMH comparison of {@link Catalog}, one JVM
 * fork per row, prints a progress line per run and a summary table, and writes a report folder:
 * {@code report.md} (every figure with its error, ratios against the baseline measured in the same
 * run, noisy figures flagged, the machine described), {@code results.json} (the raw JMH JSON),
 * {@code plots/*.png}, and last {@link Manifest manifest.properties}, which says which run wrote
 * the folder.
 *
 * <pre>
 *   ./mvnw -Pcompare verify                         # quick mode, about 5 minutes on 2 cores
 *   ./mvnw -Pcompare verify -Dcompare.mode=full     # 3 forks, longer iterations, more thread counts
 *   ./mvnw -Pcompare verify -Dcompare.mode=smoke    # one short iteration each: checks that it all runs
 * </pre>
 *
 * The profile then runs {@link ReportCheck} with the same arguments ({@link CompareArgs}) over the
 * folder, so a malformed report, or one that this build did not write, fails the build.
 *
 * <p>A run that fails does not stop the job: the other runs go on, and the folder is written with
 * every run that completed. Its {@code report.md} lists the failed runs first, under "Failed
 * runs" (each row, its benchmark, and the exception), the failed rows' table lines say "failed",
 * and the manifest records the failures, so that {@link ReportCheck} refuses the partial folder.
 * Compare then exits with status 1, saying how many runs failed and where the partial report is.
 * {@code results.json} is rewritten after each completed run: if this JVM itself dies, it still
 * holds every run before.
 */
public final class Compare {

    /** How long each run lasts. */
    enum Mode {
        /** One short measured iteration, no warm-up: proves that every benchmark and the report work. */
        SMOKE(1, 0, ms(100), 1, ms(100)),
        /** One fork, one 0.8 s warm-up, five 0.4 s iterations: about 5 minutes on 2 cores. */
        QUICK(1, 1, ms(800), 5, ms(400)),
        /**
         * Three forks, three warm-up seconds, five one-second iterations each, more thread counts:
         * 129 runs on 2 cores, which {@link #estimateMillis} puts at 59 minutes (quick mode takes
         * about 0.9 of its estimate, so expect about 53).
         */
        FULL(3, 3, TimeValue.seconds(1), 5, TimeValue.seconds(1));

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

        /** Rough wall time of one run, JVM start included, for the progress line before any run ended. */
        long estimateMillis() {
            long perFork = 1_200 + warmups * warmupTime.convertTo(TimeUnit.MILLISECONDS)
                    + iterations * iterationTime.convertTo(TimeUnit.MILLISECONDS);
            return forks * perFork;
        }

        String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Mode parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown mode '" + s + "'; use smoke, quick or full", e);
            }
        }

        private static TimeValue ms(long v) {
            return TimeValue.milliseconds(v);
        }
    }

    /** One measured row: a variant's figures, in the order of its case's metrics. */
    record Row(Case c, Series series, Variant variant, List<Stats.Figure> figures, Stats.Figure allocPerOp) {
    }

    private Compare() {
    }

    public static void main(String[] args) throws IOException {
        CompareArgs.Selected selected = CompareArgs.parseOrExit("compare", args, Compare::usage);
        if (selected == null) {
            return; // usage printed
        }
        int status = exitStatus(selected.args(), selected.cases(), Compare::runOne, System.out, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Runs {@code cases} as {@link #run(CompareArgs, List, Jmh, PrintStream, PrintStream)} does and
     * returns the process's exit status: 0, or 1 after printing to {@code progress} how many runs
     * failed and where the partial report is.
     */
    static int exitStatus(CompareArgs args, List<Case> cases, Jmh jmh, PrintStream table, PrintStream progress)
            throws IOException {
        try {
            run(args, cases, jmh, table, progress);
            return 0;
        } catch (RunsFailedException e) {
            progress.println("compare: FAILED: " + e.getMessage());
            return 1;
        }
    }

    /** {@link #run(CompareArgs, List, Jmh, PrintStream, PrintStream)} with every row forked by JMH. */
    static List<Row> run(CompareArgs args, List<Case> cases, PrintStream table, PrintStream progress)
            throws IOException, RunsFailedException {
        return run(args, cases, Compare::runOne, table, progress);
    }

    /**
     * Runs {@code cases} through {@code jmh}, writes the report folder {@code args.out()} (its
     * manifest last), prints the summary; returns the rows.
     *
     * <p>A run that fails (JMH throws, a benchmark or a fork fails, its result cannot be read) does
     * not stop the others: the rows are independent JVM forks, one broken benchmark says nothing
     * about the next, and a full-mode run is an hour that one failure must not throw away. The
     * failure is printed, and the folder is still written with every run that completed; its
     * report lists the failed runs first, its manifest records them (so {@link ReportCheck}
     * refuses the folder), and then this method throws. {@code results.json} is rewritten after
     * every completed run, so a crash of this JVM keeps what ran before it.
     *
     * @throws RunsFailedException after writing the folder, if any run failed
     */
    static List<Row> run(CompareArgs args, List<Case> cases, Jmh jmh, PrintStream table, PrintStream progress)
            throws IOException, RunsFailedException {
        Mode mode = args.mode();
        Path out = args.out();
        String runId = args.runId() != null ? args.runId() : java.util.UUID.randomUUID().toString();
        Files.createDirectories(out);
        clean(out, progress);
        Machine machine = Machine.describe();
        int total = cases.stream().mapToInt(Case::runs).sum();
        progress.printf(Locale.ROOT, "mpsafe compare: %s mode, %d cases, %d runs, about %s (%s)%n", mode.id(),
                cases.size(), total, duration(total * mode.estimateMillis()), machine.oneLine());

        Instant started = Instant.now();
        long t0 = System.nanoTime();
        ResultsJson json = new ResultsJson(out.resolve("results.json"));
        List<Row> rows = new ArrayList<>();
        List<Failure> failures = new ArrayList<>();
        int done = 0;
        for (Case c : cases) {
            for (Series s : c.series()) {
                for (Variant v : s.variants()) {
                    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    long remaining = done == 0 ? total * mode.estimateMillis() : elapsed * (total - done) / done;
                    progress.printf(Locale.ROOT, "[%2d/%d] %-34s %-20s %-28s elapsed %s, about %s left%n", done + 1,
                            total, c.title().length() > 34 ? c.title().substring(0, 33) + "…" : c.title(),
                            v.label(), s.name(), duration(elapsed), duration(remaining));
                    done++;
                    Row row;
                    String raw;
                    try {
                        RunResult result = jmh.run(mode, v);
                        row = new Row(c, s, v, Stats.figures(c, result), Stats.allocPerOp(result));
                        raw = ResultsJson.object(result);
                    } catch (RunnerException | RuntimeException e) {
                        // Errors (out of memory, a linkage error) are not caught: this JVM is then
                        // in no state to go on, and results.json already holds the runs before.
                        Failure f = new Failure(c, s, v, cause(e));
                        failures.add(f);
                        progress.printf(Locale.ROOT, "[%2d/%d] FAILED %s: %s%n", done, total, f.row(), f.cause());
                        continue;
                    }
                    rows.add(row);
                    json.add(raw);
                }
            }
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        json.write(); // again, so that the folder has one even when no run completed
        Map<String, Path> plots = Plots.write(cases, rows, out.resolve("plots"));
        Report report = new Report(mode, args.only(), cases, rows, failures, machine, started, tookMillis, plots);
        Files.writeString(out.resolve("report.md"), report.markdown());
        Manifest.of(args, runId, cases, failures, started, Instant.now()).write(out);
        table.println();
        table.print(report.summary());
        table.printf("%nReport:       %s%nRaw JMH JSON: %s%nPlots:        %s (%d)%n", out.resolve("report.md"),
                out.resolve("results.json"), out.resolve("plots"), plots.size());
        if (!failures.isEmpty()) {
            throw new RunsFailedException(failures, total, out.resolve("report.md"));
        }
        return rows;
    }

    /** Runs one catalog row in JMH and returns its one result: the seam the tests replace. */
    @FunctionalInterface
    interface Jmh {
        RunResult run(Mode mode, Variant v) throws RunnerException;
    }

    /**
     * A run that did not complete.
     *
     * @param cause the exception's class and the first line of its message, then its causes' ({@link #cause})
     */
    record Failure(Case c, Series series, Variant variant, String cause) {
        /** The row's address, "case-id / series / label". */
        String row() {
            return c.id() + " / " + series.name() + " / " + variant.label();
        }
    }

    /** Some runs failed; the report folder was written with the others, and its manifest names the failures. */
    static final class RunsFailedException extends Exception {
        private static final long serialVersionUID = 1L;

        private final transient List<Failure> failures;

        RunsFailedException(List<Failure> failures, int total, Path report) {
            super(failures.size() + " of " + total + " runs failed ("
                    + failures.stream().map(Failure::row).collect(Collectors.joining(", ")) + "); the partial report, "
                    + "with the " + (total - failures.size()) + " that completed and the failures listed, is "
                    + report);
            this.failures = List.copyOf(failures);
        }

        List<Failure> failures() {
            return failures;
        }
    }

    /**
     * What went wrong, on one line: the exception's class and the first line of its message, then
     * its cause's, and so on. JMH's own message says little ("Benchmark caught the exception"): the
     * benchmark's exception is its cause's suppressed one, so where a cause is missing the first
     * suppressed exception stands in. At most four deep, so that a cycle or a long chain cannot
     * flood the report.
     */
    static String cause(Throwable e) {
        StringBuilder sb = new StringBuilder(firstLine(e));
        Throwable t = e;
        for (int depth = 1; depth < 4; depth++) {
            Throwable next = t.getCause() != null ? t.getCause()
                    : t.getSuppressed().length > 0 ? t.getSuppressed()[0] : null;
            if (next == null || next == t) {
                break;
            }
            sb.append("; caused by ").append(firstLine(next));
            t = next;
        }
        return sb.toString();
    }

    private static String firstLine(Throwable t) {
        String first = t.getMessage() == null ? "" : t.getMessage().strip().lines().findFirst().orElse("");
        return t.getClass().getName() + (first.isEmpty() ? "" : ": " + first);
    }

    /**
     * {@code results.json}: JMH's JSON array of the completed runs, rewritten whole after each run.
     * Each result is formatted once and kept as text; the file is written beside and moved into
     * place, so it is valid JSON holding every completed run at any instant, even if this JVM dies.
     * Appending would cost less, but JSON has no append: the closing bracket would have to be
     * overwritten in place, and a crash in between would leave the file unreadable. Rewriting
     * stays cheap: quick mode's 78 runs make 1.7 MB (docs/results), full mode's three forks a few
     * times that, written between runs that each start a JVM, never while a benchmark measures.
     */
    static final class ResultsJson {
        private final Path file;
        private final List<String> objects = new ArrayList<>();

        ResultsJson(Path file) {
            this.file = file;
        }

        /** Adds one result, as {@link #object} formats it, and rewrites the file. */
        void add(String object) throws IOException {
            objects.add(object);
            write();
        }

        void write() throws IOException {
            Path next = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(next, objects.isEmpty() ? "[]\n" : "[\n" + String.join(",\n", objects) + "\n]\n");
            Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }

        /** JMH's JSON of one result, without the array around it: "    {" to "    }", as JMH indents it. */
        static String object(RunResult result) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            PrintStream ps = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            ResultFormatFactory.getInstance(ResultFormatType.JSON, ps).writeOut(List.of(result));
            ps.flush();
            String array = bytes.toString(StandardCharsets.UTF_8).strip();
            if (!array.startsWith("[") || !array.endsWith("]")) {
                throw new IllegalStateException("JMH's JSON for one result is not an array: "
                        + (array.length() > 200 ? array.substring(0, 200) + "..." : array));
            }
            return array.substring(1, array.length() - 1).replaceAll("^\\n+|\\n+$", "");
        }
    }

    /** What Compare writes at the top of its folder, and what earlier versions wrote there. */
    static final List<String> OUTPUTS = List.of(Manifest.FILE, "report.md", "results.json",
            "results.json.tmp" /* left by a crash while results.json was rewritten */,
            "summary.md" /* the table of versions before report.md */);

    /**
     * Removes what an earlier run left in {@code out}, so that no stale plot, table or manifest
     * survives: every file Compare writes or once wrote ({@link #OUTPUTS}) and everything in
     * {@code plots/}. Anything else in the folder is not Compare's: it stays, and a note names it.
     */
    static void clean(Path out, PrintStream progress) throws IOException {
        Files.deleteIfExists(out.resolve(Manifest.FILE)); // first: a run that fails leaves no manifest
        for (String f : OUTPUTS) {
            Files.deleteIfExists(out.resolve(f));
        }
        Path plots = out.resolve("plots");
        if (Files.isDirectory(plots)) {
            try (var files = Files.list(plots)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Files.delete(f);
                }
            }
        }
        try (var left = Files.list(out)) {
            List<String> others = left.map(p -> p.getFileName().toString()).filter(n -> !n.equals("plots")).sorted()
                    .toList();
            if (!others.isEmpty()) {
                progress.println("note: " + out + " also holds " + others + ", which Compare did not write; left "
                        + "as they are");
            }
        }
    }

    private static RunResult runOne(Mode mode, Variant v) throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include("^" + Pattern.quote(v.benchmark()) + "$")
                .forks(mode.forks)
                .warmupIterations(mode.warmups)
                .warmupTime(mode.warmupTime)
                .measurementIterations(mode.iterations)
                .measurementTime(mode.iterationTime)
                .addProfiler(GCProfiler.class)
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT);
        v.params().forEach(options::param);
        if (v.threads() > 0) {
            options.threads(v.threads());
        }
        if (v.threadGroups() != null) {
            options.threadGroups(v.threadGroups());
        }
        Collection<RunResult> results = new Runner(options.build()).run();
        if (results.size() != 1) {
            throw new IllegalStateException("expected one result for " + v.benchmark() + " " + v.params() + ", got "
                    + results.size() + " (does the benchmark exist, and does it take these @Params?)");
        }
        return results.iterator().next();
    }

    static String duration(long millis) {
        long s = Math.max(0, millis / 1000);
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    private static void usage(PrintStream out) {
        out.println("usage: Compare " + CompareArgs.SYNTAX + "\n       Compare --help");
    }
}
