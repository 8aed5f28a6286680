package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.wire.DropReason;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The IP layer's counters: packets received, delivered to a protocol, sent, ICMP errors sent and
 * withheld, and drops by reason (the wire layer's {@link DropReason} and the IP layer's
 * {@link IpDrop}).
 *
 * <p>Every received packet ends in exactly one place: delivered (see {@link #delivered()}) or one
 * input drop. So, when no thread is in {@link Ipv4Stack#input},
 * {@code received == delivered + sum of the wire drops + sum of the input IpDrops}.
 *
 * <p>Counters are {@link LongAdder}s, striped so that workers on several cores do not share a
 * cache line per packet. A read while threads count is a sum of cells read one by one: not a
 * snapshot of one instant, exact once the counting threads stopped.
 *
 * <p>Thread safety: safe for any number of threads.
 */
public final class Ipv4Counters {

    final LongAdder received = new LongAdder();
    final LongAdder delivered = new LongAdder();
    final LongAdder sent = new LongAdder();
    final LongAdder icmpErrorsSent = new LongAdder();
    final LongAdder icmpErrorsRateLimited = new LongAdder();
    final LongAdder icmpErrorsWithheld = new LongAdder();
    private final LongAdder[] wire = adders(DropReason.values().length);
    private final LongAdder[] ip = adders(IpDrop.values().length);

    /** Made by the stack that counts; read through {@link Ipv4Stack#counters()}. */
    Ipv4Counters() {
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    void drop(DropReason why) {
        wire[why.ordinal()].increment();
    }

    void drop(IpDrop why) {
        ip[why.ordinal()].increment();
    }

    /** Packets handed to {@link Ipv4Stack#input}. */
    public long received() {
        return received.sum();
    }

    /**
     * Received packets that passed every check and were consumed by a protocol: echo requests
     * answered (counted before the reply is sent, so a reply that is then an output drop still
     * counts), UDP datagrams a socket's queue took, and ICMP destination unreachables quoting UDP
     * handed to the UDP transport (which reports each to the connected socket it names, if any).
     */
    public long delivered() {
        return delivered.sum();
    }

    /** Packets a device accepted from the IP layer's output. */
    public long sent() {
        return sent.sum();
    }

    /** ICMP errors (destination unreachable) built and handed to output. */
    public long icmpErrorsSent() {
        return icmpErrorsSent.sum();
    }

    /** ICMP errors not sent because the token bucket was empty. */
    public long icmpErrorsRateLimited() {
        return icmpErrorsRateLimited.sum();
    }

    /**
     * ICMP errors not sent because RFC 1122 3.2.2 forbids them (the packet went to a broadcast
     * address or came from 0.0.0.0) or the packet was too short to quote its header and 8 bytes.
     */
    public long icmpErrorsWithheld() {
        return icmpErrorsWithheld.sum();
    }

    /** Drops refused by the wire layer for {@code why}. */
    public long drops(DropReason why) {
        return wire[why.ordinal()].sum();
    }

    /** Drops decided by the IP layer for {@code why}. */
    public long drops(IpDrop why) {
        return ip[why.ordinal()].sum();
    }

    /**
     * Datagrams dropped for a martian source ({@code MARTIAN_*}: broadcast or multicast, 0/8,
     * 127/8 or one of our addresses on a non-loopback interface), all four reasons together.
     * A martian destination (127/8 on a non-loopback interface) is not among them: read it with
     * {@code drops(IpDrop.MARTIAN_DESTINATION)}.
     */
    public long martianSources() {
        return drops(IpDrop.MARTIAN_BROADCAST_OR_MULTICAST) + drops(IpDrop.MARTIAN_THIS_NETWORK)
                + drops(IpDrop.MARTIAN_LOOPBACK) + drops(IpDrop.MARTIAN_OURS);
    }

    /** Every input drop: the wire layer's and the IP layer's input reasons. */
    public long inputDrops() {
        long sum = 0;
        for (LongAdder a : wire) {
            sum += a.sum();
        }
        for (IpDrop r : IpDrop.values()) {
            if (r.isInput()) {
                sum += ip[r.ordinal()].sum();
            }
        }
        return sum;
    }

    /** Every output drop. */
    public long outputDrops() {
        long sum = 0;
        for (IpDrop r : IpDrop.values()) {
            if (!r.isInput()) {
                sum += ip[r.ordinal()].sum();
            }
        }
        return sum;
    }

    /** The non-zero counters, read one by one (see the class javadoc). */
    public Snapshot snapshot() {
        Map<DropReason, Long> w = new EnumMap<>(DropReason.class);
        for (DropReason r : DropReason.values()) {
            long n = drops(r);
            if (n != 0) {
                w.put(r, n);
            }
        }
        Map<IpDrop, Long> i = new EnumMap<>(IpDrop.class);
        for (IpDrop r : IpDrop.values()) {
            long n = drops(r);
            if (n != 0) {
                i.put(r, n);
            }
        }
        return new Snapshot(received(), delivered(), sent(), icmpErrorsSent(), icmpErrorsRateLimited(),
                icmpErrorsWithheld(), Collections.unmodifiableMap(w), Collections.unmodifiableMap(i));
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }

    /**
     * The counters at one reading; drop maps hold only non-zero reasons.
     *
     * <p>Thread safety: immutable.
     */
    public record Snapshot(long received, long delivered, long sent, long icmpErrorsSent,
            long icmpErrorsRateLimited, long icmpErrorsWithheld,
            Map<DropReason, Long> wireDrops, Map<IpDrop, Long> ipDrops) {

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("ipv4: received ").append(received)
                    .append(", delivered ").append(delivered).append(", sent ").append(sent)
                    .append(", icmp errors ").append(icmpErrorsSent)
                    .append(" (rate-limited ").append(icmpErrorsRateLimited)
                    .append(", withheld ").append(icmpErrorsWithheld).append(')');
            wireDrops.forEach((r, n) -> s.append(", ").append(r).append(' ').append(n));
            ipDrops.forEach((r, n) -> s.append(", ").append(r).append(' ').append(n));
            return s.toString();
        }
    }
}
