package dev.mpsafe.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The command line of {@link Compare} and {@link ReportCheck}: both take the same options, so that
 * the {@code compare} profile can hand both the same arguments and the check looks at exactly the
 * folder, mode and selection that the run wrote.
 *
 * <pre>
 *   [--mode smoke|quick|full] [--out DIR] [--only CASE_ID_REGEX] [--run-id ID]
 *   --help                   (alone)
 * </pre>
 *
 * <p>Strict: an unknown option, a positional argument, an option without its value and an option
 * given twice are errors ({@link IllegalArgumentException} naming the argument), never ignored or
 * silently overridden. {@code --help} must come alone, so that a build that appends it to its own
 * arguments fails instead of skipping the run and then checking an old folder.
 *
 * @param mode the comparison's mode
 * @param out the report folder
 * @param only the case-id regex, or null for every case
 * @param runId the id the run records in its manifest and the check expects, or null (Compare then
 *     makes one up; ReportCheck then accepts any)
 * @param help whether usage was asked for
 */
record CompareArgs(Compare.Mode mode, Path out, String only, String runId, boolean help) {

    static final Path DEFAULT_OUT = Path.of("target", "compare");

    static final String SYNTAX = "[--mode smoke|quick|full] [--out DIR] [--only CASE_ID_REGEX] [--run-id ID]";

    /**
     * Parses {@code args}.
     *
     * @throws IllegalArgumentException naming the offending argument
     */
    static CompareArgs parse(String... args) {
        Compare.Mode mode = null;
        Path out = null;
        String only = null;
        String runId = null;
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--mode" -> mode = Compare.Mode.parse(once(mode == null ? null : mode.id(), a, value(args, ++i, a)));
                case "--out" -> out = Path.of(once(out, a, value(args, ++i, a)));
                case "--only" -> only = once(only, a, value(args, ++i, a));
                case "--run-id" -> runId = once(runId, a, value(args, ++i, a));
                case "-h", "--help" -> help = true;
                default -> throw new IllegalArgumentException(a.startsWith("-")
                        ? "unknown option '" + a + "'"
                        : "unexpected argument '" + a + "' (the report folder is given with --out DIR)");
            }
        }
        if (help && args.length > 1) {
            throw new IllegalArgumentException("--help takes no other argument, got " + Arrays.toString(args));
        }
        return new CompareArgs(mode == null ? Compare.Mode.QUICK : mode, out == null ? DEFAULT_OUT : out, only,
                runId, help);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        if (args[i].startsWith("--")) {
            throw new IllegalArgumentException(flag + " needs a value, got the option '" + args[i] + "'");
        }
        if (args[i].isBlank()) {
            throw new IllegalArgumentException(flag + " needs a value, got an empty one");
        }
        return args[i];
    }

    private static <T> String once(T previous, String flag, String value) {
        if (previous != null) {
            throw new IllegalArgumentException(flag + " given twice ('" + previous + "', then '" + value
                    + "'); through the pom, set -Dcompare.mode / -Dcompare.out, not compare.args");
        }
        return value;
    }

    /** What a program's command line selected: its arguments and the catalog's matching cases. */
    record Selected(CompareArgs args, List<Catalog.Case> cases) {
    }

    /**
     * The shared start of {@code Compare.main} and {@code ReportCheck.main}: parses {@code args}
     * and selects the cases. Returns null after printing usage to stdout when help was asked for;
     * on a bad argument prints {@code program: message} and usage to stderr and exits with 2.
     */
    static Selected parseOrExit(String program, String[] args, Consumer<PrintStream> usage) {
        try {
            CompareArgs parsed = parse(args);
            if (parsed.help()) {
                usage.accept(System.out);
                return null;
            }
            return new Selected(parsed,
                    Catalog.select(parsed.mode(), Runtime.getRuntime().availableProcessors(), parsed.only()));
        } catch (IllegalArgumentException e) {
            System.err.println(program + ": " + e.getMessage());
            usage.accept(System.err);
            System.exit(2);
            return null; // not reached
        }
    }
}
