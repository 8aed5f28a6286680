package dev.mpsafe.netstack.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.smr.Smr;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.Pipe;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pcap trace: parsed back by a small reader written here from the format's description, and,
 * where tshark is installed, decoded by tshark with checksum validation on.
 */
class PcapWriterTest {

    /** 2023-11-14T22:13:20.123456789Z, then 1.000001001 s per clock read. */
    private static final long T0 = 1_700_000_000_123_456_789L;
    private static final long STEP = 1_000_001_001L;

    @TempDir
    Path dir;
    private PacketPool pool;

    @BeforeEach
    void createPool() {
        pool = PacketPool.create(Smr.create("pcap-test", Smr.Mode.DEFAULT), 2048, 4 << 20);
    }

    @AfterEach
    void poolBalances() {
        pool.close();
        pool.checkBalanced();
    }

    /** A record as the reader found it. */
    record Record(long seconds, long fraction, int storedLength, int originalLength, byte[] bytes) {
    }

    /** The global header and records of a classic pcap file, either byte order. */
    record Trace(int magic, int major, int minor, int snaplen, int linkType, List<Record> records) {
    }

    /** A pcap reader, independent of the writer: it reads whatever byte order the magic says. */
    static Trace read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        assertTrue(b.remaining() >= 24, "global header present");
        b.order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(0);
        if (magic != 0xA1B2C3D4 && magic != 0xA1B23C4D) {
            b.order(ByteOrder.BIG_ENDIAN);
            magic = b.getInt(0);
        }
        assertTrue(magic == 0xA1B2C3D4 || magic == 0xA1B23C4D, "pcap magic, got " + Integer.toHexString(magic));
        b.position(4);
        int major = Short.toUnsignedInt(b.getShort());
        int minor = Short.toUnsignedInt(b.getShort());
        b.getInt(); // thiszone
        b.getInt(); // sigfigs
        int snaplen = b.getInt();
        int linkType = b.getInt();
        List<Record> records = new ArrayList<>();
        while (b.hasRemaining()) {
            assertTrue(b.remaining() >= 16, "whole record header at " + b.position());
            long seconds = Integer.toUnsignedLong(b.getInt());
            long fraction = Integer.toUnsignedLong(b.getInt());
            int incl = b.getInt();
            int orig = b.getInt();
            assertTrue(incl >= 0 && incl <= snaplen && incl <= orig, "incl_len " + incl + ", orig_len " + orig);
            assertTrue(b.remaining() >= incl, "record data inside the file");
            byte[] bytes = new byte[incl];
            b.get(bytes);
            records.add(new Record(seconds, fraction, incl, orig, bytes));
        }
        return new Trace(magic, major, minor, snaplen, linkType, records);
    }

    /**
     * Sends {@code count} echo requests and replies of varied sizes through a pcap-writing
     * loopback, receives them, and returns the bytes of each packet in the order recorded (the
     * sends, then the receives).
     */
    private List<byte[]> traffic(Path file, PcapWriter.Resolution resolution, int count) {
        AtomicLong clock = new AtomicLong(T0 - STEP);
        List<byte[]> expected = new ArrayList<>();
        try (PcapWriter pcap = PcapWriter.open(Loopback.create("lo", 1500, count), file,
                () -> clock.addAndGet(STEP), resolution)) {
            for (int seq = 0; seq < count; seq++) {
                PacketBuffer p = Packets.echo(pool, 0x4D50, seq, (seq * 137) % (1500 - Packets.OVERHEAD + 1),
                        seq % 2 == 1);
                expected.add(Packets.bytes(p));
                assertTrue(pcap.send(p));
            }
            List<PacketBuffer> got = new ArrayList<>();
            assertEquals(count, pcap.receive(got::add, count));
            got.forEach(PacketBuffer::free);
            assertEquals(2L * count, pcap.records());
            assertEquals(0, pcap.writeErrors());
        }
        List<byte[]> both = new ArrayList<>(expected);
        both.addAll(expected);
        return both;
    }

    @Test
    void shouldWriteNanosecondTraceWithLinkTypeRawAndEveryPacketSentAndReceived() throws IOException {
        Path file = dir.resolve("nanos.pcap");
        List<byte[]> expected = traffic(file, PcapWriter.Resolution.NANOSECONDS, 40);
        Trace t = read(file);
        assertEquals(0xA1B23C4D, t.magic(), "nanosecond magic");
        assertEquals(2, t.major());
        assertEquals(4, t.minor());
        assertEquals(65535, t.snaplen());
        assertEquals(101, t.linkType(), "LINKTYPE_RAW");
        assertEquals(expected.size(), t.records().size());
        for (int i = 0; i < expected.size(); i++) {
            Record r = t.records().get(i);
            long nanos = T0 + i * STEP;
            assertEquals(nanos / 1_000_000_000L, r.seconds(), "record " + i);
            assertEquals(nanos % 1_000_000_000L, r.fraction(), "record " + i + ": nanoseconds");
            assertEquals(expected.get(i).length, r.originalLength());
            assertEquals(expected.get(i).length, r.storedLength());
            assertArrayEquals(expected.get(i), r.bytes(), "record " + i);
        }
    }

    @Test
    void shouldWriteMicrosecondTrace() throws IOException {
        Path file = dir.resolve("micros.pcap");
        List<byte[]> expected = traffic(file, PcapWriter.Resolution.MICROSECONDS, 6);
        Trace t = read(file);
        assertEquals(0xA1B2C3D4, t.magic(), "microsecond magic");
        assertEquals(101, t.linkType());
        for (int i = 0; i < expected.size(); i++) {
            long nanos = T0 + i * STEP;
            assertEquals(nanos / 1_000_000_000L, t.records().get(i).seconds());
            assertEquals(nanos % 1_000_000_000L / 1_000, t.records().get(i).fraction(), "microseconds");
            assertArrayEquals(expected.get(i), t.records().get(i).bytes());
        }
    }

    @Test
    void shouldRecordAPacketTheInnerDeviceDropsAndFreeIt() throws IOException {
        Path file = dir.resolve("drop.pcap");
        AtomicLong clock = new AtomicLong();
        try (PcapWriter pcap = PcapWriter.open(Loopback.create("lo", 100, 4), file, clock::incrementAndGet,
                PcapWriter.Resolution.NANOSECONDS)) {
            PacketBuffer big = Packets.echo(pool, 1, 1, 200);
            assertFalse(pcap.send(big));
            assertTrue(big.isFreed());
            assertEquals(1, pcap.counters().drops(DeviceCounters.Drop.TOO_BIG));
        }
        assertEquals(1, read(file).records().size(), "as a capture shows what the driver drops");
    }

    @Test
    void shouldCountWriteErrorsKeepTheDataPathAndReportThemAtClose() {
        int[] writes = {0};
        WritableByteChannel failing = new WritableByteChannel() {
            private boolean open = true;

            @Override
            public int write(ByteBuffer src) throws IOException {
                if (++writes[0] > 1) { // the global header goes through, records fail
                    throw new IOException("disk full");
                }
                int n = src.remaining();
                src.position(src.limit());
                return n;
            }

            @Override
            public boolean isOpen() {
                return open;
            }

            @Override
            public void close() {
                open = false;
            }
        };
        PcapWriter pcap = PcapWriter.of(Loopback.create("lo", 1500, 8), failing, () -> 0,
                PcapWriter.Resolution.NANOSECONDS);
        for (int i = 0; i < 3; i++) {
            assertTrue(pcap.send(Packets.echo(pool, 1, i, 0)), "the data path does not see the error");
        }
        assertEquals(3, pcap.writeErrors());
        assertEquals(0, pcap.records());
        UncheckedIOException e = assertThrows(UncheckedIOException.class, pcap::close);
        assertTrue(e.getMessage().contains("incomplete") && e.getCause().getMessage().equals("disk full"),
                e.getMessage());
        assertTrue(e.getMessage().contains("(3 records not written)"), e.getMessage());
        assertFalse(failing.isOpen(), "closed anyway");
        assertEquals(0, pool.outstanding(), "the inner device was closed and freed its packets");
        assertFalse(pcap.send(Packets.echo(pool, 1, 9, 0)), "the inner device is closed");
        assertEquals(3, pcap.writeErrors(), "a packet after close is no write error: the trace had ended");
        pcap.close(); // idempotent, and quiet the second time
    }

    /**
     * An interrupt is meant for the thread, not for the trace: a sender and a receiver whose
     * interrupt status is set (a worker told to stop, a cancelled task) must not end the trace, and
     * must find their interrupt status as they left it. Before the fix the file was written through
     * a FileChannel, which an interrupted writer closes: the one interrupted send ended the trace
     * with the global header alone, and close() threw.
     */
    @Test
    void shouldKeepTracingAndKeepTheInterruptStatusWhenASenderOrReceiverIsInterrupted() throws IOException {
        Path file = dir.resolve("interrupted.pcap");
        AtomicLong clock = new AtomicLong();
        List<byte[]> sent = new ArrayList<>();
        try (PcapWriter pcap = PcapWriter.open(Loopback.create("lo", 1500, 8), file, clock::incrementAndGet,
                PcapWriter.Resolution.NANOSECONDS)) {
            try {
                for (int seq = 0; seq < 4; seq++) {
                    PacketBuffer p = Packets.echo(pool, 1, seq, 8 * seq);
                    sent.add(Packets.bytes(p));
                    if (seq == 0) {
                        Thread.currentThread().interrupt();
                    }
                    assertTrue(pcap.send(p));
                    if (seq == 0) {
                        assertTrue(Thread.interrupted(), "the sender's interrupt status was cleared");
                    }
                }
                List<PacketBuffer> got = new ArrayList<>();
                Thread.currentThread().interrupt();
                assertEquals(4, pcap.receive(got::add, 8));
                assertTrue(Thread.interrupted(), "the receiver's interrupt status was cleared");
                got.forEach(PacketBuffer::free);
            } finally {
                Thread.interrupted(); // a failed assertion leaves no interrupt for the next test
            }
            assertEquals(0, pcap.writeErrors(), "an interrupt is no I/O error of the trace");
            assertEquals(8, pcap.records());
        }
        List<Record> records = read(file).records();
        assertEquals(8, records.size());
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(sent.get(i % 4), records.get(i).bytes(), "record " + i);
        }
    }

    /**
     * Each record reaches the channel in one write of its header and data together, so a write
     * that fails cannot leave a record header with no data after it (before the fix the header and
     * the data were two writes).
     */
    @Test
    void shouldWriteEachRecordHeaderAndDataInOneWrite() {
        List<Integer> writes = new ArrayList<>();
        WritableByteChannel counting = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) {
                int n = src.remaining();
                writes.add(n);
                src.position(src.limit());
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        List<Integer> expected = new ArrayList<>(List.of(PcapWriter.GLOBAL_HEADER_LENGTH));
        try (PcapWriter pcap = PcapWriter.of(Loopback.create("lo", 1500, 8), counting, () -> 0,
                PcapWriter.Resolution.MICROSECONDS)) {
            for (int seq = 0; seq < 3; seq++) {
                PacketBuffer p = Packets.echo(pool, 1, seq, 100 * seq);
                expected.add(PcapWriter.RECORD_HEADER_LENGTH + p.length());
                assertTrue(pcap.send(p));
            }
            assertEquals(3, pcap.receive(PacketBuffer::free, 8));
        }
        expected.addAll(expected.subList(1, 4));
        assertEquals(expected, writes, "one write per record: header and data together");
    }

    /**
     * The clock is the caller's code and may throw. The packet must still go to the inner device
     * (send takes ownership whatever happens, and the data path never sees the trace's errors); the
     * failure is the trace's first error, so writing stops and close() reports it. Before the fix
     * send threw and the packet was neither sent nor freed.
     */
    @Test
    void shouldPassThePacketOnAndReportAtCloseWhenTheClockThrows() {
        AtomicLong reads = new AtomicLong();
        IllegalStateException broken = new IllegalStateException("clock broken");
        LongSupplier clock = () -> {
            if (reads.incrementAndGet() == 2) {
                throw broken;
            }
            return reads.get();
        };
        Loopback lo = Loopback.create("lo", 1500, 8);
        PcapWriter pcap = PcapWriter.of(lo, Channels.newChannel(new ByteArrayOutputStream()), clock,
                PcapWriter.Resolution.NANOSECONDS);
        for (int seq = 0; seq < 3; seq++) {
            assertTrue(pcap.send(Packets.echo(pool, 1, seq, 0)), "packet " + seq + " goes on");
        }
        assertEquals(3, lo.counters().txPackets(), "every packet reached the inner device");
        assertEquals(1, pcap.records(), "the record before the clock failed");
        assertEquals(2, pcap.writeErrors(), "the failed record and the one skipped after it");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, pcap::close);
        assertSame(broken, e.getCause().getCause(), "close() reports the clock's exception");
        assertEquals(0, pool.outstanding(), "the packets were received by the loopback and freed at close");
    }

    /**
     * An exception from the inner device's close() is the one thrown; an incomplete trace is added
     * to it as suppressed, not thrown in its place (before the fix it replaced it).
     */
    @Test
    void shouldThrowTheInnerClosesExceptionWithTheIncompleteTraceSuppressed() {
        Loopback lo = Loopback.create("lo", 1500, 8);
        IllegalStateException innerFailure = new IllegalStateException("inner close failed");
        Device throwingOnClose = new Device() {
            @Override
            public String name() {
                return lo.name();
            }

            @Override
            public int mtu() {
                return lo.mtu();
            }

            @Override
            public boolean send(PacketBuffer packet) {
                return lo.send(packet);
            }

            @Override
            public int receive(PacketBuffer[] batch, int offset, int length) {
                return lo.receive(batch, offset, length);
            }

            @Override
            public int receive(Consumer<? super PacketBuffer> sink, int limit) {
                return lo.receive(sink, limit);
            }

            @Override
            public DeviceCounters counters() {
                return lo.counters();
            }

            @Override
            public void close() {
                lo.close();
                throw innerFailure;
            }
        };
        int[] writes = {0};
        boolean[] open = {true};
        WritableByteChannel failing = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                if (++writes[0] > 1) {
                    throw new IOException("disk full");
                }
                int n = src.remaining();
                src.position(src.limit());
                return n;
            }

            @Override
            public boolean isOpen() {
                return open[0];
            }

            @Override
            public void close() {
                open[0] = false;
            }
        };
        PcapWriter pcap = PcapWriter.of(throwingOnClose, failing, () -> 0, PcapWriter.Resolution.NANOSECONDS);
        assertTrue(pcap.send(Packets.echo(pool, 1, 1, 0)));
        IllegalStateException e = assertThrows(IllegalStateException.class, pcap::close);
        assertSame(innerFailure, e);
        assertEquals(1, e.getSuppressed().length, "the incomplete trace, suppressed");
        UncheckedIOException incomplete = assertInstanceOf(UncheckedIOException.class, e.getSuppressed()[0]);
        assertTrue(incomplete.getMessage().contains("incomplete"), incomplete.getMessage());
        assertFalse(open[0], "the channel was closed anyway");
        assertEquals(0, pool.outstanding());
    }

    /**
     * A channel that takes {@code room} bytes in all, then none (a non-blocking channel that stays
     * full). It throws {@link ClosedByInterruptException} for an interrupted writer, as an
     * interruptible channel does, so that a writer spinning on it (the bug) is stopped by the
     * interrupt of {@code assertTimeoutPreemptively} instead of spinning on after the test.
     */
    private static final class Stalling implements WritableByteChannel {
        final ByteArrayOutputStream taken = new ByteArrayOutputStream();
        long room;
        boolean open = true;

        Stalling(long room) {
            this.room = room;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (Thread.currentThread().isInterrupted()) {
                open = false;
                throw new ClosedByInterruptException();
            }
            int n = (int) Math.min(src.remaining(), room);
            byte[] bytes = new byte[n];
            src.get(bytes);
            taken.write(bytes, 0, n);
            room -= n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }
    }

    /**
     * A write the channel takes none of fails at once with an IOException that says so, instead of
     * being retried under the lock for ever (before the fix, send spun there and never returned).
     * The record cut short (10 bytes of it reached the channel) counts as a write error, not as a
     * record, and close() reports the incomplete trace; the packet goes on regardless.
     */
    @Test
    void shouldFailAWriteTheChannelTakesNothingOfInsteadOfSpinning() {
        Stalling channel = new Stalling(PcapWriter.GLOBAL_HEADER_LENGTH);
        Loopback lo = Loopback.create("lo", 1500, 8);
        PcapWriter pcap = PcapWriter.of(lo, channel, () -> 0, PcapWriter.Resolution.NANOSECONDS);
        PacketBuffer whole = Packets.echo(pool, 1, 1, 0);
        PacketBuffer cut = Packets.echo(pool, 1, 2, 40);
        int wholeRecord = PcapWriter.RECORD_HEADER_LENGTH + whole.length();
        int cutRecord = PcapWriter.RECORD_HEADER_LENGTH + cut.length();
        channel.room = wholeRecord + 10;
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertTrue(pcap.send(whole));
            assertTrue(pcap.send(cut), "the data path does not see the error");
        }, "send did not return: the writer spins on a channel that takes 0 bytes");
        assertEquals(2, lo.counters().txPackets(), "both packets reached the inner device");
        assertEquals(PcapWriter.GLOBAL_HEADER_LENGTH + wholeRecord + 10, channel.taken.size());
        assertEquals(1, pcap.records(), "only the record written whole");
        assertEquals(1, pcap.writeErrors(), "the record cut short");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, pcap::close);
        assertTrue(e.getMessage().contains("(1 records not written)"), e.getMessage());
        String expected = "accepted 0 of the " + (cutRecord - 10) + " bytes left of a " + cutRecord + "-byte write";
        assertTrue(e.getCause().getMessage().contains(expected), e.getCause().getMessage());
        assertFalse(channel.isOpen(), "closed anyway");
        assertEquals(0, pool.outstanding(), "the inner device was closed and freed its packets");
    }

    /**
     * The global header goes through the same check: a channel that takes none of it fails of()
     * in bounded time, and the caller keeps the channel and the inner device.
     */
    @Test
    void shouldFailOfWhenTheChannelTakesNothingOfTheHeader() {
        Stalling channel = new Stalling(0);
        Loopback lo = Loopback.create("lo", 1500, 1);
        UncheckedIOException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(UncheckedIOException.class,
                        () -> PcapWriter.of(lo, channel, () -> 0, PcapWriter.Resolution.NANOSECONDS)),
                "of() did not return: the writer spins on a channel that takes 0 bytes");
        assertTrue(e.getMessage().contains("cannot write the pcap header"), e.getMessage());
        assertTrue(e.getCause().getMessage().contains("accepted 0 of the 24 bytes left of a 24-byte write"),
                e.getCause().getMessage());
        assertTrue(channel.isOpen(), "the caller still owns the channel");
        assertTrue(lo.send(Packets.echo(pool, 1, 1, 0)), "the inner device is still open");
        lo.close();
    }

    /**
     * of() refuses a selectable channel in non-blocking mode, which may take 0 bytes of a write,
     * before writing anything; the same channel in blocking mode is taken. Before the fix the
     * non-blocking one was taken, and a full pipe made the writer spin.
     */
    @Test
    void shouldRefuseANonBlockingSelectableChannel() throws IOException {
        Pipe pipe = Pipe.open();
        try {
            pipe.sink().configureBlocking(false);
            pipe.source().configureBlocking(false);
            Loopback lo = Loopback.create("lo", 1500, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PcapWriter.of(lo, pipe.sink(), () -> 0, PcapWriter.Resolution.NANOSECONDS));
            assertTrue(e.getMessage().contains("non-blocking mode") && e.getMessage().contains(pipe.sink().toString()),
                    e.getMessage());
            assertTrue(pipe.sink().isOpen(), "the caller still owns the channel");
            assertEquals(0, pipe.source().read(ByteBuffer.allocate(64)), "nothing was written");
            pipe.sink().configureBlocking(true);
            PcapWriter.of(lo, pipe.sink(), () -> 0, PcapWriter.Resolution.NANOSECONDS).close(); // closes lo
            assertEquals(PcapWriter.GLOBAL_HEADER_LENGTH, pipe.source().read(ByteBuffer.allocate(64)),
                    "in blocking mode the header was written");
        } finally {
            pipe.sink().close();
            pipe.source().close();
        }
    }

    @Test
    void shouldRefuseAFileThatCannotBeCreated() {
        Path missing = dir.resolve("no-such-dir").resolve("x.pcap");
        Loopback lo = Loopback.create("lo", 1500, 1);
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> PcapWriter.open(lo, missing, () -> 0, PcapWriter.Resolution.NANOSECONDS));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        lo.close();
    }

    /**
     * A refused open leaves an existing trace as it was (the arguments are checked before the
     * file is opened) and leaks no descriptor: 200 opens with a null argument, and 200 whose
     * header write fails ({@code /dev/full}), leave the count of this process's descriptors where
     * it was; the inner device stays open, its owner's to close.
     */
    @Test
    void shouldLeaveTheFileAndNoDescriptorBehindWhenOpenFails() throws IOException {
        Path trace = dir.resolve("keep.pcap");
        byte[] before = "an earlier trace".getBytes(StandardCharsets.UTF_8);
        Files.write(trace, before);
        Loopback lo = Loopback.create("lo", 1500, 1);
        long fds = openDescriptors();
        for (int i = 0; i < 200; i++) {
            assertThrows(NullPointerException.class, () -> PcapWriter.open(null, trace, () -> 0,
                    PcapWriter.Resolution.NANOSECONDS));
            assertThrows(NullPointerException.class, () -> PcapWriter.open(lo, trace, null,
                    PcapWriter.Resolution.NANOSECONDS));
            assertThrows(NullPointerException.class, () -> PcapWriter.open(lo, trace, () -> 0, null));
        }
        assertArrayEquals(before, Files.readAllBytes(trace), "a refused open truncated the trace");
        Path full = Path.of("/dev/full");
        if (Files.isWritable(full)) {
            for (int i = 0; i < 200; i++) {
                UncheckedIOException e = assertThrows(UncheckedIOException.class,
                        () -> PcapWriter.open(lo, full, () -> 0, PcapWriter.Resolution.NANOSECONDS));
                assertTrue(e.getMessage().contains("cannot write the pcap header"), e.getMessage());
            }
        }
        assertEquals(fds, openDescriptors(), "descriptors leaked by failed opens");
        assertTrue(lo.send(Packets.echo(pool, 1, 1, 0)), "the inner device is still open");
        lo.close();
    }

    /** This process's open descriptors (Linux); the test is skipped elsewhere. */
    private static long openDescriptors() throws IOException {
        Path fd = Path.of("/proc/self/fd");
        assumeTrue(Files.isDirectory(fd), "needs /proc/self/fd (Linux)");
        try (Stream<Path> s = Files.list(fd)) {
            return s.count() - 1; // less the one listing it
        }
    }

    /** tshark on PATH, or null. */
    private static Path tshark() {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(s -> !s.isEmpty())
                .map(s -> Path.of(s, "tshark"))
                .filter(Files::isExecutable)
                .findFirst().orElse(null);
    }

    /**
     * tshark, a decoder we did not write, reads both traces with IPv4 checksum validation on
     * (ICMP checksums are always validated): every frame is raw IPv4 + ICMP, none is malformed,
     * and every checksum is good.
     */
    @Test
    void shouldBeReadByTsharkWithNoMalformedPacketAndNoBadChecksum() throws Exception {
        Path tshark = tshark();
        assumeTrue(tshark != null, "tshark is not on PATH: skipping the tshark check of the pcap trace"
                + " (install it with: apt-get install -y --no-install-recommends tshark)");
        for (PcapWriter.Resolution resolution : PcapWriter.Resolution.values()) {
            Path file = dir.resolve(resolution + ".pcap");
            int count = 30;
            traffic(file, resolution, count);
            String out = tsharkVerbose(tshark, file);
            int frames = 2 * count;
            assertEquals(frames, count(out, "(?m)^Frame \\d+:"), resolution + ": frames\n" + out);
            assertEquals(frames, count(out, "(?m)^Internet Protocol Version 4, Src:"), "IPv4 in every frame");
            assertEquals(frames, count(out, "(?m)^Internet Control Message Protocol"), "ICMP in every frame");
            assertEquals(0, count(out, "(?i)malformed"), "malformed packets\n" + out);
            assertEquals(0, count(out, PROBLEM), "bad checksums\n" + out);
            assertEquals(2 * frames, count(out, "(?i)checksum status: Good"), "IPv4 and ICMP checksums verified\n" + out);
            String first = resolution == PcapWriter.Resolution.NANOSECONDS ? "1700000000.123456789" : "1700000000.123456000";
            assertTrue(out.contains("Epoch Time: " + first + " seconds"), "tshark reads the caller's clock: " + first);
            assertTrue(out.contains("Encapsulation type: Raw IP"), "link type 101 read as raw IP");
        }
    }

    /** Problems tshark reports: a bad IPv4 or ICMP checksum, a malformed packet. */
    private static final String PROBLEM = "(?i)checksum status: Bad|\\[Bad|incorrect|malformed";

    /**
     * Negative control: the same tshark check must see damage. The writer records each packet as
     * sent (intact), then as received after a fault injector flipped one byte of it; every
     * received frame must then show a bad checksum, a malformed packet, or fail to decode as
     * IPv4 and ICMP at all.
     */
    @Test
    void shouldLetTsharkSeeCorruptedPacketsAsBad() throws Exception {
        Path tshark = tshark();
        assumeTrue(tshark != null, "tshark is not on PATH: skipping the tshark negative control");
        Path file = dir.resolve("corrupt.pcap");
        int count = 20;
        AtomicLong clock = new AtomicLong(T0);
        try (PcapWriter pcap = PcapWriter.open(FaultInjector.builder(Loopback.create("lo", 1500, count)).seed(3)
                .corrupt(1.0).build(), file, clock::incrementAndGet, PcapWriter.Resolution.NANOSECONDS)) {
            for (int seq = 0; seq < count; seq++) {
                pcap.send(Packets.echo(pool, 1, seq, 16 + seq));
            }
            assertEquals(count, pcap.receive(PacketBuffer::free, count));
        }
        List<String> frames = Stream.of(tsharkVerbose(tshark, file).split("(?m)^(?=Frame \\d+:)"))
                .filter(f -> f.startsWith("Frame ")).toList();
        assertEquals(2 * count, frames.size());
        for (int i = 0; i < count; i++) {
            assertTrue(intact(frames.get(i)), "recorded at send, before the fault:\n" + frames.get(i));
            String received = frames.get(count + i);
            assertFalse(intact(received), "a corrupted packet tshark finds intact:\n" + received);
        }
    }

    /**
     * Whether tshark decoded a frame as raw IPv4 carrying ICMP with no problem. A flipped version
     * nibble makes tshark show the frame as plain data instead of reporting an error, so a frame
     * that does not decode as IPv4 and ICMP counts as damaged too.
     */
    private static boolean intact(String frame) {
        return count(frame, "\\[Protocols in frame: raw:ip:icmp(:data)?]") == 1 && count(frame, PROBLEM) == 0;
    }

    /** {@code tshark -r file -o ip.check_checksum:TRUE -V}, which must exit 0. */
    private static String tsharkVerbose(Path tshark, Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(tshark.toString(), "-r", file.toString(), "-o", "ip.check_checksum:TRUE",
                "-V").redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark finished");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static int count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
