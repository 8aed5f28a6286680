package dev.mpsafe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Metric;
import dev.mpsafe.bench.Catalog.Series;
import dev.mpsafe.bench.Catalog.Variant;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.AverageTimeResult;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.IterationResultMetaData;
import org.openjdk.jmh.results.ResultRole;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.BenchmarkException;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.WorkloadParams;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * What {@link Compare#run} does when some of its JMH runs fail: the others still run and reach
 * the report folder, the failures are listed, the job fails, and {@link ReportCheck} refuses the
 * partial folder. No benchmark runs: a fake {@link Compare.Jmh} returns JMH results built here, or
 * throws, per benchmark name.
 */
class CompareFailureTest {

    /** Two cases of one series each; the failing run, a2, is the second of five. */
    static final List<Case> CASES = List.of(
            testCase("a", "Case A", "a1", List.of("a1", "a2", "a3")),
            testCase("b", "Case B", "b1", List.of("b1", "b2")));

    /** JMH's own shape for a benchmark that threw in its fork: the exception is suppressed, not a cause. */
    static final RunnerException JMH_FAILURE = new RunnerException("Benchmark caught the exception",
            new BenchmarkException("Benchmark error",
                    List.of(new IllegalStateException("boom in a2\n\tat the second line"))));

    @TempDir
    static Path dir;

    /** The run with a2 failing. */
    static Path partial;
    static Compare.RunsFailedException failed;
    static List<String> called = new ArrayList<>();
    static String progress;
    static String summary;

    @BeforeAll
    static void runWithTheSecondRunFailing() {
        System.setProperty("java.awt.headless", "true");
        partial = dir.resolve("partial");
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        failed = assertThrows(Compare.RunsFailedException.class, () -> Compare.run(args(partial), CASES,
                fake(v -> {
                    called.add(v.label());
                    return v.label().equals("a2") ? JMH_FAILURE : null;
                }), new PrintStream(table, true, StandardCharsets.UTF_8),
                new PrintStream(printed, true, StandardCharsets.UTF_8)));
        progress = printed.toString(StandardCharsets.UTF_8);
        summary = table.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldRunTheRestWhenARunInTheMiddleFails() {
        assertEquals(List.of("a1", "a2", "a3", "b1", "b2"), called);
    }

    @Test
    void shouldKeepEveryCompletedRunInResultsJsonWhenARunFails() throws Exception {
        assertEquals(List.of("test.A.a1", "test.A.a3", "test.B.b1", "test.B.b2"), benchmarks(partial));
    }

    @Test
    void shouldKeepEveryCompletedRowInTheReportWhenARunFails() throws Exception {
        String md = Files.readString(partial.resolve("report.md"));
        for (String row : List.of("| **a1** | 10.0 ± ", "| **a3** | 30.0 ± ", "| **b1** | 40.0 ± ",
                "| **b2** | 50.0 ± ")) {
            assertTrue(md.contains(row), row + " in\n" + md);
        }
        assertTrue(Files.isRegularFile(partial.resolve("plots/a.png")), "case a still has its plot");
        assertTrue(md.contains("| **a2** | **failed** (see Failed runs) | – | – | |"), md);
        assertTrue(md.contains("(4 JMH runs, 1 more failed)"), md);
    }

    @Test
    void shouldListTheFailedRunWithItsBenchmarkAndException() throws Exception {
        String md = Files.readString(partial.resolve("report.md"));
        String section = md.substring(md.indexOf("## Failed runs\n"), md.indexOf("## Machine\n"));
        assertTrue(section.contains("**1 of 5 runs failed: this report is partial.**"), section);
        assertTrue(section.contains("-Dcompare.args=\"--only '^(a)$'\""), section);
        assertTrue(section.contains("| Case A | 1 thread | a2 | `test.A.a2 {p=a2}` | "
                + "org.openjdk.jmh.runner.RunnerException: Benchmark caught the exception; caused by "
                + "org.openjdk.jmh.runner.BenchmarkException: Benchmark error; caused by "
                + "java.lang.IllegalStateException: boom in a2 |"), section);
        assertFalse(section.contains("second line"), "only the first line of a message: " + section);
        assertTrue(progress.contains("[ 2/5] FAILED a / 1 thread / a2: org.openjdk.jmh.runner.RunnerException"),
                progress);
    }

    @Test
    void shouldFailNamingHowManyRunsFailedAndWhereThePartialReportIs() {
        assertEquals(List.of("a / 1 thread / a2"), failed.failures().stream().map(Compare.Failure::row).toList());
        assertEquals("1 of 5 runs failed (a / 1 thread / a2); the partial report, with the 4 that completed and "
                + "the failures listed, is " + partial.resolve("report.md"), failed.getMessage());
        assertTrue(summary.contains("\n1 of 5 runs FAILED, listed under \"Failed runs\" in report.md: this summary "
                + "has only the runs that completed.\n"), summary);
    }

    @Test
    void shouldExitWithStatusOneAndSayWhyWhenARunFails() throws Exception {
        Path out = dir.resolve("exit-status");
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        int status = Compare.exitStatus(args(out), CASES, fake(v -> v.label().equals("b2") ? JMH_FAILURE : null),
                quiet(), new PrintStream(printed, true, StandardCharsets.UTF_8));
        assertEquals(1, status);
        assertTrue(printed.toString(StandardCharsets.UTF_8).contains("compare: FAILED: 1 of 5 runs failed (b / 1 thread "
                + "/ b2); the partial report, with the 4 that completed and the failures listed, is "
                + out.resolve("report.md") + "\n"), printed::toString);
        assertEquals(0, Compare.exitStatus(args(out), CASES, fake(v -> null), quiet(), quiet()));
    }

    @Test
    void shouldRecordTheFailuresSoThatTheCheckRejectsThePartialFolder() throws Exception {
        Manifest m = Manifest.read(partial);
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> m.verify(args(partial), CASES));
        assertTrue(e.getMessage().contains("records 1 failed run(s) of 5, so the report is partial"), e.getMessage());
        assertTrue(e.getMessage().contains("a / 1 thread / a2: org.openjdk.jmh.runner.RunnerException: Benchmark "
                + "caught the exception"), e.getMessage());
        // The folder alone, without its manifest, is refused too, and says why.
        var c = assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(partial, CASES));
        assertTrue(c.getMessage().endsWith("has a 'Failed runs' section: some runs failed, and the report is "
                + "partial"), c.getMessage());
    }

    @Test
    void shouldPassTheCheckWhenNoRunFails() throws Exception {
        Path whole = dir.resolve("whole");
        List<Compare.Row> rows = Compare.run(args(whole), CASES, fake(v -> null), quiet(), quiet());
        assertEquals(5, rows.size());
        Manifest.read(whole).verify(args(whole), CASES);
        assertEquals(2, ReportCheck.check(whole, CASES));
        assertFalse(Files.readString(whole.resolve("report.md")).contains("Failed runs"));
    }

    @Test
    void shouldWriteTheReportWhenABaselineAndAWholeCaseFail() throws Exception {
        Path out = dir.resolve("baseline-failed");
        var e = assertThrows(Compare.RunsFailedException.class, () -> Compare.run(args(out), CASES,
                fake(v -> v.label().startsWith("b") || v.label().equals("a1")
                        ? new IllegalStateException("expected one result") : null),
                quiet(), quiet()));
        assertTrue(e.getMessage().startsWith("3 of 5 runs failed (a / 1 thread / a1, b / 1 thread / b1, b / 1 thread "
                + "/ b2)"), e.getMessage());
        assertEquals(List.of("test.A.a2", "test.A.a3"), benchmarks(out));
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("| Case B | 1 thread | b1 | `test.B.b1 {p=b1}` | java.lang.IllegalStateException: "
                + "expected one result |"), md);
        assertTrue(md.contains("| **a2** | 20.0 ± 18.2 | n/a |"), "no baseline, no ratio: " + md);
        assertTrue(md.contains("-Dcompare.args=\"--only '^(a|b)$'\""), md);
        assertTrue(Files.isRegularFile(out.resolve("plots/a.png")) && !Files.exists(out.resolve("plots/b.png")),
                "a case with no completed run has no plot");
    }

    @Test
    void shouldWriteAnEmptyJsonArrayWhenEveryRunFails() throws Exception {
        Path out = dir.resolve("all-failed");
        var e = assertThrows(Compare.RunsFailedException.class, () -> Compare.run(args(out), CASES,
                fake(v -> new RunnerException("no fork")), quiet(), quiet()));
        assertTrue(e.getMessage().startsWith("5 of 5 runs failed"), e.getMessage());
        assertEquals(List.of(), benchmarks(out));
        assertEquals(5, Manifest.read(out).failed().size());
    }

    @Test
    void shouldLeaveEveryCompletedRunInResultsJsonWhenThisJvmDiesMidway() throws Exception {
        // An Error is not a run failure: it ends the job at once, as a dying JVM would. What ran
        // before it must already be on disk, as valid JSON.
        Path out = dir.resolve("died");
        var e = assertThrows(OutOfMemoryError.class, () -> Compare.run(args(out), CASES, (mode, v) -> {
            if (v.label().equals("b1")) {
                throw new OutOfMemoryError("simulated");
            }
            return result(v);
        }, quiet(), quiet()));
        assertEquals("simulated", e.getMessage());
        assertEquals(List.of("test.A.a1", "test.A.a2", "test.A.a3"), benchmarks(out));
        assertFalse(Files.exists(out.resolve(Manifest.FILE)), "no manifest: the check refuses the folder");
    }

    @Test
    void shouldWriteResultsJsonExactlyAsJmhWritesTheSameResults() throws Exception {
        List<RunResult> results = List.of(result(CASES.get(0).series().get(0).variants().get(0)),
                result(CASES.get(1).series().get(0).variants().get(1)));
        Path ours = dir.resolve("ours.json");
        Compare.ResultsJson json = new Compare.ResultsJson(ours);
        for (RunResult r : results) {
            json.add(Compare.ResultsJson.object(r));
        }
        Path jmhs = dir.resolve("jmh.json");
        ResultFormatFactory.getInstance(ResultFormatType.JSON, jmhs.toString()).writeOut(results);
        // Byte for byte but for the blank lines JMH leaves after the closing bracket.
        assertEquals(Files.readString(jmhs).stripTrailing(), Files.readString(ours).stripTrailing());
    }

    @Test
    void shouldDescribeAnExceptionWithoutCauseOrMessageByItsClass() {
        assertEquals("java.lang.IllegalStateException", Compare.cause(new IllegalStateException()));
    }

    @Test
    void shouldDescribeAtMostFourExceptionsOfALongChain() {
        Exception chain = new Exception("6");
        for (int i = 5; i >= 1; i--) {
            chain = new Exception(Integer.toString(i), chain);
        }
        assertEquals("java.lang.Exception: 1; caused by java.lang.Exception: 2; caused by java.lang.Exception: 3; "
                + "caused by java.lang.Exception: 4", Compare.cause(chain));
    }

    private static CompareArgs args(Path out) {
        return new CompareArgs(Compare.Mode.SMOKE, out, null, "compare-failure-test", false);
    }

    /** A fake JMH: {@code failure} gives the exception a variant's run throws, or null for a result. */
    private static Compare.Jmh fake(Function<Variant, Exception> failure) {
        return (mode, v) -> {
            Exception e = failure.apply(v);
            if (e instanceof RunnerException r) {
                throw r;
            }
            if (e != null) {
                throw (RuntimeException) e;
            }
            return result(v);
        };
    }

    private static List<String> benchmarks(Path out) throws Exception {
        JsonNode root = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertTrue(root.isArray(), root::toString);
        List<String> names = new ArrayList<>();
        root.forEach(r -> names.add(r.path("benchmark").asText()));
        return names;
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    private static Case testCase(String id, String title, String baseline, List<String> labels) {
        List<Variant> variants = labels.stream()
                .map(l -> new Variant(l, "test." + id.toUpperCase() + "." + l, Map.of("p", l), 0, null)).toList();
        return new Case(id, title, "What a fake run measures.", false, baseline, List.of(Metric.primary("time")),
                List.of(new Series("1 thread", variants)));
    }

    /**
     * A JMH result as a fork would return it: three measured iterations of average time around
     * 10 ns per label digit and case (a1 10, a2 20, a3 30, b1 40, b2 50).
     */
    static RunResult result(Variant v) {
        double base = 10 * (v.label().charAt(1) - '0' + (v.label().charAt(0) == 'b' ? 3 : 0));
        IterationParams warmup = new IterationParams(IterationType.WARMUP, 0, TimeValue.milliseconds(100), 1);
        IterationParams measured = new IterationParams(IterationType.MEASUREMENT, 3, TimeValue.milliseconds(100), 1);
        WorkloadParams params = new WorkloadParams();
        v.params().forEach((k, value) -> params.put(k, value, 0));
        BenchmarkParams bp = new BenchmarkParams(v.benchmark(), v.benchmark() + "_jmhTest", false, 1, new int[] {1},
                List.of(), 1, 0, warmup, measured, org.openjdk.jmh.annotations.Mode.AverageTime, params,
                TimeUnit.NANOSECONDS, 1, "java", List.of(), "25", "OpenJDK", "25", "1.37", TimeValue.minutes(10));
        List<IterationResult> iterations = new ArrayList<>();
        for (double score : new double[] {base - 1, base, base + 1}) {
            IterationResult it = new IterationResult(bp, measured, new IterationResultMetaData(1000, 1000));
            // 1000 operations in score µs: score ns per operation.
            it.addResult(new AverageTimeResult(ResultRole.PRIMARY, "time", 1000, (long) (score * 1000),
                    TimeUnit.NANOSECONDS));
            iterations.add(it);
        }
        return new RunResult(bp, List.of(new BenchmarkResult(bp, iterations)));
    }
}
