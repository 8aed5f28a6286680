package dev.mpsafe.pcq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The claim "zero allocation per put and get", checked by counting the bytes this thread allocates
 * (HotSpot's per-thread allocation counter) across {@value #ROUNDS} rounds of
 * {@value #OPS_PER_ROUND} operations: every non-blocking operation the docs list as allocation-free. JMH's {@code -prof gc}
 * shows the same figure in the comparison; this test makes the claim fail the build if it breaks.
 */
class PcqAllocationTest {

    private static final int ROUNDS = 1_000_000;
    /** put ×3, peek, relaxedPeek, get, relaxedGet, drain: see {@link #exercise}. */
    private static final int OPS_PER_ROUND = 8;

    @Test
    void shouldNotAllocatePerPutGetPeekRelaxedOrDrain() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "per-thread allocation counting unsupported");
        threads.setThreadAllocatedMemoryEnabled(true);

        Pcq<Integer> q = Pcq.create(100);
        Integer item = 12345; // one preallocated item: we measure the queue, not boxing
        long[] sink = new long[1];
        java.util.function.Consumer<Integer> drainer = x -> sink[0] += x;

        // Warm up so the JIT has compiled the paths (and escape analysis has had its chance).
        exercise(q, item, drainer, ROUNDS);

        long tid = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(tid);
        exercise(q, item, drainer, ROUNDS);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;

        // A single allocation per operation would be >= 16 bytes x 8 million; allow a little for the
        // measuring machinery itself (the counter call, an occasional JIT-deopt object).
        long operations = (long) OPS_PER_ROUND * ROUNDS;
        assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes over " + operations + " operations");
        assertEquals(0, q.size());
        assertTrue(sink[0] > 0);
    }

    private static void exercise(Pcq<Integer> q, Integer item, java.util.function.Consumer<Integer> drainer, int rounds) {
        for (int i = 0; i < rounds; i++) {
            q.put(item);
            q.put(item);
            q.put(item);
            q.peek();
            q.relaxedPeek();
            q.get();
            q.relaxedGet();
            q.drain(drainer, 1);
        }
    }
}
