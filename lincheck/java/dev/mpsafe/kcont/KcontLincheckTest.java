package dev.mpsafe.kcont;

import java.util.concurrent.TimeUnit;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the schedule / cancel / close / run state machine against a sequential model:
 * a pending flag with a saturating count, and a closed flag. Two threads schedule, reschedule,
 * cancel and close while a third
 * plays the worker and runs the continuation whenever a request is pending ({@code run} returns
 * the pending count the run answered, 0 if nothing ran). The worker side is one thread, so it
 * sits in a non-parallel group.
 *
 * <p>The inbox is left out on purpose: a worker that polls it can miss a request whose
 * {@code schedule} has made it pending but not yet put it in the inbox, and reports "nothing ran"
 * although the request is pending; the request then runs in the next round. That is the eventual
 * delivery the contract promises, not an atomic step, so the model-checked object is the state
 * word, which is where the guarantees (coalescing, cancel-or-run, count) live. The inbox path is
 * exercised by the jcstress tests and KcontThreadedTest.
 */
public class KcontLincheckTest {

    private final KcontGroup group = KcontGroup.builder("lincheck").manual().workers(1).maxKconts(1).wheelSize(16).build();
    private final Worker worker = group.worker(0);
    private final Kcont k = worker.kcont("k", Priority.NET, () -> { });

    /** 1: made pending; 0: coalesced; -1: refused because closed (IllegalStateException). */
    @Operation
    public int schedule() {
        try {
            return k.schedule() ? 1 : 0;
        } catch (IllegalStateException closed) {
            return -1;
        }
    }

    @Operation
    public void close() {
        k.close();
    }

    @Operation
    public boolean cancel() {
        return k.cancel();
    }

    @Operation
    public int pendingCount() {
        return k.pendingCount();
    }

    @Operation
    public boolean reschedule() {
        return k.reschedule(0, TimeUnit.NANOSECONDS);
    }

    @Operation(nonParallelGroup = "worker")
    public int run() {
        return worker.runNowForTest(k);
    }

    @Test
    void modelCheckingTest() {
        new ModelCheckingOptions()
                .iterations(20)
                .invocationsPerIteration(1_000)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(Model.class)
                .check(this.getClass());
    }

    @Test
    void stressTest() {
        new StressOptions()
                .iterations(20)
                .invocationsPerIteration(1_500)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(Model.class)
                .check(this.getClass());
    }

    /** The sequential specification. */
    public static final class Model {
        private boolean pending;
        private int count;
        private boolean closed;

        public int schedule() {
            if (closed) {
                return -1;
            }
            if (pending) {
                count = Math.min(count + 1, 0xFFFF);
                return 0;
            }
            pending = true;
            count = 1;
            return 1;
        }

        public void close() {
            closed = true;
            pending = false;
            count = 0;
        }

        public boolean cancel() {
            final boolean was = pending;
            pending = false;
            count = 0;
            return was;
        }

        public int pendingCount() {
            return pending ? count : 0;
        }

        public boolean reschedule() {
            return pending;
        }

        public int run() {
            if (!pending) {
                return 0;
            }
            final int c = count;
            pending = false;
            count = 0;
            return c;
        }
    }
}
