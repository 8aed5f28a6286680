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
 * Question: how long does a writer wait in one {@code synchronize()}, with 0, 1 and 2 other
 * participants reading all the time?
 *
 * <p>One operation is what a writer does after preparing an update: a release store to the shared
 * field (the unpublish, as {@link Protected#store} does) and one {@link GraceDomain#synchronize()}.
 * JMH samples each operation ({@code Mode.SampleTime}), so the table gives the distribution in µs:
 * read {@code p0.50} and {@code p0.99}, not only the mean.
 *
 * <p>The other participants are {@code participants} background threads, started for the trial,
 * each registered with the domain and looping {@code p.enter(); read the shared field; p.exit();}
 * with nothing between sections: they are inside a section most of the time, the worst case for a
 * writer, which must wait for the section each one is in. With 0 participants the figure is the
 * writer's own fixed cost: a fence (FENCED, epoch) or {@code membarrier(2)} (ASYMMETRIC) and an
 * empty scan. The readers are stopped and joined at trial teardown, and the number of sections
 * each completed is printed (a reader that made no progress would mean the writer starved it).
 *
 * <p>The schemes are each other's peers: {@code pserializeFenced} (writer: a fence, then wait for
 * each reader seen inside), {@code pserializeAsymmetric} (writer: {@code membarrier(2)}, an IPI to
 * every CPU running a thread of the process, then the same wait) and {@code epoch} (writer: advance
 * the global epoch twice, each advance waiting for the readers still in an older epoch), and SMR's
 * three modes ({@code smrDefault}: advance, fence, scan for readers older than the goal;
 * {@code smrLazy}: the same with one {@code membarrier(2)} instead of the fence; {@code smrDeferred}:
 * as DEFAULT, the advance forced by the wait). The JDK peer is {@code rwlock}: participants hold
 * a {@code ReentrantReadWriteLock}'s read lock around the same read, and the writer's operation is
 * taking and releasing the write lock around the store (which waits for the reader inside to leave,
 * as a grace period does, but also stops new readers while held). The ASYMMETRIC and LAZY domains fall back to fenced
 * readers where membarrier is unavailable; setup prints a NOTE then.
 *
 * <p>On a 2-core machine, 2 participants plus the writer are 3 runnable threads on 2 cores: a reader
 * preempted inside its section makes the writer wait for the scheduler (milliseconds). That is in
 * the tail on purpose; it is what a writer sees on an oversubscribed machine.
 *
 * <p>Run (21 cases, about 9 minutes on 2 cores):
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.sync\.SynchronizeLatency\..*' \
 *       -Djmh.args="-f 2 -wi 2 -w 2s -i 3 -r 2s"
 * </pre>
 * Add {@code -p impl=epoch} or {@code -p participants=0} to run a subset.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class SynchronizeLatency {

    @Param({"pserializeFenced", "pserializeAsymmetric", "epoch", "smrDefault", "smrLazy", "smrDeferred", "rwlock"})
    public String impl;

    /** Background threads that keep entering and leaving sections. */
    @Param({"0", "1", "2"})
    public int participants;

    GraceDomain domain;
    /** The {@code rwlock} variant's lock: readers hold its read lock, the writer takes its write lock. */
    final ReentrantReadWriteLock rwlock = new ReentrantReadWriteLock();
    Thread[] readers;
    long[] sections;
    volatile boolean stop;
    volatile int readerSink;

    @SuppressWarnings("unused") // accessed through SHARED
    private int shared;
    private int version;

    @Setup(Level.Trial)
    public void startReaders() throws InterruptedException {
        domain = impl.equals("rwlock") ? null : SyncBench.domain(impl, "sync-latency");
        stop = false;
        readers = new Thread[participants];
        sections = new long[participants];
        CountDownLatch registered = new CountDownLatch(participants);
        for (int i = 0; i < participants; i++) {
            final int index = i;
            readers[i] = Thread.ofPlatform().daemon().name("sync-latency-reader-" + i)
                    .unstarted(() -> readLoop(index, registered));
            readers[i].start();
        }
        registered.await();
    }

    /** A participant: registers on its own thread, then enter/read/exit until stopped. */
    private void readLoop(int index, CountDownLatch registered) {
        if (domain == null) {
            lockedReadLoop(index, registered);
            return;
        }
        final Participant p = domain.register();
        registered.countDown();
        long n = 0;
        int sink = 0;
        while (!stop) {
            p.enter();
            try {
                sink += (int) SHARED.getAcquire(this);
            } finally {
                p.exit();
            }
            n++;
        }
        p.release();
        sections[index] = n; // published to the teardown by Thread.join
        readerSink = sink; // keeps the reads alive
    }

    /** The {@code rwlock} participant: read lock, read, unlock, until stopped. */
    private void lockedReadLoop(int index, CountDownLatch registered) {
        final ReentrantReadWriteLock.ReadLock lock = rwlock.readLock();
        registered.countDown();
        long n = 0;
        int sink = 0;
        while (!stop) {
            lock.lock();
            try {
                sink += (int) SHARED.getAcquire(this);
            } finally {
                lock.unlock();
            }
            n++;
        }
        sections[index] = n;
        readerSink = sink;
    }

    @TearDown(Level.Trial)
    public void stopReaders() throws InterruptedException {
        stop = true;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < readers.length; i++) {
            readers[i].join();
            sb.append(i == 0 ? "" : ", ").append(sections[i]);
        }
        if (readers.length > 0) {
            System.out.println("sections completed by each reader during the trial: " + sb);
        }
        if (domain != null) {
            SyncBench.close(domain);
        }
    }

    @Benchmark
    public void synchronize() {
        if (domain == null) {
            // The lock's equivalent of a grace period: the write lock waits for every reader
            // inside to leave (and keeps new ones out while it is held).
            ReentrantReadWriteLock.WriteLock lock = rwlock.writeLock();
            lock.lock();
            try {
                SHARED.setRelease(this, ++version);
            } finally {
                lock.unlock();
            }
            return;
        }
        SHARED.setRelease(this, ++version); // the unpublish the grace period is for
        domain.synchronize();
    }

    // VarHandle mechanics
    private static final VarHandle SHARED;

    static {
        try {
            SHARED = MethodHandles.lookup().findVarHandle(SynchronizeLatency.class, "shared", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
