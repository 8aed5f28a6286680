/**
 * mpsafe: the primitives the BSD kernels built to remove their big network lock, for the JVM.
 *
 * <ul>
 *   <li>{@link dev.mpsafe.pcq} &mdash; NetBSD's bounded multi-producer, single-consumer queue.</li>
 *   <li>{@link dev.mpsafe.sync} &mdash; the grace-period contract shared by the schemes below.</li>
 *   <li>{@link dev.mpsafe.pserialize} &mdash; NetBSD's passive serialization, fenced or asymmetric
 *       ({@code membarrier(2)}).</li>
 *   <li>{@link dev.mpsafe.epoch} &mdash; epoch-based reclamation (FreeBSD epoch(9), ck_epoch).</li>
 *   <li>{@link dev.mpsafe.smr} &mdash; FreeBSD smr(9) with LAZY and DEFERRED modes, and the pools
 *       built on it: objects, and off-heap segments.</li>
 *   <li>{@link dev.mpsafe.kcont} &mdash; kernel continuations: workers with a pcq inbox, timer
 *       wheels, priority classes with per-round budgets.</li>
 *   <li>{@link dev.mpsafe.netstack.wire} &mdash; the netstack's wire formats: zero-copy, checked
 *       views of IPv4, ICMPv4, UDP and TCP headers over {@code MemorySegment}s, their validated
 *       reprs, and the internet checksum.</li>
 *   <li>{@link dev.mpsafe.netstack.ip} &mdash; the netstack's IP layer: the routing table,
 *       longest-prefix match read with no lock inside grace-period sections, and IPv4 input and
 *       output for a host with ICMP echo and rate-limited errors.</li>
 *   <li>{@link dev.mpsafe.netstack.tun} &mdash; Linux TUN devices through the FFM API: one packet
 *       per call on a non-blocking descriptor, multi-queue interfaces, errno-named failures.</li>
 *   <li>{@link dev.mpsafe.netstack.buffer} &mdash; pooled off-heap packet buffers with headroom,
 *       recycled after a grace period, with leak accounting.</li>
 *   <li>{@link dev.mpsafe.netstack.device} &mdash; the device interface, an in-memory link pair and
 *       loopback, and middleware: a pcap writer and a seeded fault injector.</li>
 *   <li>{@link dev.mpsafe.netstack.pcb} &mdash; protocol control block tables: BSD in_pcb
 *       demultiplexing (exact 4-tuple, then wildcard) read with no lock inside grace-period
 *       sections, per-bucket writers, RFC 6056 ephemeral ports.</li>
 * </ul>
 *
 * <p>The module needs only {@code java.base} and {@code jdk.jfr} (for stall events). The asymmetric
 * pserialize mode and the LAZY smr mode call {@code membarrier(2)} through the FFM API, a
 * restricted method: run with {@code --enable-native-access=dev.mpsafe} (or {@code ALL-UNNAMED} on
 * the class path) to avoid the JDK's warning; where native access is denied, those modes fall back
 * to fenced readers. The TUN devices of {@link dev.mpsafe.netstack.tun} need native access too; where
 * it is denied they report themselves unsupported.
 */
module dev.mpsafe {
    requires jdk.jfr;

    exports dev.mpsafe.pcq;
    exports dev.mpsafe.sync;
    exports dev.mpsafe.pserialize;
    exports dev.mpsafe.epoch;
    exports dev.mpsafe.smr;
    exports dev.mpsafe.kcont;
    exports dev.mpsafe.netstack.wire;
    exports dev.mpsafe.netstack.ip;
    exports dev.mpsafe.netstack.tun;
    exports dev.mpsafe.netstack.buffer;
    exports dev.mpsafe.netstack.device;
    exports dev.mpsafe.netstack.pcb;
    exports dev.mpsafe.netstack.udp;
}
