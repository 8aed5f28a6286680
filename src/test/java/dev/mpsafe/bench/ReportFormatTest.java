package dev.mpsafe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Series;
import dev.mpsafe.bench.Catalog.Variant;
import dev.mpsafe.bench.Compare.Row;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.BitmapEncoder;

/** How the report writes numbers, draws error bars and clears its folder; no JMH run needed. */
class ReportFormatTest {

    @Test
    void shouldWriteThreeSignificantFigures() {
        assertEquals("0.0400", Report.fmt(0.04));
        assertEquals("8.43", Report.fmt(8.4321));
        assertEquals("1.00", Report.fmt(1));
        assertEquals("30.7", Report.fmt(30.71));
        assertEquals("151", Report.fmt(151.2));
        assertEquals("1023", Report.fmt(1023), "100 to 9,999 keep their integer digits");
        assertEquals("142,000", Report.fmt(141_993), "was 141,993");
        assertEquals("985,000", Report.fmt(984_641));
        assertEquals("10,000", Report.fmt(9_999.7));
        assertEquals("28.4M", Report.fmt(28.4e6));
        assertEquals("1.00G", Report.fmt(999.6e6), "was 1.00e+03M");
        assertEquals("1.00M", Report.fmt(999_999));
        assertEquals("-20.9", Report.fmt(-20.94));
        assertEquals("0.00", Report.fmt(0));
        assertEquals("n/a", Report.fmt(Double.NaN));
    }

    @Test
    void shouldClipErrorBarsOnlyOnALogAxis() {
        assertEquals(90, Plots.errorBar(100, 300, true));
        assertEquals(300, Plots.errorBar(100, 300, false));
        assertEquals(5, Plots.errorBar(100, 5, true));
        assertEquals(0, Plots.errorBar(100, Double.NaN, false));
    }

    @Test
    void shouldDrawALinearChartWhoseErrorsReachBelowZero() {
        Case c = Catalog.cases(Compare.Mode.SMOKE, 2).stream().filter(x -> x.id().equals("kcont-roundtrip"))
                .findFirst().orElseThrow();
        List<Row> rows = new ArrayList<>();
        for (Series s : c.series()) {
            for (Variant v : s.variants()) {
                Stats.Figure f = new Stats.Figure(100 + rows.size(), 300, "ns/op", 5);
                rows.add(new Row(c, s, v, List.of(f), f));
            }
        }
        System.setProperty("java.awt.headless", "true");
        var chart = Plots.chart(c, rows);
        assertTrue(!chart.getStyler().isYAxisLogarithmic());
        BufferedImage image = BitmapEncoder.getBufferedImage(chart);
        assertTrue(image.getWidth() > 0);
    }

    @Test
    void shouldRemoveEveryFileAnEarlierRunLeft(@TempDir Path dir) throws Exception {
        for (String f : List.of("report.md", "results.json", "manifest.properties", "summary.md", "notes.txt")) {
            Files.writeString(dir.resolve(f), "old");
        }
        Files.createDirectories(dir.resolve("plots"));
        Files.writeString(dir.resolve("plots/old-case.png"), "old");
        Files.writeString(dir.resolve("plots/old-case.svg"), "old");
        var printed = new java.io.ByteArrayOutputStream();
        Compare.clean(dir, new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        try (var left = Files.list(dir)) {
            assertEquals(List.of("notes.txt", "plots"), left.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (var plots = Files.list(dir.resolve("plots"))) {
            assertEquals(0, plots.count());
        }
        assertTrue(printed.toString(java.nio.charset.StandardCharsets.UTF_8).contains("[notes.txt]"), printed::toString);
    }

    private static Report reportOf(String only) {
        List<Case> cases = Catalog.select(Compare.Mode.QUICK, 2, only);
        List<Row> rows = new ArrayList<>();
        for (Case c : cases) {
            for (Series s : c.series()) {
                for (Variant v : s.variants()) {
                    Stats.Figure f = new Stats.Figure(100, 1, "ns/op", 5);
                    rows.add(new Row(c, s, v, java.util.Collections.nCopies(c.metrics().size(), f), f));
                }
            }
        }
        Machine machine = new Machine("cpu", 2, "1 GiB", "jdk", "os", "-flags", "0 0 0", "ASYMMETRIC (membarrier)",
                "LAZY (membarrier)");
        return new Report(Compare.Mode.QUICK, only, cases, rows, List.of(), machine, Instant.EPOCH, 1000, Map.of());
    }

    @Test
    void shouldSayAReportOfASelectionIsOneAndHowToMakeIt() {
        int all = Catalog.cases(Compare.Mode.QUICK, 2).size();
        Report r = reportOf("kcont-roundtrip");
        String md = r.markdown();
        String madeBy = md.lines().filter(l -> l.contains("Made by")).findFirst().orElseThrow();
        assertTrue(madeBy.contains(
                "`./mvnw -Pcompare verify -Dcompare.mode=quick -Dcompare.args=\"--only 'kcont-roundtrip'\"`"), madeBy);
        String selection = "selection: 1 of " + all + " cases (`--only 'kcont-roundtrip'`)";
        assertTrue(md.contains(selection), md);
        assertTrue(r.summary().contains(selection), r.summary());
        Report whole = reportOf(null);
        assertTrue(whole.markdown().contains("Made by `./mvnw -Pcompare verify -Dcompare.mode=quick`."),
                whole.markdown());
        assertTrue(!whole.markdown().contains("selection:") && !whole.summary().contains("selection:"));
    }
}
