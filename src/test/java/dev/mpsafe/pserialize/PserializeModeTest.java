package dev.mpsafe.pserialize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.sync.GraceOptions;
import org.junit.jupiter.api.Test;

class PserializeModeTest {

    @Test
    void shouldPickAsymmetricWhereMembarrierWorks() {
        String why = Pserialize.asymmetricUnavailableReason();
        Pserialize p = Pserialize.create("auto");
        if (why == null) {
            assertEquals(Pserialize.Mode.ASYMMETRIC, p.mode());
        } else {
            assertEquals(Pserialize.Mode.FENCED, p.mode(), "membarrier unavailable: " + why);
        }
    }

    @Test
    void shouldHaveMembarrierOnLinuxX86AndArm() {
        String os = System.getProperty("os.name").toLowerCase();
        String arch = System.getProperty("os.arch");
        assumeTrue(os.contains("linux") && (arch.equals("amd64") || arch.equals("aarch64")),
                "membarrier is bound on Linux x86-64/aarch64 only");
        assumeTrue(System.getProperty("mpsafe.membarrier") == null, "disabled on purpose");
        assertNull(Pserialize.asymmetricUnavailableReason(), "this Linux should support membarrier");
    }

    @Test
    void shouldFallBackToFencedWhenMembarrierUnavailable() {
        Pserialize p = Pserialize.create(GraceOptions.named("fallback"), Pserialize.Mode.ASYMMETRIC, false,
                "test: pretend seccomp refused it");
        assertEquals(Pserialize.Mode.FENCED, p.mode());
        p.readEnter();
        p.readExit();
        p.perform();
    }

    @Test
    void shouldLogTheFallbackOnceNamingTheDomainEvenWhenCreatesRace() throws Exception {
        java.util.List<String> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean logged = new java.util.concurrent.atomic.AtomicBoolean();
        int threads = 8;
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
        Thread[] ts = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            String name = "racing-" + i;
            ts[i] = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception ex) {
                    throw new AssertionError(ex);
                }
                Pserialize.create(GraceOptions.named(name), Pserialize.Mode.ASYMMETRIC, false,
                        "test: pretend seccomp refused it", logged, messages::add);
            });
            ts[i].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(1, messages.size(), "logged once: " + messages);
        assertTrue(messages.get(0).startsWith("pserialize 'racing-"), messages.get(0));
        assertTrue(messages.get(0).contains("pretend seccomp refused it"), messages.get(0));
    }

    @Test
    void shouldHonourExplicitFenced() {
        assertEquals(Pserialize.Mode.FENCED, Pserialize.create(GraceOptions.named("f"), Pserialize.Mode.FENCED).mode());
    }

    @Test
    void shouldRejectReadExitWithoutReadEnter() {
        Pserialize p = Pserialize.create("x");
        IllegalStateException e = assertThrows(IllegalStateException.class, p::readExit);
        assertTrue(e.getMessage().contains("readExit"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Pserialize.create(null, Pserialize.Mode.FENCED));
        assertThrows(IllegalArgumentException.class, () -> GraceOptions.named(" "));
    }
}
