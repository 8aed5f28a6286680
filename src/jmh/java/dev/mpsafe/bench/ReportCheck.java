package dev.mpsafe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mpsafe.bench.Catalog.Case;
import dev.mpsafe.bench.Catalog.Series;
import dev.mpsafe.bench.Catalog.Variant;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * Checks that a comparison's report folder is well formed, so that a broken report fails the build
 * instead of reaching a reader: {@code results.json} parses and holds one JMH result per run, with
 * a numeric score; every plot the report links to exists and is a PNG that decodes to a non-empty
 * image, and there is at least one; {@code report.md} describes the machine and has, for every case
 * and series, a table with a row per scheme or peer that ran.
 *
 * <p>It first reads the folder's {@link Manifest} and refuses a folder that another run wrote (its
 * mode, {@code --only}, cases, folder or run id differ from the arguments), so that an old report
 * cannot pass for the one just asked for, and a folder whose manifest records failed runs: a
 * partial report, which Compare writes so that the completed runs are not lost, fails the check
 * with the list of what failed. It takes {@link Compare}'s own arguments
 * ({@link CompareArgs}), and the {@code compare} profile passes both the same ones.
 *
 * <pre>
 *   java -cp ... dev.mpsafe.bench.ReportCheck [--mode smoke|quick|full] [--out DIR] [--only REGEX] [--run-id ID]
 * </pre>
 */
public final class ReportCheck {

    /** The folder is not a well-formed report; the message says what is wrong. */
    static final class MalformedReportException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MalformedReportException(String message) {
            super(message);
        }
    }

    static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private ReportCheck() {
    }

    /** Exit status: 0 the report is well formed, 1 it is not (or is not the run asked for), 2 bad arguments. */
    public static void main(String[] args) throws IOException {
        CompareArgs.Selected selected = CompareArgs.parseOrExit("report check", args, ReportCheck::usage);
        if (selected == null) {
            return; // usage printed
        }
        CompareArgs parsed = selected.args();
        List<Case> cases = selected.cases();
        Path dir = parsed.out();
        int plots;
        Manifest manifest;
        try {
            manifest = Manifest.read(dir);
            manifest.verify(parsed, cases);
            plots = check(dir, cases);
        } catch (MalformedReportException e) {
            System.err.println("report check: FAILED: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("report check: OK: " + dir + " (" + manifest.mode() + " mode, run " + manifest.runId()
                + " finished " + manifest.finished() + "; " + cases.size() + " cases, "
                + cases.stream().mapToInt(Case::runs).sum() + " JMH results, " + plots + " plots)");
    }

    private static void usage(java.io.PrintStream out) {
        out.println("usage: ReportCheck " + CompareArgs.SYNTAX + "\n       ReportCheck --help\n"
                + "Checks the report folder (--out, default target/compare) that Compare wrote with the same "
                + "arguments.");
    }

    /** Checks {@code dir} against the cases that were run; returns the number of plots. */
    static int check(Path dir, List<Case> cases) throws IOException {
        Path md = dir.resolve("report.md");
        // Before the JSON's count, which would also fail, to say why: the manifest says it too, but
        // this check also runs on a folder without one (the tests, a copied report).
        if (Files.isRegularFile(md) && Files.readString(md).contains("\n" + Report.FAILED_RUNS + "\n")) {
            throw new MalformedReportException(md + " has a '" + Report.FAILED_RUNS.substring(3) + "' section: "
                    + "some runs failed, and the report is partial");
        }
        checkJson(dir.resolve("results.json"), cases.stream().mapToInt(Case::runs).sum());
        if (!Files.isRegularFile(md)) {
            throw new MalformedReportException("no report: " + md + " is missing");
        }
        String report = Files.readString(md);
        for (String row : List.of("| CPU |", "| processors |", "| JDK |", "| OS |", "| membarrier(2) |")) {
            if (!report.contains(row)) {
                throw new MalformedReportException(md + ": the machine table has no '" + row + "' row");
            }
        }
        for (Case c : cases) {
            String section = section(report, "## " + c.title() + "\n", "\n## ", md);
            for (Series s : c.series()) {
                String table = section(section, "### " + c.title() + ": " + s.name() + "\n", "\n### ", md);
                for (Variant v : s.variants()) {
                    if (!table.contains("\n| " + v.label() + " |") && !table.contains("\n| **" + v.label() + "** |")) {
                        throw new MalformedReportException(md + ": the table '" + c.title() + ": " + s.name()
                                + "' has no row for '" + v.label() + "'");
                    }
                }
            }
        }
        Matcher links = Pattern.compile("!\\[[^\\]]*\\]\\(([^)]+)\\)").matcher(report);
        List<Path> images = new ArrayList<>();
        while (links.find()) {
            images.add(dir.resolve(links.group(1)));
        }
        if (images.isEmpty()) {
            throw new MalformedReportException(md + " links no plot");
        }
        for (Path image : images) {
            checkPng(image);
        }
        return images.size();
    }

    static void checkJson(Path json, int expectedResults) throws IOException {
        if (!Files.isRegularFile(json)) {
            throw new MalformedReportException("no raw results: " + json + " is missing");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new MalformedReportException(json + " is not JSON: " + e.getMessage());
        }
        if (root == null || !root.isArray()) {
            throw new MalformedReportException(json + " is not a JSON array of JMH results");
        }
        if (root.size() != expectedResults) {
            throw new MalformedReportException(json + " holds " + root.size() + " results; the run made "
                    + expectedResults);
        }
        for (JsonNode r : root) {
            if (!r.path("benchmark").isTextual() || !r.path("primaryMetric").path("score").isNumber()) {
                throw new MalformedReportException(json + ": a result without a benchmark name or a numeric "
                        + "primaryMetric.score: " + abbreviate(r.toString()));
            }
        }
    }

    static void checkPng(Path image) throws IOException {
        if (!Files.isRegularFile(image)) {
            throw new MalformedReportException("the report links " + image + ", which does not exist");
        }
        byte[] head;
        try (InputStream in = Files.newInputStream(image)) {
            head = in.readNBytes(PNG_SIGNATURE.length);
        }
        if (!Arrays.equals(head, PNG_SIGNATURE)) {
            throw new MalformedReportException(image + " does not start with the PNG signature");
        }
        BufferedImage decoded;
        try {
            decoded = ImageIO.read(image.toFile());
        } catch (IOException e) {
            throw new MalformedReportException(image + " does not decode as PNG: " + e.getMessage());
        }
        if (decoded == null || decoded.getWidth() < 1 || decoded.getHeight() < 1) {
            throw new MalformedReportException(image + " decodes to no image");
        }
    }

    /** The text from {@code start} to the next {@code end} marker (or the end of the text). */
    private static String section(String text, String start, String end, Path file) {
        int from = text.indexOf(start);
        if (from < 0) {
            throw new MalformedReportException(file + " has no section '" + start.trim() + "'");
        }
        int to = text.indexOf(end, from + start.length());
        return text.substring(from, to < 0 ? text.length() : to + 1);
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
