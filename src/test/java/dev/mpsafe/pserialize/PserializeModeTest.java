package dev.mpsafe.pserialize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.internal.SlotPeek;
import dev.mpsafe.internal.ThreadSlot;
import dev.mpsafe.sync.GraceOptions;
import java.util.concurrent.CountDownLatch;
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

    /**
     * A reader's next word carries its domain's mode (the FENCED readers' fence flag). The writer
     * rewrites that word whenever it waits on a section; a rewrite that dropped the flag would
     * silently turn a FENCED domain's readers fence-free after the first wait, which no litmus
     * without a wait would notice.
     */
    @Test
    void shouldKeepEachModesFenceFlagWhenAWriterChangesTheNextTag() throws Exception {
        for (Pserialize.Mode mode : Pserialize.Mode.values()) {
            Pserialize d = Pserialize.create(GraceOptions.named("flag-" + mode), mode);
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch leave = new CountDownLatch(1);
            Pserialize.Reader[] reader = new Pserialize.Reader[1];
            Thread t = new Thread(() -> {
                Pserialize.Reader r = reader[0] = d.register(); // the exact type, no cast
                long token = r.enterToken();
                inside.countDown();
                try {
                    leave.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                } finally {
                    r.exit(token);
                }
            }, "reader-" + mode);
            t.start();
            inside.await();
            long before = SlotPeek.loNextWord(reader[0]);
            Thread writer = new Thread(d::perform, "writer-" + mode);
            writer.start();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (SlotPeek.loNextWord(reader[0]) == before && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // the writer changes the next tag before it waits
            }
            long after = SlotPeek.loNextWord(reader[0]);
            leave.countDown();
            writer.join(10_000);
            t.join();
            assertTrue(after != before, mode + ": the writer did not change the next tag");
            assertEquals(ThreadSlot.tagOf(before) + 1, ThreadSlot.tagOf(after), mode + ": next tag");
            long flag = d.mode() == Pserialize.Mode.FENCED ? ThreadSlot.OFFLINE_BIT : 0; // the active mode
            assertEquals(flag, after & ThreadSlot.OFFLINE_BIT, d.mode() + ": the fence flag after the change");
            assertEquals(flag, before & ThreadSlot.OFFLINE_BIT, d.mode() + ": the fence flag before it");
            assertEquals(1, ThreadSlot.depthOf(after), "the next word announces depth 1");
            assertTrue(!writer.isAlive(), "perform did not return after the reader left");
        }
    }
}
