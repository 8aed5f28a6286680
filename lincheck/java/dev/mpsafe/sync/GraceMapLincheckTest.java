package dev.mpsafe.sync;

import java.util.HashMap;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Linearizability of {@link GraceMap} (lock-free lookups in read sections, pooled nodes recycled
 * after a grace period) against a sequential {@link HashMap}, one small subclass per scheme. A node
 * recycled before its grace period shows up as a lookup returning the poison value -1, another
 * key's value, or null for a key that was present throughout
 * ({@link GraceMapNonWaitingLincheckTest} shows the model checker finding it).
 *
 * <p>Both strategies run, as for pcq. Model checking explores interleavings of the real domain
 * code (slot registration through the thread-local, enter/exit, the writer's scan and its wait
 * loop, which Lincheck recognises as a spin loop and switches out of; the epoch's callback
 * buckets) but assumes sequential consistency: it checks the grace-period logic, not the fences.
 * In particular {@code membarrier(2)} is a no-op under it, so the FENCED and ASYMMETRIC
 * pserialize subclasses differ only in the stress run, where real threads run the JIT-compiled
 * code on the hardware. No guarantees ({@code ignore}/{@code treatAsAtomic}) are needed: with
 * Lincheck 3.7's defaults the model checker copes with the {@code ThreadLocal}, the
 * {@code ReentrantLock}s, {@code LockSupport.parkNanos} and the FFM downcall. An invocation costs
 * about 4 ms (pserialize) to 7 ms (epoch) of model checking on a small machine, so the iteration
 * counts are small: about 10 s per subclass in all.
 */
@Param(name = "key", gen = IntGen.class, conf = "1:4")
@Param(name = "value", gen = IntGen.class, conf = "1:5")
public abstract class GraceMapLincheckTest {

    /** Two buckets: keys 1..4 form chains {2, 4} and {1, 3}, so walks cross unlinked nodes. */
    static final int BUCKETS = 2;

    private final GraceMap map = newMap();

    /** A fresh map over a fresh domain; called once per Lincheck invocation. */
    protected abstract GraceMap newMap();

    @Operation
    public Integer get(@Param(name = "key") int key) {
        return map.get(key);
    }

    @Operation
    public Integer put(@Param(name = "key") int key, @Param(name = "value") int value) {
        return map.put(key, value);
    }

    @Operation
    public Integer remove(@Param(name = "key") int key) {
        return map.remove(key);
    }

    /** Sanity, sequential: the pool really hands reclaimed nodes to later puts. */
    @Test
    void shouldReusePooledNodesWhenNoReaderHoldsThem() {
        GraceMap m = newMap();
        m.put(1, 1);
        m.put(1, 2); // retires the first node of key 1
        m.remove(1); // retires the second
        m.put(3, 3);
        m.put(2, 2);
        m.put(4, 4);
        assertEquals(3, m.get(3));
        assertEquals(null, m.get(1));
        assertTrue(m.reused() >= 1, "no put reused a pooled node: " + m.reused());
    }

    @Test
    void modelCheckingTest() {
        modelChecking().check(this.getClass());
    }

    @Test
    void stressTest() {
        new StressOptions()
                .iterations(20)
                .invocationsPerIteration(1_000)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(SequentialMap.class)
                .check(this.getClass());
    }

    /** The model-checking options. */
    protected ModelCheckingOptions modelChecking() {
        return new ModelCheckingOptions()
                .iterations(10)
                .invocationsPerIteration(100)
                .threads(3)
                .actorsPerThread(2)
                .sequentialSpecification(SequentialMap.class);
    }

    /** The sequential specification. */
    public static final class SequentialMap {
        private final HashMap<Integer, Integer> m = new HashMap<>();

        public Integer get(int key) {
            return m.get(key);
        }

        public Integer put(int key, int value) {
            return m.put(key, value);
        }

        public Integer remove(int key) {
            return m.remove(key);
        }
    }
}
