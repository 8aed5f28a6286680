package dev.mpsafe.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.pserialize.Pserialize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/** Stalls are visible to tools: a JFR event names the domain, the reader thread and the wait. */
class GraceStallJfrTest {

    @Test
    void shouldRecordJfrEventWhenWriterStallsOnReader() throws Exception {
        AtomicInteger reports = new AtomicInteger();
        Pserialize d = Pserialize.create(GraceOptions.named("jfr-stall")
                .withStallThreshold(Duration.ofMillis(20))
                .withStallHandler(s -> reports.incrementAndGet()), Pserialize.Mode.FENCED);
        Path file = Files.createTempFile("mpsafe-stall", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.mpsafe.GracePeriodStall");
            recording.start();
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch leave = new CountDownLatch(1);
            Thread reader = GraceDomainContractTest.holdSection(d, "jfr-slow-reader", inside, leave);
            inside.await();
            Thread writer = new Thread(d::perform, "jfr-writer");
            writer.start();
            while (reports.get() == 0 && writer.isAlive()) {
                Thread.onSpinWait();
            }
            leave.countDown();
            writer.join(10_000);
            reader.join();
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("dev.mpsafe.GracePeriodStall"))
                .toList();
        Files.deleteIfExists(file);
        assertEquals(1, events.size(), "one stall event: " + events);
        RecordedEvent e = events.get(0);
        assertEquals("jfr-stall", e.getString("domain"));
        assertEquals("jfr-slow-reader", e.getString("readerThread"));
        assertTrue(e.getDuration("waited").toMillis() >= 20, "waited " + e.getDuration("waited"));
    }

    @Test
    void shouldSerializeConcurrentPerformCallsAndReturnAllOfThem() throws Exception {
        Pserialize d = Pserialize.create(GraceOptions.named("concurrent-perform"), Pserialize.Mode.FENCED);
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = GraceDomainContractTest.holdSection(d, "reader", inside, leave);
        inside.await();
        AtomicInteger returned = new AtomicInteger();
        Thread w1 = new Thread(() -> {
            d.perform();
            returned.incrementAndGet();
        });
        Thread w2 = new Thread(() -> {
            d.perform();
            returned.incrementAndGet();
        });
        w1.start();
        w2.start();
        GraceDomainContractTest.awaitParkedOrSpinning(w1);
        GraceDomainContractTest.awaitParkedOrSpinning(w2);
        assertEquals(0, returned.get(), "a perform returned while the pre-existing reader was inside");
        leave.countDown();
        w1.join(10_000);
        w2.join(10_000);
        assertFalse(w1.isAlive() || w2.isAlive());
        assertEquals(2, returned.get());
        reader.join();
    }
}
