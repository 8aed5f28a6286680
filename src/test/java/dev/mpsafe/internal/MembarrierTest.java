package dev.mpsafe.internal;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class MembarrierTest {

    @Test
    void shouldNameErrnoWhenTheKernelRefusesACall() {
        assumeTrue(Membarrier.isAvailable(), "membarrier unavailable here: " + Membarrier.unavailableReason());
        Membarrier.barrier(); // the real one works
        // A command no kernel knows: EINVAL. The message used to say only "returned -1".
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Membarrier.command(1 << 30, "BOGUS"));
        assertTrue(e.getMessage().contains("membarrier(BOGUS) returned -1, errno 22"), e.getMessage());
    }
}
