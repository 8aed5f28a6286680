package dev.mpsafe.smr;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * Question: what does an off-heap buffer cost from {@link SegmentPool}, against opening an arena
 * per buffer?
 *
 * <p>One operation: obtain a {@link #size}-byte, 64-byte-aligned buffer, write its first and last
 * long, release it. Figure: ns per operation.
 * <ul>
 *   <li>{@code segmentPool}: {@link SegmentPool#allocate()} / {@link SegmentPool#free} on a DEFAULT
 *       {@link Smr} domain (no readers; one {@code advance()} and one {@code poll()} per bucket of
 *       32).</li>
 *   <li>{@code arenaShared}: {@code Arena.ofShared()}, {@code allocate}, {@code close()}: what a
 *       buffer that other threads may read needs without a pool. Closing a shared arena makes the
 *       JVM check every thread (a handshake), so it is safe but slow.</li>
 *   <li>{@code arenaConfined}: the same with {@code Arena.ofConfined()}: cheaper to close, but the
 *       buffer may be used by the creating thread only, so it is no substitute for a buffer handed
 *       between threads; shown for scale.</li>
 * </ul>
 *
 * <pre>
 *   ./mvnw -Pjmh verify -Djmh.filter='dev\.mpsafe\.smr\.SegmentChurn' \
 *       -Djmh.args="-f 2 -wi 3 -w 1s -i 5 -r 1s"
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
public class SegmentChurn {

    /** Buffer size, bytes: a jumbo-less Ethernet frame rounds to 2 KiB. */
    @Param({"2048"})
    public int size;

    SegmentPool pool;

    @Setup(Level.Trial)
    public void create() {
        pool = SegmentPool.builder(Smr.create("segment-churn", Smr.Mode.DEFAULT), size).build();
    }

    @TearDown(Level.Trial)
    public void close() {
        pool.close();
    }

    @Benchmark
    public long segmentPool() {
        MemorySegment s = pool.allocate();
        long v = touch(s);
        pool.free(s);
        return v;
    }

    @Benchmark
    public long arenaShared() {
        try (Arena a = Arena.ofShared()) {
            return touch(a.allocate(size, 64));
        }
    }

    @Benchmark
    public long arenaConfined() {
        try (Arena a = Arena.ofConfined()) {
            return touch(a.allocate(size, 64));
        }
    }

    private static long touch(MemorySegment s) {
        long last = s.byteSize() - Long.BYTES;
        s.set(JAVA_LONG, 0, last);
        s.set(JAVA_LONG, last, 1);
        return s.get(JAVA_LONG, 0);
    }
}
