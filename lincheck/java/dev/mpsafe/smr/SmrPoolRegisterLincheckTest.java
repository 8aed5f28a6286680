package dev.mpsafe.smr;

import dev.mpsafe.sync.Protected;
import dev.mpsafe.sync.Section;
import java.util.concurrent.locks.ReentrantLock;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of a register whose cells come from an {@link SmrPool}: writers allocate a cell
 * from the pool (concurrently, each through its own cache), fill it, swap it in under a lock, and
 * free the old cell (concurrently, outside the lock); readers read both fields of the current cell
 * inside a section. The sequential specification is a plain register. A cell reused too early is
 * refilled or poisoned (-1) under a reader, which then returns a torn pair (encoded as
 * {@link #TORN}) or the poison: values no register ever held. This checks the pool itself
 * (per-thread buckets, the depot, goal tagging, the reclaim hook) under model checking and
 * stress; the subclasses run it in the LAZY and DEFERRED modes.
 */
@Param(name = "value", gen = IntGen.class, conf = "1:3")
public class SmrPoolRegisterLincheckTest {

    static final int TORN = -999;

    static final class Cell {
        int a;
        int b;
    }

    private final Smr smr = newDomain();
    private final SmrPool<Cell> pool = SmrPool.<Cell>builder(smr, Cell::new).bucketSize(1).onReclaim(c -> {
        c.a = -1; // poison, after the grace period
        c.b = -1;
    }).build();
    private final ReentrantLock writers = new ReentrantLock();
    private final Protected<Cell> ref = Protected.create(smr, writers, new Cell());

    /** The mode under test; subclasses override. */
    protected Smr.Mode mode() {
        return Smr.Mode.DEFAULT;
    }

    /** A fresh domain per invocation, in {@link #mode()}; the negative control overrides it. */
    protected Smr newDomain() {
        return Smr.create("pool-register", mode());
    }

    @Operation
    public void write(@Param(name = "value") int v) {
        Cell c = pool.allocate();
        c.a = v; // plain: private until the release exchange
        c.b = v;
        Cell old;
        writers.lock();
        try {
            old = ref.exchange(c);
        } finally {
            writers.unlock();
        }
        pool.free(old); // outside the lock: frees race with other writers' allocations
    }

    @Operation
    public int read() {
        try (Section _ = smr.enter()) {
            Cell c = ref.enteredLoad();
            int a = c.a;
            int b = c.b;
            return a == b ? a : TORN;
        }
    }

    @Test
    void modelCheckingTest() {
        modelChecking().check(this.getClass());
    }

    /** The model-checking options. */
    protected ModelCheckingOptions modelChecking() {
        return new ModelCheckingOptions()
                .iterations(10)
                .invocationsPerIteration(100)
                .threads(3)
                .actorsPerThread(2)
                .sequentialSpecification(Register.class);
    }

    @Test
    void stressTest() {
        new StressOptions()
                .iterations(20)
                .invocationsPerIteration(1_000)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(Register.class)
                .check(this.getClass());
    }

    /** The sequential specification: a register holding 0 at first. */
    public static final class Register {
        private int v;

        public void write(int value) {
            v = value;
        }

        public int read() {
            return v;
        }
    }
}
