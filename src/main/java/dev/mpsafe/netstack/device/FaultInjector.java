package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A middleware device that damages the packets sent through it, reproducibly: from a seeded
 * {@link SplittableRandom}, each packet gets at most one fault, chosen by one draw against the
 * configured rates.
 *
 * <ul>
 *   <li><b>drop</b>: the packet is freed and never reaches the inner device;</li>
 *   <li><b>corrupt</b>: one byte of the data window, chosen at random, is XORed with a random
 *       non-zero value (an empty packet cannot be corrupted and passes unharmed);</li>
 *   <li><b>duplicate</b>: a copy in a new buffer from the packet's own pool is sent right after
 *       it (if the pool has no buffer available now, only the original goes, and
 *       {@link Faults#duplicateFailed()} counts it);</li>
 *   <li><b>reorder</b>: the packet is held back and sent right after the next packet that goes
 *       out (after that packet's copy, if it is duplicated), or at the next {@link #tick()},
 *       whichever comes first (at most one packet is held;
 *       a reorder drawn while one is held sends the packet normally);</li>
 *   <li><b>delay</b>: the packet is held for {@code delayTicks} ticks of the caller's clock, then
 *       sent by the {@link #tick()} that reaches its time, in the order the packets arrived.</li>
 * </ul>
 *
 * <pre>{@code
 * FaultInjector lossy = FaultInjector.builder(link.a()).seed(42).drop(0.05).delay(0.01, 3).build();
 * lossy.send(packet);      // 5% lost, 1% sent 3 ticks later
 * lossy.tick();            // the caller's clock: no wall time is read
 * }</pre>
 *
 * <p>Faults apply to the send direction; {@link #receive} passes the inner device's packets
 * through untouched (wrap the other end of a link to damage the other direction). A dropped or
 * held packet counts as accepted: {@link #send} returns true, as a lossy wire accepts what it then
 * loses. Every fault is counted in {@link #faults()}; held packets are freed by {@link #close()}
 * (counted as {@link Faults#discardedAtClose()}), so no buffer leaks.
 *
 * <h2>Reproducibility</h2>
 * The faults are a function of the seed and the order of the sends and ticks: with one sending
 * thread (or sends ordered by the caller) the same seed gives the same faults on the same packets.
 *
 * <p>Thread safety: as {@link Device}. Decisions and held packets are guarded by a lock, so the
 * injector serializes senders: it is a test tool, not for the fast path.
 *
 * <p>Memory consistency effects: as the inner device's.
 */
public final class FaultInjector implements Device {

    /*
     * Implementation overview.
     *
     * Ordering: the random generator, the held packets and the fault counters are touched only
     * under `lock`; the inner device is called under it too, so the order of packets handed to
     * the inner device is the order of the decisions. A held packet is owned by the injector: the
     * sender's happens-before edge to it is the lock acquisition in send(), and the thread that
     * later releases it (send or tick) acquires the same lock.
     *
     * The decision: one uniform draw u in [0, 1) per packet against the cumulative rates
     * drop | corrupt | duplicate | reorder | delay | none, so each packet gets at most one fault
     * and the number of draws per packet (1, plus 2 for a corrupt) depends only on the decisions,
     * which keeps a seed's sequence reproducible.
     */

    private final Device inner;
    private final SplittableRandom random;
    private final double drop;
    private final double corrupt;
    private final double duplicate;
    private final double reorder;
    private final double delay;
    private final int delayTicks;
    private final ReentrantLock lock = new ReentrantLock();

    // Guarded by lock.
    private long now;
    private PacketBuffer held;
    private final ArrayDeque<Delayed> delayed = new ArrayDeque<>();
    private long passed;
    private long dropped;
    private long corrupted;
    private long duplicated;
    private long duplicateFailed;
    private long reordered;
    private long delayedCount;
    private long discardedAtClose;
    private boolean closed;

    private record Delayed(long due, PacketBuffer packet) {
    }

    private FaultInjector(Builder b) {
        this.inner = b.inner;
        this.random = new SplittableRandom(b.seed);
        this.drop = b.drop;
        this.corrupt = drop + b.corrupt;
        this.duplicate = corrupt + b.duplicate;
        this.reorder = duplicate + b.reorder;
        this.delay = reorder + b.delay;
        this.delayTicks = b.delayTicks;
    }

    /**
     * A builder for an injector wrapping {@code inner}, with every rate 0 and seed 0.
     *
     * @throws NullPointerException if {@code inner} is null
     */
    public static Builder builder(Device inner) {
        return new Builder(inner);
    }

    /** The device underneath. */
    public Device inner() {
        return inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    /** The wrapped device's answer. */
    @Override
    public boolean isLoopback() {
        return inner.isLoopback();
    }

    /**
     * Decides this packet's fault and applies it; see the class javadoc. Returns the inner
     * device's answer for a packet sent now, and true for one dropped or held by the injector.
     */
    @Override
    public boolean send(PacketBuffer packet) {
        final int length = packet.length(); // NPE for null, ISE for a freed buffer: caller bugs
        lock.lock();
        try {
            if (closed) {
                return inner.send(packet); // the inner device is closed too: it counts and frees
            }
            final double u = random.nextDouble();
            if (u < drop) {
                dropped++;
                packet.free();
                return true;
            }
            if (u < corrupt) {
                if (length > 0) {
                    MemorySegment data = packet.data();
                    long at = random.nextInt(length);
                    byte flip = (byte) (1 + random.nextInt(255));
                    data.set(ValueLayout.JAVA_BYTE, at, (byte) (data.get(ValueLayout.JAVA_BYTE, at) ^ flip));
                    corrupted++;
                } else {
                    passed++;
                }
                return out(packet);
            }
            if (u < duplicate) {
                PacketBuffer copy = packet.pool().tryCopy(packet);
                if (copy == null) {
                    duplicateFailed++;
                    return out(packet);
                }
                duplicated++;
                // The copy goes right after its original, as documented: a held packet is released
                // after the pair (by out(copy)), not between them.
                boolean sent = inner.send(packet);
                out(copy);
                return sent;
            }
            if (u < reorder && held == null) {
                held = packet;
                reordered++;
                return true;
            }
            if (u >= reorder && u < delay) {
                delayed.addLast(new Delayed(now + delayTicks, packet));
                delayedCount++;
                return true;
            }
            passed++;
            return out(packet);
        } finally {
            lock.unlock();
        }
    }

    /** Sends {@code packet}, then the reordered packet held before it, if any. Under lock. */
    private boolean out(PacketBuffer packet) {
        boolean sent = inner.send(packet);
        PacketBuffer h = held;
        if (h != null) {
            held = null;
            inner.send(h);
        }
        return sent;
    }

    /**
     * Advances the injector's clock by one tick: sends the packet held for reordering, if any,
     * then every delayed packet whose time has come, oldest first.
     */
    public void tick() {
        lock.lock();
        try {
            now++;
            PacketBuffer h = held;
            if (h != null) {
                held = null;
                inner.send(h);
            }
            Delayed d;
            while ((d = delayed.peekFirst()) != null && d.due() <= now) {
                delayed.pollFirst();
                inner.send(d.packet());
            }
        } finally {
            lock.unlock();
        }
    }

    /** The ticks counted so far. */
    public long now() {
        lock.lock();
        try {
            return now;
        } finally {
            lock.unlock();
        }
    }

    /** Packets the injector holds now (reordered and delayed). */
    public int holding() {
        lock.lock();
        try {
            return delayed.size() + (held == null ? 0 : 1);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int receive(PacketBuffer[] batch, int offset, int length) {
        return inner.receive(batch, offset, length);
    }

    @Override
    public int receive(Consumer<? super PacketBuffer> sink, int limit) {
        return inner.receive(sink, limit);
    }

    /** The inner device's counters (the injector's own are {@link #faults()}). */
    @Override
    public DeviceCounters counters() {
        return inner.counters();
    }

    /** The fault counters. */
    public Faults faults() {
        lock.lock();
        try {
            return new Faults(passed, dropped, corrupted, duplicated, duplicateFailed, reordered, delayedCount,
                    discardedAtClose);
        } finally {
            lock.unlock();
        }
    }

    /** Frees the packets the injector holds, then closes the inner device. Idempotent. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (held != null) {
                held.free();
                held = null;
                discardedAtClose++;
            }
            Delayed d;
            while ((d = delayed.pollFirst()) != null) {
                d.packet().free();
                discardedAtClose++;
            }
        } finally {
            lock.unlock();
        }
        inner.close();
    }

    @Override
    public String toString() {
        return "FaultInjector[" + faults() + ", " + inner + "]";
    }

    /**
     * What the injector did.
     *
     * @param passed packets sent unharmed (an empty packet drawn for corruption included)
     * @param dropped packets dropped
     * @param corrupted packets with one byte flipped
     * @param duplicated packets sent twice
     * @param duplicateFailed duplicates not made because the pool had no buffer available
     * @param reordered packets held back and sent after a later one (or at the next tick)
     * @param delayed packets held for the delay
     * @param discardedAtClose held packets freed by {@link #close()}
     */
    public record Faults(long passed, long dropped, long corrupted, long duplicated, long duplicateFailed,
            long reordered, long delayed, long discardedAtClose) {
    }

    /** Settings for a {@link FaultInjector}. Rates are probabilities per packet; their sum is at most 1. */
    public static final class Builder {
        private final Device inner;
        private long seed;
        private double drop;
        private double corrupt;
        private double duplicate;
        private double reorder;
        private double delay;
        private int delayTicks = 1;

        private Builder(Device inner) {
            this.inner = Objects.requireNonNull(inner, "inner");
        }

        /** The seed of the injector's {@link SplittableRandom} (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * The probability that a packet is dropped.
         *
         * @throws IllegalArgumentException if not within [0, 1]
         */
        public Builder drop(double rate) {
            this.drop = rate("drop", rate);
            return this;
        }

        /**
         * The probability that one byte of a packet is flipped.
         *
         * @throws IllegalArgumentException if not within [0, 1]
         */
        public Builder corrupt(double rate) {
            this.corrupt = rate("corrupt", rate);
            return this;
        }

        /**
         * The probability that a packet is sent twice.
         *
         * @throws IllegalArgumentException if not within [0, 1]
         */
        public Builder duplicate(double rate) {
            this.duplicate = rate("duplicate", rate);
            return this;
        }

        /**
         * The probability that a packet is held back and sent after the next one.
         *
         * @throws IllegalArgumentException if not within [0, 1]
         */
        public Builder reorder(double rate) {
            this.reorder = rate("reorder", rate);
            return this;
        }

        /**
         * The probability that a packet is held for {@code ticks} ticks.
         *
         * @throws IllegalArgumentException if {@code rate} is not within [0, 1] or {@code ticks} is
         *     below 1
         */
        public Builder delay(double rate, int ticks) {
            if (ticks < 1) {
                throw new IllegalArgumentException("delay ticks must be >= 1, got " + ticks);
            }
            this.delay = rate("delay", rate);
            this.delayTicks = ticks;
            return this;
        }

        private static double rate(String what, double rate) {
            if (!(rate >= 0 && rate <= 1)) {
                throw new IllegalArgumentException(what + " rate must be within [0, 1], got " + rate);
            }
            return rate;
        }

        /**
         * The injector.
         *
         * @throws IllegalArgumentException if the rates add up to more than 1
         */
        public FaultInjector build() {
            double sum = drop + corrupt + duplicate + reorder + delay;
            if (sum > 1 + 1e-9) {
                throw new IllegalArgumentException("fault rates add up to " + sum + ", more than 1 (drop " + drop
                        + ", corrupt " + corrupt + ", duplicate " + duplicate + ", reorder " + reorder + ", delay "
                        + delay + ")");
            }
            return new FaultInjector(this);
        }
    }
}
