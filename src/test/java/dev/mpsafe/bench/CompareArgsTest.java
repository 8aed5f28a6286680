package dev.mpsafe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The command line that Compare and ReportCheck share: nothing unknown, missing or repeated passes. */
class CompareArgsTest {

    @Test
    void shouldTakeEveryOptionOnce() {
        CompareArgs a = CompareArgs.parse("--mode", "smoke", "--out", "/tmp/r", "--only", "pcq|kcont", "--run-id", "x1");
        assertEquals(Compare.Mode.SMOKE, a.mode());
        assertEquals(Path.of("/tmp/r"), a.out());
        assertEquals("pcq|kcont", a.only());
        assertEquals("x1", a.runId());
        assertFalse(a.help());
    }

    @Test
    void shouldDefaultToQuickModeInTargetCompare() {
        CompareArgs a = CompareArgs.parse();
        assertEquals(Compare.Mode.QUICK, a.mode());
        assertEquals(Path.of("target", "compare"), a.out());
        assertNull(a.only());
        assertNull(a.runId());
    }

    @Test
    void shouldRejectAnUnknownOption() {
        var e = assertThrows(IllegalArgumentException.class, () -> CompareArgs.parse("--bogus", "target/compare"));
        assertEquals("unknown option '--bogus'", e.getMessage());
    }

    @Test
    void shouldRejectAPositionalDirectory() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> CompareArgs.parse("--mode", "smoke", "target/compare", "/tmp/old"));
        assertTrue(e.getMessage().startsWith("unexpected argument 'target/compare'"), e.getMessage());
    }

    @Test
    void shouldRejectAnOptionWithoutItsValue() {
        for (String flag : new String[] {"--mode", "--only", "--out", "--run-id"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> CompareArgs.parse(flag));
            assertEquals(flag + " needs a value", e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> CompareArgs.parse("--only", "--mode", "smoke"));
        assertEquals("--only needs a value, got the option '--mode'", e.getMessage());
    }

    @Test
    void shouldRejectAnOptionGivenTwice() {
        // What -Dcompare.args="--out /tmp/r" produces: the pom's --out, then the user's.
        var e = assertThrows(IllegalArgumentException.class,
                () -> CompareArgs.parse("--mode", "quick", "--out", "target/compare", "--out", "/tmp/r"));
        assertTrue(e.getMessage().startsWith("--out given twice ('target/compare', then '/tmp/r')"), e.getMessage());
        var m = assertThrows(IllegalArgumentException.class, () -> CompareArgs.parse("--mode", "quick", "--mode", "full"));
        assertTrue(m.getMessage().startsWith("--mode given twice ('quick', then 'full')"), m.getMessage());
    }

    @Test
    void shouldRejectAnUnknownMode() {
        var e = assertThrows(IllegalArgumentException.class, () -> CompareArgs.parse("--mode", "fast"));
        assertEquals("unknown mode 'fast'; use smoke, quick or full", e.getMessage());
    }

    @Test
    void shouldTakeHelpOnlyAlone() {
        assertTrue(CompareArgs.parse("--help").help());
        assertTrue(CompareArgs.parse("-h").help());
        // What -Dcompare.args=--help produces: the run would be skipped and an old folder checked.
        var e = assertThrows(IllegalArgumentException.class,
                () -> CompareArgs.parse("--mode", "quick", "--out", "target/compare", "--help"));
        assertTrue(e.getMessage().startsWith("--help takes no other argument"), e.getMessage());
    }
}
