package dev.mpsafe.pcq;

import java.util.Queue;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Question: how many items per microsecond pass from producers to the one consumer?
 *
 * <p>Each group runs producers that offer as fast as they can and one consumer that polls as fast
 * as it can, neither backing off (the JCTools "backoff none" method). The figure to read is the
 * aux counter {@code pollsMade}: items that actually reached the consumer, per microsecond. The
 * primary score also counts failed offers and empty polls, so it is not the throughput.
 *
 * <p>{@code pcq} and {@code jctools} poll with their strict operations ({@link Pcq#get()},
 * {@code MpscArrayQueue.poll()}): an empty-looking slot makes them read the producers' index to
 * tell "empty" from "claimed, not yet written", and that read pulls the line every producer CASes.
 * {@code pcqRelaxed} and {@code jctoolsRelaxed} poll with the relaxed ones ({@link Pcq#relaxedGet()},
 * {@code relaxedPoll()}), which return null at such a slot without that read.
 *
 * <p>The peers run in the same run: JCTools {@code MpscArrayQueue}, {@code ArrayBlockingQueue},
 * {@code ConcurrentLinkedQueue} (unbounded, so its producers never fail), and the NetBSD-style
 * packed-word design. On a 2-core machine the 2P1C group oversubscribes the cores; compare ratios
 * from the same run only.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Group)
public class PcqThroughput {

    /** A shared, preallocated item: the benchmark measures the queue, not allocation. */
    static final Integer ITEM = 777;

    @Param({"pcq", "pcqRelaxed", "jctools", "jctoolsRelaxed", "abq", "clq", "netbsd"})
    public String impl;

    @Param({"1024"})
    public int capacity;

    Queue<Integer> q;

    @Setup(Level.Trial)
    public void createQueue() {
        q = BenchQueues.create(impl, capacity);
    }

    @TearDown(Level.Iteration)
    public void emptyQueue() {
        while (q.poll() != null) {
            // drop what the producers left behind so every iteration starts empty
        }
    }

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class PollCounters {
        public long pollsMade;
        public long pollsFailed;

        @Setup(Level.Iteration)
        public void reset() {
            pollsMade = 0;
            pollsFailed = 0;
        }
    }

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class OfferCounters {
        public long offersMade;
        public long offersFailed;

        @Setup(Level.Iteration)
        public void reset() {
            offersMade = 0;
            offersFailed = 0;
        }
    }

    private void offer(OfferCounters c) {
        if (q.offer(ITEM)) {
            c.offersMade++;
        } else {
            c.offersFailed++;
        }
    }

    private void poll(PollCounters c) {
        if (q.poll() != null) {
            c.pollsMade++;
        } else {
            c.pollsFailed++;
        }
    }

    @Benchmark
    @Group("p1c1")
    @GroupThreads(1)
    public void p1c1Offer(OfferCounters c) {
        offer(c);
    }

    @Benchmark
    @Group("p1c1")
    @GroupThreads(1)
    public void p1c1Poll(PollCounters c) {
        poll(c);
    }

    @Benchmark
    @Group("p2c1")
    @GroupThreads(2)
    public void p2c1Offer(OfferCounters c) {
        offer(c);
    }

    @Benchmark
    @Group("p2c1")
    @GroupThreads(1)
    public void p2c1Poll(PollCounters c) {
        poll(c);
    }
}
