package dev.mpsafe.sync;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.locks.StampedLock;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * Question: how many lookups per microsecond do readers get while a writer keeps replacing what
 * they read, and how often can that writer replace it?
 *
 * <p>The group {@code rw} is readers ({@code read}) and one writer ({@code write}) on the same
 * object. A reader's operation is one lookup: take the read-side protection, load the current
 * {@code Node}, check that it was not reclaimed, read its payload, leave. The writer's operation is
 * one replacement: publish a new node, make sure no reader can still hold the old one, reclaim
 * (poison) the old one, then pause for {@code writerPauseTokens} of {@link Blackhole#consumeCPU}
 * (about 2 µs at the default), so that the writer updates often but is not a second reader-sized
 * hot loop. A reader that ever sees a poisoned node fails the trial at teardown: the benchmark is
 * also a use-after-free check for every variant.
 *
 * <p>Variants ({@code impl}); {@code rwlock} is the baseline every other is compared with:
 * <ul>
 *   <li>{@code rwlock}: {@code ReentrantReadWriteLock}; the writer swaps under the write lock, then
 *       poisons (no reader can hold the old node once it has the write lock).</li>
 *   <li>{@code stamped}: {@code StampedLock} optimistic reads, falling back to the read lock when
 *       validation fails; a poisoned node counts only when the read validated.</li>
 *   <li>{@code pserializeFenced}, {@code pserializeAsymmetric}, {@code epoch}, {@code smrDefault},
 *       {@code smrLazy}, {@code smrDeferred}: the reader holds a registered {@link Participant};
 *       the writer does {@link Protected#exchange}, {@link GraceDomain#synchronize()}, then
 *       poisons.</li>
 * </ul>
 * The reader count is the group's {@code read} thread count: pass {@code -tg R,1} (the default is
 * one reader and one writer, which is what a 2-core machine can run without oversubscription).
 * The result to read is the secondary result {@code read} (lookups/µs, summed over the readers);
 * {@code write} is the writer's replacements/µs.
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.sync\.ReadWithWriter\..*' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Group)
public class ReadWithWriter {

    @Param({"rwlock", "stamped", "pserializeFenced", "pserializeAsymmetric", "epoch", "smrDefault", "smrLazy",
        "smrDeferred"})
    public String impl;

    /** The writer's pause between replacements, in {@link Blackhole#consumeCPU} tokens. */
    @Param({"1000"})
    public int writerPauseTokens;

    /** What readers look up; poisoned once reclaimed. */
    static final class Node {
        final long payload;
        /** Written once, by the writer after the grace period (or the write lock); never seen true by a reader. */
        volatile boolean reclaimed;

        Node(long payload) {
            this.payload = payload;
        }
    }

    private enum Kind { RWLOCK, STAMPED, GRACE }

    private Kind kind;
    private GraceDomain domain;
    private Protected<Node> value;
    private final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
    private final StampedLock stamped = new StampedLock();
    /** The lock variants' current node: read under the lock or validated by the stamp. */
    private volatile Node current = new Node(0);
    private long replacements;
    /** Sum of the readers' violations, added at their teardown (each under this object's monitor). */
    private long violations;

    @Setup(Level.Trial)
    public void create() {
        kind = switch (impl) {
            case "rwlock" -> Kind.RWLOCK;
            case "stamped" -> Kind.STAMPED;
            default -> Kind.GRACE;
        };
        if (kind == Kind.GRACE) {
            domain = SyncBench.domain(impl, "read-with-writer");
            value = Protected.create(domain, null, new Node(0)); // one writer thread: no writers' lock
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (domain != null) {
            SyncBench.close(domain);
        }
        synchronized (this) {
            if (violations != 0) {
                throw new IllegalStateException(impl + ": readers saw a reclaimed node " + violations
                        + " times: the old node was reclaimed while a reader could hold it");
            }
        }
    }

    /** A reader thread's participant (registered on that thread) and its violation count. */
    @State(Scope.Thread)
    public static class Reader {
        Participant participant;
        long violations;

        @Setup(Level.Trial)
        public void register(ReadWithWriter b) {
            if (b.domain != null) {
                participant = b.domain.register();
            }
        }

        @TearDown(Level.Trial)
        public void release(ReadWithWriter b) {
            if (participant != null) {
                participant.release();
            }
            synchronized (b) {
                b.violations += violations;
            }
        }
    }

    @Benchmark
    @Group("rw")
    @GroupThreads(1)
    public long read(Reader r) {
        return switch (kind) {
            case GRACE -> {
                final Participant p = r.participant;
                p.enter();
                try {
                    yield check(r, value.load());
                } finally {
                    p.exit();
                }
            }
            case RWLOCK -> {
                ReentrantReadWriteLock.ReadLock lock = rwlock.readLock();
                lock.lock();
                try {
                    yield check(r, current);
                } finally {
                    lock.unlock();
                }
            }
            case STAMPED -> {
                long stamp = stamped.tryOptimisticRead();
                Node n = current;
                long payload = n.payload;
                boolean reclaimed = n.reclaimed;
                if (!stamped.validate(stamp)) {
                    stamp = stamped.readLock();
                    try {
                        n = current;
                        payload = n.payload;
                        reclaimed = n.reclaimed;
                    } finally {
                        stamped.unlockRead(stamp);
                    }
                }
                if (reclaimed) {
                    r.violations++;
                }
                yield payload;
            }
        };
    }

    private static long check(Reader r, Node n) {
        if (n.reclaimed) {
            r.violations++;
        }
        return n.payload;
    }

    @Benchmark
    @Group("rw")
    @GroupThreads(1)
    public void write() {
        Node fresh = new Node(++replacements);
        Node old;
        switch (kind) {
            case GRACE -> {
                old = value.exchange(fresh);
                domain.synchronize();
            }
            case RWLOCK -> {
                ReentrantReadWriteLock.WriteLock lock = rwlock.writeLock();
                lock.lock();
                try {
                    old = current;
                    current = fresh;
                } finally {
                    lock.unlock();
                }
            }
            case STAMPED -> {
                long stamp = stamped.writeLock();
                try {
                    old = current;
                    current = fresh;
                } finally {
                    stamped.unlockWrite(stamp);
                }
            }
            default -> throw new AssertionError(kind);
        }
        old.reclaimed = true;
        Blackhole.consumeCPU(writerPauseTokens);
    }
}
