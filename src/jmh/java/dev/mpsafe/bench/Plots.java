package dev.mpsafe.bench;

import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Metric;
import dev.mpsafe.bench.Catalog.Series;
import dev.mpsafe.bench.Compare.Row;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * One bar chart per case, drawn with XChart (a benchmark-scope dependency only): a bar per row
 * and series (thread count) for every plotted metric, with the error as an error bar. A
 * logarithmic axis where the bars span more than two decades, so that a 1 ns row and a 300 ns
 * row are both readable.
 */
final class Plots {

    private Plots() {
    }

    /** Writes {@code dir/<case id>.png} for every case with rows; returns them by case id. */
    static Map<String, Path> write(List<Case> cases, List<Row> rows, Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        Map<String, Path> written = new LinkedHashMap<>();
        for (Case c : cases) {
            if (rows.stream().noneMatch(r -> r.c() == c)) {
                continue;
            }
            Path file = dir.resolve(c.id() + ".png");
            try {
                BitmapEncoder.saveBitmap(chart(c, rows), file.toString(), BitmapEncoder.BitmapFormat.PNG);
            } catch (Error | RuntimeException e) {
                // Headless AWT without fontconfig or a font fails here ("Fontconfig head is null").
                throw new IOException("could not draw " + file + ": " + e
                        + " (on Linux, headless AWT needs fontconfig and a font: "
                        + "apt-get install fontconfig fonts-dejavu-core)", e);
            }
            written.put(c.id(), file);
        }
        return written;
    }

    static CategoryChart chart(Case c, List<Row> rows) {
        List<Metric> plotted = c.metrics().stream().filter(Metric::plot).toList();
        String unit = rows.stream().filter(r -> r.c() == c).findFirst()
                .map(r -> r.figures().get(c.metrics().indexOf(plotted.get(0))).unit()).orElse("");
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(520).title(c.title())
                .xAxisTitle("").yAxisTitle(plotted.get(0).name() + " (" + unit + "), "
                        + (c.higherIsBetter() ? "higher is better" : "lower is better"))
                .build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        double min = Double.MAX_VALUE;
        double max = 0;
        for (Row r : rows) {
            if (r.c() != c) {
                continue;
            }
            for (Metric m : plotted) {
                double v = r.figures().get(c.metrics().indexOf(m)).value();
                if (v > 0) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        boolean log = logAxis(c, rows, min, max);
        List<String> labels = c.labels();
        for (Series s : c.series()) {
            for (Metric m : plotted) {
                int index = c.metrics().indexOf(m);
                List<Double> values = new ArrayList<>();
                List<Double> errors = new ArrayList<>();
                for (String label : labels) {
                    Row r = rows.stream().filter(x -> x.c() == c && x.series() == s && x.variant().label().equals(label))
                            .findFirst().orElse(null);
                    double v = r == null ? 0 : r.figures().get(index).value();
                    double e = r == null ? 0 : r.figures().get(index).error();
                    values.add(v);
                    errors.add(errorBar(v, e, log));
                }
                String name = (c.series().size() > 1 || plotted.size() == 1 ? s.name() : "")
                        + (plotted.size() > 1 ? (c.series().size() > 1 ? ", " : "") + m.name() : "");
                chart.addSeries(name, labels, values, errors);
            }
        }
        if (log) {
            chart.getStyler().setYAxisLogarithmic(true);
            // Bar charts anchor the axis at zero unless told otherwise; a log axis cannot.
            chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min * 0.1))));
        }
        return chart;
    }

    /** A log axis where every plotted value is positive and they span more than two decades. */
    static boolean logAxis(Case c, List<Row> rows, double min, double max) {
        List<Metric> plotted = c.metrics().stream().filter(Metric::plot).toList();
        boolean allPositive = rows.stream().filter(r -> r.c() == c)
                .allMatch(r -> plotted.stream().allMatch(m -> r.figures().get(c.metrics().indexOf(m)).value() > 0));
        return allPositive && max / min > 100;
    }

    /**
     * The error bar drawn for a value: its error (none when unknown), clipped to 0.9 of the value
     * only on a log axis, which cannot draw a bar down to 0 or below. On a linear axis the whole
     * error shows, even where it reaches below 0.
     */
    static double errorBar(double value, double error, boolean logAxis) {
        if (Double.isNaN(error)) {
            return 0;
        }
        return logAxis ? Math.min(error, 0.9 * value) : error;
    }
}
