package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.device.DeviceCounters;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A {@link Device} over a {@link Tun}: what lets the stack talk to the Linux kernel's own IP stack.
 *
 * <p>{@link #send} writes the buffer's data window to the descriptor (one {@code write(2)}; the
 * kernel copies it before returning) and frees the buffer. {@link #receive} takes a buffer from
 * the pool for each packet, reads one packet into a window of {@code mtu + 1} bytes after the
 * headroom (one {@code read(2)}, non-blocking) and stops at the first empty read, failed read or
 * dropped packet, when the pool has no buffer left (the packet then waits in the kernel's queue,
 * not dropped), or at the limit. To wait for a packet, call
 * {@link Tun#awaitReadable} on {@link #tun()} first. Drops follow the {@link Device} contract:
 * counted, the buffer freed, never thrown; a failed write is {@link DeviceCounters.Drop#IO_ERROR}, an
 * empty packet (which {@link Tun#write} refuses) or one the kernel refuses as no IP packet
 * ({@code EINVAL}) {@link DeviceCounters.Drop#INVALID}.
 *
 * <h2>The MTU on receive</h2>
 * The kernel interface's MTU is set apart from this device's ({@code ip link set mtu}); this device
 * neither sets nor checks it. When the interface's is larger, the kernel may queue a packet longer
 * than the device's MTU, and a read cuts a packet longer than its window to the window's size and
 * discards the rest. The window is one byte longer than the MTU, so a read that returns more than
 * the MTU is always such a packet, whole or cut: it is a {@link DeviceCounters.Drop#TOO_BIG} drop,
 * freed, never handed up (a cut one would look whole, its IPv4 total length pointing past its
 * end). Set the interface's MTU to the device's to avoid these drops.
 *
 * <h2>When the interface goes away</h2>
 * Some errors do not pass: after {@code ip link del} every {@code read} fails with
 * {@code EBADFD} and {@code poll} reports the descriptor ready at once, so a worker that waits
 * with {@link Tun#awaitReadable} and then calls {@link #receive} would spin. The first such
 * <em>persistent</em> error, on a read or a write, marks the device down: {@link #isDown()} turns
 * true, {@link #failure()} returns the error (which names the call and the errno), later receives
 * return 0 without a system call and later sends are {@link DeviceCounters.Drop#DOWN} drops. A
 * worker loop checks {@link #isDown()} after each round and stops, reporting {@link #failure()}.
 * Persistent: {@code EBADFD} (the interface was deleted, or this queue detached), {@code EBADF},
 * {@code ENODEV}, {@code ENXIO}, {@code EIO} on a read, and the {@link Tun} closed under the
 * device ({@link java.nio.channels.ClosedChannelException}). Anything else is transient: counted,
 * and the device stays up; {@code EIO} on a write in particular means the interface is
 * administratively down ({@code ip link set down}), which {@code ip link set up} undoes, and a
 * down interface queues nothing for the reader, so it cannot make the worker spin.
 *
 * <p>Ordering: every buffer crosses threads through the kernel (a write here, a read by whoever
 * reads the other end), which orders it; the device keeps no shared state but its counters, the
 * closed flag and the failure, each read with a volatile load on each call. The failure is set
 * once, by a CAS, so the first persistent error is the one reported whichever thread saw it.
 *
 * <p>Thread safety: as {@link Device}; {@link #isDown()} and {@link #failure()} from any thread.
 *
 * <p>Memory consistency effects: as {@link Device}.
 */
public final class TunDevice implements Device {

    private final Tun tun;
    private final PacketPool pool;
    private final int mtu;
    private final int headroom;
    private final DeviceCounters counters = new DeviceCounters();
    private volatile boolean closed;
    /** The first persistent error, or null; set once by {@link #casFailure}. */
    private volatile IOException failure;

    private TunDevice(Tun tun, PacketPool pool, int mtu, int headroom) {
        this.tun = tun;
        this.pool = pool;
        this.mtu = mtu;
        this.headroom = headroom;
    }

    /**
     * A device over {@code tun} whose received packets come from {@code pool}, each with
     * {@code headroom} bytes free in front (for headers a reply prepends). Each read needs
     * {@code mtu + 1} bytes after the headroom, to see a packet longer than the MTU (see the class
     * doc), so the pool's buffers must hold {@code headroom + mtu + 1} bytes. On failure nothing is
     * created and {@code tun} is left as it was.
     *
     * @throws IllegalArgumentException if {@code mtu} is outside 68..65535, {@code headroom} is
     *     negative, or {@code headroom + mtu + 1} exceeds the pool's buffer size
     */
    public static TunDevice of(Tun tun, PacketPool pool, int mtu, int headroom) {
        Objects.requireNonNull(tun, "tun");
        Objects.requireNonNull(pool, "pool");
        if (mtu < 68 || mtu > 65_535) {
            throw new IllegalArgumentException("MTU " + mtu + " is outside 68..65535");
        }
        if (headroom < 0) {
            throw new IllegalArgumentException("headroom " + headroom + " is negative");
        }
        long needed = (long) headroom + mtu + 1;
        if (needed > pool.bufferSize()) {
            throw new IllegalArgumentException("headroom " + headroom + " + MTU " + mtu + " + 1 = " + needed
                    + " bytes do not fit the pool's buffers of " + pool.bufferSize()
                    + " bytes (a read needs one byte more than the MTU to see a packet longer than it)");
        }
        return new TunDevice(tun, pool, mtu, headroom);
    }

    /** The TUN descriptor, to wait on with {@link Tun#awaitReadable}. */
    public Tun tun() {
        return tun;
    }

    /**
     * Whether a persistent error took the interface away (see the class comment); the device then
     * reads nothing more and drops every send. A closed device is not down unless it failed first.
     */
    public boolean isDown() {
        return failure != null;
    }

    /**
     * The persistent error that took the device down, naming the call and the errno
     * ({@link ErrnoException}, e.g. {@code read(tun0) failed: errno 77 EBADFD ...}), or a
     * {@link java.nio.channels.ClosedChannelException} when the {@link Tun} was closed under the
     * device; null while the device is up.
     */
    public IOException failure() {
        return failure;
    }

    @Override
    public String name() {
        return tun.name();
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public boolean send(PacketBuffer packet) {
        Objects.requireNonNull(packet, "packet");
        int length = packet.length();
        try {
            if (closed || failure != null) {
                counters.dropped(DeviceCounters.Drop.DOWN);
                return false;
            }
            if (length > mtu) {
                counters.dropped(DeviceCounters.Drop.TOO_BIG);
                return false;
            }
            if (length == 0) {
                counters.dropped(DeviceCounters.Drop.INVALID); // write(2) of 0 bytes is no packet to TUN
                return false;
            }
            tun.write(packet.data(), 0, length);
            counters.sent(length);
            return true;
        } catch (IOException e) {
            counters.dropped(sendDrop(e));
            if (!closed && isPersistent(e, false)) { // a send racing our own close() is no failure
                casFailure(e);
            }
            return false;
        } finally {
            packet.free();
        }
    }

    @Override
    public int receive(PacketBuffer[] batch, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, batch.length);
        int n = 0;
        while (n < length) {
            PacketBuffer b = readOne();
            if (b == null) {
                break;
            }
            batch[offset + n++] = b;
        }
        return n;
    }

    @Override
    public int receive(Consumer<? super PacketBuffer> sink, int limit) {
        Objects.requireNonNull(sink, "sink");
        if (limit < 0) {
            throw new IllegalArgumentException("limit " + limit + " is negative");
        }
        int n = 0;
        while (n < limit) {
            PacketBuffer b = readOne();
            if (b == null) {
                break;
            }
            n++;
            sink.accept(b);
        }
        return n;
    }

    /**
     * One packet in a pool buffer, or null: none queued, no buffer, closed, down, a read error, or
     * a packet longer than the MTU (dropped).
     */
    private PacketBuffer readOne() {
        if (closed || failure != null) {
            return null;
        }
        PacketBuffer b = pool.tryAllocate(headroom);
        if (b == null) {
            return null; // the packet stays queued in the kernel until a buffer is free
        }
        int room = mtu + 1; // of() checked the tailroom holds it: a read of mtu + 1 is a long packet
        MemorySegment window = b.append(room);
        int read;
        try {
            read = tun.read(window);
        } catch (IOException e) {
            b.free();
            if (closed) {
                return null; // our own close() raced this read: no packet lost, and no failure
            }
            counters.dropped(DeviceCounters.Drop.IO_ERROR);
            if (isPersistent(e, true)) {
                casFailure(e);
            }
            return null;
        }
        if (read == Tun.NO_PACKET) {
            b.free();
            return null;
        }
        if (read > mtu) {
            // Longer than the MTU (the interface's is larger), and cut to the window if it is
            // longer still: not a packet the device carries, and a cut one must not pass as whole.
            b.free();
            counters.dropped(DeviceCounters.Drop.TOO_BIG);
            return null;
        }
        b.trimBack(room - read);
        counters.received(read);
        return b;
    }

    @Override
    public DeviceCounters counters() {
        return counters;
    }

    /** Closes the TUN descriptor; the device holds no buffers. */
    @Override
    public void close() {
        closed = true;
        tun.close();
    }

    /**
     * The drop reason for a failed write: {@code DOWN} when the descriptor was closed (by our
     * close() or under us), {@code INVALID} when the kernel refused the bytes themselves (EINVAL:
     * not an IP packet), else {@code IO_ERROR}.
     */
    private DeviceCounters.Drop sendDrop(IOException e) {
        if (closed || e instanceof java.nio.channels.ClosedChannelException) {
            return DeviceCounters.Drop.DOWN;
        }
        if (e instanceof ErrnoException errno && errno.errno() == LinuxCalls.EINVAL) {
            return DeviceCounters.Drop.INVALID;
        }
        return DeviceCounters.Drop.IO_ERROR;
    }

    /**
     * Whether {@code e} will come back on every later call (the interface or the descriptor is
     * gone), as opposed to a failure of this one packet or a state an administrator can undo.
     */
    static boolean isPersistent(IOException e, boolean reading) {
        if (e instanceof java.nio.channels.ClosedChannelException) {
            return true; // the Tun was closed under the device: every later call throws it again
        }
        if (!(e instanceof ErrnoException errno)) {
            return false;
        }
        return switch (errno.errno()) {
            case LinuxCalls.EBADFD, LinuxCalls.EBADF, LinuxCalls.ENODEV, LinuxCalls.ENXIO -> true;
            case LinuxCalls.EIO -> reading; // a write's EIO: the interface is down, ip link set up undoes it
            default -> false;
        };
    }

    @Override
    public String toString() {
        return "TunDevice[" + tun.name() + ", mtu " + mtu + (failure != null ? ", down: " + failure.getMessage() : "")
                + ", " + counters + "]";
    }

    private void casFailure(IOException e) {
        FAILURE.compareAndSet(this, (IOException) null, e);
    }

    // VarHandle mechanics
    private static final VarHandle FAILURE;

    static {
        try {
            FAILURE = MethodHandles.lookup().findVarHandle(TunDevice.class, "failure", IOException.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
