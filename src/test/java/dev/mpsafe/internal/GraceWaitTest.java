package dev.mpsafe.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mpsafe.sync.GraceOptions;
import java.lang.reflect.Field;
import org.junit.jupiter.api.Test;

/** The writer's back-off in {@link GraceWait}. */
class GraceWaitTest {

    /**
     * The round counter saturates. It used to wrap after 2^31 rounds (at 1 ms parks, weeks of one
     * wait), and the waiter then spun and yielded through the early rounds again, about 2^31 of
     * them, before it parked once more. The counter is set near the end by reflection.
     */
    @Test
    void shouldKeepParkingInsteadOfWrappingBackToSpinningAfterTwoToTheThirtyOneRounds() throws Exception {
        GraceWait w = new GraceWait(GraceOptions.named("rounds"));
        Field rounds = GraceWait.class.getDeclaredField("rounds");
        rounds.setAccessible(true);
        rounds.setInt(w, Integer.MAX_VALUE - 1);
        for (int i = 0; i < 3; i++) {
            w.pause(null); // parks at most 1 ms each
        }
        assertEquals(Integer.MAX_VALUE, rounds.getInt(w), "the counter saturates");
    }
}
