package dev.mpsafe.netstack.udp;

import dev.mpsafe.netstack.ip.Ipv4Counters;
import dev.mpsafe.netstack.wire.DropReason;
import java.util.concurrent.atomic.LongAdder;

/**
 * A stack's UDP counters. Every UDP datagram the IP layer accepted for us is {@link #received} and
 * ends as exactly one of {@link #delivered} or a {@link #dropped(UdpDrop)} reason, so once traffic
 * stops {@code received == delivered + the sum of dropped over every reason}. The
 * {@link UdpDrop#BAD_LENGTH} and {@link UdpDrop#ZERO_PORT} figures are the IP layer's own counts
 * of those wire checks, read from its {@link Ipv4Counters}.
 *
 * <p>Thread safety: safe for any number of threads; each read is one counter's sum at one moment.
 */
public final class UdpCounters {

    final LongAdder demultiplexed = new LongAdder();
    final LongAdder delivered = new LongAdder();
    final LongAdder sent = new LongAdder();
    final LongAdder errorsReported = new LongAdder();
    final LongAdder[] dropped = adders(UdpDrop.values().length);
    private final Ipv4Counters ip;

    UdpCounters(Ipv4Counters ip) {
        this.ip = ip;
    }

    static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    /** UDP datagrams for us that the IP layer accepted (its header checks passed). */
    public long received() {
        return demultiplexed.sum() + dropped(UdpDrop.BAD_LENGTH) + dropped(UdpDrop.ZERO_PORT);
    }

    /** Datagrams put on a socket's receive queue. */
    public long delivered() {
        return delivered.sum();
    }

    /** Datagrams a device accepted from a socket. */
    public long sent() {
        return sent.sum();
    }

    /** ICMP errors handed to a connected socket. */
    public long errorsReported() {
        return errorsReported.sum();
    }

    /** Datagrams dropped for {@code why}. */
    public long dropped(UdpDrop why) {
        return switch (why) {
            case BAD_LENGTH -> ip.drops(DropReason.UDP_TRUNCATED) + ip.drops(DropReason.UDP_LENGTH_BELOW_HEADER)
                    + ip.drops(DropReason.UDP_LENGTH_PAST_BUFFER);
            case ZERO_PORT -> ip.drops(DropReason.UDP_ZERO_PORT);
            default -> dropped[why.ordinal()].sum();
        };
    }

    /** The sum of {@link #dropped(UdpDrop)} over every reason. */
    public long droppedTotal() {
        long n = 0;
        for (UdpDrop why : UdpDrop.values()) {
            n += dropped(why);
        }
        return n;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("received ").append(received()).append(", delivered ")
                .append(delivered()).append(", sent ").append(sent());
        for (UdpDrop why : UdpDrop.values()) {
            long n = dropped(why);
            if (n != 0) {
                b.append(", ").append(why.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')).append(' ').append(n);
            }
        }
        return b.toString();
    }
}
