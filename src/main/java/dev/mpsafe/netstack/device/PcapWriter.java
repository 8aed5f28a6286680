package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import java.io.Closeable;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectableChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A middleware device that writes every packet sent through it and every packet received from it
 * to a pcap file, then passes it on: the trace that tshark or Wireshark reads.
 *
 * <h2>File format</h2>
 * The classic libpcap format, little-endian (readers detect the byte order from the magic), link
 * type 101 ({@code LINKTYPE_RAW}: each record is an IPv4 datagram with no link header):
 *
 * <pre>
 * global header, 24 bytes                   record header, 16 bytes, then incl_len bytes of packet
 * +------------------------------------+    +------------------------------------+
 * | magic  a1b2c3d4 (us) a1b23c4d (ns) |    | ts_sec       seconds              |
 * | version_major 2 | version_minor 4  |    | ts_frac      micro- or nanoseconds |
 * | thiszone 0                         |    | incl_len     bytes stored         |
 * | sigfigs 0                          |    | orig_len     packet length        |
 * | snaplen 65535                      |    +------------------------------------+
 * | network 101 (raw IP)               |
 * +------------------------------------+
 * </pre>
 *
 * <h2>Time</h2>
 * Timestamps come from the caller's {@code nanos} clock, read once per record: nanoseconds since
 * the Unix epoch, or since any origin the caller likes (a test passes a counter, so traces are
 * reproducible). The writer never reads the system clock.
 *
 * <h2>What is recorded</h2>
 * A sent packet is recorded when it is handed to {@link #send}, before the inner device takes it:
 * a packet the inner device then drops is still in the trace (its counters say it was dropped),
 * as a capture on a host's interface shows packets the driver later drops. A received packet is
 * recorded when the inner device hands it over. Packets longer than the snap length (65,535
 * bytes) are cut to it; {@code orig_len} keeps the real length.
 *
 * <h2>Errors</h2>
 * An I/O error while the device is in use, or an exception from the {@code nanos} clock, never
 * reaches the sender or receiver, whose packet goes on as if nothing happened: the error is
 * counted ({@link #writeErrors()}), the first one is kept, and writing stops. {@link #close()} closes the
 * inner device first (freeing its packets) and then throws an {@link UncheckedIOException} if a
 * write or the file's close failed, so a truncated trace does not pass silently. Each record, its
 * header and its data together, is handed over in one write, so a failure cannot fall between a
 * record's header and its data (a write the file system cuts short, on a full disk, or a channel
 * that stops taking bytes part way, can still leave part of the last record; {@link #records()}
 * counts only records written whole). A channel that takes none of a write's bytes fails that
 * write at once (an {@link IOException} that says so); the writer does not retry it, so it never
 * spins under its lock.
 *
 * <h2>Interrupts</h2>
 * An interrupt is meant for the thread, not for the trace. {@link #open} writes the file through a
 * {@link FileOutputStream}, whose writes an interrupt neither stops nor closes: a sender or
 * receiver whose interrupt status is set is traced like any other and keeps its interrupt status.
 * (A {@link java.nio.channels.FileChannel}, and the streams and channels that
 * {@link java.nio.file.Files#newOutputStream} and {@link java.nio.channels.Channels#newChannel}
 * return, are interruptible: one interrupted writer would close them and end the trace.) The
 * channel given to {@link #of} is the caller's choice; see there.
 *
 * <p>Thread safety: as {@link Device}. Records are written under a lock, one at a time, so the
 * writer serializes senders: it is a tracing tool for tests and debugging, not for the fast path.
 *
 * <p>Memory consistency effects: as the inner device's.
 */
public final class PcapWriter implements Device {

    /*
     * Implementation overview.
     *
     * Ordering: every access to the sink, the scratch array and the error state happens under
     * `lock`, whose unlock/lock pairs order one record's writes before the next. The clock is read
     * under the lock too, so records appear in the order of their timestamps when the clock is
     * monotonic. The packet bytes are read by the thread that owns the buffer at that moment (the
     * sender before it passes the buffer on, the receiver after the inner device handed it over),
     * so no buffer is read by a thread that does not own it.
     */

    /** The pcap timestamp resolution, which selects the magic number. */
    public enum Resolution {
        /** Microseconds: magic {@code 0xa1b2c3d4}, read by every pcap tool. */
        MICROSECONDS(0xA1B2C3D4, 1_000),
        /** Nanoseconds: magic {@code 0xa1b23c4d} (libpcap 1.5 and later, Wireshark, tshark). */
        NANOSECONDS(0xA1B23C4D, 1);

        private final int magic;
        private final long nanosPerUnit;

        Resolution(int magic, long nanosPerUnit) {
            this.magic = magic;
            this.nanosPerUnit = nanosPerUnit;
        }

        /** The magic number that starts a file of this resolution. */
        public int magic() {
            return magic;
        }
    }

    /** {@code LINKTYPE_RAW}: records are raw IPv4 (or IPv6) packets. */
    public static final int LINKTYPE_RAW = 101;
    /** The snap length written in the header: the longest IPv4 datagram. */
    public static final int SNAPLEN = 0xFFFF;
    /** Bytes in the global header. */
    public static final int GLOBAL_HEADER_LENGTH = 24;
    /** Bytes in each record's header. */
    public static final int RECORD_HEADER_LENGTH = 16;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Device inner;
    private final Sink out;
    private final LongSupplier nanos;
    private final Resolution resolution;
    private final String file;
    private final ReentrantLock lock = new ReentrantLock();
    /**
     * A record's header and data, copied together so that one write carries the whole record;
     * grown to the longest record so far (at most {@code RECORD_HEADER_LENGTH + SNAPLEN} bytes).
     * Guarded by lock.
     */
    private byte[] scratch = new byte[RECORD_HEADER_LENGTH + 2048];
    /** Guarded by lock. */
    private long records;
    /** Guarded by lock. */
    private long writeErrors;
    /** Guarded by lock. */
    private IOException failure;
    /** Guarded by lock. */
    private boolean closed;

    private PcapWriter(Device inner, Sink out, String file, LongSupplier nanos, Resolution resolution)
            throws IOException {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.out = Objects.requireNonNull(out, "out");
        this.nanos = Objects.requireNonNull(nanos, "nanos");
        this.resolution = Objects.requireNonNull(resolution, "resolution");
        this.file = file;
        byte[] global = new byte[GLOBAL_HEADER_LENGTH];
        ByteBuffer.wrap(global).order(ByteOrder.LITTLE_ENDIAN).putInt(resolution.magic).putShort((short) 2)
                .putShort((short) 4).putInt(0).putInt(0).putInt(SNAPLEN).putInt(LINKTYPE_RAW);
        out.write(global, GLOBAL_HEADER_LENGTH);
    }

    /**
     * Where the trace goes: each call hands over a whole global header or record, and returns once
     * all of it is written, or throws. One thread at a time calls it (under lock, or in the
     * constructor).
     */
    private interface Sink extends Closeable {
        void write(byte[] bytes, int length) throws IOException;
    }

    /** The file of {@link #open}: a stream, which an interrupt cannot close (see the class doc). */
    private static Sink sink(FileOutputStream file) {
        return new Sink() {
            @Override
            public void write(byte[] bytes, int length) throws IOException {
                file.write(bytes, 0, length); // writes every byte or throws
            }

            @Override
            public void close() throws IOException {
                file.close();
            }
        };
    }

    /** The caller's channel of {@link #of}. */
    private static Sink sink(WritableByteChannel channel) {
        return new Sink() {
            @Override
            public void write(byte[] bytes, int length) throws IOException {
                ByteBuffer b = ByteBuffer.wrap(bytes, 0, length);
                while (b.hasRemaining()) {
                    int before = b.position();
                    channel.write(b);
                    if (b.position() == before) {
                        // A blocking channel takes at least one byte per write, or throws. One that
                        // took none is non-blocking (made so after of() checked it) or broken, and
                        // retrying here would spin, holding the lock, for as long as it stays full.
                        throw new IOException("channel " + channel + " accepted 0 of the " + b.remaining()
                                + " bytes left of a " + length + "-byte write; the pcap writer does not retry,"
                                + " and needs a channel that blocks until it can write");
                    }
                }
            }

            @Override
            public void close() throws IOException {
                channel.close();
            }
        };
    }

    /**
     * Wraps {@code inner}, writing a new pcap file at {@code path} (replacing one that exists).
     * The writer owns both: {@link #close()} closes the inner device and the file.
     *
     * <p>On failure the writer owns nothing: the arguments are checked before the file is touched
     * (a null argument leaves an existing file as it was), the file this call opened is closed
     * whatever is thrown, and {@code inner} is left open: the caller still owns it. A failure to
     * write the header comes after the file was created or truncated.
     *
     * <p>The file is written through a {@link FileOutputStream}, so an interrupted sender or
     * receiver does not end the trace (see the class doc); {@code path} must therefore be on the
     * default file system.
     *
     * @throws NullPointerException if an argument is null
     * @throws UnsupportedOperationException if {@code path} is not on the default file system
     * @throws UncheckedIOException if the file cannot be created or its header written
     */
    public static PcapWriter open(Device inner, Path path, LongSupplier nanos, Resolution resolution) {
        Objects.requireNonNull(inner, "inner");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(nanos, "nanos");
        Objects.requireNonNull(resolution, "resolution");
        java.io.File file = path.toFile(); // UnsupportedOperationException before the file is touched
        Sink sink;
        try {
            sink = sink(new FileOutputStream(file)); // creates or truncates, as CREATE + TRUNCATE_EXISTING
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create pcap file " + path, e);
        }
        try {
            return new PcapWriter(inner, sink, path.toString(), nanos, resolution);
        } catch (IOException e) {
            closeAfter(sink, e);
            throw new UncheckedIOException("cannot write the pcap header to " + path, e);
        } catch (RuntimeException | Error e) {
            closeAfter(sink, e);
            throw e;
        }
    }

    /** Closes {@code ch} after {@code failure}, to which a failure to close is added. */
    private static void closeAfter(Closeable ch, Throwable failure) {
        try {
            ch.close();
        } catch (IOException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /**
     * Wraps {@code inner}, writing the pcap stream to {@code out}. The writer owns both.
     *
     * <p>Interrupts: if {@code out} is an {@link java.nio.channels.InterruptibleChannel} (a
     * {@link java.nio.channels.FileChannel}, a socket channel, what
     * {@link java.nio.channels.Channels#newChannel} returns), a sender or receiver whose interrupt
     * status is set closes it: the write throws
     * {@link java.nio.channels.ClosedByInterruptException}, which is the trace's first error, so
     * writing stops for every thread and {@link #close()} throws (see Errors in the class doc); the
     * interrupted thread's interrupt status stays set and the packet still goes on. For a trace
     * that must outlive interrupts, use {@link #open} or a channel that is not interruptible.
     *
     * <p>Blocking: {@code out} must take every write whole, waiting for room if it must, as a
     * channel in blocking mode does. A {@link SelectableChannel} in non-blocking mode is refused
     * here. A write that {@code out} takes none of (a channel switched to non-blocking mode later,
     * or another kind that returns 0 when it has no room) is not retried: it fails with an {@link IOException}, which is the
     * trace's first error (see Errors in the class doc).
     *
     * <p>On failure the writer owns nothing and closes nothing: {@code inner} and {@code out} stay
     * open, and the caller still owns them (part of the header may have reached {@code out}, but
     * none when the channel was refused).
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code out} is a {@link SelectableChannel} in non-blocking
     *     mode (nothing is written)
     * @throws UncheckedIOException if the global header cannot be written
     */
    public static PcapWriter of(Device inner, WritableByteChannel out, LongSupplier nanos, Resolution resolution) {
        Objects.requireNonNull(inner, "inner");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(nanos, "nanos");
        Objects.requireNonNull(resolution, "resolution");
        if (out instanceof SelectableChannel selectable && !selectable.isBlocking()) {
            throw new IllegalArgumentException("out is in non-blocking mode: " + out + "; a write may then take"
                    + " 0 bytes, which the pcap writer would have to retry under its lock; configure it blocking"
                    + " (configureBlocking(true)) or pass another channel");
        }
        try {
            return new PcapWriter(inner, sink(out), String.valueOf(out), nanos, resolution);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the pcap header", e);
        }
    }

    /** The device underneath. */
    public Device inner() {
        return inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    /** The wrapped device's answer. */
    @Override
    public boolean isLoopback() {
        return inner.isLoopback();
    }

    @Override
    public boolean send(PacketBuffer packet) {
        record(packet);
        return inner.send(packet);
    }

    @Override
    public int receive(PacketBuffer[] batch, int offset, int length) {
        int n = inner.receive(batch, offset, length);
        for (int i = 0; i < n; i++) {
            record(batch[offset + i]);
        }
        return n;
    }

    @Override
    public int receive(Consumer<? super PacketBuffer> sink, int limit) {
        Objects.requireNonNull(sink, "sink");
        return inner.receive(p -> {
            record(p);
            sink.accept(p);
        }, limit);
    }

    /** The inner device's counters. */
    @Override
    public DeviceCounters counters() {
        return inner.counters();
    }

    /**
     * Records written whole so far. A record whose write failed is not counted here, but in
     * {@link #writeErrors()}, even where part of it reached the file.
     */
    public long records() {
        lock.lock();
        try {
            return records;
        } finally {
            lock.unlock();
        }
    }

    /** Failed writes (after the first, the writer stops writing and counts each record it skips). */
    public long writeErrors() {
        lock.lock();
        try {
            return writeErrors;
        } finally {
            lock.unlock();
        }
    }

    private void record(PacketBuffer packet) {
        final MemorySegment data = packet.data(); // ISE for a freed buffer: a caller bug
        final int length = (int) data.byteSize();
        final int stored = Math.min(length, SNAPLEN);
        lock.lock();
        try {
            if (closed) {
                return; // not an error: the trace ended, and close() has reported its count
            }
            if (failure != null) {
                writeErrors++; // a record skipped after the first failure
                return;
            }
            long t;
            try {
                t = nanos.getAsLong();
            } catch (RuntimeException e) {
                // The caller's clock failed: a failure of the trace, not of the data path. The packet
                // still goes on (send owns it whatever happens); close() reports this.
                failure = new IOException("the pcap clock threw " + e, e);
                writeErrors++;
                return;
            }
            long seconds = Math.floorDiv(t, NANOS_PER_SECOND);
            long fraction = Math.floorMod(t, NANOS_PER_SECOND) / resolution.nanosPerUnit;
            int total = RECORD_HEADER_LENGTH + stored;
            if (scratch.length < total) {
                scratch = new byte[total];
            }
            MemorySegment record = MemorySegment.ofArray(scratch);
            record.set(LE_INT, 0, (int) seconds);
            record.set(LE_INT, 4, (int) fraction);
            record.set(LE_INT, 8, stored);
            record.set(LE_INT, 12, length);
            MemorySegment.copy(data, 0, record, RECORD_HEADER_LENGTH, stored);
            try {
                out.write(scratch, total); // one write: a failure leaves no header without its data
                records++;
            } catch (IOException e) {
                failure = e;
                writeErrors++;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the inner device (freeing its packets), then the file.
     *
     * <p>If the inner device's close throws, the file is closed anyway and that exception is
     * thrown, with the {@link UncheckedIOException} of an incomplete trace added to it as
     * suppressed.
     *
     * @throws UncheckedIOException if a record could not be written or the file not closed; the
     *     inner device is closed either way
     */
    @Override
    public void close() {
        IOException e;
        long errors;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            // read under the lock; they stop changing from here on (record() returns at once once closed)
            e = failure;
            errors = writeErrors;
        } finally {
            lock.unlock();
        }
        Throwable innerFailure = null;
        try {
            inner.close();
        } catch (RuntimeException | Error x) {
            innerFailure = x; // thrown after the file is closed, with the trace's failure suppressed
        }
        try {
            out.close();
        } catch (IOException c) {
            if (e == null) {
                e = c;
            } else {
                e.addSuppressed(c);
            }
        }
        UncheckedIOException incomplete = e == null ? null
                : new UncheckedIOException("pcap trace " + file + " is incomplete (" + errors + " records not written)", e);
        if (innerFailure != null) {
            if (incomplete != null) {
                innerFailure.addSuppressed(incomplete);
            }
            if (innerFailure instanceof Error error) {
                throw error;
            }
            throw (RuntimeException) innerFailure;
        }
        if (incomplete != null) {
            throw incomplete;
        }
    }

    @Override
    public String toString() {
        return "PcapWriter[" + file + ", " + resolution + ", " + inner + "]";
    }
}
