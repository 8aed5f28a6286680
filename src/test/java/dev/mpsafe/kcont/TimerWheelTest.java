package dev.mpsafe.kcont;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The timer wheel against a model (a map of deadlines), with random inserts, unlinks and advances
 * across both levels and the far list: every entry leaves in the advance that passes its deadline,
 * never earlier or later, and {@link TimerWheel#nextDueTick()} is never after the earliest deadline
 * nor before the current tick. Plus the idle case the next-due tick exists for: with only far
 * timers, it names the next block with work, not every block boundary.
 */
class TimerWheelTest {

    private final KcontGroup group = KcontGroup.builder("wheel").manual().workers(1).maxKconts(10_000).build();
    private final Worker worker = group.worker(0);

    private Kcont kcont(int i) {
        return worker.kcont("k" + i, Priority.CLOCK, () -> { });
    }

    @Test
    void shouldReleaseEveryEntryInTheAdvanceThatPassesItsDeadlineAndNeverNameADueTickAfterIt() {
        for (int size : new int[] {16, 64, 512}) {
            for (long seed = 1; seed <= 20; seed++) {
                run(size, seed);
            }
        }
    }

    private void run(int size, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long start = rnd.nextLong(1L << 20);
        TimerWheel wheel = new TimerWheel(size, start);
        Map<Kcont, Long> model = new HashMap<>();
        List<Kcont> free = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            free.add(kcont((int) seed * 1000 + size * 100_000 + i));
        }
        long span = (long) size * size;
        KList sink = new KList(false);
        String where = "size " + size + ", seed " + seed;
        for (int step = 0; step < 400; step++) {
            int op = rnd.nextInt(10);
            if (op < 4 && !free.isEmpty()) {
                Kcont k = free.remove(free.size() - 1);
                long delay = switch (rnd.nextInt(4)) {
                    case 0 -> rnd.nextLong(size);
                    case 1 -> size + rnd.nextLong(span);
                    case 2 -> span + rnd.nextLong(3 * span);
                    default -> rnd.nextLong(2 * size);
                };
                long d = wheel.current + delay;
                k.armedTick = d;
                wheel.insert(k, d);
                model.put(k, d);
            } else if (op < 5 && !model.isEmpty()) {
                Kcont k = model.keySet().iterator().next();
                k.list.remove(k); // what Worker.unlink does for a wheel list
                wheel.count--;
                model.remove(k);
                free.add(k);
            } else {
                long due = wheel.nextDueTick();
                long earliest = model.values().stream().min(Long::compare).orElse(Long.MAX_VALUE);
                assertTrue(due <= earliest, where + ": next due tick " + due + " after the earliest deadline " + earliest);
                assertTrue(due >= wheel.current, where + ": next due tick " + due + " before the current tick " + wheel.current);
                long from = wheel.current;
                long to = from + (rnd.nextBoolean() ? rnd.nextLong(size) : rnd.nextLong(2 * span));
                wheel.advance(to, sink);
                Kcont k;
                while ((k = sink.poll()) != null) {
                    long d = model.remove(k);
                    assertTrue(d >= from && d <= to, where + ": deadline " + d + " released by advance(" + to + ") from " + from);
                    free.add(k);
                }
                for (long d : model.values()) {
                    assertTrue(d > to, where + ": deadline " + d + " still in the wheel after advance(" + to + ")");
                }
            }
            assertEquals(model.size(), wheel.count, where);
        }
    }

    @Test
    void shouldNameTheNextBlockWithWorkRatherThanEveryBlockBoundaryForFarTimers() {
        int size = 512;
        TimerWheel wheel = new TimerWheel(size, 1);
        Kcont level1 = kcont(1);
        long d1 = 1 + 300L * size + 17; // in level 1, block 300
        level1.armedTick = d1;
        wheel.insert(level1, d1);
        assertEquals(300L * size, wheel.nextDueTick(), "the start of the level-1 block that holds it");
        level1.list.remove(level1);
        wheel.count--;
        Kcont far = kcont(2);
        long d2 = 1 + 5L * size * size + 3; // beyond level 1's reach
        far.armedTick = d2;
        wheel.insert(far, d2);
        long due = wheel.nextDueTick();
        assertEquals((long) size * size, due, "the first far redistribution, not the next block boundary (" + size + ")");
        KList sink = new KList(false);
        wheel.advance(due, sink);
        assertTrue(wheel.nextDueTick() > due, "after the redistribution the next event lies further on");
        wheel.advance(d2 - 1, sink);
        assertTrue(sink.isEmpty());
        wheel.advance(d2, sink);
        assertTrue(sink.poll() == far);
    }
}
