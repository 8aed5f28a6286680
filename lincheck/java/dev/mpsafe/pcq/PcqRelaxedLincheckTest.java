package dev.mpsafe.pcq;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.junit.jupiter.api.Test;

/**
 * Shows that the relaxed consumer is exactly as weak as documented, and so that the strict/relaxed
 * distinction is real: with two producers, a relaxed get may return {@code null} after a put has
 * completed, because an earlier producer claimed the first slot and has not written it yet. Model
 * checking must find that non-linearizable history; if it ever stopped finding it, either
 * relaxedGet became strict (then rename it) or the checker stopped exploring the window.
 */
public class PcqRelaxedLincheckTest {

    private final Pcq<Integer> q = Pcq.create(4);

    @Operation
    public boolean put1() {
        return q.put(1);
    }

    @Operation
    public boolean put2() {
        return q.put(2);
    }

    @Operation(nonParallelGroup = "consumer")
    public Integer relaxedGet() {
        return q.relaxedGet();
    }

    @Test
    void modelCheckingFindsTheRelaxedWindow() {
        AssertionError failure = assertThrows(AssertionError.class, () -> new ModelCheckingOptions()
                .iterations(50)
                .invocationsPerIteration(2_000)
                .threads(3)
                .actorsPerThread(2)
                .minimizeFailedScenario(false)
                .check(this.getClass()));
        // It must be Lincheck's verdict on results, not some other assertion.
        assertTrue(failure.getClass().getName().contains("Lincheck"), failure.getClass().getName());
        assertTrue(failure.getMessage().contains("Invalid execution results"), failure.getMessage());
        assertTrue(failure.getMessage().contains("relaxedGet(): null"), failure.getMessage());
    }
}
