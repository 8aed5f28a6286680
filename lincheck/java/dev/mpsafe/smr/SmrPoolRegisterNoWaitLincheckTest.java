package dev.mpsafe.smr;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mpsafe.sync.GraceOptions;
import org.jetbrains.lincheck.LincheckAssertionError;
import org.junit.jupiter.api.Test;

/**
 * Negative control: the pool register over an SMR domain whose polls never wait must fail model
 * checking: the pool hands a cell that a reader is still reading to the next writer, and the
 * reader returns a torn pair or the poison. Shows that the other subclasses' passing runs mean
 * something.
 */
public class SmrPoolRegisterNoWaitLincheckTest extends SmrPoolRegisterLincheckTest {
    @Override
    protected Smr newDomain() {
        return Smr.createBrokenNoWait(GraceOptions.named("pool-register-no-wait"));
    }

    /** Overridden without {@code @Test}: for this domain the check must fail, see below. */
    @Override
    void modelCheckingTest() {
    }

    /** Overridden without {@code @Test}: stress finds it only by chance. */
    @Override
    void stressTest() {
    }

    @Test
    void shouldFailModelCheckingWhenPoolReusesWithoutGracePeriod() {
        assertThrows(LincheckAssertionError.class,
                () -> modelChecking().minimizeFailedScenario(false).check(this.getClass()));
    }
}
