package dev.mpsafe.bench;

import dev.mpsafe.bench.Catalog.Case;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * What a finished comparison run records about itself in its report folder, {@code manifest.properties}:
 * the mode, the {@code --only} selection, the cases, the run id, when it ran, the folder it
 * wrote, and the runs that failed. {@link Compare} deletes the old one as it starts its run and
 * writes the new one last, after the report, so a folder whose Compare died after that start has
 * none. A run whose JMH runs partly failed does write one, naming the failures, and
 * {@link #verify} refuses it: a partial report never passes for a complete one. A run that never
 * got that far (the exec skipped, killed early, or {@code --help}) leaves the previous run's manifest
 * in place: there it is the run id that rejects the folder, which the build always passes (its
 * timestamp) and a manual {@link ReportCheck} without {@code --run-id} does not check.
 * {@link ReportCheck} refuses a folder whose manifest is missing or does not match what it was
 * asked to check, run count included (it depends on the processor count through the thread
 * counts): an old report left in the folder cannot pass for the new one.
 *
 * @param mode the mode's id (smoke, quick, full)
 * @param only the {@code --only} regex, or "" for every case
 * @param runId the run's id
 * @param started when the run started
 * @param finished when the report was written
 * @param out the absolute, normalised report folder
 * @param cases the case ids, comma-separated
 * @param runs the number of JMH runs, failed ones included
 * @param failed each failed run, "row: exception" ({@link Compare.Failure}); empty for a complete report
 */
record Manifest(String mode, String only, String runId, Instant started, Instant finished, Path out, String cases,
        int runs, List<String> failed) {

    static final String FILE = "manifest.properties";

    static Manifest of(CompareArgs args, String runId, List<Case> cases, List<Compare.Failure> failures,
            Instant started, Instant finished) {
        return new Manifest(args.mode().id(), Objects.requireNonNullElse(args.only(), ""), runId, started, finished,
                absolute(args.out()), ids(cases), cases.stream().mapToInt(Case::runs).sum(),
                failures.stream().map(f -> f.row() + ": " + f.cause()).toList());
    }

    void write(Path dir) throws IOException {
        Properties p = new Properties();
        p.setProperty("mode", mode);
        p.setProperty("only", only);
        p.setProperty("runId", runId);
        p.setProperty("started", started.toString());
        p.setProperty("finished", finished.toString());
        p.setProperty("out", out.toString());
        p.setProperty("cases", cases);
        p.setProperty("runs", Integer.toString(runs));
        // A count and one key per failure: a reader of the file sees each on its own line.
        p.setProperty("failed", Integer.toString(failed.size()));
        for (int i = 0; i < failed.size(); i++) {
            p.setProperty("failed." + (i + 1), failed.get(i));
        }
        try (Writer w = Files.newBufferedWriter(dir.resolve(FILE))) {
            p.store(w, "written by dev.mpsafe.bench.Compare once the report was written; read by ReportCheck");
        }
    }

    /**
     * Reads {@code dir}'s manifest.
     *
     * @throws ReportCheck.MalformedReportException if it is missing or incomplete
     */
    static Manifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ReportCheck.MalformedReportException("no manifest: " + file + " is missing, so nothing says "
                    + "which run wrote this folder (the run failed, did not run, e.g. --help, or an older Compare "
                    + "wrote it)");
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        try {
            return new Manifest(need(p, "mode", file), need(p, "only", file), need(p, "runId", file),
                    Instant.parse(need(p, "started", file)), Instant.parse(need(p, "finished", file)),
                    Path.of(need(p, "out", file)), need(p, "cases", file), Integer.parseInt(need(p, "runs", file)),
                    failed(p, file));
        } catch (RuntimeException e) {
            if (e instanceof ReportCheck.MalformedReportException m) {
                throw m;
            }
            throw new ReportCheck.MalformedReportException(file + " is malformed: " + e.getMessage());
        }
    }

    /**
     * Checks that this manifest describes the run {@code expected} asked for, over {@code selected},
     * and that none of its runs failed. The failures are checked last: the folder of another run
     * is refused as such, whatever failed there.
     *
     * @throws ReportCheck.MalformedReportException naming the first field that differs, or every
     *     failed run
     */
    void verify(CompareArgs expected, List<Case> selected) {
        Path file = absolute(expected.out()).resolve(FILE);
        differs(file, "report folder", out.toString(), absolute(expected.out()).toString(),
                " (a copied or moved folder? check it where it was written)");
        differs(file, "mode", mode, expected.mode().id(), "");
        differs(file, "--only", only, Objects.requireNonNullElse(expected.only(), ""), "");
        differs(file, "cases", cases, ids(selected), " (a different catalog)");
        differs(file, "runs", Integer.toString(runs), Integer.toString(selected.stream().mapToInt(Case::runs).sum()),
                " (a run on another processor count: the thread counts, and so the runs, depend on it)");
        if (expected.runId() != null) {
            differs(file, "run id", runId, expected.runId(),
                    " (the folder holds the report of another run, written " + finished + ")");
        }
        if (finished.isBefore(started)) {
            throw new ReportCheck.MalformedReportException(file + ": finished " + finished + " before it started "
                    + started);
        }
        if (!failed.isEmpty()) {
            throw new ReportCheck.MalformedReportException(file + " records " + failed.size() + " failed run(s) of "
                    + runs + ", so the report is partial (report.md lists them under \"Failed runs\"): "
                    + String.join("; ", failed));
        }
    }

    private static void differs(Path file, String what, String found, String expected, String hint) {
        if (!found.equals(expected)) {
            throw new ReportCheck.MalformedReportException(file + " records " + what + " '" + found + "', but the "
                    + "check was asked for '" + expected + "'" + hint);
        }
    }

    /**
     * The failures, {@code failed.1} to {@code failed.N} for {@code failed=N}. The count is required:
     * a manifest without it (an older Compare's) cannot say that its report is whole.
     */
    private static List<String> failed(Properties p, Path file) {
        int count = Integer.parseInt(need(p, "failed", file));
        if (count < 0) {
            throw new ReportCheck.MalformedReportException(file + " records " + count + " failed runs; at least 0");
        }
        List<String> failed = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            failed.add(need(p, "failed." + i, file));
        }
        return List.copyOf(failed);
    }

    private static String need(Properties p, String key, Path file) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new ReportCheck.MalformedReportException(file + " has no '" + key + "'");
        }
        return v;
    }

    private static Path absolute(Path p) {
        return p.toAbsolutePath().normalize();
    }

    private static String ids(List<Case> cases) {
        return cases.stream().map(Case::id).collect(Collectors.joining(","));
    }
}
