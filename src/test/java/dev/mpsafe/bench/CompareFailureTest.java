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
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.WorkloadParams;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * What {@link Compare#run} leaves when it cannot finish: {@code results.json} holds every run that
 * completed, at any instant. No benchmark runs: a fake {@link Compare.Jmh} returns JMH results built
 * here, or throws, per benchmark name.
 */
class CompareFailureTest {

    /** Two cases of one series each: five runs. */
    static final List<Case> CASES = List.of(
            testCase("a", "Case A", "a1", List.of("a1", "a2", "a3")),
            testCase("b", "Case B", "b1", List.of("b1", "b2")));

    @TempDir
    static Path dir;

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

    private static CompareArgs args(Path out) {
        return new CompareArgs(Compare.Mode.SMOKE, out, null, "compare-failure-test", false);
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
