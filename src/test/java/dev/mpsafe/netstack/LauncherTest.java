package dev.mpsafe.netstack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceOptions;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The launcher end to end: it creates its namespace and TUN device, the kernel's ping gets every
 * answer, socat gets its UDP echoed, and stopping it deletes the namespace with a balanced pool.
 * Without privileges it says what to do and exits with status 2. Root only (the test creates
 * namespaces and drops privileges).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherTest {

    static void assumeRoot() {
        assumeTrue(Launcher.missingPrerequisite() == null,
                "skipped: the launcher test needs root, /dev/net/tun and iproute2: " + Launcher.missingPrerequisite());
    }

    static void assumeSocat() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/socat")),
                "skipped: needs socat (apt-get install socat; .ci/run installs it)");
    }

    @Test
    void shouldAnswerPingInItsNamespaceAndCleanUp() throws Exception {
        assumeRoot();
        String ns = "mpsafe-launcher-test-" + ProcessHandle.current().pid();
        Launcher launcher = Launcher.start(ns, Smr.create("launcher-test", Smr.Mode.DEFAULT));
        boolean clean;
        try {
            Process ping = new ProcessBuilder("ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "50", "-i", "0.005",
                    "-W", "2", "10.77.0.2").redirectErrorStream(true).start();
            String out = new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ping.waitFor(30, TimeUnit.SECONDS));
            assertTrue(out.contains("50 packets transmitted, 50 received, 0% packet loss"), out);
        } finally {
            clean = launcher.stop(System.out);
        }
        assertTrue(clean, "worker failure or unbalanced pool");
        assertTrue(launcher.pool().isClosed(), "stop() closes the 16 MiB packet pool");
        assertEquals(50, launcher.stack().counters().delivered());
        assertFalse(Files.exists(Path.of("/run/netns", ns)), "namespace " + ns + " left behind");
    }

    /**
     * The launcher's UDP echo on port 7 answers socat in its namespace, byte for byte, at 1, 100
     * and 1,472 bytes (the most a 1,500-byte MTU carries unfragmented); the stack counted exactly
     * those three datagrams delivered and sent.
     */
    @Test
    void shouldEchoUdpOnPortSevenInItsNamespace() throws Exception {
        assumeRoot();
        assumeSocat();
        String ns = "mpsafe-launcher-udp-" + ProcessHandle.current().pid();
        Launcher launcher = Launcher.start(ns, Smr.create("launcher-udp-test", Smr.Mode.DEFAULT));
        boolean clean;
        try {
            for (int size : new int[] {1, 100, 1472}) {
                byte[] data = new byte[size];
                new java.util.SplittableRandom(size).nextBytes(data);
                Process socat = new ProcessBuilder("ip", "netns", "exec", ns, "socat", "-t", "1", "-T", "5", "-",
                        "UDP:10.77.0.2:7").redirectError(ProcessBuilder.Redirect.INHERIT).start();
                socat.getOutputStream().write(data); // one write, one read by socat: one datagram
                socat.getOutputStream().close();
                byte[] back = socat.getInputStream().readAllBytes();
                assertTrue(socat.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, socat.exitValue());
                assertTrue(java.util.Arrays.equals(data, back), size + " bytes sent, " + back.length + " came back");
            }
        } finally {
            clean = launcher.stop(System.out);
        }
        assertTrue(clean, "worker failure or unbalanced pool");
        assertEquals(3, launcher.udp().counters().delivered(), launcher.udp().counters().toString());
        assertEquals(3, launcher.udp().counters().sent(), launcher.udp().counters().toString());
        assertFalse(Files.exists(Path.of("/run/netns", ns)), "namespace " + ns + " left behind");
    }

    /**
     * When the UDP echo service fails (here an exception injected after a datagram is received),
     * the main thread is woken as for a worker failure ({@code awaitWorker}, which main waits
     * on, returns), and {@code stop} reports the failure as the echo service's (it used to say
     * "the worker failed", sending the reader to the wrong thread).
     */
    @Test
    void shouldWakeMainAndNameTheEchoServiceWhenItFails() throws Exception {
        assumeRoot();
        assumeSocat();
        String ns = "mpsafe-launcher-echofail-" + ProcessHandle.current().pid();
        Launcher.startHook = (step, opened) -> {
            if (step.equals("echo-received")) {
                throw new java.io.IOException("injected echo failure");
            }
        };
        Launcher launcher;
        try {
            launcher = Launcher.start(ns, Smr.create("launcher-echofail-test", Smr.Mode.DEFAULT));
        } catch (Throwable t) {
            Launcher.startHook = null;
            throw t;
        }
        java.io.ByteArrayOutputStream report = new java.io.ByteArrayOutputStream();
        boolean clean;
        try {
            Process socat = new ProcessBuilder("ip", "netns", "exec", ns, "socat", "-t", "1", "-T", "2", "-",
                    "UDP:10.77.0.2:7").redirectErrorStream(true).start();
            socat.getOutputStream().write(new byte[] {1, 2, 3});
            socat.getOutputStream().close();
            socat.getInputStream().readAllBytes();
            assertTrue(socat.waitFor(30, TimeUnit.SECONDS));
            assertTrue(launcher.awaitWorker(5, TimeUnit.SECONDS),
                    "main is not woken 5 s after the echo service failed: " + launcher.failure());
            assertTrue(String.valueOf(launcher.failure()).contains("injected echo failure"),
                    String.valueOf(launcher.failure()));
        } finally {
            Launcher.startHook = null;
            clean = launcher.stop(new PrintStream(report, true, StandardCharsets.UTF_8));
        }
        String out = report.toString(StandardCharsets.UTF_8);
        assertFalse(clean, out);
        assertTrue(out.contains("netstack: the echo service failed: java.io.IOException: injected echo failure"), out);
        assertFalse(out.contains("the worker failed"), out);
        assertFalse(Files.exists(Path.of("/run/netns", ns)), "namespace " + ns + " left behind");
    }

    /**
     * Deleting {@code tun0} under a running launcher (poll then reports the descriptor ready at
     * once and every read fails with EBADFD) ends the worker within a few seconds instead of
     * spinning; {@code stop} reports the failure naming the errno, and still deletes the namespace
     * with a balanced pool.
     */
    @Test
    void shouldStopTheWorkerAndSayWhyWhenTheInterfaceIsDeleted() throws Exception {
        assumeRoot();
        String ns = "mpsafe-launcher-del-" + ProcessHandle.current().pid();
        Epoch domain = Epoch.create(GraceOptions.named("launcher-del-test"));
        Launcher launcher = Launcher.start(ns, domain);
        java.io.ByteArrayOutputStream report = new java.io.ByteArrayOutputStream();
        boolean clean;
        try {
            Process del = new ProcessBuilder("ip", "-n", ns, "link", "del", "tun0").redirectErrorStream(true).start();
            assertTrue(del.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, del.exitValue());
            assertTrue(launcher.awaitWorker(5, TimeUnit.SECONDS),
                    "the worker is still running 5 s after tun0 was deleted: " + launcher.device());
            Throwable failure = launcher.failure();
            assertTrue(failure != null && failure.getMessage().contains("errno 77 EBADFD"), String.valueOf(failure));
            assertTrue(launcher.device().isDown());
        } finally {
            clean = launcher.stop(new PrintStream(report, true, StandardCharsets.UTF_8));
        }
        String out = report.toString(StandardCharsets.UTF_8);
        assertFalse(clean, out);
        assertTrue(out.contains("netstack: the worker failed: java.io.IOException: device tun0 is down for good"), out);
        assertTrue(out.contains("EBADFD"), out);
        assertTrue(out.contains("netstack: packet pool balanced"), out);
        assertFalse(Files.exists(Path.of("/run/netns", ns)), "namespace " + ns + " left behind");
        assertTrue(launcher.pool().isClosed(), "stop() closes the packet pool");
        assertTrue(domain.isClosed(), "stop() closes the grace domain");
        assertFalse(launcher.stop(System.out), "a second stop() gives the first one's answer");
    }

    /**
     * A step of {@code start} that fails (an IOException, or an interrupt, injected after each
     * step in turn) leaves nothing behind: the namespace is deleted, the TUN descriptor and the
     * packet pool are closed (the pool balanced), the worker has ended, the grace domain is
     * closed, and the failure is rethrown as it was, with nothing suppressed.
     */
    @Test
    void shouldCloseWhatItOpenedWhenAStepFails() throws Exception {
        assumeRoot();
        String ns = "mpsafe-launcher-fail-" + ProcessHandle.current().pid();
        List<String> steps = List.of("namespace", "tun", "pool", "stack", "echo", "started");
        try {
            for (String failAt : steps) {
                for (boolean interrupt : new boolean[] {false, true}) {
                    String what = "injected at " + failAt + (interrupt ? " (interrupt)" : "");
                    long tunFds = tunDescriptors();
                    java.util.Map<String, Object> seen = new java.util.HashMap<>();
                    Launcher.startHook = (step, opened) -> {
                        seen.put(step, opened);
                        if (step.equals(failAt) && interrupt) {
                            throw new InterruptedException(what);
                        }
                        if (step.equals(failAt)) {
                            throw new java.io.IOException(what);
                        }
                    };
                    Epoch domain = Epoch.create(GraceOptions.named("launcher-fail-test"));
                    Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                            () -> Launcher.start(ns, domain));
                    assertEquals(what, e.getMessage());
                    assertEquals(0, e.getSuppressed().length, what + ": the clean-up failed: "
                            + List.of(e.getSuppressed()));
                    assertFalse(Files.exists(Path.of("/run/netns", ns)), what + ": namespace " + ns + " left behind");
                    assertTrue(domain.isClosed(), what + ": grace domain left open");
                    if (seen.get("tun") instanceof dev.mpsafe.netstack.tun.Tun tun) {
                        assertFalse(tun.isOpen(), what + ": TUN descriptor left open");
                    }
                    if (seen.get("pool") instanceof dev.mpsafe.netstack.buffer.PacketPool pool) {
                        assertTrue(pool.isClosed(), what + ": packet pool left open");
                        pool.checkBalanced();
                    }
                    if (seen.get("started") instanceof Launcher l) {
                        assertTrue(l.awaitWorker(0, TimeUnit.SECONDS), what + ": worker still running");
                    }
                    assertEquals(tunFds, tunDescriptors(), what + ": /dev/net/tun descriptors leaked");
                }
            }
        } finally {
            Launcher.startHook = null;
        }
    }

    /** How many of this process's descriptors are open on /dev/net/tun. */
    private static long tunDescriptors() throws java.io.IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().equals("/dev/net/tun");
                } catch (java.io.IOException | UnsupportedOperationException e) {
                    return false; // closed while listing
                }
            }).count();
        }
    }

    @Test
    void shouldSayWhatToDoWithoutPrivileges() throws Exception {
        assumeRoot();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "skipped: needs setpriv (util-linux)");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-cp", classDirectories(),
                Launcher.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(Launcher.EXIT_UNAVAILABLE, p.exitValue(), out);
        assertTrue(out.contains("needs root: run it with sudo (sudo bin/netstack)"), out);
    }

    /**
     * Root without CAP_SYS_ADMIN (a bounding set that drops it, as a container may) is refused
     * before anything is created, with status 2 and a message naming the missing capability; the
     * old check looked at the uid only and let it through to a stack trace.
     */
    @Test
    void shouldNameTheMissingCapabilityForRootWithoutIt() throws Exception {
        assumeRoot();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "skipped: needs setpriv (util-linux)");
        String ns = "mpsafe-launcher-cap-" + ProcessHandle.current().pid();
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--inh-caps=-sys_admin",
                "--bounding-set=-sys_admin", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-cp", classDirectories(),
                Launcher.class.getName(), "--namespace", ns, "--seconds", "1"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        if (Files.exists(Path.of("/run/netns", ns))) {
            new ProcessBuilder("ip", "netns", "del", ns).start().waitFor(30, TimeUnit.SECONDS);
        }
        assertEquals(Launcher.EXIT_UNAVAILABLE, p.exitValue(), out);
        assertTrue(out.contains("this root process lacks CAP_SYS_ADMIN (CapEff "), out);
    }

    /** The privilege check reads {@code /proc/self/status}: Uid's effective field and CapEff's bits 12 and 21. */
    @Test
    void shouldParseUidAndCapEffFromStatusText() {
        String full = "Name:\tjava\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n";
        assertEquals(null, Launcher.missingPrivilege(full));
        assertEquals(null, Launcher.missingPrivilege(full.replace("000001ffffffffff", "0000000000201000")),
                "exactly the two bits");
        String m = Launcher.missingPrivilege(full.replace("000001ffffffffff", "0000000000001000"));
        assertTrue(m.contains("lacks CAP_SYS_ADMIN (CapEff 0000000000001000)"), m);
        m = Launcher.missingPrivilege(full.replace("000001ffffffffff", "0000000000200000"));
        assertTrue(m.contains("lacks CAP_NET_ADMIN (CapEff"), m);
        m = Launcher.missingPrivilege(full.replace("000001ffffffffff", "0000000000000000"));
        assertTrue(m.contains("lacks CAP_NET_ADMIN and CAP_SYS_ADMIN"), m);
        m = Launcher.missingPrivilege(full.replace("Uid:\t0\t0", "Uid:\t0\t1000"));
        assertTrue(m.contains("needs root: run it with sudo (sudo bin/netstack); this process runs as uid 1000"), m);
        m = Launcher.missingPrivilege("Name:\tjava\nUid:\t0\t0\t0\t0\n");
        assertTrue(m.contains("no CapEff: line"), m);
        m = Launcher.missingPrivilege(full.replace("000001ffffffffff", "zz"));
        assertTrue(m.contains("CapEff 'zz'"), m);
    }

    /**
     * SIGTERM stops a child launcher clean: the namespace is gone, the pool balanced, and the JVM
     * ends as it does after a signal it handles, with 128 + 15, the status the launcher documents
     * for a clean stop by SIGTERM.
     */
    @Test
    void shouldShutDownCleanlyOnASignal() throws Exception {
        assumeRoot();
        String ns = "mpsafe-launcher-sig-" + ProcessHandle.current().pid();
        Process p = startChild(Launcher.class, "--namespace", ns);
        var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder out = readUntilUp(reader);
        Process ping = new ProcessBuilder("ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "10", "-i", "0.01",
                "-W", "2", "10.77.0.2").redirectErrorStream(true).start();
        String pingOut = new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(pingOut.contains("10 packets transmitted, 10 received, 0% packet loss"), pingOut);
        // Ctrl-C sends SIGINT; a test JVM may have SIGINT ignored and pass that on, so use SIGTERM:
        // both run the same shutdown hook.
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        for (String line; (line = reader.readLine()) != null; ) {
            out.append(line).append('\n');
        }
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertTrue(out.toString().contains("netstack: packet pool balanced"), out.toString());
        assertFalse(Files.exists(Path.of("/run/netns", ns)), "namespace " + ns + " left behind:\n" + out);
        assertEquals(128 + 15, p.exitValue(), out.toString());
    }

    /**
     * The launcher's main with one packet buffer taken from the pool at start and never given
     * back, so that the stop a signal triggers finds the pool unbalanced: an unclean shutdown.
     */
    static final class LeakingStart {
        public static void main(String[] args) throws Exception {
            Launcher.startHook = (step, opened) -> {
                if (step.equals("pool")) {
                    ((dev.mpsafe.netstack.buffer.PacketPool) opened).allocate(0); // never freed
                }
            };
            Launcher.main(args);
        }
    }

    /**
     * A shutdown that SIGTERM triggers and that is not clean (here the packet pool does not
     * balance) ends the JVM with {@link Launcher#EXIT_UNCLEAN}, and the output says why. Before,
     * the hook's answer was dropped and the JVM exited 143, as after a clean stop.
     */
    @Test
    void shouldExitUncleanSayingWhyWhenTheShutdownAfterASignalIsNotClean() throws Exception {
        assumeRoot();
        String ns = "mpsafe-launcher-sigleak-" + ProcessHandle.current().pid();
        Process p = startChild(LeakingStart.class, "--namespace", ns);
        try {
            var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8));
            StringBuilder out = readUntilUp(reader);
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
            for (String line; (line = reader.readLine()) != null; ) {
                out.append(line).append('\n');
            }
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the launcher still runs 20 s after SIGTERM:\n" + out);
            assertEquals(Launcher.EXIT_UNCLEAN, p.exitValue(), out.toString());
            assertTrue(out.toString().contains("netstack: packet pool 'netstack-packets' does not balance: 1 buffers"
                    + " outstanding"), out.toString());
            assertTrue(out.toString().contains("netstack: the shutdown was not clean (see above): exit status "
                    + Launcher.EXIT_UNCLEAN), out.toString());
            assertFalse(Files.exists(Path.of("/run/netns", ns)), "namespace " + ns + " left behind:\n" + out);
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            if (Files.exists(Path.of("/run/netns", ns))) {
                new ProcessBuilder("ip", "netns", "del", ns).start().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * A signal during start whose clean-up fails (here a close that throws, pushed as start pushes
     * what it opens) makes the hook's shutdown unclean, and it says which close failed; before,
     * it said "closed what it had opened" and the JVM exited as after a clean stop. Driven in this
     * JVM on the hook's protocol (no root): the hook's thread sets stopping and waits for start
     * to end; start's thread meets the stop at its check and unwinds, as {@code start} does.
     */
    @Test
    void shouldReportAnUncleanShutdownWhenClosingWhatStartOpenedFails() throws Exception {
        Launcher.Startup startup = new Launcher.Startup();
        startup.begin();
        startup.push(() -> {
            throw new java.io.IOException("injected close failure");
        });
        java.io.ByteArrayOutputStream report = new java.io.ByteArrayOutputStream();
        boolean[] clean = new boolean[1];
        Thread hook = Thread.ofPlatform().name("test-shutdown-hook")
                .start(() -> clean[0] = startup.shutdown(new PrintStream(report, true, StandardCharsets.UTF_8)));
        // Stopping is a flag under the Startup's lock with no signal to wait on: poll it briefly.
        while (!startup.isStopping()) {
            Thread.yield();
        }
        InterruptedException stop = assertThrows(InterruptedException.class, startup::check);
        startup.unwind(stop);
        startup.end();
        hook.join();
        String out = report.toString(StandardCharsets.UTF_8);
        assertFalse(clean[0], out);
        assertTrue(out.contains("netstack: stopped during start; closing what it had opened failed: "
                + "[java.io.IOException: injected close failure]"), out);
        assertEquals(1, stop.getSuppressed().length, "start's own failure still carries the close failure");
    }

    /**
     * A start that fails on its own (no signal) unwinds what it opened itself, and main reports its
     * exception; the shutdown hook that then runs as the JVM exits must neither claim that a stop
     * interrupted start nor make the exit unclean. Before, it printed "stopped during start; closed
     * what it had opened" after every failed start. Driven in this JVM on the hook's protocol.
     */
    @Test
    void shouldNotReportAStopDuringStartWhenStartFailedOnItsOwn() throws Exception {
        Launcher.Startup startup = new Launcher.Startup();
        startup.begin();
        boolean[] closed = new boolean[1];
        startup.push(() -> closed[0] = true);
        java.io.IOException failure = new java.io.IOException("injected: TUN open failed");
        startup.unwind(failure); // start's catch
        startup.end(); // start's finally; main then rethrows
        assertTrue(closed[0], "start's own unwind closed what it opened");
        java.io.ByteArrayOutputStream report = new java.io.ByteArrayOutputStream();
        boolean clean = startup.shutdown(new PrintStream(report, true, StandardCharsets.UTF_8));
        String out = report.toString(StandardCharsets.UTF_8);
        assertTrue(clean, "the hook leaves the status to main: " + out);
        assertFalse(out.contains("stopped during start"), out);
        assertTrue(out.contains("start failed on its own"), out);
    }

    /** Starts {@code main} in a child JVM on our class folders, stdout and stderr together. */
    private static Process startChild(Class<?> main, String... args) throws java.io.IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-cp", classDirectories(),
                main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Reads a child launcher's output up to its "Ctrl-C stops it" line; fails if it ends first. */
    private static StringBuilder readUntilUp(java.io.BufferedReader reader) throws java.io.IOException {
        StringBuilder out = new StringBuilder();
        for (String line; (line = reader.readLine()) != null; ) {
            out.append(line).append('\n');
            if (line.startsWith("Ctrl-C stops it")) {
                assertTrue(out.toString().contains("netstack up: scheme smr"), out.toString());
                return out;
            }
        }
        throw new AssertionError("the launcher ended before it was up:\n" + out);
    }

    /**
     * The launcher's main, held after {@code ip netns add} until the JVM begins to shut down, so
     * that the signal the test sends once the namespace exists surely lands inside start (before
     * the fix the shutdown hook was added only after start returned, and the namespace and TUN
     * stayed behind). The hold gives up after 30 s, so a lost signal fails the test, not CI.
     */
    static final class SlowStart {
        public static void main(String[] args) throws Exception {
            CountDownLatch shuttingDown = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(shuttingDown::countDown, "slow-start-release"));
            Launcher.startHook = (step, opened) -> {
                if (step.equals("namespace")) {
                    shuttingDown.await(30, TimeUnit.SECONDS);
                }
            };
            Launcher.main(args);
        }
    }

    @Test
    void shouldCloseWhatStartOpenedOnASignalDuringStart() throws Exception {
        assumeRoot();
        String ns = "mpsafe-launcher-sigstart-" + ProcessHandle.current().pid();
        Path nsPath = Path.of("/run/netns", ns);
        Path log = Files.createTempFile("mpsafe-sigstart-", ".out");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-cp", classDirectories(),
                SlowStart.class.getName(), "--namespace", ns).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(nsPath) && p.isAlive() && System.nanoTime() - deadline < 0) {
                Thread.sleep(5);
            }
            assertTrue(Files.exists(nsPath), "the namespace never appeared:\n" + Files.readString(log));
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher still runs 30 s after SIGTERM");
            String out = Files.readString(log);
            assertFalse(Files.exists(nsPath), "namespace " + ns + " left behind after SIGTERM during start (exit "
                    + p.exitValue() + "):\n" + out);
            assertTrue(out.contains("stopped during start"), out);
            assertFalse(out.contains("netstack up"), out);
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            if (Files.exists(nsPath)) {
                new ProcessBuilder("ip", "netns", "del", ns).start().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(log);
        }
    }

    /**
     * A bad value (not a number, a negative --seconds, an unknown scheme, a port out of range, a
     * missing value, an unknown flag) is a usage error: exit 64 with "netstack: " and the message
     * naming the value, then the usage, and no stack trace. It is checked before the privileges,
     * so no root is needed (a non-root typo used to be told "needs root").
     */
    @Test
    void shouldExitWithUsageNamingTheValueForABadArgument() throws Exception {
        java.util.Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of("--seconds", "ten"), "--seconds 'ten' is not a whole number");
        cases.put(List.of("--seconds", "-1"), "--seconds -1 below 0");
        cases.put(List.of("--scheme", "rcu"), "unknown scheme 'rcu'");
        cases.put(List.of("--udp-echo", "0"), "--udp-echo port 0 outside 1..65535");
        cases.put(List.of("--seconds"), "--seconds needs a value");
        cases.put(List.of("--frobnicate"), "unknown argument '--frobnicate'");
        for (var c : cases.entrySet()) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-cp", classDirectories(),
                    Launcher.class.getName()));
            command.addAll(c.getKey());
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(64, p.exitValue(), c.getKey() + ":\n" + out);
            assertTrue(out.startsWith("netstack: " + c.getValue()), c.getKey() + ":\n" + out);
            assertTrue(out.contains("usage: bin/netstack"), c.getKey() + ":\n" + out);
            assertFalse(out.contains("Exception") || out.contains("\tat "), c.getKey() + ":\n" + out);
        }
    }

    /** Our own class folders only: user nobody may not read the Maven repository. */
    private static String classDirectories() {
        List<String> dirs = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.endsWith(".jar")) {
                dirs.add(entry);
            }
        }
        return String.join(File.pathSeparator, dirs);
    }

    @Test
    void shouldKillACommandThatOutlivesItsTimeoutAndSaySo() throws Exception {
        long start = System.nanoTime();
        java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> Launcher.run(List.of("sh", "-c", "echo started; exec sleep 30"), 1));
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        assertTrue(seconds < 10, "returned after " + seconds + " s, not at its 1 s timeout");
        assertTrue(e.getMessage().contains("did not finish within 1 s and was killed")
                && e.getMessage().contains("started"), e.getMessage());
        e = assertThrows(java.io.IOException.class, () -> Launcher.run(List.of("sh", "-c", "echo nope; exit 3"), 5));
        assertTrue(e.getMessage().contains("failed (exit 3): nope"), e.getMessage());
    }
}
