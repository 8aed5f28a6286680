package dev.mpsafe.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's quick-start examples compile against the library and run: each {@code java} block
 * of README.md becomes a class (its imports at the top, the rest as the body of a method), is
 * compiled with javac against {@code target/classes}, and is run. An example that no longer
 * compiles, or throws, fails the build.
 */
class ReadmeExamplesTest {

    static final Path README = Path.of("README.md");
    /** The primitives the quick start shows, one block each, in this order. */
    static final List<String> PRIMITIVES = List.of("dev.mpsafe.pcq", "dev.mpsafe.pserialize", "dev.mpsafe.epoch",
            "dev.mpsafe.smr", "dev.mpsafe.kcont");

    @TempDir
    Path classes;

    static List<String> javaBlocks() throws Exception {
        Matcher m = Pattern.compile("(?s)```java\n(.*?)```").matcher(Files.readString(README));
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }

    @Test
    void shouldShowOneExampleForEachPrimitive() throws Exception {
        List<String> blocks = javaBlocks();
        assertEquals(PRIMITIVES.size(), blocks.size(), "README's java blocks");
        for (int i = 0; i < blocks.size(); i++) {
            assertTrue(blocks.get(i).contains("import " + PRIMITIVES.get(i) + "."),
                    "block " + (i + 1) + " should show " + PRIMITIVES.get(i) + ":\n" + blocks.get(i));
        }
    }

    @TestFactory
    Stream<DynamicTest> everyExampleCompilesAndRuns() throws Exception {
        List<String> blocks = javaBlocks();
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            final int n = i + 1;
            final String block = blocks.get(i);
            tests.add(DynamicTest.dynamicTest("README example " + n, () -> compileAndRun(n, block)));
        }
        return tests.stream();
    }

    private void compileAndRun(int n, String block) throws Exception {
        StringBuilder imports = new StringBuilder();
        StringBuilder body = new StringBuilder();
        for (String line : block.split("\n", -1)) {
            (line.startsWith("import ") ? imports : body).append(line).append('\n');
        }
        String name = "ReadmeExample" + n;
        String source = "package readme;\n" + imports + "public final class " + name + " {\n"
                + "    public static void run() throws Exception {\n" + body + "    }\n}\n";
        Path src = classes.resolve("src").resolve(name + ".java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, source);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StringWriter out = new StringWriter();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            boolean ok = javac.getTask(out, files, diagnostics,
                    List.of("-classpath", Path.of("target", "classes").toString(), "-d", classes.toString(),
                            "-proc:none", "-Xlint:none"),
                    null, files.getJavaFileObjects(src)).call();
            assertTrue(ok, "README example " + n + " does not compile:\n" + diagnostics.getDiagnostics() + "\n"
                    + out + "\n" + numbered(source));
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                ReadmeExamplesTest.class.getClassLoader())) {
            Method run = loader.loadClass("readme." + name).getMethod("run");
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                try {
                    run.invoke(null);
                } catch (InvocationTargetException e) {
                    throw new AssertionError("README example " + n + " threw:\n" + numbered(source), e.getCause());
                }
            });
        }
    }

    private static String numbered(String source) {
        StringBuilder sb = new StringBuilder();
        String[] lines = source.split("\n");
        for (int i = 0; i < lines.length; i++) {
            sb.append(String.format(Locale.ROOT, "%3d  %s%n", i + 1, lines[i]));
        }
        return sb.toString();
    }
}
