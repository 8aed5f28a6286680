package dev.mpsafe.netstack.udp;

import java.util.concurrent.atomic.LongAdder;

/**
 * One socket's counters: datagrams demultiplexed to it ({@link #received}), queued for its reader
 * ({@link #delivered}), dropped ({@link #dropped(UdpDrop)}: {@link UdpDrop#QUEUE_FULL} and
 * {@link UdpDrop#BAD_CHECKSUM}; the other reasons cannot name a socket and stay 0), and sent.
 * {@code received == delivered + dropped(QUEUE_FULL) + dropped(BAD_CHECKSUM)} once traffic stops.
 *
 * <p>Thread safety: safe for any number of threads; each read is one counter's sum at one moment.
 */
public final class SocketCounters {

    final LongAdder received = new LongAdder();
    final LongAdder delivered = new LongAdder();
    final LongAdder sent = new LongAdder();
    final LongAdder[] dropped = UdpCounters.adders(UdpDrop.values().length);

    SocketCounters() {
    }

    /** Datagrams the demultiplexer found this socket for. */
    public long received() {
        return received.sum();
    }

    /** Datagrams put on the receive queue. */
    public long delivered() {
        return delivered.sum();
    }

    /** Datagrams a device accepted from this socket. */
    public long sent() {
        return sent.sum();
    }

    /** Datagrams dropped for {@code why}. */
    public long dropped(UdpDrop why) {
        return dropped[why.ordinal()].sum();
    }

    @Override
    public String toString() {
        return "received " + received() + ", delivered " + delivered() + ", queue full "
                + dropped(UdpDrop.QUEUE_FULL) + ", bad checksum " + dropped(UdpDrop.BAD_CHECKSUM) + ", sent " + sent();
    }
}
