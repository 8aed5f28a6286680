/**
 * Linux TUN devices through the Foreign Function &amp; Memory API (no JNI): the netstack's link to
 * a real peer, the Linux kernel's own IP stack.
 *
 * <p>{@link dev.mpsafe.netstack.tun.Tun} opens {@code /dev/net/tun}, attaches an interface with
 * {@code ioctl(TUNSETIFF)} ({@code IFF_TUN | IFF_NO_PI}: whole IP packets, no link header), and
 * reads and writes one packet per call on a non-blocking descriptor, waiting in {@code poll(2)}
 * with a timeout so a reader can be stopped. Several queues of one {@code IFF_MULTI_QUEUE}
 * interface let one thread per queue serve its own flows; measured against the single-syscall loop
 * on a 2-core machine, it did not pay there ({@code docs/netstack.md}, section TUN).
 *
 * <p>Failures name the system call, the errno value, its name and meaning
 * ({@link dev.mpsafe.netstack.tun.ErrnoException}); a host that cannot give this process a TUN
 * device at all (not Linux, no {@code /dev/net/tun}, no {@code CAP_NET_ADMIN}, native access
 * denied) gets a {@link dev.mpsafe.netstack.tun.TunUnavailableException} that says what to do.
 *
 * <p>The calls are restricted methods: run with {@code --enable-native-access=dev.mpsafe} (or
 * {@code ALL-UNNAMED} on the class path).
 */
package dev.mpsafe.netstack.tun;
