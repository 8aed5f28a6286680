package dev.mpsafe.smr;

/** {@link SmrPoolRegisterLincheckTest} over a DEFERRED(4) domain. */
public class SmrPoolRegisterDeferredLincheckTest extends SmrPoolRegisterLincheckTest {
    @Override
    protected Smr.Mode mode() {
        return Smr.Mode.deferred(4);
    }
}
