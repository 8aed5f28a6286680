package dev.mpsafe.netstack.device;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import java.util.function.Consumer;

/**
 * A network interface as the stack sees it (BSD's {@code ifnet}): it sends IP packets and hands
 * received ones over in batches. A packet is the data window of a {@link PacketBuffer}: a whole
 * IPv4 datagram, with no link-layer header.
 *
 * <h2>Ownership</h2>
 * <ul>
 *   <li>{@link #send} takes the buffer, whatever it returns: the caller must not touch or free it
 *       afterwards. The device frees it once it is done with it, and frees it at once when it
 *       drops it (queue full, too long for the MTU, device closed).</li>
 *   <li>{@link #receive} gives buffers to the caller, who frees each one exactly once or hands it
 *       on (to another device's {@code send}, for instance).</li>
 *   <li>{@link #close()} frees every buffer the device still holds.</li>
 * </ul>
 *
 * <h2>Drops, not exceptions</h2>
 * A packet the device cannot take is dropped and counted in {@link #counters()} under a
 * {@link DeviceCounters.Drop}; {@code send} never throws for the packet's size or the device's
 * state. Exceptions are kept for bugs: a null or already freed buffer, an array range outside the
 * array.
 *
 * <h2>Threads</h2>
 * Any number of threads may {@code send} at once. One thread at a time may {@code receive}
 * (the queues underneath are single-consumer); changing the receiving thread needs a
 * happens-before edge between the two, as for {@link dev.mpsafe.pcq.Pcq}. {@code close()} must not
 * race with {@code send} or {@code receive}: stop the threads that use the device first, as an
 * interface is brought down before it is detached. A {@code send} after close is a counted drop;
 * a {@code receive} after close returns 0.
 *
 * <p>Thread safety: implementations are safe for any number of sending threads and one receiving
 * thread at a time, and close as above.
 *
 * <p>Memory consistency effects: actions in a thread before it sends a buffer happen-before the
 * actions of the thread that receives that buffer (or a copy made by a middleware) after
 * {@code receive} returns it.
 */
public interface Device extends AutoCloseable {

    /** The interface's name, for messages and counters. */
    String name();

    /** The largest packet, in bytes of data window, the device sends; longer ones are dropped. */
    int mtu();

    /**
     * Whether this is a loopback device (BSD's {@code IFF_LOOPBACK}): what it receives is what this
     * host sent, so the IP layer accepts 127/8 and its own addresses as sources on it, and drops
     * them as martians on any other device. Middleware answers for the device it wraps.
     */
    default boolean isLoopback() {
        return false;
    }

    /**
     * Sends a packet, taking ownership of the buffer. Returns whether the device accepted it; a
     * refused packet is counted and freed, and the caller must not touch it either way.
     *
     * @throws NullPointerException if {@code packet} is null
     * @throws IllegalStateException if {@code packet} was already freed
     */
    boolean send(PacketBuffer packet);

    /**
     * Moves up to {@code length} received packets, oldest first, into {@code batch} from index
     * {@code offset}, and returns how many. Never waits: returns 0 when none is ready. The caller
     * owns the buffers. One receiving thread at a time.
     *
     * @throws IndexOutOfBoundsException if the range is outside {@code batch}
     */
    int receive(PacketBuffer[] batch, int offset, int length);

    /**
     * Hands up to {@code limit} received packets, oldest first, to {@code sink}, and returns how
     * many. Never waits. The sink owns each buffer it gets. One receiving thread at a time.
     *
     * @throws IllegalArgumentException if {@code limit} is negative
     */
    int receive(Consumer<? super PacketBuffer> sink, int limit);

    /** The device's counters (live; {@link DeviceCounters#snapshot()} reads them all). */
    DeviceCounters counters();

    /** Frees every buffer the device holds and refuses later sends. Idempotent. */
    @Override
    void close();
}
