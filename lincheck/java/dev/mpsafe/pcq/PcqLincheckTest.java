package dev.mpsafe.pcq;

import java.util.ArrayDeque;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the strict pcq operations against a sequential bounded FIFO, with two
 * producers racing one consumer. Capacity 2 keeps "full" reachable in short scenarios.
 *
 * <p>Consumer operations sit in a non-parallel group: pcq has one consumer at a time. Both
 * strategies run: model checking explores interleavings but assumes sequential consistency, so it
 * cannot see a missing {@code volatile}; stress runs real threads on the JIT-compiled code.
 * Iteration counts are explicit and small so the suite stays within seconds.
 */
@Param(name = "item", gen = IntGen.class, conf = "1:5")
public class PcqLincheckTest {

    static final int CAPACITY = 2;

    private final Pcq<Integer> q = Pcq.create(CAPACITY);

    @Operation
    public boolean put(@Param(name = "item") int item) {
        return q.put(item);
    }

    @Operation(nonParallelGroup = "consumer")
    public Integer get() {
        return q.get();
    }

    @Operation(nonParallelGroup = "consumer")
    public Integer peek() {
        return q.peek();
    }

    @Operation
    public int size() {
        return q.size();
    }

    @Operation
    public boolean isEmpty() {
        return q.isEmpty();
    }

    @Test
    void modelCheckingTest() {
        new ModelCheckingOptions()
                .iterations(30)
                .invocationsPerIteration(1_000)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(BoundedFifo.class)
                .check(this.getClass());
    }

    @Test
    void stressTest() {
        new StressOptions()
                .iterations(30)
                .invocationsPerIteration(2_000)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(BoundedFifo.class)
                .check(this.getClass());
    }

    /** The sequential specification: a FIFO of at most {@link #CAPACITY} items. */
    public static final class BoundedFifo {
        private final ArrayDeque<Integer> items = new ArrayDeque<>();

        public boolean put(int item) {
            if (items.size() == CAPACITY) {
                return false;
            }
            items.addLast(item);
            return true;
        }

        public Integer get() {
            return items.pollFirst();
        }

        public Integer peek() {
            return items.peekFirst();
        }

        public int size() {
            return items.size();
        }

        public boolean isEmpty() {
            return items.isEmpty();
        }
    }
}
