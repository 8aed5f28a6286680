package dev.mpsafe.netstack.tun;

import java.io.IOException;

/**
 * A TUN device cannot be had here at all, as opposed to one call failing: not Linux, no
 * {@code /dev/net/tun}, no permission to open it, no {@code CAP_NET_ADMIN}, or native access denied
 * to this module. The message says what is missing and exactly what to do about it; the cause, if
 * any, is the {@link ErrnoException} of the call that was refused.
 *
 * <p>Thread safety: immutable.
 */
public final class TunUnavailableException extends IOException {

    private static final long serialVersionUID = 1L;

    /** What to do, appended to every message that is about privileges. */
    static final String WHAT_TO_DO = "a TUN device needs CAP_NET_ADMIN and read-write access to /dev/net/tun. Either"
            + " run as root (sudo java ...); or give the JVM the capability"
            + " (sudo setcap cap_net_admin+ep \"$(readlink -f \"$(command -v java)\")\");"
            + " or run inside a network namespace where you hold it (sudo ip netns add NAME;"
            + " sudo ip netns exec NAME java ..., or unshare -rn java ... where /dev/net/tun is mode 0666);"
            + " or let root create a persistent device that you own (sudo ip tuntap add dev NAME mode tun"
            + " user \"$USER\") and open that NAME. In a container, start it with --device /dev/net/tun"
            + " --cap-add NET_ADMIN";

    TunUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
