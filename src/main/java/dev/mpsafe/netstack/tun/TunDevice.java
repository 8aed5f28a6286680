package dev.mpsafe.netstack.tun;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.device.DeviceCounters;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A {@link Device} over a {@link Tun}: what lets the stack talk to the Linux kernel's own IP stack.
 *
 * <p>{@link #send} writes the buffer's data window to the descriptor (one {@code write(2)}; the
 * kernel copies it before returning) and frees the buffer. {@link #receive} takes a buffer from
 * the pool for each packet, reads one packet into its tailroom (one {@code read(2)}, non-blocking)
 * and stops at the first empty read, when the pool has no buffer left (the packet then waits in
 * the kernel's queue, not dropped), or at the limit. To wait for a packet, call
 * {@link Tun#awaitReadable} on {@link #tun()} first. Drops follow the {@link Device} contract:
 * counted, the buffer freed, never thrown; a failed write is {@link DeviceCounters.Drop#IO_ERROR}.
 *
 * <p>Ordering: every buffer crosses threads through the kernel (a write here, a read by whoever
 * reads the other end), which orders it; the device keeps no shared state but its counters and
 * the closed flag, a volatile read on each call.
 */
public final class TunDevice implements Device {

    private final Tun tun;
    private final PacketPool pool;
    private final int mtu;
    private final int headroom;
    private final DeviceCounters counters = new DeviceCounters();
    private volatile boolean closed;

    private TunDevice(Tun tun, PacketPool pool, int mtu, int headroom) {
        this.tun = tun;
        this.pool = pool;
        this.mtu = mtu;
        this.headroom = headroom;
    }

    /**
     * A device over {@code tun} whose received packets come from {@code pool}, each with
     * {@code headroom} bytes free in front (for headers a reply prepends).
     *
     * @throws IllegalArgumentException if {@code mtu} is outside 68..65535, or {@code headroom + mtu}
     *     exceeds the pool's buffer size (a packet of the MTU would not fit)
     */
    public static TunDevice of(Tun tun, PacketPool pool, int mtu, int headroom) {
        Objects.requireNonNull(tun, "tun");
        Objects.requireNonNull(pool, "pool");
        if (mtu < 68 || mtu > 65_535) {
            throw new IllegalArgumentException("MTU " + mtu + " is outside 68..65535");
        }
        if (headroom < 0 || (long) headroom + mtu > pool.bufferSize()) {
            throw new IllegalArgumentException("headroom " + headroom + " + MTU " + mtu
                    + " does not fit the pool's buffers of " + pool.bufferSize() + " bytes");
        }
        return new TunDevice(tun, pool, mtu, headroom);
    }

    /** The TUN descriptor, to wait on with {@link Tun#awaitReadable}. */
    public Tun tun() {
        return tun;
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
            if (closed) {
                counters.dropped(DeviceCounters.Drop.DOWN);
                return false;
            }
            if (length > mtu) {
                counters.dropped(DeviceCounters.Drop.TOO_BIG);
                return false;
            }
            tun.write(packet.data(), 0, length);
            counters.sent(length);
            return true;
        } catch (IOException e) {
            counters.dropped(DeviceCounters.Drop.IO_ERROR);
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

    /** One packet in a pool buffer, or null: none queued, no buffer, closed, or a read error. */
    private PacketBuffer readOne() {
        if (closed) {
            return null;
        }
        PacketBuffer b = pool.tryAllocate(headroom);
        if (b == null) {
            return null; // the packet stays queued in the kernel until a buffer is free
        }
        int room = b.tailroom();
        MemorySegment window = b.append(room);
        int read;
        try {
            read = tun.read(window);
        } catch (IOException e) {
            b.free();
            counters.dropped(DeviceCounters.Drop.IO_ERROR);
            return null;
        }
        if (read == Tun.NO_PACKET) {
            b.free();
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

    @Override
    public String toString() {
        return "TunDevice[" + tun.name() + ", mtu " + mtu + ", " + counters + "]";
    }
}
