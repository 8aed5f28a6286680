package dev.mpsafe.kcont;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/** Long runs and exhausted budgets are visible to tools as JFR events, with their details. */
class KcontJfrTest {

    @Test
    void shouldRecordLongRunAndBudgetExhaustedEvents() throws Exception {
        AtomicLong clock = new AtomicLong();
        KcontGroup g = KcontGroup.builder("jfr").manual().workers(1).ticker(clock::get)
                .longRunThreshold(Duration.ofMillis(10)).budget(Priority.NET, 2).build();
        Worker w = g.worker(0);
        Path file = Files.createTempFile("mpsafe-kcont", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.mpsafe.KcontLongRun");
            recording.enable("dev.mpsafe.KcontBudgetExhausted");
            recording.start();
            w.kcont("slow", Priority.BULK, () -> clock.addAndGet(25_000_000L)).schedule(); // 25 ms on the injected clock
            for (int i = 0; i < 3; i++) {
                w.kcont("net" + i, Priority.NET, () -> { }).schedule();
            }
            assertEquals(3, w.runRound()); // 2 NET (budget), then the slow BULK one
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Files.deleteIfExists(file);
        List<RecordedEvent> longRuns = events.stream()
                .filter(e -> e.getEventType().getName().equals("dev.mpsafe.KcontLongRun")).toList();
        List<RecordedEvent> squeezes = events.stream()
                .filter(e -> e.getEventType().getName().equals("dev.mpsafe.KcontBudgetExhausted")).toList();
        assertEquals(1, longRuns.size(), "one long run: " + longRuns);
        assertEquals("slow", longRuns.get(0).getString("kcont"));
        assertEquals("jfr-0", longRuns.get(0).getString("worker"));
        assertEquals("BULK", longRuns.get(0).getString("priority"));
        assertTrue(longRuns.get(0).getDuration("ran").toMillis() >= 25, longRuns.get(0).toString());
        assertEquals(1, squeezes.size(), "one budget exhaustion: " + squeezes);
        assertEquals("NET", squeezes.get(0).getString("priority"));
        assertEquals("count", squeezes.get(0).getString("reason"));
        assertEquals(2, squeezes.get(0).getInt("ran"));
        assertEquals(1, w.stats().longRuns());
        assertEquals(1, w.stats().netSqueezes());
    }
}
