package dev.mpsafe.netstack.tun;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One queue of a Linux TUN interface: a file descriptor on {@code /dev/net/tun} attached with
 * {@code ioctl(TUNSETIFF)} and {@code IFF_TUN | IFF_NO_PI}, so each {@code read} returns one whole
 * IP packet (IPv4 or IPv6, no link header, no packet-information prefix) that the kernel routed to
 * the interface, and each {@code write} hands one IP packet to the kernel as if the interface had
 * received it. Bound through the FFM API (no JNI); see {@code docs/netstack.md}, section TUN.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined(); Tun tun = Tun.open("tun0")) {   // then: ip addr add, ip link set up
 *     MemorySegment buffer = arena.allocate(2048);
 *     for (;;) {
 *         int length = tun.receive(buffer, 100, TimeUnit.MILLISECONDS);  // Tun.NO_PACKET on timeout
 *         if (length > 0) {
 *             tun.write(buffer, 0, process(buffer, length));
 *         }
 *     }
 * }
 * }</pre>
 *
 * <h2>Blocking, and stopping a reader</h2>
 * The descriptor is always non-blocking. {@link #read} returns {@link #NO_PACKET} at once when no
 * packet is queued; {@link #receive} and {@link #awaitReadable} wait in {@code poll(2)} with a
 * timeout. {@link #close()} wakes a thread waiting there (it polls an {@code eventfd} too), which
 * then throws {@link AsynchronousCloseException}. Thread interrupts do not wake {@code poll}: stop a
 * reader with a timeout and a flag, or by closing the device. A downcall pins a virtual thread to
 * its carrier, so give a waiting reader a platform thread.
 *
 * <h2>Queues</h2>
 * {@link #openQueues} attaches several descriptors to one {@code IFF_MULTI_QUEUE} interface. The
 * kernel spreads the packets it sends over the queues by flow hash, and sends a flow's packets to
 * the queue that last wrote a packet of that flow, so one thread per queue serves its own flows
 * without sharing a descriptor. On the 2-core machine it was measured on, it did not beat the
 * single-queue loop (see {@code docs/netstack.md}, section TUN); it is there for machines with cores
 * to spare.
 *
 * <h2>Network namespaces</h2>
 * The kernel creates the interface in the network namespace of the thread that opens
 * {@code /dev/net/tun}. {@link #open(String, Path)} opens it from a short-lived platform thread that
 * first joins the given namespace with {@code setns(2)} (which moves only that thread) and ends
 * right after; the descriptor then works from any thread, and no other thread of the JVM changes
 * namespace.
 *
 * <h2>Closing</h2>
 * {@link #close()} returns once both descriptors (the device and its {@code eventfd}) are closed,
 * whichever thread's close() came first, so the interface is gone when it returns (unless other
 * queues or {@code TUNSETPERSIST} keep it) and its name may be opened again at once. A {@code Tun}
 * that becomes unreachable without close() has its descriptors closed by a {@link Cleaner} once
 * the garbage collector notices. That is a safety net, not a substitute for close(): when (and
 * whether) the collector notices is up to it, and until then the two descriptors stay open and
 * the interface and its name stay taken.
 *
 * <p>Errors name the call, the errno value, its name and meaning ({@link ErrnoException}); a host
 * where TUN cannot work at all gets a {@link TunUnavailableException} that says what to do.
 *
 * <p>Thread safety: safe from any thread. One reader and one writer may run at the same time; more
 * readers of one queue compete for its packets (each packet goes to one of them). {@link #close()}
 * may race with every other method: each call either completes on the open descriptor or throws
 * {@link ClosedChannelException}, and the descriptor is closed only after the last call using it
 * has left, so a number the kernel reuses for another file is never read or written.
 *
 * <p>Memory consistency effects: none beyond the packets' own bytes; a packet written by
 * {@link #write} is copied by the kernel before the call returns, so the buffer may be reused at
 * once.
 */
public final class Tun implements Channel {

    /*
     * Implementation overview.
     *
     * Descriptor lifetime. A plain int fd plus a closed flag would be unsafe: close(2) while another
     * thread sits in read(2) or poll(2) on the same number lets the kernel hand the number to the
     * next open() anywhere in the process, and the reader would then read someone else's file. So
     * the state word counts the calls in flight in its low 30 bits, with bit 31 as the closed flag,
     * as a file's reference count does in fd_getfile/fd_putfile (NetBSD kern/kern_descrip.c), and
     * bit 30 as the released flag:
     *   enter: xadd +1; if the old value had CLOSED, xadd -1 and throw (nothing touched the fd);
     *   exit:  xadd -1;
     *   close: xchg-or CLOSED. The first closer wakes pollers through the eventfd, waits until the
     *          count is 0, closes both descriptors (through the Cleanable, below), then or-s in
     *          RELEASED. A later closer waits for RELEASED: returning at once would let it
     *          return while the first closer still waits and the descriptors (and so the
     *          interface, and its name) still exist, and a caller that closed and then re-created
     *          the interface could get EBUSY.
     * Invariant: close(2) runs only when no call holds the fd and none can enter any more, so every
     * read/write/poll that runs uses the descriptor this object opened. The wait is short: a caller
     * inside the count is in a non-blocking read or write, or in a poll that the eventfd wakes.
     * The count cannot reach bit 30: a thread adds one per call it is in, and is in one call at a
     * time (two inside runInFlight, in tests).
     *
     * No closer waits for itself. A closer inside the count would: the first for a count that
     * includes itself, a later one for a release that waits on its own exit. But between enter and
     * exit this class runs only its own syscalls, never caller code, so no thread in flight can
     * call close() on the same Tun. (runInFlight, for tests, runs caller code in flight, and says
     * its body must not close.)
     *
     * Waiting: both closers' waits re-read the state word, spinning and then napping 20 us at a
     * time, instead of parking until signalled: nothing can be lost between a check and a park,
     * because nobody signals; a wait lasts as long as a woken poller takes to leave.
     *
     * Safety net. A Tun dropped without close() would keep both descriptors, and the interface, for
     * the life of the process. The Cleanable registered at construction holds the two ints (not
     * the Tun, which would then never become unreachable) and closes both. close() closes them by
     * running the same Cleanable, so one code path closes them and it runs at most once: clean()
     * unregisters before it runs the action, and the Cleaner runs it only if it is still
     * registered. The Cleaner cannot run it while a call is in flight: every call's exit() is a
     * read-modify-write of this object's state word after its last syscall, so the Tun stays
     * strongly reachable until then.
     *
     * Ordering: every access to the state word is a volatile read-modify-write or read, so the
     * first closer's read of a zero count happens after each caller's exit, and its close(2) after
     * their last syscall on the fd; a later closer's read of RELEASED happens after the first
     * closer's close(2) calls returned.
     */

    /** {@link #read} and {@link #receive}: no packet was queued (or none came before the timeout). */
    public static final int NO_PACKET = -1;

    /** The longest interface name Linux accepts: IFNAMSIZ (16) less the terminating NUL. */
    public static final int MAX_NAME_BYTES = LinuxCalls.IFNAMSIZ - 1;

    /** The most queues one multi-queue interface takes (MAX_TAP_QUEUES in drivers/net/tun.c). */
    public static final int MAX_QUEUES = 256;

    /** State: close() was called; no call may enter any more. */
    private static final int CLOSED = 1 << 31;
    /** State: the first close() has closed both descriptors (set only with CLOSED). */
    private static final int RELEASED = 1 << 30;
    /** State: the bits that count the calls in flight. */
    private static final int CALLS = ~(CLOSED | RELEASED);

    private final int fd;
    private final int wakeFd;
    private final String name;
    private final boolean multiQueue;
    /** Closes {@link #fd} and {@link #wakeFd}, once: run by {@link #close()}, or by the Cleaner. */
    private final Cleaner.Cleanable cleanable;

    /** CLOSED | RELEASED | number of calls using {@link #fd}. */
    private volatile int state;

    private Tun(int fd, int wakeFd, String name, boolean multiQueue) {
        this.fd = fd;
        this.wakeFd = wakeFd;
        this.name = name;
        this.multiQueue = multiQueue;
        this.cleanable = CleanerHolder.CLEANER.register(this, new CloseDescriptors(fd, wakeFd));
    }

    /**
     * The cleaning action: closes the two descriptors. A record of the two ints alone: an action
     * that referred to the {@code Tun} would keep it reachable, and so would never run.
     */
    private record CloseDescriptors(int fd, int wakeFd) implements Runnable {
        @Override
        public void run() {
            // a failed close(2) leaves nothing to do: Linux releases the number even on EINTR or EIO
            LinuxCalls.close(fd);
            LinuxCalls.close(wakeFd);
        }
    }

    /**
     * One daemon thread for all Tuns, started by the first {@code open}, not by class loading.
     * openQueues touches it on the caller's thread before it may switch namespace: a thread
     * inherits its creator's network namespace, and a cleaner started on the thread that joined
     * the target namespace would stay in it for the life of the JVM (and keep it alive after
     * {@code ip netns del}).
     */
    private static final class CleanerHolder {
        static final Cleaner CLEANER = Cleaner.create(
                Thread.ofPlatform().name("mpsafe-tun-cleaner").daemon(true).factory());
    }

    /** Whether this JVM can open TUN devices at all (Linux, a known architecture, native access). */
    public static boolean isSupported() {
        return LinuxCalls.UNAVAILABLE == null;
    }

    /** Why {@link #isSupported()} is false, or null. */
    public static String unsupportedReason() {
        return LinuxCalls.UNAVAILABLE;
    }

    /**
     * Creates (or attaches to a persistent) TUN interface in this thread's network namespace.
     *
     * @param name the interface name: 1..15 ASCII bytes, no '/', ':' or white space, not "." or
     *     "..". A name with {@code %d} ({@code "tun%d"}) lets the kernel pick the first free number;
     *     {@link #name()} tells which
     * @throws IllegalArgumentException if the name breaks those rules (nothing is opened)
     * @throws TunUnavailableException if the host cannot give this process a TUN device (message says
     *     what to do)
     * @throws ErrnoException if a call fails for another reason (name busy: EBUSY)
     */
    public static Tun open(String name) throws IOException {
        return openQueues(name, 1, false, null).getFirst();
    }

    /**
     * As {@link #open(String)}, but the interface is created in the network namespace whose file is
     * {@code networkNamespace} (such as {@code /run/netns/NAME} made by {@code ip netns add NAME}, or
     * {@code /proc/PID/ns/net}). Joining it needs CAP_SYS_ADMIN.
     */
    public static Tun open(String name, Path networkNamespace) throws IOException {
        Objects.requireNonNull(networkNamespace, "networkNamespace");
        return openQueues(name, 1, false, networkNamespace).getFirst();
    }

    /**
     * Creates a multi-queue ({@code IFF_MULTI_QUEUE}) interface with {@code queues} descriptors,
     * each a {@code Tun} of its own (close each; the interface goes when the last one is closed).
     *
     * @param networkNamespace the namespace file to create it in, or null for this thread's
     * @throws IllegalArgumentException for a bad name, or queues outside 1..{@value #MAX_QUEUES}
     */
    public static List<Tun> openQueues(String name, int queues, Path networkNamespace) throws IOException {
        return openQueues(name, queues, true, networkNamespace);
    }

    private static List<Tun> openQueues(String name, int queues, boolean multiQueue, Path networkNamespace)
            throws IOException {
        byte[] bytes = checkName(name);
        if (queues < 1 || queues > MAX_QUEUES) {
            throw new IllegalArgumentException("queues is " + queues + ", must be 1.." + MAX_QUEUES);
        }
        if (LinuxCalls.UNAVAILABLE != null) {
            throw new TunUnavailableException("TUN is unavailable: " + LinuxCalls.UNAVAILABLE, null);
        }
        Objects.requireNonNull(CleanerHolder.CLEANER); // started here, in the caller's namespace (see CleanerHolder)
        if (networkNamespace == null) {
            return attach(bytes, name, queues, multiQueue);
        }
        return inNamespace(networkNamespace, () -> attach(bytes, name, queues, multiQueue));
    }

    /**
     * Validates an interface name as the kernel's {@code dev_valid_name} does, before any call.
     *
     * @return its bytes (ASCII)
     * @throws IllegalArgumentException naming the value and the rule it breaks
     */
    static byte[] checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("interface name is empty; it must be 1.." + MAX_NAME_BYTES + " ASCII bytes");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException("interface name \"" + name + "\" has character U+"
                        + String.format("%04X", (int) c) + " at index " + i
                        + "; only printable ASCII without spaces (0x21..0x7E) is allowed");
            }
            if (c == '/' || c == ':') {
                throw new IllegalArgumentException("interface name \"" + name + "\" contains '" + c
                        + "' at index " + i + ", which Linux forbids in interface names");
            }
        }
        if (name.length() > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("interface name \"" + name + "\" is " + name.length()
                    + " bytes; the limit is " + MAX_NAME_BYTES + " (IFNAMSIZ 16 less the NUL)");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("interface name \"" + name + "\" is not allowed by Linux");
        }
        return name.getBytes(StandardCharsets.US_ASCII);
    }

    /** Opens and attaches {@code queues} descriptors in this thread's namespace; all or none. */
    private static List<Tun> attach(byte[] name, String requested, int queues, boolean multiQueue) throws IOException {
        List<Tun> opened = new ArrayList<>(queues);
        String actual = requested;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment path = arena.allocateFrom("/dev/net/tun");
            MemorySegment ifreq = arena.allocate(LinuxCalls.IFREQ_SIZE, 8);
            for (int q = 0; q < queues; q++) {
                int fd = LinuxCalls.open(path, LinuxCalls.O_RDWR | LinuxCalls.O_NONBLOCK | LinuxCalls.O_CLOEXEC);
                if (fd < 0) {
                    throw openFailed(LinuxCalls.errno());
                }
                ifreq.fill((byte) 0);
                // the first queue may ask for "tun%d"; later queues must name what the kernel chose
                byte[] nameBytes = q == 0 ? name : actual.getBytes(StandardCharsets.US_ASCII);
                MemorySegment.copy(nameBytes, 0, ifreq, JAVA_BYTE, 0, nameBytes.length);
                short flags = (short) (LinuxCalls.IFF_TUN | LinuxCalls.IFF_NO_PI
                        | (multiQueue ? LinuxCalls.IFF_MULTI_QUEUE : 0));
                ifreq.set(JAVA_SHORT, LinuxCalls.IFREQ_FLAGS_OFFSET, flags);
                if (LinuxCalls.ioctl(fd, LinuxCalls.TUNSETIFF, ifreq) < 0) {
                    int errno = LinuxCalls.errno();
                    LinuxCalls.close(fd);
                    throw setIffFailed(actual, errno, multiQueue);
                }
                actual = ifreq.getString(0, StandardCharsets.US_ASCII);
                int wakeFd = LinuxCalls.eventfd(0, LinuxCalls.EFD_NONBLOCK | LinuxCalls.EFD_CLOEXEC);
                if (wakeFd < 0) {
                    int errno = LinuxCalls.errno();
                    LinuxCalls.close(fd);
                    throw new ErrnoException("eventfd()", errno, null);
                }
                final Tun tun;
                try {
                    tun = new Tun(fd, wakeFd, actual, multiQueue);
                } catch (RuntimeException | Error e) {
                    // The constructor's last step registers the cleaner: if anything threw, nothing
                    // owns the two descriptors yet.
                    LinuxCalls.close(wakeFd);
                    LinuxCalls.close(fd);
                    throw e;
                }
                opened.add(tun);
            }
            return List.copyOf(opened);
        } catch (IOException | RuntimeException | Error e) {
            for (Tun t : opened) {
                t.close();
            }
            throw e;
        }
    }

    private static IOException openFailed(int errno) {
        String call = "open(\"/dev/net/tun\", O_RDWR)";
        return switch (errno) {
            case LinuxCalls.ENOENT -> new TunUnavailableException("/dev/net/tun does not exist: load the driver"
                    + " (sudo modprobe tun) or create the node (sudo mkdir -p /dev/net; sudo mknod /dev/net/tun c 10 200);"
                    + " in a container pass --device /dev/net/tun", new ErrnoException(call, errno, null));
            case LinuxCalls.ENODEV, LinuxCalls.ENXIO -> new TunUnavailableException("/dev/net/tun exists but no TUN"
                    + " driver answers: sudo modprobe tun (or build the kernel with CONFIG_TUN)",
                    new ErrnoException(call, errno, null));
            case LinuxCalls.EACCES, LinuxCalls.EPERM -> new TunUnavailableException(
                    ErrnoException.message(call, errno, null) + "; " + TunUnavailableException.WHAT_TO_DO,
                    new ErrnoException(call, errno, null));
            default -> new ErrnoException(call, errno, null);
        };
    }

    private static IOException setIffFailed(String name, int errno, boolean multiQueue) {
        String call = "ioctl(TUNSETIFF, \"" + name + "\")";
        return switch (errno) {
            case LinuxCalls.EPERM -> new TunUnavailableException(ErrnoException.message(call, errno, null)
                    + "; " + TunUnavailableException.WHAT_TO_DO, new ErrnoException(call, errno, null));
            case LinuxCalls.EBUSY -> new ErrnoException(call, errno, "another descriptor already holds interface \""
                    + name + "\" (pick another name, or close the other user)");
            case LinuxCalls.EINVAL -> new ErrnoException(call, errno, "\"" + name + "\" exists with other flags"
                    + " (not a TUN, " + (multiQueue ? "not " : "") + "multi-queue, or with a packet-information"
                    + " header): pick another name, or delete it with ip link del " + name);
            default -> new ErrnoException(call, errno, null);
        };
    }

    @FunctionalInterface
    private interface Opener {
        List<Tun> open() throws IOException;
    }

    /** Runs {@code opener} on a new platform thread that first joins {@code namespace}. */
    private static List<Tun> inNamespace(Path namespace, Opener opener) throws IOException {
        Object[] result = new Object[1];
        Thread thread = Thread.ofPlatform().name("tun-open-netns").unstarted(() -> {
            try (Arena arena = Arena.ofConfined()) {
                String file = namespace.toString();
                int nsFd = LinuxCalls.open(arena.allocateFrom(file), LinuxCalls.O_RDONLY | LinuxCalls.O_CLOEXEC);
                if (nsFd < 0) {
                    int errno = LinuxCalls.errno();
                    throw new ErrnoException("open(\"" + file + "\")", errno, errno == LinuxCalls.ENOENT
                            ? "no such network namespace; create one with ip netns add NAME and pass /run/netns/NAME"
                            : null);
                }
                int rc = LinuxCalls.setns(nsFd, LinuxCalls.CLONE_NEWNET);
                int errno = LinuxCalls.errno();
                LinuxCalls.close(nsFd);
                if (rc < 0) {
                    ErrnoException e = new ErrnoException("setns(\"" + file + "\", CLONE_NEWNET)", errno,
                            errno == LinuxCalls.EINVAL ? "not a network namespace file" : null);
                    throw errno == LinuxCalls.EPERM
                            ? new TunUnavailableException(e.getMessage() + "; joining a network namespace needs"
                                    + " CAP_SYS_ADMIN: run as root, or start the JVM inside it with"
                                    + " sudo ip netns exec NAME java ...", e)
                            : e;
                }
                // This thread is now in the namespace; it opens the device there and then ends, so
                // no thread that runs anything else is left in it.
                result[0] = opener.open();
            } catch (Throwable t) {
                result[0] = t;
            }
        });
        thread.start();
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the opener cannot be abandoned: it may hold descriptors
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        // join() orders the thread's writes to result before this read
        Object r = result[0];
        if (r instanceof IOException e) {
            throw e;
        }
        if (r instanceof RuntimeException e) {
            throw e;
        }
        if (r instanceof Error e) {
            throw e;
        }
        @SuppressWarnings("unchecked")
        List<Tun> tuns = (List<Tun>) r;
        return tuns;
    }

    /** The interface's name, as the kernel set it ({@code "tun%d"} resolved). */
    public String name() {
        return name;
    }

    /** Whether this is one queue of an {@code IFF_MULTI_QUEUE} interface. */
    public boolean isMultiQueue() {
        return multiQueue;
    }

    /**
     * Reads one queued packet into {@code buffer} from its start, without waiting.
     *
     * <p>A buffer shorter than the packet receives its first {@code buffer.byteSize()} bytes, the
     * return value is that size, and the rest of the packet is lost (it does not come as another);
     * so size buffers for the interface's MTU (1500 by default, 65535 at most), and treat a return
     * equal to the buffer's size as possibly truncated.
     *
     * @param buffer a native (off-heap), writable segment
     * @return the packet's length in bytes, or {@link #NO_PACKET} if none is queued
     * @throws IllegalArgumentException if the buffer is on the heap or read-only
     * @throws ClosedChannelException if this device is closed
     * @throws ErrnoException if {@code read(2)} fails (EBADFD: the interface was deleted)
     */
    public int read(MemorySegment buffer) throws IOException {
        checkBuffer(buffer);
        enter();
        try {
            return read0(buffer);
        } finally {
            exit();
        }
    }

    /** Reads inside {@link #enter()}. */
    private int read0(MemorySegment buffer) throws IOException {
        long capacity = Math.min(buffer.byteSize(), Integer.MAX_VALUE);
        while (true) {
            long n = LinuxCalls.read(fd, buffer, capacity);
            if (n >= 0) {
                return (int) n;
            }
            int errno = LinuxCalls.errno();
            if (errno == LinuxCalls.EAGAIN) {
                return NO_PACKET;
            }
            if (errno != LinuxCalls.EINTR) {
                throw new ErrnoException("read(" + name + ")", errno, errno == LinuxCalls.EBADFD
                        ? "the interface was deleted (ip link del) or this queue detached" : null);
            }
        }
    }

    /**
     * Reads one packet, waiting for one up to {@code timeout}.
     *
     * @param timeout how long to wait; 0 does not wait, a negative value or {@code Long.MAX_VALUE}
     *     waits without limit
     * @return the packet's length, or {@link #NO_PACKET} if none came in time
     * @throws AsynchronousCloseException if another thread closed this device while waiting
     * @see #read(MemorySegment)
     */
    public int receive(MemorySegment buffer, long timeout, TimeUnit unit) throws IOException {
        checkBuffer(buffer);
        long waitNanos = toNanos(timeout, unit);
        long deadline = System.nanoTime() + waitNanos;
        enter();
        try {
            while (true) {
                int n = read0(buffer);
                if (n != NO_PACKET) {
                    return n;
                }
                long left = waitNanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
                if (left <= 0 || !await0(LinuxCalls.POLLIN, left)) {
                    return NO_PACKET;
                }
            }
        } finally {
            exit();
        }
    }

    /**
     * Waits until a packet is queued (or the interface reports an error, which the next
     * {@link #read} then throws).
     *
     * @return false if the timeout passed first
     * @throws AsynchronousCloseException if another thread closed this device while waiting
     */
    public boolean awaitReadable(long timeout, TimeUnit unit) throws IOException {
        long waitNanos = toNanos(timeout, unit);
        enter();
        try {
            return await0(LinuxCalls.POLLIN, waitNanos);
        } finally {
            exit();
        }
    }

    /**
     * Hands one IP packet to the kernel, as if the interface had received it. The kernel copies the
     * bytes before this returns. It checks only that the first nibble is 4 or 6 (else EINVAL); the
     * kernel's IP input validates the rest and silently drops what it refuses.
     *
     * @param buffer a native (off-heap) segment
     * @param offset where the packet starts in it
     * @param length the packet's length, 1..65535
     * @throws IllegalArgumentException if the buffer is on the heap
     * @throws IndexOutOfBoundsException if the range is outside the buffer or length is outside 1..65535
     * @throws ClosedChannelException if this device is closed
     * @throws ErrnoException if {@code write(2)} fails (EIO: the interface is down)
     */
    public void write(MemorySegment buffer, long offset, int length) throws IOException {
        if (!buffer.isNative()) {
            throw new IllegalArgumentException("buffer must be a native (off-heap) segment, got " + buffer);
        }
        Objects.checkFromIndexSize(offset, length, buffer.byteSize());
        if (length < 1 || length > 0xFFFF) {
            throw new IndexOutOfBoundsException("packet length " + length + " is outside 1..65535");
        }
        MemorySegment packet = buffer.asSlice(offset, length);
        enter();
        try {
            while (true) {
                long n = LinuxCalls.write(fd, packet, length);
                if (n >= 0) {
                    return; // a TUN write takes the whole packet or fails
                }
                int errno = LinuxCalls.errno();
                if (errno == LinuxCalls.EAGAIN) {
                    await0(LinuxCalls.POLLOUT, Long.MAX_VALUE);
                } else if (errno != LinuxCalls.EINTR) {
                    throw new ErrnoException("write(" + name + ", " + length + " bytes)", errno, switch (errno) {
                        case LinuxCalls.EINVAL -> "not an IPv4 or IPv6 packet (first nibble not 4 or 6), or too short";
                        case LinuxCalls.EIO -> "the interface is down or detached: ip link set " + name + " up";
                        default -> null;
                    });
                }
            }
        } finally {
            exit();
        }
    }

    @Override
    public boolean isOpen() {
        return (state & CLOSED) == 0;
    }

    /**
     * Closes the descriptor; the interface goes away with its last queue (unless persistent).
     * Wakes threads waiting in {@link #receive} or {@link #awaitReadable}, and returns after every
     * call in flight has left and both descriptors are closed. That holds for every close(): one
     * that comes while another is still waiting for calls to leave waits until that one has closed
     * them. Idempotent: a close() after the first has finished returns at once.
     *
     * <p>Not to be called from inside a call on this {@code Tun}; none of its methods runs caller
     * code, so no caller can (the close would wait for itself).
     */
    @Override
    public void close() {
        int old = (int) STATE.getAndBitwiseOr(this, CLOSED);
        if ((old & CLOSED) != 0) {
            // The first closer may still be waiting for calls in flight; wait until it has closed
            // the descriptors, so that our caller never sees the interface outlive its close().
            awaitState(RELEASED, RELEASED);
            return;
        }
        try {
            MemorySegment scratch = LinuxCalls.scratch();
            scratch.set(JAVA_LONG, LinuxCalls.COUNTER_OFFSET, 1L);
            // the eventfd counter cannot overflow from one add of 1; a failure leaves pollers to their timeout
            LinuxCalls.write(wakeFd, scratch.asSlice(LinuxCalls.COUNTER_OFFSET, 8), 8);
            awaitState(CALLS, 0);
            cleanable.clean(); // close(2) both, and unregister them from the Cleaner
        } finally {
            // Also after an Error above (out of memory for this thread's scratch): later closers
            // must not wait forever. They then return with the descriptors open, left to the Cleaner.
            STATE.getAndBitwiseOr(this, RELEASED);
        }
    }

    /**
     * Waits until {@code (state & mask) == expected}: spins a little, then naps 20 us at a time,
     * re-reading the state each time (see Waiting in the overview). An interrupt does not end the
     * wait (close() must not return early); it is cleared while waiting, since a set interrupt
     * status makes parkNanos return at once and the naps a busy spin, and set again after.
     */
    private void awaitState(int mask, int expected) {
        int spins = 0;
        boolean interrupted = false;
        while ((state & mask) != expected) {
            if (++spins < 100) {
                Thread.onSpinWait();
            } else {
                interrupted |= Thread.interrupted();
                LockSupport.parkNanos(20_000);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** For tests: the device's descriptor and the eventfd's, in that order. */
    int[] descriptors() {
        return new int[] {fd, wakeFd};
    }

    /**
     * For tests: the Cleanable that closes the descriptors. Hold it only weakly: a strong hold
     * keeps it reachable, and its clearing is the event a test waits for (the Cleaner holds a
     * Cleanable strongly until it has unregistered it, in close() or in its own run of it).
     */
    Cleaner.Cleanable cleanable() {
        return cleanable;
    }

    /** For tests: the one Cleaner every Tun registers with; a single thread runs its actions. */
    static Cleaner cleaner() {
        return CleanerHolder.CLEANER;
    }

    /** For tests: how many calls are in flight now. */
    int callsInFlight() {
        return state & CALLS;
    }

    /**
     * For tests: runs {@code body} as a call in flight (between enter and exit, where
     * {@link #read} and {@link #write} make their syscalls), so that a test can hold
     * {@link #close()} back as long as it likes: a reader that close() wakes leaves within
     * microseconds, too soon for a test to act in between. {@code body} must not close this
     * {@code Tun}: the close would wait for itself.
     *
     * @throws ClosedChannelException if this device is closed (body does not run)
     */
    void runInFlight(Runnable body) throws ClosedChannelException {
        enter();
        try {
            body.run();
        } finally {
            exit();
        }
    }

    @Override
    public String toString() {
        return "Tun[" + name + (multiQueue ? ", multi-queue" : "") + (isOpen() ? "" : ", closed") + "]";
    }

    /** Polls this device for {@code events} and the wake-up eventfd; true if the device is ready. */
    private boolean await0(short events, long timeoutNanos) throws IOException {
        MemorySegment scratch = LinuxCalls.scratch();
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            long left = timeoutNanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
            int millis = left == Long.MAX_VALUE ? -1
                    : (int) Math.min(Integer.MAX_VALUE, Math.max(0, (left + 999_999) / 1_000_000));
            long base = LinuxCalls.POLLFDS_OFFSET;
            scratch.set(JAVA_INT, base, fd);
            scratch.set(JAVA_SHORT, base + 4, events);
            scratch.set(JAVA_SHORT, base + 6, (short) 0);
            scratch.set(JAVA_INT, base + 8, wakeFd);
            scratch.set(JAVA_SHORT, base + 12, LinuxCalls.POLLIN);
            scratch.set(JAVA_SHORT, base + 14, (short) 0);
            int n = LinuxCalls.poll(scratch, 2, millis);
            if (n < 0) {
                int errno = LinuxCalls.errno();
                if (errno == LinuxCalls.EINTR) {
                    continue;
                }
                throw new ErrnoException("poll(" + name + ")", errno, null);
            }
            if (scratch.get(JAVA_SHORT, base + 14) != 0) {
                throw new AsynchronousCloseException();
            }
            if (n > 0 && scratch.get(JAVA_SHORT, base + 6) != 0) {
                return true; // ready, or POLLERR/POLLHUP that the next read or write reports
            }
            if (millis >= 0 && System.nanoTime() - deadline >= 0) {
                return false;
            }
        }
    }

    private void enter() throws ClosedChannelException {
        int old = (int) STATE.getAndAdd(this, 1);
        if ((old & CLOSED) != 0) {
            STATE.getAndAdd(this, -1);
            throw new ClosedChannelException();
        }
    }

    private void exit() {
        STATE.getAndAdd(this, -1);
    }

    private static void checkBuffer(MemorySegment buffer) {
        if (!buffer.isNative()) {
            throw new IllegalArgumentException("buffer must be a native (off-heap) segment, got " + buffer);
        }
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("buffer is read-only: " + buffer);
        }
        if (buffer.byteSize() == 0) {
            throw new IllegalArgumentException("buffer is empty: " + buffer);
        }
    }

    private static long toNanos(long timeout, TimeUnit unit) {
        Objects.requireNonNull(unit, "unit");
        return timeout < 0 || timeout == Long.MAX_VALUE ? Long.MAX_VALUE : unit.toNanos(timeout);
    }

    // VarHandle mechanics
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Tun.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
