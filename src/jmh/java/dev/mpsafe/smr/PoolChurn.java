package dev.mpsafe.smr;

import java.util.concurrent.ConcurrentLinkedQueue;
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

/**
 * Question: what does a recycled object cost, from {@link SmrPool} against the usual Java
 * alternatives?
 *
 * <p>Each benchmark thread keeps a window of {@link #window} live objects (a ring, as a packet or
 * route cache would); one operation allocates an object, writes it, puts it in the window, and
 * frees the object it displaced. The figure is ns per operation (allocate + free).
 * The variants are benchmark methods, so that no dispatch sits in the measured path:
 * <ul>
 *   <li>{@code smrPool}: {@link SmrPool#allocate()} / {@link SmrPool#free} on a DEFAULT
 *       {@link Smr} domain (no readers: the grace-period machinery runs, one {@code advance()} and
 *       one {@code poll()} per bucket of 64, and never waits).</li>
 *   <li>{@code smrPoolLocal}: the same through the thread's {@link SmrPool.Local} handle, which
 *       skips the thread-local lookup of each call.</li>
 *   <li>{@code clqPool}: a {@code ConcurrentLinkedQueue} as the free list ({@code poll()} or
 *       {@code new}; {@code offer()}): the common hand-written pool. It does not wait for readers,
 *       so it is not safe for what SmrPool is for; it is the cost floor users compare against.</li>
 *   <li>{@code newObject}: plain allocation; the displaced object is left to the GC. Run with
 *       {@code -prof gc} to see what the GC is paid ({@code gc.alloc.rate.norm}: B/op).</li>
 * </ul>
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.smr\.PoolChurn' \
 *       -Djmh.args="-f 2 -wi 3 -w 1s -i 5 -r 1s -prof gc"
 * </pre>
 * Add {@code -t 2} for two threads sharing the pool (both cores of a 2-core machine).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
public class PoolChurn {

    /** Live objects each thread holds. */
    @Param({"256"})
    public int window;

    /** A 64-byte object (header + six longs), the size of a small route or connection entry. */
    public static final class Item {
        long a;
        long b;
        long c;
        long d;
        long e;
        long f;
    }

    SmrPool<Item> pool;
    ConcurrentLinkedQueue<Item> clq;

    @Setup(Level.Trial)
    public void create() {
        pool = SmrPool.create(Smr.create("pool-churn", Smr.Mode.DEFAULT), Item::new);
        clq = new ConcurrentLinkedQueue<>();
    }

    /** A thread's window of live objects. */
    @State(Scope.Thread)
    public static class Window {
        Item[] ring;
        int next;
        /** This thread's handle on the SmrPool (JMH runs a thread state's setup on its own thread). */
        SmrPool.Local<Item> local;

        @Setup(Level.Trial)
        public void fill(PoolChurn b) {
            local = b.pool.local();
            ring = new Item[b.window];
            for (int i = 0; i < ring.length; i++) {
                ring[i] = new Item();
            }
        }

        /** Writes {@code it}, puts it in the window, returns the object it displaced. */
        Item swap(Item it) {
            int i = next;
            next = i + 1 == ring.length ? 0 : i + 1;
            it.a = i;
            Item old = ring[i];
            ring[i] = it;
            return old;
        }
    }

    @Benchmark
    public Item smrPool(Window w) {
        Item it = pool.allocate();
        pool.free(w.swap(it));
        return it;
    }

    @Benchmark
    public Item smrPoolLocal(Window w) {
        SmrPool.Local<Item> local = w.local;
        Item it = local.allocate();
        local.free(w.swap(it));
        return it;
    }

    @Benchmark
    public Item clqPool(Window w) {
        Item it = clq.poll();
        if (it == null) {
            it = new Item();
        }
        clq.offer(w.swap(it));
        return it;
    }

    @Benchmark
    public Item newObject(Window w) {
        Item it = new Item();
        w.swap(it); // the displaced object is garbage
        return it;
    }
}
