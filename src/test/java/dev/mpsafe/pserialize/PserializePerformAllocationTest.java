package dev.mpsafe.pserialize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.sync.GraceOptions;
import dev.mpsafe.sync.Section;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * perform() allocates nothing per call once it has scanned the domain's largest table, however
 * many readers are registered: it reuses its buffer of slot states. Found by the comparison's
 * many-participants case (JMH -prof gc showed 80 KB per perform with 10,000 registered virtual
 * threads: one long per slot, allocated per scan); this test fails if that comes back.
 */
class PserializePerformAllocationTest {

    private static final int READERS = 2_000;
    private static final int PERFORMS = 2_000;

    @ParameterizedTest
    @EnumSource(Pserialize.Mode.class)
    void shouldNotAllocatePerPerformWithManyRegisteredReaders(Pserialize.Mode mode) throws Exception {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "per-thread allocation counting unsupported");
        threads.setThreadAllocatedMemoryEnabled(true);

        Pserialize psz = Pserialize.create(GraceOptions.named("perform-alloc"), mode);
        CountDownLatch entered = new CountDownLatch(READERS);
        CountDownLatch done = new CountDownLatch(1);
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < READERS; i++) {
            readers.add(Thread.ofVirtual().start(() -> {
                try (Section s = psz.enter()) {
                    entered.countDown();
                }
                try {
                    done.await(); // registered, idle, outside any section
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        entered.await();
        try {
            for (int i = 0; i < PERFORMS; i++) {
                psz.perform(); // warm-up: the JIT compiles the scan; the buffer grows once
            }
            long tid = Thread.currentThread().threadId();
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < PERFORMS; i++) {
                psz.perform();
            }
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            // One buffer per perform would be 8 x 2,000 x 2,000 = 32 MB; allow the measuring itself.
            assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes over " + PERFORMS + " performs with "
                    + READERS + " registered readers");
        } finally {
            done.countDown();
            for (Thread t : readers) {
                t.join();
            }
        }
        assertEquals(0, done.getCount());
    }
}
