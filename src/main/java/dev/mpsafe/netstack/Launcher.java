package dev.mpsafe.netstack;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.ip.RouteTable;
import dev.mpsafe.netstack.tun.Tun;
import dev.mpsafe.netstack.tun.TunDevice;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.GraceOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Brings the stack up on a TUN device inside a network namespace it creates, answers ping, prints
 * live counters once a second, and on Ctrl-C (or after {@code --seconds}) stops, deletes the
 * namespace and checks that the packet pool balances.
 *
 * <pre>
 *   bin/netstack [--scheme smr|smr-lazy|epoch|pserialize] [--seconds N] [--namespace NAME]
 *   # then, from another terminal:
 *   sudo ip netns exec NAME ping 10.77.0.2
 * </pre>
 *
 * It needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), {@code /dev/net/tun} and {@code ip}
 * (iproute2); without them it says exactly what is missing and exits with status 2. The kernel's
 * side of the link is 10.77.0.1/24, the stack is 10.77.0.2.
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
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stop;
    private volatile Throwable failure;

    private Launcher(String namespace, GraceDomain domain, PacketPool pool, Ipv4Stack stack, TunDevice device,
            int ifindex) {
        this.namespace = namespace;
        this.domain = domain;
        this.pool = pool;
        this.stack = stack;
        this.device = device;
        this.ifindex = ifindex;
        this.worker = Thread.ofPlatform().name("netstack-worker").unstarted(this::work);
    }

    /** Exit status when the machine lacks what the launcher needs. */
    static final int EXIT_UNAVAILABLE = 2;

    public static void main(String[] args) throws Exception {
        String scheme = "smr";
        long seconds = 0;
        String namespace = "mpsafe-" + ProcessHandle.current().pid();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--scheme" -> scheme = value(args, ++i, "--scheme");
                case "--seconds" -> seconds = Long.parseLong(value(args, ++i, "--seconds"));
                case "--namespace" -> namespace = value(args, ++i, "--namespace");
                case "-h", "--help" -> {
                    usage(System.out);
                    return;
                }
                default -> {
                    usage(System.err);
                    System.exit(64);
                }
            }
        }
        String missing = missingPrerequisite();
        if (missing != null) {
            System.err.println("netstack: " + missing);
            System.exit(EXIT_UNAVAILABLE);
        }
        Launcher launcher = start(namespace, domain(scheme));
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> launcher.stop(System.out)));
        System.out.printf("netstack up: scheme %s, stack %s on %s in namespace %s (kernel side %s)%n", scheme,
                Ipv4Address.format(STACK_ADDRESS), launcher.device.name(), namespace, KERNEL_CIDR);
        System.out.printf("ping it from another terminal:  sudo ip netns exec %s ping %s%n", namespace,
                Ipv4Address.format(STACK_ADDRESS));
        System.out.println("Ctrl-C stops it" + (seconds > 0 ? " (or it stops after " + seconds + " s)" : "") + ".");
        long deadline = seconds > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds) : Long.MAX_VALUE;
        while (!launcher.stopped.await(1, TimeUnit.SECONDS)) {
            System.out.println(launcher.stack.counters() + "; " + launcher.device.counters());
            if (System.nanoTime() - deadline >= 0) {
                break;
            }
        }
        System.exit(launcher.stop(System.out) ? 0 : 1);
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
        if (!isRoot()) {
            return "creating a network namespace and a TUN device needs root: run it with sudo "
                    + "(sudo bin/netstack), or as a user with CAP_NET_ADMIN and CAP_SYS_ADMIN";
        }
        return null;
    }

    /** Creates the namespace and the TUN device, builds the stack on it and starts its worker. */
    static Launcher start(String namespace, GraceDomain domain) throws IOException, InterruptedException {
        ip("netns", "add", namespace);
        try {
            ip("-n", namespace, "link", "set", "lo", "up");
            Tun tun = Tun.open("tun0", Path.of("/run/netns", namespace));
            ip("-n", namespace, "link", "set", "tun0", "mtu", Integer.toString(MTU));
            ip("-n", namespace, "addr", "add", KERNEL_CIDR, "dev", "tun0");
            ip("-n", namespace, "link", "set", "tun0", "up");
            PacketPool pool = PacketPool.create(Smr.create("netstack-packets", Smr.Mode.DEFAULT), 2048, 16L << 20);
            Ipv4Stack stack = Ipv4Stack.builder(domain, pool, RouteTable.create(domain)).clock(System::nanoTime)
                    .build();
            TunDevice device = TunDevice.of(tun, pool, MTU, 64);
            int ifindex = stack.attach(device);
            stack.addAddress(ifindex, STACK_ADDRESS, 24);
            Launcher launcher = new Launcher(namespace, domain, pool, stack, device, ifindex);
            launcher.worker.start();
            return launcher;
        } catch (IOException | RuntimeException e) {
            deleteNamespace(namespace);
            throw e;
        }
    }

    private void work() {
        try {
            while (!stop) {
                if (device.tun().awaitReadable(100, TimeUnit.MILLISECONDS)) {
                    stack.poll(ifindex, 64);
                }
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            stopped.countDown();
        }
    }

    /**
     * Stops the worker, closes the device, deletes the namespace and checks the pool; prints the
     * final counters. Idempotent (the shutdown hook and the main thread may both call it).
     *
     * @return whether everything ended clean: no worker failure and a balanced pool
     */
    synchronized boolean stop(PrintStream out) {
        if (stop && !worker.isAlive() && !device.tun().isOpen()) {
            return failure == null;
        }
        stop = true;
        boolean clean = true;
        try {
            worker.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        device.close();
        deleteNamespace(namespace);
        out.println("netstack down: " + stack.counters() + "; " + device.counters());
        if (failure != null) {
            out.println("netstack: the worker failed: " + failure);
            clean = false;
        }
        try {
            pool.checkBalanced();
            out.println("netstack: packet pool balanced (" + pool.allocated() + " buffers allocated and freed)");
        } catch (IllegalStateException e) {
            out.println("netstack: " + e.getMessage());
            clean = false;
        }
        if (domain instanceof Epoch e) {
            e.close();
        }
        return clean;
    }

    String namespace() {
        return namespace;
    }

    Ipv4Stack stack() {
        return stack;
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

    private static void deleteNamespace(String namespace) {
        try {
            ip("netns", "del", namespace);
        } catch (IOException | InterruptedException e) {
            System.err.println("netstack: could not delete namespace " + namespace + " (" + e.getMessage()
                    + "): run  sudo ip netns del " + namespace);
        }
    }

    /** Runs {@code ip ARGS}; throws with its output when it fails. */
    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(findIp());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
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

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0"); // the effective uid
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static void usage(PrintStream out) {
        out.println("usage: bin/netstack [--scheme smr|smr-lazy|epoch|pserialize] [--seconds N] [--namespace NAME]");
    }
}
