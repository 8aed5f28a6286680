package dev.mpsafe.pcq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The claim "zero allocation per put and get", checked by counting the bytes this thread allocates
 * (HotSpot's per-thread allocation counter) across a million operations. JMH's {@code -prof gc}
 * shows the same figure in the comparison; this test makes the claim fail the build if it breaks.
 */
class PcqAllocationTest {

    private static final int OPS = 1_000_000;

    @Test
    void shouldNotAllocatePerPutGetPeekOrDrain() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "per-thread allocation counting unsupported");
        threads.setThreadAllocatedMemoryEnabled(true);

        Pcq<Integer> q = Pcq.create(100);
        Integer item = 12345; // one preallocated item: we measure the queue, not boxing
        long[] sink = new long[1];
        java.util.function.Consumer<Integer> drainer = x -> sink[0] += x;

        // Warm up so the JIT has compiled the paths (and escape analysis has had its chance).
        exercise(q, item, drainer, OPS);

        long tid = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(tid);
        exercise(q, item, drainer, OPS);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;

        // A single allocation per operation would be >= 16 bytes x 4 million; allow a little for the
        // measuring machinery itself (the counter call, an occasional JIT-deopt object).
        assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes over " + (4L * OPS) + " operations");
        assertEquals(0, q.size());
        assertTrue(sink[0] > 0);
    }

    private static void exercise(Pcq<Integer> q, Integer item, java.util.function.Consumer<Integer> drainer, int ops) {
        for (int i = 0; i < ops; i++) {
            q.put(item);
            q.put(item);
            q.peek();
            q.get();
            q.drain(drainer, 1);
        }
    }
}
