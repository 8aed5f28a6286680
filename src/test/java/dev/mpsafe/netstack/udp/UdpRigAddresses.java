package dev.mpsafe.netstack.udp;

import java.net.InetSocketAddress;

/** IPv4 addresses of socket addresses, as the stack's ints. */
final class UdpRigAddresses {
    private UdpRigAddresses() {
    }

    static int of(InetSocketAddress a) {
        byte[] b = a.getAddress().getAddress();
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | b[3] & 0xFF;
    }
}
