package dev.mpsafe.bench;

import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.sync.GraceOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The machine a report was measured on: what a reader needs to judge whether the figures apply to
 * theirs. The read-side modes are probed in the comparison's own JVM, which passes its flags on
 * to every benchmark fork, so the forks see the same answer.
 *
 * @param cpu the CPU model
 * @param cpus the processors the JVM may use
 * @param memory total memory
 * @param jdk the JDK vendor and version
 * @param os the operating system
 * @param jvmFlags the flags the benchmark forks inherit
 * @param loadAverage the 1/5/15-minute load average when the run began (Linux), or "unknown"
 * @param pserializeMode the pserialize mode an ASYMMETRIC request actually got, and why if not
 * @param smrLazyMode the SMR mode a LAZY request actually got, and why if not
 */
record Machine(String cpu, int cpus, String memory, String jdk, String os, String jvmFlags, String loadAverage,
        String pserializeMode, String smrLazyMode) {

    static Machine describe() {
        String jdk = System.getProperty("java.vm.vendor") + " " + System.getProperty("java.runtime.version") + " ("
                + System.getProperty("java.vm.name") + ")";
        String os = System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch");
        String pretty = field(Path.of("/etc/os-release"), "PRETTY_NAME=");
        if (pretty != null) {
            os += ", " + pretty.replace("\"", "");
        }
        return new Machine(cpuModel(), Runtime.getRuntime().availableProcessors(), readMemory(), jdk, os,
                String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()), readLoadAverage(),
                probePserialize(), probeSmrLazy());
    }

    /** Whether membarrier(2)-based read sides were active: the two probes agree on it. */
    boolean membarrier() {
        return pserializeMode.startsWith("ASYMMETRIC") && smrLazyMode.startsWith("LAZY");
    }

    String oneLine() {
        return String.format(Locale.ROOT, "%s, %d CPUs, %s, membarrier %s", cpu, cpus, jdk.split(" \\(")[0],
                membarrier() ? "on" : "off");
    }

    private static String probePserialize() {
        Pserialize p = Pserialize.create(GraceOptions.named("compare-probe"), Pserialize.Mode.ASYMMETRIC);
        return p.mode() == Pserialize.Mode.ASYMMETRIC ? "ASYMMETRIC (membarrier)"
                : p.mode() + ": ASYMMETRIC unavailable (" + Pserialize.asymmetricUnavailableReason() + ")";
    }

    private static String probeSmrLazy() {
        Smr s = Smr.create(GraceOptions.named("compare-probe"), Smr.Mode.LAZY);
        return s.mode() == Smr.Mode.LAZY ? "LAZY (membarrier)"
                : s.mode() + ": LAZY unavailable (" + Smr.lazyUnavailableReason() + ")";
    }

    private static String cpuModel() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        for (String key : List.of("model name", "Model", "Hardware", "CPU part")) {
            String v = field(cpuinfo, key);
            if (v != null) {
                int colon = v.indexOf(':');
                return (colon >= 0 ? v.substring(colon + 1) : v).trim();
            }
        }
        return System.getProperty("os.arch") + " (model unknown)";
    }

    private static String readMemory() {
        String total = field(Path.of("/proc/meminfo"), "MemTotal:");
        if (total == null) {
            return "unknown";
        }
        try {
            long kib = Long.parseLong(total.replaceAll("[^0-9]", ""));
            return String.format(Locale.ROOT, "%.1f GiB", kib / 1048576.0);
        } catch (NumberFormatException e) {
            return total.trim();
        }
    }

    private static String readLoadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The rest of the first line of {@code file} that starts with {@code prefix}, or null. */
    private static String field(Path file, String prefix) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(prefix)) {
                    return line.substring(prefix.length()).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
