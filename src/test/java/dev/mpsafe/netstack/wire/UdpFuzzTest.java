package dev.mpsafe.netstack.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for the Udp parser; the oracle is {@link FuzzOracles#udp}. A plain {@code mvnw test}
 * runs the committed inputs under {@code src/test/resources/dev/mpsafe/netstack/wire/UdpFuzzTestInputs/udp/}
 * (regression mode). To fuzz for the bounded time:
 * {@code JAZZER_FUZZ=1 ./mvnw -o test -Dtest=UdpFuzzTest -Dsurefire.failIfNoSpecifiedTests=false};
 * a crash is written to that folder: commit it so it stays a regression case.
 */
class UdpFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void udp(byte[] input) {
        FuzzOracles.udp(input);
    }
}
