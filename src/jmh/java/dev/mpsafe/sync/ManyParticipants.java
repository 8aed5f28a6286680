package dev.mpsafe.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
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
 * Question: what does a grace period cost a writer when many threads have read, for instance one
 * virtual thread per connection, each registered with the domain and now idle?
 *
 * <p>Setup starts {@code participants} <em>virtual</em> threads. Each enters one section through
 * the implicit form ({@code try (Section s = domain.enter())}, which registers it), reads, leaves,
 * and then parks until the trial ends: its slot stays registered, outside any section. One
 * operation is the writer's store and {@link GraceDomain#synchronize()}, sampled, so the figures
 * are the median and the 99th percentile in µs. A writer scans one slot per registered
 * participant; no participant is ever inside, so this is the scan alone, the cost that grows with
 * the number of threads that ever read and are still alive.
 *
 * <p>{@code rwlock} is the JDK peer: each virtual thread takes and releases a
 * {@code ReentrantReadWriteLock}'s read lock once; the writer takes and releases the write lock,
 * whose cost does not depend on how many threads once read.
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.sync\.ManyParticipants\..*' \
 *       -Djmh.args="-f 1 -wi 2 -w 1s -i 5 -r 1s"
 * </pre>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class ManyParticipants {

    @Param({"rwlock", "pserializeFenced", "pserializeAsymmetric", "epoch", "smrDefault", "smrLazy", "smrDeferred"})
    public String impl;

    /** Idle virtual threads, each registered by one section. */
    @Param({"1", "100", "10000"})
    public int participants;

    private GraceDomain domain;
    private final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
    private Thread[] threads;
    private CountDownLatch done;
    volatile int sink;

    @SuppressWarnings("unused") // accessed through SHARED
    private int shared;
    private int version;

    @Setup(Level.Trial)
    public void startParticipants() throws InterruptedException {
        domain = impl.equals("rwlock") ? null : SyncBench.domain(impl, "many-participants");
        done = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(participants);
        threads = new Thread[participants];
        for (int i = 0; i < participants; i++) {
            threads[i] = Thread.ofVirtual().name("participant-" + i).start(() -> {
                if (domain != null) {
                    try (Section s = domain.enter()) {
                        sink = (int) SHARED.getAcquire(this);
                    }
                } else {
                    rwlock.readLock().lock();
                    try {
                        sink = (int) SHARED.getAcquire(this);
                    } finally {
                        rwlock.readLock().unlock();
                    }
                }
                entered.countDown();
                try {
                    done.await(); // idle, registered, outside any section
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        entered.await();
    }

    @TearDown(Level.Trial)
    public void stopParticipants() throws InterruptedException {
        done.countDown();
        for (Thread t : threads) {
            t.join();
        }
        if (domain != null) {
            SyncBench.close(domain);
        }
    }

    @Benchmark
    public void synchronize() {
        if (domain == null) {
            ReentrantReadWriteLock.WriteLock lock = rwlock.writeLock();
            lock.lock();
            try {
                SHARED.setRelease(this, ++version);
            } finally {
                lock.unlock();
            }
            return;
        }
        SHARED.setRelease(this, ++version);
        domain.synchronize();
    }

    private static final VarHandle SHARED;

    static {
        try {
            SHARED = MethodHandles.lookup().findVarHandle(ManyParticipants.class, "shared", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
