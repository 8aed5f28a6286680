package dev.mpsafe.netstack.tun;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The Linux kernel's side of an ICMP exchange, for tests and benchmarks: a raw
 * {@code AF_INET}/{@code IPPROTO_ICMP} socket created inside a network namespace. {@link #send}
 * hands an ICMP message to the kernel, which adds the IPv4 header and routes it (to a TUN device
 * the stack serves); {@link #receive} returns the next ICMP packet the kernel took in, IPv4 header
 * included. Needs root (CAP_NET_RAW in the namespace, CAP_SYS_ADMIN to join it).
 *
 * <p>A raw socket gets a copy of every ICMP packet the namespace receives, so one socket per
 * namespace: two would each see the other's replies.
 *
 * <p>Thread safety: one sending and one receiving thread at a time.
 */
final class RawIcmpSocket implements AutoCloseable {

    private static final int AF_INET = 2;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int IPPROTO_ICMP = 1;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SOCKET;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle SENDTO;
    private static final MethodHandle RECV;
    private static final MethodHandle CLOSE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        SOCKET = linker.downcallHandle(libc.find("socket").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), errno);
        SETSOCKOPT = linker.downcallHandle(libc.find("setsockopt").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), errno);
        SENDTO = linker.downcallHandle(libc.find("sendto").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), errno);
        RECV = linker.downcallHandle(libc.find("recv").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), errno);
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment sendState = arena.allocate(CAPTURE);
    private final MemorySegment receiveState = arena.allocate(CAPTURE);
    private final MemorySegment destination = arena.allocate(16, 4);
    private boolean closed;

    private RawIcmpSocket(int fd) {
        this.fd = fd;
    }

    /**
     * Opens the socket inside {@code ns}'s namespace (from a short-lived thread that joins it, see
     * {@link NetnsFixture#inside}). A receive waits at most {@code receiveTimeoutMillis}.
     */
    static RawIcmpSocket open(NetnsFixture ns, int receiveTimeoutMillis) throws IOException {
        return ns.inside(() -> openHere(receiveTimeoutMillis));
    }

    /** Opens the socket in the calling thread's namespace. */
    private static RawIcmpSocket openHere(int receiveTimeoutMillis) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CAPTURE);
            int fd = (int) SOCKET.invokeExact(state, AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
            if (fd < 0) {
                throw new ErrnoException("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", (int) ERRNO.get(state, 0L),
                        "a raw socket needs CAP_NET_RAW");
            }
            MemorySegment timeval = a.allocate(16, 8);
            timeval.set(JAVA_LONG, 0, receiveTimeoutMillis / 1000);
            timeval.set(JAVA_LONG, 8, (receiveTimeoutMillis % 1000) * 1000L);
            if ((int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16) < 0) {
                int e = (int) ERRNO.get(state, 0L);
                int ignored = (int) CLOSE.invokeExact(fd);
                throw new ErrnoException("setsockopt(SO_RCVTIMEO)", e, null);
            }
            return new RawIcmpSocket(fd);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("opening the raw socket failed", t);
        }
    }

    /** Sends {@code length} bytes of ICMP message (checksum included) to {@code address}. */
    void send(int address, MemorySegment message, int length) throws IOException {
        destination.fill((byte) 0);
        destination.set(JAVA_SHORT, 0, (short) AF_INET);
        destination.set(JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN), 4, address);
        long n;
        try {
            n = (long) SENDTO.invokeExact(sendState, fd, message, (long) length, 0, destination, 16);
        } catch (Throwable t) {
            throw new IOException(t);
        }
        if (n != length) {
            throw new ErrnoException("sendto(" + length + " bytes)", (int) ERRNO.get(sendState, 0L), null);
        }
    }

    /**
     * The next ICMP packet the namespace received, IPv4 header first, into {@code buffer}.
     *
     * @return its length
     * @throws IOException when none came within the receive timeout, or on an error
     */
    int receive(MemorySegment buffer) throws IOException {
        while (true) {
            long n;
            try {
                n = (long) RECV.invokeExact(receiveState, fd, buffer, buffer.byteSize(), 0);
            } catch (Throwable t) {
                throw new IOException(t);
            }
            if (n >= 0) {
                return (int) n;
            }
            int errno = (int) ERRNO.get(receiveState, 0L);
            if (errno == EINTR) {
                continue;
            }
            throw new ErrnoException("recv", errno, errno == EAGAIN ? "no ICMP packet within the timeout" : null);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            arena.close();
        }
    }

    /** The first byte of {@code packet}'s ICMP header (its type), after the IPv4 header. */
    static int icmpType(MemorySegment packet) {
        int ihl = (packet.get(JAVA_BYTE, 0) & 0x0F) * 4;
        return packet.get(JAVA_BYTE, ihl) & 0xFF;
    }
}
