package dev.mpsafe.netstack.ip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {

    @Test
    void shouldGiveBurstThenOnePerInterval() {
        AtomicLong now = new AtomicLong(-5); // any start, negative included
        TokenBucket b = new TokenBucket(now::get, 3, 10);
        for (int i = 0; i < 3; i++) {
            assertTrue(b.tryAcquire(), "token " + i);
        }
        assertFalse(b.tryAcquire());
        now.addAndGet(9);
        assertFalse(b.tryAcquire());
        now.addAndGet(1);
        assertTrue(b.tryAcquire());
        assertFalse(b.tryAcquire());
        now.addAndGet(1_000_000);
        int got = 0;
        while (b.tryAcquire()) {
            got++;
        }
        assertEquals(3, got, "refills to the burst, never above");
    }

    /**
     * One token, then none ever again: {@code interval} Long.MAX_VALUE. The take after the first
     * must not wrap {@code tat + interval} into the past and be granted (all 10 were before).
     */
    @Test
    void shouldGiveOneTokenThenNoneWhenTheIntervalIsLongMax() {
        for (long start : new long[] {0, -5, 1_000_000_007L, Long.MAX_VALUE - 3, Long.MIN_VALUE}) {
            AtomicLong now = new AtomicLong(start);
            TokenBucket b = new TokenBucket(now::get, 1, Long.MAX_VALUE);
            assertTrue(b.tryAcquire(), "the one token, start " + start);
            for (int i = 0; i < 10; i++) {
                assertFalse(b.tryAcquire(), "take " + i + " after the token, start " + start);
                now.addAndGet(1_000_000_000_000L); // 1,000 s later: still nothing
            }
            now.set(start + Long.MAX_VALUE); // a full interval later (the clock wraps): one more
            assertTrue(b.tryAcquire(), "refilled after Long.MAX_VALUE ns, start " + start);
            assertFalse(b.tryAcquire());
        }
    }

    /** Two tokens, one more every Long.MAX_VALUE / 2 ns: the span is Long.MAX_VALUE - 1. */
    @Test
    void shouldGiveTheBurstThenWaitWhenTheSpanIsNearLongMax() {
        long interval = Long.MAX_VALUE / 2;
        AtomicLong now = new AtomicLong(42);
        TokenBucket b = new TokenBucket(now::get, 2, interval);
        assertTrue(b.tryAcquire());
        assertTrue(b.tryAcquire());
        for (int i = 0; i < 10; i++) {
            assertFalse(b.tryAcquire(), "take " + i + " beyond the burst");
        }
        now.addAndGet(interval - 1);
        assertFalse(b.tryAcquire(), "one ns before the refill");
        now.addAndGet(1);
        assertTrue(b.tryAcquire(), "refilled one token");
        assertFalse(b.tryAcquire());
        now.addAndGet(2 * interval); // wraps the clock: refills both
        assertTrue(b.tryAcquire());
        assertTrue(b.tryAcquire());
        assertFalse(b.tryAcquire());
    }

    @Test
    void shouldWorkAcrossClockWrap() {
        AtomicLong now = new AtomicLong(Long.MAX_VALUE - 15);
        TokenBucket b = new TokenBucket(now::get, 2, 10);
        assertTrue(b.tryAcquire());
        assertTrue(b.tryAcquire());
        assertFalse(b.tryAcquire());
        now.addAndGet(20); // wraps to negative
        assertTrue(b.tryAcquire());
        assertTrue(b.tryAcquire());
        assertFalse(b.tryAcquire());
    }

    @Test
    void shouldGiveExactlyTheBurstToRacingThreads() throws InterruptedException {
        for (int round = 0; round < 200; round++) {
            TokenBucket b = new TokenBucket(() -> 42, 16, 1_000);
            AtomicInteger granted = new AtomicInteger();
            CountDownLatch start = new CountDownLatch(1);
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < 100; i++) {
                        if (b.tryAcquire()) {
                            granted.incrementAndGet();
                        }
                    }
                });
            }
            start.countDown();
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(16, granted.get(), "round " + round);
        }
    }

    @Test
    void shouldRefuseBadParametersNamingThem() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TokenBucket(() -> 0, 0, 1));
        assertEquals("burst 0 below 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TokenBucket(() -> 0, 1, 0));
        assertEquals("interval 0 ns below 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TokenBucket(() -> 0, 2, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
    }
}
