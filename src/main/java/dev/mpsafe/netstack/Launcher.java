package dev.mpsafe.netstack;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.ip.Dispatch;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.tun.Tun;
import dev.mpsafe.netstack.tun.TunDevice;
import dev.mpsafe.netstack.udp.Udp;
import dev.mpsafe.netstack.udp.UdpSocket;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Brings the stack up on a TUN device inside a network namespace it creates, answers ping, runs a
 * UDP echo service (RFC 862) on port 7, prints live counters once a second, and on Ctrl-C (or
 * after {@code --seconds}) stops, deletes the namespace and checks that the packet pool balances.
 *
 * <pre>
 *   bin/netstack [--scheme smr|smr-lazy|epoch|pserialize] [--dispatch mpsafe|big-lock]
 *                [--udp-echo PORT|off] [--seconds N] [--namespace NAME]
 *   # then, from another terminal:
 *   sudo ip netns exec NAME ping 10.77.0.2
 *   echo hello | sudo ip netns exec NAME socat - UDP:10.77.0.2:7
 * </pre>
 *
 * It needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN (checked in {@code CapEff}: a container may
 * take them from root), {@code /dev/net/tun} and {@code ip} (iproute2); without them it says
 * exactly what is missing and exits with status 2. The kernel's
 * side of the link is 10.77.0.1/24, the stack is 10.77.0.2.
 *
 * <p>Exit status (also printed by {@code --help}):
 * <ul>
 *   <li>0: stopped clean after {@code --seconds}.
 *   <li>128 + N: stopped clean after signal N: 130 after Ctrl-C (SIGINT), 143 after SIGTERM. This
 *       is the status the JVM gives when a signal ends it, kept so that a shell or a supervisor
 *       sees the process ended by the signal it sent.
 *   <li>{@value #EXIT_UNCLEAN}: not clean, however the stop began (a signal, {@code --seconds}, a
 *       failure of the worker or of the echo service): a thread failed or did not end, the packet
 *       pool did not balance, closing the grace domain failed, or closing what an interrupted
 *       start had opened failed. The output says which, and ends with {@code netstack: the
 *       shutdown was not clean}. Also 1: a start that failed on its own (its stack trace).
 *   <li>{@value #EXIT_UNAVAILABLE}: the machine lacks what the launcher needs (the message says
 *       what).
 *   <li>{@value #EXIT_USAGE}: a bad command line (sysexits.h EX_USAGE).
 * </ul>
 */
public final class Launcher {

    static final String KERNEL_CIDR = "10.77.0.1/24";
    static final int STACK_ADDRESS = Ipv4Address.of(10, 77, 0, 2);
    static final int MTU = 1500;

    private final String namespace;
    private final GraceDomain domain;
    private final PacketPool pool;
    private final Ipv4Stack stack;
    private final TunDevice device;
    private final int ifindex;
    private final Thread worker;
    private final Udp udp;
    private final UdpSocket echo;
    private final Thread echoThread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stop;
    /** Why the worker ended, or null; set once, by the worker, before it counts down {@link #stopped}. */
    private volatile Throwable workerFailure;
    /** Why the echo service ended other than by {@link #stop}, or null; set once, by its thread. */
    private volatile Throwable echoFailure;
    /** What the first {@link #stop} returned; guarded by this. */
    private Boolean stopResult;
    /** Echo requests whose sender could not be answered (source port 0, no route back). */
    private final java.util.concurrent.atomic.AtomicLong echoUnanswerable = new java.util.concurrent.atomic.AtomicLong();

    private Launcher(String namespace, GraceDomain domain, PacketPool pool, Ipv4Stack stack, TunDevice device,
            int ifindex, Udp udp, UdpSocket echo) {
        this.namespace = namespace;
        this.udp = udp;
        this.echo = echo;
        this.echoThread = echo == null ? null : Thread.ofPlatform().name("netstack-udp-echo").unstarted(this::echo);
        this.domain = domain;
        this.pool = pool;
        this.stack = stack;
        this.device = device;
        this.ifindex = ifindex;
        this.worker = Thread.ofPlatform().name("netstack-worker").unstarted(this::work);
    }

    /** Exit status for a bad command line (sysexits.h EX_USAGE). */
    static final int EXIT_USAGE = 64;

    /** Exit status when the machine lacks what the launcher needs. */
    static final int EXIT_UNAVAILABLE = 2;

    /**
     * Exit status when the launcher stopped but not clean ({@link #stop} or
     * {@link Startup#shutdown} answered false), whether a signal, {@code --seconds} or a failure
     * began the stop.
     */
    static final int EXIT_UNCLEAN = 1;

    public static void main(String[] args) throws Exception {
        String scheme = "smr";
        long seconds = 0;
        String namespace = "mpsafe-" + ProcessHandle.current().pid();
        Dispatch dispatch = Dispatch.MPSAFE;
        int echoPort = 7;
        // Every argument is checked before the prerequisites: a typo is a usage error (exit 64,
        // EX_USAGE), not "needs root" and not a stack trace.
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--scheme" -> scheme = scheme(value(args, ++i, "--scheme"));
                    case "--seconds" -> seconds = seconds(value(args, ++i, "--seconds"));
                    case "--namespace" -> namespace = value(args, ++i, "--namespace");
                    case "--dispatch" -> dispatch = dispatch(value(args, ++i, "--dispatch"));
                    case "--udp-echo" -> echoPort = echoPort(value(args, ++i, "--udp-echo"));
                    case "-h", "--help" -> {
                        usage(System.out);
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("netstack: " + e.getMessage());
            usage(System.err);
            System.exit(EXIT_USAGE);
        }
        String missing = missingPrerequisite();
        if (missing != null) {
            System.err.println("netstack: " + missing);
            System.exit(EXIT_UNAVAILABLE);
        }
        // The hook goes in before start: a signal during start (after ip netns add, Tun.open, ...)
        // must close what start opened, and one after it must stop the launcher start returns.
        Startup startup = new Startup();
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("netstack-shutdown")
                .unstarted(() -> shutdownHook(startup)));
        Launcher launcher;
        try {
            launcher = start(namespace, domain(scheme), dispatch, echoPort, startup);
        } catch (Throwable t) {
            if (startup.isStopping()) {
                return; // a signal came during start: the hook closes what start opened and reports
            }
            throw t;
        }
        System.out.printf("netstack up: scheme %s, dispatch %s, stack %s on %s in namespace %s (kernel side %s)%n",
                scheme, dispatch, Ipv4Address.format(STACK_ADDRESS), launcher.device.name(), namespace, KERNEL_CIDR);
        System.out.printf("ping it from another terminal:  sudo ip netns exec %s ping %s%n", namespace,
                Ipv4Address.format(STACK_ADDRESS));
        if (echoPort != 0) {
            System.out.printf("UDP echo on port %d:  echo hello | sudo ip netns exec %s socat - UDP:%s:%d%n", echoPort,
                    namespace, Ipv4Address.format(STACK_ADDRESS), echoPort);
        }
        System.out.println("Ctrl-C stops it" + (seconds > 0 ? " (or it stops after " + seconds + " s)" : "") + ".");
        long deadline = seconds > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds) : Long.MAX_VALUE;
        while (!launcher.stopped.await(1, TimeUnit.SECONDS)) {
            System.out.println(launcher.stack.counters() + "; udp " + launcher.udp.counters() + "; "
                    + launcher.device.counters());
            if (System.nanoTime() - deadline >= 0) {
                break;
            }
        }
        System.exit(launcher.stop(System.out) ? 0 : EXIT_UNCLEAN);
    }

    /**
     * The shutdown hook: stops what {@code startup} started and, when that was not clean, ends
     * the JVM with {@link #EXIT_UNCLEAN}.
     */
    private static void shutdownHook(Startup startup) {
        /*
         * Why the hook halts. A signal (Ctrl-C, SIGTERM) makes the JVM run its shutdown hooks and
         * then exit with 128 + the signal's number, whatever the hooks found: a launcher whose
         * pool did not balance or whose worker had failed used to exit 143 after SIGTERM, exactly
         * as a clean one did, and a supervisor could not tell them apart. A hook cannot choose
         * the status with System.exit (during shutdown it blocks forever); Runtime.halt ends the
         * JVM at once with the status it is given. So an unclean stop halts with EXIT_UNCLEAN,
         * after flushing what the stop printed; a clean one returns and the JVM ends as it would
         * have: 128 + N after signal N, or main's own status.
         *
         * One rule, however the shutdown began: when main itself called System.exit, it had
         * stopped the launcher first, stop answers the hook with its cached result, and the hook
         * halts with EXIT_UNCLEAN only where main asked for that very status. A start that failed
         * on its own (main's uncaught exception, status 1) has nothing left for the hook to
         * close, so the hook answers clean and changes nothing.
         *
         * What halting skips: the JDK's hooks that run after the application's (DeleteOnExit: the
         * launcher deletes no file on exit) and any other application hook still running beside
         * this one (the launcher registers none, and hooks run concurrently in no fixed order, so
         * none could count on running after this one anyway).
         */
        if (!startup.shutdown(System.out)) {
            System.out.println("netstack: the shutdown was not clean (see above): exit status " + EXIT_UNCLEAN);
            System.out.flush();
            System.err.flush(); // deleteNamespace reports there
            Runtime.getRuntime().halt(EXIT_UNCLEAN);
        }
    }

    /**
     * What this machine lacks to run the launcher, as instructions, or null when nothing is
     * missing.
     */
    static String missingPrerequisite() {
        if (!Tun.isSupported()) {
            return "TUN devices are unavailable here: " + Tun.unsupportedReason();
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return "/dev/net/tun does not exist: load the tun module (sudo modprobe tun), or in a container "
                    + "run with --device /dev/net/tun --cap-add NET_ADMIN --cap-add SYS_ADMIN";
        }
        if (findIp() == null) {
            return "the 'ip' command (iproute2) is not installed: sudo apt-get install iproute2";
        }
        String status;
        try {
            status = Files.readString(Path.of("/proc/self/status"));
        } catch (IOException e) {
            return "cannot read /proc/self/status to check privileges (" + e.getMessage() + ")";
        }
        return missingPrivilege(status);
    }

    /** CAP_NET_ADMIN's bit in a capability set (linux/capability.h): TUNSETIFF, ip link, ip addr. */
    static final int CAP_NET_ADMIN = 12;
    /** CAP_SYS_ADMIN's bit: setns(2) into the namespace, the mount that ip netns add makes. */
    static final int CAP_SYS_ADMIN = 21;

    /**
     * What the process whose {@code /proc/PID/status} text is {@code status} lacks to run the
     * launcher, as instructions, or null. It needs root (effective uid 0: {@code ip netns add}
     * writes under {@code /run/netns}, and the {@code ip} commands the launcher runs would not
     * inherit file capabilities given to the JVM) and, in its effective set ({@code CapEff}),
     * CAP_NET_ADMIN and CAP_SYS_ADMIN, which a container or a bounding set may take from root.
     */
    static String missingPrivilege(String status) {
        String uid = null;
        String capEff = null;
        for (String line : status.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f[0].equals("Uid:") && f.length >= 3) {
                uid = f[2]; // real, effective, saved, filesystem
            } else if (f[0].equals("CapEff:") && f.length >= 2) {
                capEff = f[1];
            }
        }
        if (uid == null || capEff == null) {
            return "cannot check privileges: /proc/self/status has no " + (uid == null ? "Uid:" : "CapEff:")
                    + " line";
        }
        long caps;
        try {
            caps = Long.parseUnsignedLong(capEff, 16);
        } catch (NumberFormatException e) {
            return "cannot check privileges: CapEff '" + capEff + "' in /proc/self/status is not hexadecimal";
        }
        if (!uid.equals("0")) {
            return "creating a network namespace and a TUN device needs root: run it with sudo (sudo bin/netstack); "
                    + "this process runs as uid " + uid + " (capabilities alone are not enough: ip netns add "
                    + "writes /run/netns, and the ip commands it runs do not inherit the JVM's file capabilities)";
        }
        List<String> missing = new ArrayList<>();
        if ((caps & (1L << CAP_NET_ADMIN)) == 0) {
            missing.add("CAP_NET_ADMIN");
        }
        if ((caps & (1L << CAP_SYS_ADMIN)) == 0) {
            missing.add("CAP_SYS_ADMIN");
        }
        if (!missing.isEmpty()) {
            return "creating a network namespace and a TUN device needs CAP_NET_ADMIN and CAP_SYS_ADMIN, and this "
                    + "root process lacks " + String.join(" and ", missing) + " (CapEff " + capEff + "): run it "
                    + "with sudo on the host, or in a container with --cap-add NET_ADMIN --cap-add SYS_ADMIN";
        }
        return null;
    }

    /** As {@link #start(String, GraceDomain, Dispatch, int)} with MPSAFE and UDP echo on port 7. */
    static Launcher start(String namespace, GraceDomain domain) throws IOException, InterruptedException {
        return start(namespace, domain, Dispatch.MPSAFE, 7);
    }

    /**
     * Creates the namespace and the TUN device, builds the stack on it and starts its worker, and
     * the UDP echo service on {@code echoPort} unless it is 0.
     *
     * <p>The launcher owns {@code domain} from this call on: {@link #stop} closes it (when it is
     * {@link AutoCloseable}, as {@link Epoch} is). If any step fails (an {@code ip} call, the TUN
     * open, a builder step, an interrupt), everything opened so far is closed in reverse order:
     * the echo socket, the packet pool (after a barrier when the domain defers), the TUN device,
     * the namespace (only one this call created: a name already in use is left alone), and
     * {@code domain}; then the failure is rethrown, with any failure of the clean-up suppressed in
     * it.
     */
    static Launcher start(String namespace, GraceDomain domain, Dispatch dispatch, int echoPort)
            throws IOException, InterruptedException {
        return start(namespace, domain, dispatch, echoPort, new Startup());
    }

    /**
     * As {@link #start(String, GraceDomain, Dispatch, int)}, recording what it opens in
     * {@code startup}, whose {@link Startup#shutdown} (main's shutdown hook) closes it if a signal
     * comes before start returns, or stops the launcher once it has.
     */
    static Launcher start(String namespace, GraceDomain domain, Dispatch dispatch, int echoPort, Startup startup)
            throws IOException, InterruptedException {
        java.util.Objects.requireNonNull(namespace, "namespace");
        java.util.Objects.requireNonNull(domain, "domain");
        java.util.Objects.requireNonNull(dispatch, "dispatch");
        // What is open so far, closed last-in first-out if a later step throws or a shutdown begins.
        final Startup opened = startup;
        opened.begin();
        try {
            if (domain instanceof AutoCloseable c) {
                opened.push(c::close);
            }
            ip("netns", "add", namespace);
            opened.push(() -> deleteNamespace(namespace));
            step("namespace", namespace);
            opened.check();
            ip("-n", namespace, "link", "set", "lo", "up");
            Tun tun = Tun.open("tun0", Path.of("/run/netns", namespace));
            opened.push(tun::close);
            step("tun", tun);
            ip("-n", namespace, "link", "set", "tun0", "mtu", Integer.toString(MTU));
            ip("-n", namespace, "addr", "add", KERNEL_CIDR, "dev", "tun0");
            ip("-n", namespace, "link", "set", "tun0", "up");
            PacketPool pool = PacketPool.create(Smr.create("netstack-packets", Smr.Mode.DEFAULT), 2048, 16L << 20);
            opened.push(pool::close);
            step("pool", pool);
            opened.check();
            Ipv4Stack stack = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(System::nanoTime)
                    .dispatch(dispatch).build();
            TunDevice device = TunDevice.of(tun, pool, MTU, 64);
            opened.push(device::close); // no buffers of its own; closes the TUN (again: idempotent)
            int ifindex = stack.attach(device);
            stack.addAddress(ifindex, STACK_ADDRESS, 24);
            Udp udp = Udp.attach(stack);
            step("stack", stack);
            opened.check();
            if (domain instanceof dev.mpsafe.sync.Deferring d) {
                opened.push(d::barrier); // runs after the socket's close: its queue is freed by a callback
            }
            UdpSocket echo = null;
            if (echoPort != 0) {
                UdpSocket socket = udp.open(1024);
                opened.push(socket::close);
                echo = socket.bind(new InetSocketAddress(echoPort));
            }
            step("echo", echo);
            opened.check();
            Launcher launcher = new Launcher(namespace, domain, pool, stack, device, ifindex, udp, echo);
            opened.push(() -> {
                if (!launcher.stopThreads()) {
                    // As stop() does: closing the pool, device or domain under a running thread
                    // would free memory it still uses. Leave them, and say so.
                    opened.abandon();
                    throw new IllegalStateException("the launcher's threads did not end within 5 s: the pool, the"
                            + " device, the namespace and the grace domain were left open");
                }
            });
            opened.startThreads(launcher);
            step("started", launcher);
            opened.handOver(launcher);
            return launcher;
        } catch (Throwable t) {
            opened.unwind(t);
            throw t;
        } finally {
            opened.end();
        }
    }

    /**
     * What one {@link #start} has opened, shared with the shutdown hook of {@link #main}: the hook
     * may run at any moment of start, on its own thread. Everything is guarded by this object's
     * lock, so each item is closed exactly once, by whichever of start's failure path and the hook
     * pops it. A signal during start sets {@code stopping}; the hook then waits (bounded: each
     * {@code ip} is killed after {@value #IP_TIMEOUT_SECONDS} s) for start to reach its next check,
     * where start throws and closes what it opened. Once start has handed the launcher over, the
     * hook stops it as before. The launcher's threads start under the lock, so the hook never
     * closes the pool under a worker it did not see. What fails to close while a shutdown is
     * under way is kept for the hook, which reports it and answers unclean.
     */
    static final class Startup {
        /** LIFO: the last thing opened is closed first. */
        private final java.util.ArrayDeque<Cleanup> opened = new java.util.ArrayDeque<>();
        private boolean starting;
        private boolean stopping;
        private Launcher launcher;
        /** What failed to close in an {@link #unwind} after {@code stopping} was set, for the hook. */
        private final List<Throwable> closeFailures = new ArrayList<>();
        /**
         * Start ended without a launcher before any shutdown began: it failed on its own, and its
         * exception (with whatever failed to close, suppressed in it) is main's to report.
         */
        private boolean failedOnItsOwn;

        synchronized void begin() {
            if (starting || launcher != null) {
                throw new IllegalStateException("this Startup is used by a start already");
            }
            starting = true;
        }

        synchronized void end() {
            starting = false;
            failedOnItsOwn = launcher == null && !stopping;
            notifyAll();
        }

        synchronized boolean isStopping() {
            return stopping;
        }

        /** Records {@code c}; throws at once (start then unwinds it) when a shutdown has begun. */
        synchronized void push(Cleanup c) throws InterruptedException {
            opened.push(c);
            check();
        }

        synchronized void check() throws InterruptedException {
            if (stopping) {
                throw new InterruptedException("the JVM began to shut down (a signal) during start: closing what"
                        + " start opened");
            }
        }

        /** Forgets what is open: a thread still runs, so nothing may be closed under it. */
        synchronized void abandon() {
            opened.clear();
        }

        synchronized void startThreads(Launcher l) throws InterruptedException {
            check();
            l.worker.start();
            if (l.echoThread != null) {
                l.echoThread.start();
            }
        }

        /** From here on {@link Launcher#stop} closes everything; fails if a shutdown began first. */
        synchronized void handOver(Launcher l) throws InterruptedException {
            check();
            launcher = l;
            opened.clear();
        }

        /**
         * Closes what is open, last first, each failure suppressed in {@code t}; once a shutdown
         * has begun, also kept for {@link #shutdown} to report (main drops {@code t} then).
         */
        synchronized void unwind(Throwable t) {
            while (!opened.isEmpty()) {
                try {
                    opened.pop().close();
                } catch (Throwable c) {
                    t.addSuppressed(c);
                    if (stopping) {
                        closeFailures.add(c);
                    }
                }
            }
        }

        /**
         * The shutdown hook's work: stops the launcher, or has start close what it opened.
         *
         * @return whether that was clean: {@link Launcher#stop}'s answer once start has handed the
         *     launcher over; before, whether start reached a check in time and everything it had
         *     opened closed without failure; true once start failed on its own (main's exception
         *     reports that failure, and its status is main's)
         */
        boolean shutdown(PrintStream out) {
            Launcher l;
            List<Throwable> failed;
            synchronized (this) {
                stopping = true;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3 * IP_TIMEOUT_SECONDS);
                try {
                    for (long left; starting && (left = deadline - System.nanoTime()) > 0; ) {
                        TimeUnit.NANOSECONDS.timedWait(this, left);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (starting) { // start is stuck in a step: close what it has opened so far
                    Exception e = new IllegalStateException("start did not reach a check within "
                            + 3 * IP_TIMEOUT_SECONDS + " s of the signal");
                    unwind(e);
                    out.println("netstack: " + e.getMessage() + "; closed what it had opened"
                            + (e.getSuppressed().length == 0 ? "" : ", with failures: " + List.of(e.getSuppressed())));
                    return false; // start is still inside a step, and the hook closed things under it
                }
                l = launcher;
                failed = List.copyOf(closeFailures);
                if (failedOnItsOwn) {
                    // No signal stopped it: it unwound itself, and main reports its exception.
                    out.println("netstack: start failed on its own (see its exception, which also lists anything"
                            + " that failed to close)");
                    return true;
                }
            }
            if (l != null) {
                return l.stop(out);
            }
            if (!failed.isEmpty()) {
                out.println("netstack: stopped during start; closing what it had opened failed: " + failed);
                return false;
            }
            out.println("netstack: stopped during start; closed what it had opened");
            return true;
        }
    }

    /** One thing {@link #start} opened, and how to close it. Package-private for the tests. */
    @FunctionalInterface
    interface Cleanup {
        void close() throws Exception;
    }

    /**
     * A test's hook into {@link #start}: called after each step with what it opened, and by the
     * echo service with each sender ({@code "echo-received"}).
     */
    @FunctionalInterface
    interface StartHook {
        void reached(String step, Object opened) throws IOException, InterruptedException;
    }

    /** Test only: makes a step of {@link #start} fail. Null in production. */
    static volatile StartHook startHook;

    private static void step(String step, Object opened) throws IOException, InterruptedException {
        StartHook hook = startHook;
        if (hook != null) {
            hook.reached(step, opened);
        }
    }

    /** Stops the worker and the echo service, waiting up to 5 s for each; false if one still runs. */
    private boolean stopThreads() throws InterruptedException {
        stop = true;
        worker.join(5_000); // returns at once for a thread never started
        if (echo != null) {
            echo.close(); // wakes the echo thread, frees what is queued after a grace period
            echoThread.join(5_000);
        }
        return !worker.isAlive() && (echoThread == null || !echoThread.isAlive());
    }

    /**
     * The worker: waits for packets and has the stack process them, until {@link #stop} or until
     * the device goes down for good (the interface was deleted: {@code poll} then reports the
     * descriptor ready at once and every read fails, so the loop must end, not spin). The device's
     * error becomes {@link #workerFailure}, which {@link #stop} prints, and the main thread, woken
     * by {@link #stopped}, shuts down.
     */
    private void work() {
        try {
            while (!stop) {
                if (device.tun().awaitReadable(100, TimeUnit.MILLISECONDS)) {
                    stack.poll(ifindex, 64);
                }
                IOException down = device.failure();
                if (down != null) {
                    throw new IOException("device " + device.name() + " is down for good, the worker stopped: "
                            + down.getMessage(), down);
                }
            }
        } catch (Throwable t) {
            workerFailure = t;
        } finally {
            stopped.countDown();
        }
    }

    /**
     * The UDP echo service: sends every datagram back to its sender, until the socket closes. A
     * datagram that cannot be answered (source port 0, a source with no route back) is a counted
     * drop, never the end of the service. Any other failure ends it: it becomes
     * {@link #echoFailure} and wakes the main thread through {@link #stopped}, as the worker's
     * does, so the launcher shuts down and reports it instead of running on without its echo
     * service.
     */
    private void echo() {
        ByteBuffer b = ByteBuffer.allocateDirect(65536);
        try {
            while (true) {
                b.clear();
                InetSocketAddress from = echo.receive(b); // parks until a datagram comes
                step("echo-received", from); // a test may make the service fail here
                try {
                    echo.send(b.flip(), from);
                } catch (ClosedChannelException e) {
                    throw e;
                } catch (IOException | IllegalArgumentException e) {
                    echoUnanswerable.incrementAndGet(); // the sender's address cannot be replied to
                }
            }
        } catch (ClosedChannelException e) { // AsynchronousCloseException included
            // stop() closed the socket
        } catch (Throwable t) {
            echoFailure = t;
            stopped.countDown(); // wake main, as a worker failure does: it shuts down and reports this
        }
    }

    /**
     * Stops the worker, closes the device, deletes the namespace, checks and closes the pool, and
     * closes the grace domain (when it is {@link AutoCloseable}); prints the final counters.
     * Idempotent (the shutdown hook and the main thread may both call it): a later call returns
     * the first one's answer. If the worker or the echo thread does not end within 5 s, the pool
     * and the domain are left open (closing them could free memory a running thread still uses),
     * and the answer is false.
     *
     * @return whether everything ended clean: no failure of the worker or the echo service, both
     *     threads ended, a balanced pool, a grace domain that closed
     */
    synchronized boolean stop(PrintStream out) {
        if (stopResult != null) {
            return stopResult;
        }
        boolean clean = true;
        boolean ended = false;
        try {
            ended = stopThreads();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (domain instanceof dev.mpsafe.sync.Deferring d) {
            d.barrier(); // the closed socket's queue is freed by a deferred callback
        }
        device.close();
        deleteNamespace(namespace);
        out.println("netstack down: " + stack.counters() + "; udp " + udp.counters() + "; " + device.counters()
                + "; echo unanswerable " + echoUnanswerable.get());
        // Each thread's failure under its own name: both may have failed, independently.
        final Throwable workerFailure = this.workerFailure;
        if (workerFailure != null) {
            out.println("netstack: the worker failed: " + workerFailure);
            clean = false;
        }
        final Throwable echoFailure = this.echoFailure;
        if (echoFailure != null) {
            out.println("netstack: the echo service failed: " + echoFailure);
            clean = false;
        }
        try {
            pool.checkBalanced();
            out.println("netstack: packet pool balanced (" + pool.allocated() + " buffers allocated and freed)");
        } catch (IllegalStateException e) {
            out.println("netstack: " + e.getMessage());
            clean = false;
        }
        if (ended) {
            pool.close();
            if (domain instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    out.println("netstack: closing the grace domain failed: " + e);
                    clean = false;
                }
            }
        } else {
            out.println("netstack: the worker or the echo thread is still running after 5 s: "
                    + "the packet pool and the grace domain are left open");
            clean = false;
        }
        stopResult = clean;
        return clean;
    }

    PacketPool pool() {
        return pool;
    }

    String namespace() {
        return namespace;
    }

    /**
     * Waits until the worker has ended (after {@link #stop}, or a failure) or the echo service
     * failed; false on timeout.
     */
    boolean awaitWorker(long timeout, TimeUnit unit) throws InterruptedException {
        return stopped.await(timeout, unit);
    }

    /** Why the worker failed, or else why the echo service failed, or null. */
    Throwable failure() {
        final Throwable workerFailure = this.workerFailure;
        return workerFailure != null ? workerFailure : echoFailure;
    }

    TunDevice device() {
        return device;
    }

    Ipv4Stack stack() {
        return stack;
    }

    Udp udp() {
        return udp;
    }

    static Dispatch dispatch(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mpsafe" -> Dispatch.MPSAFE;
            case "big-lock", "big_lock", "biglock" -> Dispatch.BIG_LOCK;
            default -> throw new IllegalArgumentException("unknown dispatch model '" + name + "'; use mpsafe or big-lock");
        };
    }

    static int echoPort(String value) {
        if (value.equalsIgnoreCase("off")) {
            return 0;
        }
        int port;
        try {
            port = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--udp-echo '" + value + "' is not a port number (1..65535) or off");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("--udp-echo port " + port + " outside 1..65535");
        }
        return port;
    }

    /** {@code name} if it is a scheme {@link #domain} knows (any case); else names the choices. */
    static String scheme(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "smr", "smr-lazy", "epoch", "pserialize" -> name;
            default -> throw new IllegalArgumentException("unknown scheme '" + name
                    + "'; use smr, smr-lazy, epoch or pserialize");
        };
    }

    /** The value of {@code --seconds}: 0 (no limit) or more. */
    static long seconds(String value) {
        long seconds;
        try {
            seconds = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seconds '" + value + "' is not a whole number of seconds (0 or more;"
                    + " 0: no limit)");
        }
        if (seconds < 0) {
            throw new IllegalArgumentException("--seconds " + seconds + " below 0 (0: no limit)");
        }
        return seconds;
    }

    static GraceDomain domain(String scheme) {
        GraceOptions options = GraceOptions.named("netstack");
        return switch (scheme.toLowerCase(Locale.ROOT)) {
            case "smr" -> Smr.create(options, Smr.Mode.DEFAULT);
            case "smr-lazy" -> Smr.create(options, Smr.Mode.LAZY);
            case "epoch" -> Epoch.create(options);
            case "pserialize" -> Pserialize.create(options, Pserialize.Mode.FENCED);
            default -> throw new IllegalArgumentException("unknown scheme '" + scheme
                    + "'; use smr, smr-lazy, epoch or pserialize");
        };
    }

    /**
     * Deletes the namespace; says what to run by hand if that fails. Runs even when this thread
     * was interrupted (the clean-up after an interrupted start): the flag is put back afterwards.
     */
    private static void deleteNamespace(String namespace) {
        boolean interrupted = Thread.interrupted();
        try {
            ip("netns", "del", namespace);
        } catch (IOException | InterruptedException e) {
            System.err.println("netstack: could not delete namespace " + namespace + " (" + e.getMessage()
                    + "): run  sudo ip netns del " + namespace);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** How long one {@code ip} command may take before it is killed. */
    static final long IP_TIMEOUT_SECONDS = 10;

    /**
     * Runs {@code ip ARGS}; throws with its output when it fails or takes longer than
     * {@value #IP_TIMEOUT_SECONDS} s (then it is killed). The output goes to a temporary file, so a
     * hung {@code ip} cannot block us in a read before the timed wait.
     */
    private static void ip(String... args) throws IOException, InterruptedException {
        String ip = findIp();
        if (ip == null) {
            throw new IOException("no ip command in /usr/sbin, /sbin, /usr/bin or /bin: install iproute2");
        }
        List<String> command = new ArrayList<>();
        command.add(ip);
        command.addAll(List.of(args));
        run(command, IP_TIMEOUT_SECONDS);
    }

    /** Runs {@code command}, killing it after {@code timeoutSeconds}; throws with its output on failure. */
    static void run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("mpsafe-ip-", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            boolean ended;
            try {
                ended = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            } finally {
                if (p.isAlive()) {
                    p.destroyForcibly(); // timed out, or we were interrupted: leave no ip behind
                }
            }
            String output = Files.readString(out, StandardCharsets.UTF_8).trim();
            if (!ended) {
                throw new IOException(String.join(" ", command) + " did not finish within " + timeoutSeconds
                        + " s and was killed; its output so far: " + output);
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + output);
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static String findIp() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            Path ip = Path.of(dir, "ip");
            if (Files.isExecutable(ip)) {
                return ip.toString();
            }
        }
        return null;
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static void usage(PrintStream out) {
        out.println("usage: bin/netstack [--scheme smr|smr-lazy|epoch|pserialize] [--dispatch mpsafe|big-lock]");
        out.println("                    [--udp-echo PORT|off] [--seconds N] [--namespace NAME]");
        out.println("exit status: 0 stopped clean after --seconds; 128+N stopped clean after signal N (130 Ctrl-C,");
        out.println("             143 SIGTERM); " + EXIT_UNCLEAN + " not clean, the output says why; " + EXIT_UNAVAILABLE
                + " this machine lacks what it needs;");
        out.println("             " + EXIT_USAGE + " bad command line");
    }
}
