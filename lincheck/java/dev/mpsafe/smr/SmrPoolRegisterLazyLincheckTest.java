package dev.mpsafe.smr;

/** {@link SmrPoolRegisterLincheckTest} over a LAZY domain. */
public class SmrPoolRegisterLazyLincheckTest extends SmrPoolRegisterLincheckTest {
    @Override
    protected Smr.Mode mode() {
        return Smr.Mode.LAZY;
    }
}
