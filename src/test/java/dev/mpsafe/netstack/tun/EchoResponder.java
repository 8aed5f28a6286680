package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.wire.DropReason;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;

/**
 * The smallest ICMP echo responder on the wire layer, for the TUN tests: it answers echo requests
 * to one address by rewriting each request into its reply in place, and counts everything else as
 * a drop by reason. Not the IP layer (which is a later part of issue 7): no routing, no ICMP
 * errors, no fragments.
 *
 * <p>{@link #process} is the whole decision, separate from the device so tests can feed it hostile
 * bytes directly; {@link #serve} is the reader loop around a {@link Tun}.
 *
 * <p>Thread safety: {@link #process} may run on several threads at once (each on its own buffer);
 * counters are atomic.
 */
final class EchoResponder {

    /** Drops decided here, after the wire layer accepted the bytes. */
    enum Local {
        /** Not ICMP (the responder answers nothing else). */
        NOT_ICMP,
        /** Addressed to another host. */
        NOT_FOR_US,
        /** A fragment (MF set or a non-zero offset): no reassembly here. */
        FRAGMENT,
        /** TTL 0 on arrival (RFC 1122 3.2.1.7: a host must not send one; drop it). */
        TTL_ZERO,
        /** A valid ICMP message that is not an echo request. */
        NOT_ECHO_REQUEST
    }

    private static final int WIRE = DropReason.values().length;

    private final int address;
    /** Wire drops by {@code DropReason.ordinal()}, then local drops, then replies. */
    private final AtomicLongArray counts = new AtomicLongArray(WIRE + Local.values().length + 1);

    /** @param address the IPv4 address it answers for */
    EchoResponder(int address) {
        this.address = address;
    }

    /**
     * Turns the echo request in {@code buffer[0, length)} into its reply, in place.
     *
     * @return the reply's length, or 0 when the packet was dropped (and counted)
     */
    int process(MemorySegment buffer, int length) {
        return switch (Ipv4Packet.check(buffer, 0, length)) {
            case DropReason why -> drop(why);
            case Ipv4Packet ip -> switch (Ipv4Repr.parse(ip)) {
                case DropReason why -> drop(why);
                case Ipv4Repr header -> answer(ip, header);
            };
        };
    }

    private int answer(Ipv4Packet ip, Ipv4Repr header) {
        if (header.destination() != address) {
            return drop(Local.NOT_FOR_US);
        }
        if (header.moreFragments() || header.fragmentOffset() != 0) {
            return drop(Local.FRAGMENT);
        }
        if (header.ttl() == 0) {
            return drop(Local.TTL_ZERO);
        }
        if (header.protocol() != Ipv4Packet.PROTOCOL_ICMP) {
            return drop(Local.NOT_ICMP);
        }
        return switch (Icmpv4Packet.check(ip.payload())) {
            case DropReason why -> drop(why);
            case Icmpv4Packet icmp -> switch (Icmpv4Repr.parse(icmp)) {
                case DropReason why -> drop(why);
                case Icmpv4Repr.EchoRequest echo -> {
                    echo.reply().emit(icmp); // type 0, same id, sequence and data; new checksum
                    ip.setDestination(header.source());
                    ip.setSource(address);
                    ip.setTtl(64);
                    ip.fillChecksum();
                    counts.incrementAndGet(WIRE + Local.values().length);
                    yield ip.totalLength();
                }
                case Icmpv4Repr other -> drop(Local.NOT_ECHO_REQUEST);
            };
        };
    }

    /**
     * Answers packets from {@code tun} until {@code stop} says so or the device is closed: one read
     * and, for a request, one write per packet, waiting at most 50 ms at a time.
     */
    void serve(Tun tun, MemorySegment buffer, BooleanSupplier stop) throws IOException {
        try {
            while (!stop.getAsBoolean()) {
                int n = tun.receive(buffer, 50, TimeUnit.MILLISECONDS);
                if (n > 0) {
                    int reply = process(buffer, n);
                    if (reply > 0) {
                        tun.write(buffer, 0, reply);
                    }
                }
            }
        } catch (ClosedChannelException e) {
            // closed by the test: the normal way out
        }
    }

    private int drop(DropReason why) {
        counts.incrementAndGet(why.ordinal());
        return 0;
    }

    private int drop(Local why) {
        counts.incrementAndGet(WIRE + why.ordinal());
        return 0;
    }

    long replies() {
        return counts.get(WIRE + Local.values().length);
    }

    long drops(DropReason why) {
        return counts.get(why.ordinal());
    }

    long drops(Local why) {
        return counts.get(WIRE + why.ordinal());
    }

    long totalDrops() {
        long sum = 0;
        for (int i = 0; i < WIRE + Local.values().length; i++) {
            sum += counts.get(i);
        }
        return sum;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("EchoResponder[replies " + replies());
        for (DropReason r : DropReason.values()) {
            if (drops(r) != 0) {
                s.append(", ").append(r).append(' ').append(drops(r));
            }
        }
        for (Local r : Local.values()) {
            if (drops(r) != 0) {
                s.append(", ").append(r).append(' ').append(drops(r));
            }
        }
        return s.append(']').toString();
    }
}
