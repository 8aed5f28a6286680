package dev.mpsafe.netstack.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/**
 * A fresh network namespace for one test (or one benchmark trial), deleted in all cases.
 *
 * <p>{@link #create()} runs {@code ip netns add mpsafe-PID-N} (a name no other run uses), disables
 * IPv6 in it (so the kernel does not send router solicitations into the tests' devices) and brings
 * {@code lo} up. {@link #openTun} creates a TUN interface inside it through
 * {@link Tun#open(String, Path)}; {@link #up} gives it an address and brings it up; {@link #exec}
 * runs a command inside ({@code ip netns exec}). {@link #close()} deletes the namespace, and a
 * shutdown hook does it if the JVM exits first (a killed JVM leaves it, with our name on it).
 *
 * <h2>Why setns on a short thread, and not a child JVM under {@code ip netns exec}</h2>
 * The kernel puts a TUN interface in the network namespace of the thread that opens
 * {@code /dev/net/tun}; after that the descriptor works from any thread. So only the open has to
 * happen inside: {@link Tun#open(String, Path)} does it from a platform thread that joins the
 * namespace with {@code setns(2)} (which moves only that thread) and ends. The test's responder
 * then runs in the test JVM itself: its counters are asserted directly, a failure is an ordinary
 * stack trace in the surefire report, no JVM start-up is paid per test, and no thread that runs
 * anything else ever sits in the namespace. The peers that must live inside ({@code ping}, the
 * address configuration) are ordinary processes started with {@code ip netns exec} / {@code ip -n}.
 * A child JVM would need a second main, a classpath hand-over, and output parsing for every
 * assertion.
 *
 * <p>Thread safety: not thread-safe; one test thread uses it.
 */
final class NetnsFixture implements AutoCloseable {

    private static final AtomicInteger NEXT = new AtomicInteger();

    private final String name;
    private final Thread cleanup;
    private final List<Tun> tuns = new ArrayList<>();
    private boolean closed;

    private NetnsFixture(String name) {
        this.name = name;
        this.cleanup = Thread.ofPlatform().unstarted(() -> delete(name));
    }

    /** Null when the namespace tests can run here, else why not (the skip message). */
    static String whyUnavailable() {
        if (!Tun.isSupported()) {
            return "TUN tests skipped: " + Tun.unsupportedReason();
        }
        int uid;
        try {
            uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return "TUN tests skipped: cannot read this process's uid from /proc/self (" + e + ")";
        }
        if (uid != 0) {
            return "TUN tests skipped: they need root (uid 0) to create network namespaces; this uid is " + uid
                    + ". Run them as root, e.g. sudo ./mvnw -o verify -Dtest='dev.mpsafe.netstack.tun.**'";
        }
        if (findOnPath("ip") == null) {
            return "TUN tests skipped: the ip command (iproute2) is not on PATH; install it (apt-get install iproute2)";
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return "TUN tests skipped: /dev/net/tun is missing; sudo modprobe tun (or --device /dev/net/tun in a container)";
        }
        return null;
    }

    /** Skips the calling test, with the reason, where {@link #whyUnavailable()} is not null. */
    static void assumeAvailable() {
        String why = whyUnavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    /** Skips the calling test unless {@code command} is on PATH. */
    static void assumeCommand(String command, String debianPackage) {
        Assumptions.assumeTrue(findOnPath(command) != null, "skipped: " + command + " is not on PATH; install "
                + debianPackage + " (apt-get install " + debianPackage + ")");
    }

    static Path findOnPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : new String[] {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Creates {@code mpsafe-PID-N}, IPv6 off, lo up. */
    static NetnsFixture create() throws IOException {
        String name = "mpsafe-" + ProcessHandle.current().pid() + "-" + NEXT.getAndIncrement();
        run(30, "ip", "netns", "add", name);
        NetnsFixture ns = new NetnsFixture(name);
        Runtime.getRuntime().addShutdownHook(ns.cleanup);
        try {
            ns.exec(30, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            ns.ip("link", "set", "lo", "up");
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    String name() {
        return name;
    }

    /** The namespace's file, for {@link Tun#open(String, Path)}. */
    Path path() {
        return Path.of("/run/netns", name);
    }

    /** A TUN interface inside the namespace; closed by {@link #close()} if the test has not. */
    Tun openTun(String ifname) throws IOException {
        Tun tun = Tun.open(ifname, path());
        tuns.add(tun);
        return tun;
    }

    /** A multi-queue TUN interface inside the namespace. */
    List<Tun> openQueues(String ifname, int queues) throws IOException {
        List<Tun> q = Tun.openQueues(ifname, queues, path());
        tuns.addAll(q);
        return q;
    }

    /** An action that opens something inside the namespace. */
    @FunctionalInterface
    interface Opener<T> {
        T open() throws IOException;
    }

    /**
     * Runs {@code opener} on a new platform thread that first joins the namespace with
     * {@code setns(2)} and ends right after, and returns what it opened. A socket belongs for good
     * to the namespace of the thread that created it, so a {@link java.nio.channels.DatagramChannel}
     * opened here is the kernel's UDP inside the namespace, usable from any thread; no thread that
     * runs anything else ever joins the namespace (as {@link Tun#open(String, Path)} does it).
     */
    <T> T inside(Opener<T> opener) throws IOException {
        Object[] result = new Object[1];
        Thread t = Thread.ofPlatform().name("netns-inside").start(() -> {
            try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                int nsFd = LinuxCalls.open(a.allocateFrom(path().toString()),
                        LinuxCalls.O_RDONLY | LinuxCalls.O_CLOEXEC);
                if (nsFd < 0) {
                    throw new ErrnoException("open(\"" + path() + "\")", LinuxCalls.errno(), null);
                }
                int rc = LinuxCalls.setns(nsFd, LinuxCalls.CLONE_NEWNET);
                int errno = LinuxCalls.errno();
                LinuxCalls.close(nsFd);
                if (rc < 0) {
                    throw new ErrnoException("setns(\"" + path() + "\", CLONE_NEWNET)", errno, null);
                }
                result[0] = opener.open();
            } catch (Throwable e) {
                result[0] = e;
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while opening inside netns " + name, e);
        }
        if (result[0] instanceof IOException e) {
            throw e;
        }
        if (result[0] instanceof Throwable e) {
            throw new IOException("opening inside netns " + name + " failed", e);
        }
        @SuppressWarnings("unchecked")
        T opened = (T) result[0];
        return opened;
    }

    /** {@code ip addr add CIDR dev IFNAME; ip link set IFNAME up}, inside. */
    void up(String ifname, String cidr) throws IOException {
        ip("addr", "add", cidr, "dev", ifname);
        ip("link", "set", ifname, "up");
    }

    /** {@code ip -n NAME ARGS...}; fails unless it exits 0. */
    Result ip(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", name));
        cmd.addAll(List.of(args));
        return run(30, cmd.toArray(String[]::new));
    }

    /** Runs {@code command} inside with {@code ip netns exec}; fails unless it exits 0. */
    Result exec(int timeoutSeconds, String... command) throws IOException {
        Result r = execAllowingFailure(timeoutSeconds, command);
        if (r.exitCode() != 0) {
            throw new IOException("in netns " + name + ": " + String.join(" ", command) + " exited "
                    + r.exitCode() + ":\n" + r.output());
        }
        return r;
    }

    /** Runs {@code command} inside; returns its exit code and output whatever it is. */
    Result execAllowingFailure(int timeoutSeconds, String... command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(List.of(command));
        return start(timeoutSeconds, cmd);
    }

    /** Closes the tests' devices, then deletes the namespace. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Tun t : tuns) {
            t.close();
        }
        delete(name);
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook runs, and deletes nothing that is left
        }
    }

    /** Whether {@code ip netns list} shows the namespace. */
    static boolean listed(String name) throws IOException {
        return run(30, "ip", "netns", "list").output().lines().anyMatch(l -> l.split(" ")[0].equals(name));
    }

    private static void delete(String name) {
        try {
            start(30, List.of("ip", "netns", "del", name));
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete network namespace " + name
                    + "; delete it by hand: ip netns del " + name, e);
        }
    }

    /** The exit code and the merged stdout and stderr of a command. */
    record Result(int exitCode, String output) {}

    private static Result run(int timeoutSeconds, String... command) throws IOException {
        Result r = start(timeoutSeconds, List.of(command));
        if (r.exitCode() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + r.exitCode() + ":\n" + r.output());
        }
        return r;
    }

    private static Result start(int timeoutSeconds, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        // read on another thread so a chatty command cannot block on a full pipe past its timeout
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = ("(output lost: " + e + ")").getBytes(StandardCharsets.UTF_8);
            }
        });
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new IOException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            reader.join(5_000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", command), e);
        }
        return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
    }
}
