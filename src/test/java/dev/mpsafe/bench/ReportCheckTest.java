package dev.mpsafe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.bench.Catalog.Case;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The comparison's report machinery, end to end on one small case: {@link Compare#run} in smoke
 * mode forks real JMH runs and writes the folder, {@link ReportCheck} accepts it, and rejects each
 * kind of damage it exists to catch. (CI runs the whole comparison in smoke mode through
 * {@code ./mvnw -Pcompare verify -Dcompare.mode=smoke}, which ends with the same check.)
 */
class ReportCheckTest {

    @TempDir
    static Path dir;
    static Path report;
    static List<Case> cases;
    static String printed;
    static CompareArgs args;

    @BeforeAll
    static void runOneCaseInSmokeMode() throws Exception {
        cases = Catalog.cases(Compare.Mode.SMOKE, 2).stream().filter(c -> c.id().equals("kcont-roundtrip")).toList();
        assertEquals(1, cases.size(), "the catalog has a kcont-roundtrip case");
        report = dir.resolve("report");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setProperty("java.awt.headless", "true");
        args = new CompareArgs(Compare.Mode.SMOKE, report, null, "report-check-test", false);
        Compare.run(args, cases, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        printed = out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldWriteAWellFormedReportWithARowPerPeerAndAPlot() throws Exception {
        assertEquals(1, ReportCheck.check(report, cases));
        String md = Files.readString(report.resolve("report.md"));
        for (String row : List.of("| stpe |", "| tpe |", "| **kcont** |")) {
            assertTrue(md.contains(row), "row " + row + " in\n" + md);
        }
        assertTrue(printed.contains("| kcont: one task's round trip | round trip | stpe "), printed);
    }

    @Test
    void shouldWriteAManifestThatMatchesTheRunAndNoOther() throws Exception {
        Manifest m = Manifest.read(report);
        m.verify(args, cases);
        assertEquals("smoke", m.mode());
        assertEquals("report-check-test", m.runId());
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> m.verify(
                new CompareArgs(Compare.Mode.SMOKE, report, null, "a-later-run", false), cases));
        assertTrue(e.getMessage().contains("run id 'report-check-test'"), e.getMessage());
    }

    @Test
    void shouldRejectJsonThatDoesNotParse() throws Exception {
        Path copy = copy("truncated-json");
        String json = Files.readString(copy.resolve("results.json"));
        Files.writeString(copy.resolve("results.json"), json.substring(0, json.length() / 2));
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(copy, cases));
        assertTrue(e.getMessage().contains("is not JSON"), e.getMessage());
    }

    @Test
    void shouldRejectJsonWithFewerResultsThanRuns() throws Exception {
        Path copy = copy("short-json");
        Files.writeString(copy.resolve("results.json"), "[]");
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(copy, cases));
        assertTrue(e.getMessage().contains("holds 0 results; the run made 3"), e.getMessage());
    }

    @Test
    void shouldRejectATableWithoutARowForAPeer() throws Exception {
        Path copy = copy("missing-row");
        Path md = copy.resolve("report.md");
        String text = Files.readString(md);
        Files.writeString(md, text.replaceAll("\n\\| tpe \\|[^\n]*", ""));
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(copy, cases));
        assertTrue(e.getMessage().contains("has no row for 'tpe'"), e.getMessage());
    }

    @Test
    void shouldRejectAPlotThatIsNotAPng() throws Exception {
        Path copy = copy("bad-png");
        Path png = copy.resolve("plots").resolve("kcont-roundtrip.png");
        byte[] bytes = Files.readAllBytes(png);
        bytes[1] = 'J';
        Files.write(png, bytes);
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(copy, cases));
        assertTrue(e.getMessage().contains("does not start with the PNG signature"), e.getMessage());
    }

    @Test
    void shouldRejectAPngThatDoesNotDecode() throws Exception {
        Path copy = copy("truncated-png");
        Path png = copy.resolve("plots").resolve("kcont-roundtrip.png");
        byte[] bytes = Files.readAllBytes(png);
        Files.write(png, java.util.Arrays.copyOf(bytes, 40));
        assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(copy, cases));
    }

    @Test
    void shouldRejectAReportWithoutItsMachineDescription() throws Exception {
        Path copy = copy("no-machine");
        Path md = copy.resolve("report.md");
        Files.writeString(md, Files.readString(md).replace("| membarrier(2) |", "| something else |"));
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> ReportCheck.check(copy, cases));
        assertTrue(e.getMessage().contains("membarrier"), e.getMessage());
    }

    private static Path copy(String name) throws Exception {
        Path to = dir.resolve(name);
        Files.createDirectories(to.resolve("plots"));
        for (String f : List.of("report.md", "results.json", "plots/kcont-roundtrip.png")) {
            Files.copy(report.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }
}
