package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * An I/O error while the device is in use never reaches the sender or receiver: it is counted
 * ({@link #writeErrors()}), the first one is kept, and writing stops. {@link #close()} closes the
 * inner device first (freeing its packets) and then throws an {@link UncheckedIOException} if a
 * write or the file's close failed, so a truncated trace does not pass silently.
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
     * Ordering: every access to the channel, the header buffer and the error state happens under
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

    private final Device inner;
    private final WritableByteChannel out;
    private final LongSupplier nanos;
    private final Resolution resolution;
    private final String file;
    private final ReentrantLock lock = new ReentrantLock();
    /** Guarded by lock. */
    private final ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    /** Guarded by lock. */
    private long records;
    /** Guarded by lock. */
    private long writeErrors;
    /** Guarded by lock. */
    private IOException failure;
    /** Guarded by lock. */
    private boolean closed;

    private PcapWriter(Device inner, WritableByteChannel out, String file, LongSupplier nanos, Resolution resolution)
            throws IOException {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.out = Objects.requireNonNull(out, "out");
        this.nanos = Objects.requireNonNull(nanos, "nanos");
        this.resolution = Objects.requireNonNull(resolution, "resolution");
        this.file = file;
        ByteBuffer global = ByteBuffer.allocate(GLOBAL_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        global.putInt(resolution.magic).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
                .putInt(SNAPLEN).putInt(LINKTYPE_RAW).flip();
        writeFully(global);
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
     * @throws NullPointerException if an argument is null
     * @throws UncheckedIOException if the file cannot be created or its header written
     */
    public static PcapWriter open(Device inner, Path path, LongSupplier nanos, Resolution resolution) {
        Objects.requireNonNull(inner, "inner");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(nanos, "nanos");
        Objects.requireNonNull(resolution, "resolution");
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create pcap file " + path, e);
        }
        try {
            return new PcapWriter(inner, ch, path.toString(), nanos, resolution);
        } catch (IOException e) {
            closeAfter(ch, e);
            throw new UncheckedIOException("cannot write the pcap header to " + path, e);
        } catch (RuntimeException | Error e) {
            closeAfter(ch, e);
            throw e;
        }
    }

    /** Closes {@code ch} after {@code failure}, to which a failure to close is added. */
    private static void closeAfter(FileChannel ch, Throwable failure) {
        try {
            ch.close();
        } catch (IOException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /**
     * Wraps {@code inner}, writing the pcap stream to {@code out}. The writer owns both.
     *
     * <p>On failure the writer owns nothing and closes nothing: {@code inner} and {@code out} stay
     * open, and the caller still owns them (part of the header may have reached {@code out}).
     *
     * @throws NullPointerException if an argument is null
     * @throws UncheckedIOException if the global header cannot be written
     */
    public static PcapWriter of(Device inner, WritableByteChannel out, LongSupplier nanos, Resolution resolution) {
        try {
            return new PcapWriter(inner, out, String.valueOf(out), nanos, resolution);
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

    /** Records written so far. */
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
        final java.lang.foreign.MemorySegment data = packet.data(); // ISE for a freed buffer: a caller bug
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
            long t = nanos.getAsLong();
            long seconds = Math.floorDiv(t, NANOS_PER_SECOND);
            long fraction = Math.floorMod(t, NANOS_PER_SECOND) / resolution.nanosPerUnit;
            header.clear();
            header.putInt((int) seconds).putInt((int) fraction).putInt(stored).putInt(length).flip();
            try {
                writeFully(header);
                writeFully(data.asSlice(0, stored).asByteBuffer());
                records++;
            } catch (IOException e) {
                failure = e;
                writeErrors++;
            }
        } finally {
            lock.unlock();
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /**
     * Closes the inner device (freeing its packets), then the file.
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
        try {
            inner.close();
        } finally {
            try {
                out.close();
            } catch (IOException c) {
                if (e == null) {
                    e = c;
                } else {
                    e.addSuppressed(c);
                }
            }
            if (e != null) {
                throw new UncheckedIOException("pcap trace " + file + " is incomplete (" + errors
                        + " records not written)", e);
            }
        }
    }

    @Override
    public String toString() {
        return "PcapWriter[" + file + ", " + resolution + ", " + inner + "]";
    }
}
