package dev.mpsafe.netstack.device;

import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * A device's packet and byte counters, and its drops by cause.
 *
 * <p>Each counter is striped ({@link LongAdder}): many sending threads add to it without sharing
 * one contended word, and a read sums the stripes (the per-CPU counters of the BSD kernels).
 *
 * <p>Thread safety: safe for any number of threads. A {@link #snapshot()} taken while threads
 * send is approximate (each counter is summed at a slightly different moment); it is exact when
 * the device is quiescent.
 */
public final class DeviceCounters {

    /** Why a device dropped a packet. Its ordinal indexes the counters. */
    public enum Drop {
        /** The queue towards the receiver was full. */
        QUEUE_FULL,
        /**
         * The packet was longer than the device's MTU: sent, or received from a TUN interface whose
         * own MTU is larger than the device's.
         */
        TOO_BIG,
        /** The device, or its peer, was closed. */
        DOWN,
        /** A buffer the device held when it was closed, freed unsent or unreceived. */
        CLOSED_WITH_PACKETS,
        /**
         * A TUN read or write failed in the operating system: the interface is down or gone, or a
         * transient error. A persistent one also marks the device down (TunDevice#failure()).
         */
        IO_ERROR,
        /**
         * The device cannot carry the packet whatever its state: an empty one (a TUN write needs at
         * least one byte), or one the kernel refuses as no IP packet (a TUN write that fails with
         * {@code EINVAL}).
         */
        INVALID,
    }

    private static final Drop[] DROPS = Drop.values();

    private final LongAdder txPackets = new LongAdder();
    private final LongAdder txBytes = new LongAdder();
    private final LongAdder rxPackets = new LongAdder();
    private final LongAdder rxBytes = new LongAdder();
    private final LongAdder[] drops = new LongAdder[DROPS.length];

    /** Zeroed counters. */
    public DeviceCounters() {
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
    }

    /** Counts a packet of {@code bytes} the device accepted for sending. */
    public void sent(int bytes) {
        txPackets.increment();
        txBytes.add(bytes);
    }

    /** Counts a packet of {@code bytes} handed to a receiver. */
    public void received(int bytes) {
        rxPackets.increment();
        rxBytes.add(bytes);
    }

    /** Counts a dropped packet. */
    public void dropped(Drop why) {
        drops[why.ordinal()].increment();
    }

    /** Packets accepted for sending. */
    public long txPackets() {
        return txPackets.sum();
    }

    /** Bytes accepted for sending. */
    public long txBytes() {
        return txBytes.sum();
    }

    /** Packets handed to a receiver. */
    public long rxPackets() {
        return rxPackets.sum();
    }

    /** Bytes handed to a receiver. */
    public long rxBytes() {
        return rxBytes.sum();
    }

    /** Packets dropped for {@code why}. */
    public long drops(Drop why) {
        return drops[Objects.requireNonNull(why, "why").ordinal()].sum();
    }

    /** Packets dropped for any cause. */
    public long drops() {
        long n = 0;
        for (LongAdder d : drops) {
            n += d.sum();
        }
        return n;
    }

    /** All counters at about one moment. */
    public Snapshot snapshot() {
        long[] d = new long[drops.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = drops[i].sum();
        }
        return new Snapshot(txPackets(), txBytes(), rxPackets(), rxBytes(), d);
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }

    /**
     * Counter values.
     *
     * @param txPackets packets accepted for sending
     * @param txBytes bytes accepted for sending
     * @param rxPackets packets handed to a receiver
     * @param rxBytes bytes handed to a receiver
     * @param drops drops indexed by {@link Drop#ordinal()}
     */
    public record Snapshot(long txPackets, long txBytes, long rxPackets, long rxBytes, long[] drops) {

        /** Copies {@code drops}. */
        public Snapshot {
            drops = drops.clone();
        }

        /** Drops for {@code why}. */
        public long drops(Drop why) {
            return drops[why.ordinal()];
        }

        @Override
        public long[] drops() {
            return drops.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Snapshot s && txPackets == s.txPackets && txBytes == s.txBytes
                    && rxPackets == s.rxPackets && rxBytes == s.rxBytes && java.util.Arrays.equals(drops, s.drops);
        }

        @Override
        public int hashCode() {
            return Objects.hash(txPackets, txBytes, rxPackets, rxBytes, java.util.Arrays.hashCode(drops));
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("tx ").append(txPackets).append(" packets/").append(txBytes)
                    .append(" bytes, rx ").append(rxPackets).append(" packets/").append(rxBytes).append(" bytes");
            for (Drop d : DROPS) {
                if (drops[d.ordinal()] != 0) {
                    b.append(", ").append(d).append(' ').append(drops[d.ordinal()]);
                }
            }
            return b.toString();
        }
    }
}
