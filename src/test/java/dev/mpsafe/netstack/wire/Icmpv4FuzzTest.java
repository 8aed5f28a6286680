package dev.mpsafe.netstack.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for the Icmpv4 parser; the oracle is {@link FuzzOracles#icmpv4}. A plain {@code mvnw test}
 * runs the committed inputs under {@code src/test/resources/dev/mpsafe/netstack/wire/Icmpv4FuzzTestInputs/icmpv4/}
 * (regression mode). To fuzz for the bounded time:
 * {@code JAZZER_FUZZ=1 ./mvnw -o test -Dtest=Icmpv4FuzzTest -Dsurefire.failIfNoSpecifiedTests=false};
 * a crash is written to that folder: commit it so it stays a regression case.
 */
class Icmpv4FuzzTest {

    @FuzzTest(maxDuration = "30s")
    void icmpv4(byte[] input) {
        FuzzOracles.icmpv4(input);
    }
}
