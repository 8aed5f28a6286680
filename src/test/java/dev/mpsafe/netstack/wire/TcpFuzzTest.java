package dev.mpsafe.netstack.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for the Tcp parser; the oracle is {@link FuzzOracles#tcp}. A plain {@code mvnw test}
 * runs the committed inputs under {@code src/test/resources/dev/mpsafe/netstack/wire/TcpFuzzTestInputs/tcp/}
 * (regression mode). To fuzz for the bounded time:
 * {@code JAZZER_FUZZ=1 ./mvnw -o test -Dtest=TcpFuzzTest -Dsurefire.failIfNoSpecifiedTests=false};
 * a crash is written to that folder: commit it so it stays a regression case.
 */
class TcpFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void tcp(byte[] input) {
        FuzzOracles.tcp(input);
    }
}
