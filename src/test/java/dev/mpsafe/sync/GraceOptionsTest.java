package dev.mpsafe.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;

/** Bad settings are refused when they are made, with the value and the limit in the message. */
class GraceOptionsTest {

    @Test
    void shouldRefuseStallThresholdsAWaitCouldNotMeasure() {
        GraceOptions o = GraceOptions.named("options");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> o.withStallThreshold(ChronoUnit.FOREVER.getDuration()));
        assertTrue(e.getMessage().contains("is above PT2562047H47M16.854775807S (Long.MAX_VALUE ns)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> o.withStallThreshold(Duration.ZERO));
        assertTrue(e.getMessage().contains("must be positive, got PT0S"), e.getMessage());
        Duration longest = Duration.ofNanos(Long.MAX_VALUE);
        assertEquals(longest, o.withStallThreshold(longest).stallThreshold(), "the limit itself is accepted");
    }
}
