package dev.mpsafe.pcq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Question: what does it cost to hand a burst of items to a consumer thread and see them all
 * consumed? One operation is: offer {@code burst} items (spinning while full), then wait until
 * the consumer thread has taken the last one. This is latency for a batch, the shape of a NIC
 * interrupt filling a socket queue, rather than saturated throughput.
 *
 * <p>The consumer is a plain thread started per trial that polls without backing off and
 * publishes its count with a release store.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
public class PcqBurstCost {

    static final Integer ITEM = 777;

    @Param({"pcq", "jctools", "abq", "clq", "netbsd"})
    public String impl;

    @Param({"100"})
    public int burst;

    @Param({"1024"})
    public int capacity;

    Queue<Integer> q;
    Thread consumer;
    volatile boolean stop;
    long sent;
    @SuppressWarnings("unused") // accessed through CONSUMED
    private long consumed;

    @Setup(Level.Trial)
    public void start() {
        q = BenchQueues.create(impl, capacity);
        stop = false;
        sent = 0;
        CONSUMED.setRelease(this, 0L);
        consumer = new Thread(this::consume, "pcq-burst-consumer");
        consumer.setDaemon(true);
        consumer.start();
    }

    private void consume() {
        final Queue<Integer> q = this.q;
        long n = 0;
        while (!stop) {
            if (q.poll() != null) {
                CONSUMED.setRelease(this, ++n);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    @TearDown(Level.Trial)
    public void stopConsumer() throws InterruptedException {
        stop = true;
        consumer.join();
    }

    @Benchmark
    public long burst() {
        final Queue<Integer> q = this.q;
        final long target = sent + burst;
        for (int i = 0; i < burst; i++) {
            while (!q.offer(ITEM)) {
                Thread.onSpinWait();
            }
        }
        sent = target;
        long seen;
        while ((seen = (long) CONSUMED.getAcquire(this)) < target) {
            Thread.onSpinWait();
        }
        return seen;
    }

    private static final VarHandle CONSUMED;

    static {
        try {
            CONSUMED = MethodHandles.lookup().findVarHandle(PcqBurstCost.class, "consumed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
