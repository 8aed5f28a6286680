package dev.mpsafe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.bench.Catalog.Case;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The manifest ties a report folder to the run that wrote it; the check refuses any other folder. */
class ManifestTest {

    @TempDir
    Path dir;

    private final Instant t0 = Instant.parse("2026-11-22T06:17:03Z");

    private CompareArgs args(Compare.Mode mode, Path out, String only, String runId) {
        return new CompareArgs(mode, out, only, runId, false);
    }

    private List<Case> cases(Compare.Mode mode, String only) {
        return Catalog.select(mode, 2, only);
    }

    private void write(CompareArgs a) throws Exception {
        Manifest.of(a, a.runId(), cases(a.mode(), a.only()), List.of(), t0, t0.plusSeconds(60)).write(a.out());
    }

    @Test
    void shouldAcceptTheRunItRecords() throws Exception {
        CompareArgs a = args(Compare.Mode.SMOKE, dir, "pcq", "run-1");
        write(a);
        Manifest m = Manifest.read(dir);
        m.verify(a, cases(Compare.Mode.SMOKE, "pcq"));
        m.verify(args(Compare.Mode.SMOKE, dir, "pcq", null), cases(Compare.Mode.SMOKE, "pcq"));
        assertEquals(t0.plusSeconds(60), m.finished());
    }

    @Test
    void shouldRejectAFolderWithoutManifest() {
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> Manifest.read(dir));
        assertTrue(e.getMessage().startsWith("no manifest: " + dir.resolve(Manifest.FILE) + " is missing"),
                e.getMessage());
    }

    @Test
    void shouldRejectAnotherRunsFolder() throws Exception {
        write(args(Compare.Mode.SMOKE, dir, null, "old-run"));
        Manifest m = Manifest.read(dir);
        var e = assertThrows(ReportCheck.MalformedReportException.class,
                () -> m.verify(args(Compare.Mode.SMOKE, dir, null, "new-run"), cases(Compare.Mode.SMOKE, null)));
        assertTrue(e.getMessage().contains("records run id 'old-run', but the check was asked for 'new-run'"),
                e.getMessage());
    }

    @Test
    void shouldRejectAnotherMode() throws Exception {
        write(args(Compare.Mode.QUICK, dir, null, "r"));
        Manifest m = Manifest.read(dir);
        var e = assertThrows(ReportCheck.MalformedReportException.class,
                () -> m.verify(args(Compare.Mode.SMOKE, dir, null, "r"), cases(Compare.Mode.SMOKE, null)));
        assertTrue(e.getMessage().contains("records mode 'quick', but the check was asked for 'smoke'"),
                e.getMessage());
    }

    @Test
    void shouldRejectTheRunOfAnotherProcessorCount() throws Exception {
        // Full mode on 8 CPUs has the same case ids as on 2, but more thread counts: 173 runs, not 129.
        CompareArgs a = args(Compare.Mode.FULL, dir, null, "r");
        Manifest.of(a, "r", Catalog.select(Compare.Mode.FULL, 8, null), List.of(), t0, t0).write(dir);
        Manifest m = Manifest.read(dir);
        assertEquals(173, m.runs());
        var e = assertThrows(ReportCheck.MalformedReportException.class,
                () -> m.verify(a, Catalog.select(Compare.Mode.FULL, 2, null)));
        assertTrue(e.getMessage().contains("records runs '173', but the check was asked for '129'"), e.getMessage());
    }

    @Test
    void shouldNotBlameTheProcessorCountForOtherCases() throws Exception {
        write(args(Compare.Mode.SMOKE, dir, null, "r"));
        Manifest m = Manifest.read(dir);
        var e = assertThrows(ReportCheck.MalformedReportException.class,
                () -> m.verify(args(Compare.Mode.SMOKE, dir, null, "r"), cases(Compare.Mode.SMOKE, "pcq")));
        assertTrue(e.getMessage().contains("records cases"), e.getMessage());
        assertTrue(!e.getMessage().contains("processor"), "case ids do not depend on it: " + e.getMessage());
    }

    @Test
    void shouldRejectAnotherSelection() throws Exception {
        write(args(Compare.Mode.SMOKE, dir, "pcq", "r"));
        Manifest m = Manifest.read(dir);
        var e = assertThrows(ReportCheck.MalformedReportException.class,
                () -> m.verify(args(Compare.Mode.SMOKE, dir, "kcont", "r"), cases(Compare.Mode.SMOKE, "kcont")));
        assertTrue(e.getMessage().contains("records --only 'pcq', but the check was asked for 'kcont'"),
                e.getMessage());
    }

    @Test
    void shouldRejectAFolderWrittenElsewhere() throws Exception {
        Path elsewhere = Files.createDirectories(dir.resolve("written-here"));
        write(args(Compare.Mode.SMOKE, elsewhere, null, "r"));
        Path moved = Files.createDirectories(dir.resolve("checked-here"));
        Files.copy(elsewhere.resolve(Manifest.FILE), moved.resolve(Manifest.FILE));
        Manifest m = Manifest.read(moved);
        var e = assertThrows(ReportCheck.MalformedReportException.class,
                () -> m.verify(args(Compare.Mode.SMOKE, moved, null, "r"), cases(Compare.Mode.SMOKE, null)));
        assertTrue(e.getMessage().contains("records report folder '" + elsewhere + "'"), e.getMessage());
    }

    @Test
    void shouldRejectTheFolderOfARunWhoseRunsFailedNamingEach() throws Exception {
        CompareArgs a = args(Compare.Mode.SMOKE, dir, "kcont-roundtrip", "r");
        List<Case> cases = cases(Compare.Mode.SMOKE, "kcont-roundtrip");
        Case c = cases.get(0);
        List<Compare.Failure> failures = List.of(
                new Compare.Failure(c, c.series().get(0), c.series().get(0).variants().get(0), "java.lang.Error: one"),
                new Compare.Failure(c, c.series().get(0), c.series().get(0).variants().get(2), "java.lang.Error: two"));
        Manifest.of(a, "r", cases, failures, t0, t0.plusSeconds(60)).write(dir);
        Manifest m = Manifest.read(dir);
        assertEquals(2, m.failed().size());
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> m.verify(a, cases));
        String series = c.series().get(0).name();
        assertTrue(e.getMessage().endsWith("records 2 failed run(s) of 3, so the report is partial (report.md lists "
                + "them under \"Failed runs\"): kcont-roundtrip / " + series + " / "
                + c.series().get(0).variants().get(0).label() + ": java.lang.Error: one; kcont-roundtrip / " + series
                + " / " + c.series().get(0).variants().get(2).label() + ": java.lang.Error: two"), e.getMessage());
    }

    @Test
    void shouldRejectAManifestThatDoesNotSayHowManyRunsFailed() throws Exception {
        write(args(Compare.Mode.SMOKE, dir, null, "r"));
        Path file = dir.resolve(Manifest.FILE);
        Files.writeString(file, Files.readString(file).replaceAll("(?m)^failed=.*\n", ""));
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> Manifest.read(dir));
        assertTrue(e.getMessage().endsWith("has no 'failed'"), e.getMessage());
    }

    @Test
    void shouldRejectANegativeFailureCount() throws Exception {
        write(args(Compare.Mode.SMOKE, dir, null, "r"));
        Path file = dir.resolve(Manifest.FILE);
        Files.writeString(file, Files.readString(file).replaceAll("(?m)^failed=0$", "failed=-1"));
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> Manifest.read(dir));
        assertTrue(e.getMessage().endsWith("records -1 failed runs; at least 0"), e.getMessage());
    }

    @Test
    void shouldRejectAManifestWithoutAField() throws Exception {
        Files.writeString(dir.resolve(Manifest.FILE), "mode=smoke\n");
        var e = assertThrows(ReportCheck.MalformedReportException.class, () -> Manifest.read(dir));
        assertTrue(e.getMessage().endsWith("has no 'only'"), e.getMessage());
    }
}
