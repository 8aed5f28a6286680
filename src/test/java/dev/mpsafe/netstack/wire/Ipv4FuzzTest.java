package dev.mpsafe.netstack.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for the Ipv4 parser; the oracle is {@link FuzzOracles#ipv4}. A plain {@code mvnw test}
 * runs the committed inputs under {@code src/test/resources/dev/mpsafe/netstack/wire/Ipv4FuzzTestInputs/ipv4/}
 * (regression mode). To fuzz for the bounded time:
 * {@code JAZZER_FUZZ=1 ./mvnw -o test -Dtest=Ipv4FuzzTest -Dsurefire.failIfNoSpecifiedTests=false};
 * a crash is written to that folder: commit it so it stays a regression case.
 */
class Ipv4FuzzTest {

    @FuzzTest(maxDuration = "30s")
    void ipv4(byte[] input) {
        FuzzOracles.ipv4(input);
    }
}
