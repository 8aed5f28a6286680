package dev.mpsafe.netstack.ip;

/**
 * How a stack's threads keep out of each other's way between the device and a socket: the
 * question the BSD kernels answered twice. Chosen when the stack is created
 * ({@link Ipv4Stack.Builder#dispatch}); the protocol code is the same under both, and reaches the
 * model only through {@link DispatchModel}.
 *
 * <p>Two models to come slot in as further {@link DispatchModel}s without touching protocol code:
 * {@code PER_SOCKET_LOCK} (seeds 002 and 004: a lock per socket taken on delivery and by socket
 * calls, the {@link DispatchModel#newMailbox} and {@code enterSocket(socket)} hooks) and
 * {@code PER_CPU} (seed 001: flows hashed to workers that own their PCBs, a steering step before
 * {@link DispatchModel#enterInput}). Neither is implemented.
 */
public enum Dispatch {
    /**
     * One lock, the stack's "giant" (NetBSD's {@code softnet_lock}), held around each received
     * packet's whole input path, around output, and around every socket call. A reader waits on a
     * condition of that lock, which delivery signals.
     */
    BIG_LOCK,
    /**
     * Seed 003's path: no lock between the device and a socket's queue. Demultiplexing reads the
     * PCB table inside a grace-period read section, the datagram goes onto the socket's
     * {@link dev.mpsafe.pcq.Pcq} (a lock-free multi-producer put), and a reader parked on the
     * empty queue is woken by the put itself.
     */
    MPSAFE
}
