package dev.mpsafe.netstack.tun;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * The libc calls the TUN device needs, bound through the Foreign Function &amp; Memory API (no
 * JNI), each with {@code errno} captured by the linker ({@code captureCallState("errno")}): after
 * a downcall returns, the JVM may itself call libc and overwrite the thread's {@code errno}, so it
 * is copied out by the call stub, into a per-thread scratch segment, before that can happen.
 *
 * <p>Every wrapper returns the call's raw result (-1 on failure); {@link #errno()} then reads the
 * value captured by the same thread's last call. Wrappers never throw for a failed call. Callers
 * check {@link #UNAVAILABLE} first: when it is set, the binding stopped at the first failure, the
 * handles not bound by then are null, and their wrappers throw {@link NullPointerException};
 * otherwise a wrapper throws only for a bug or a configuration problem (see {@code rethrow}).
 *
 * <p>Availability is decided once, at class initialization, as {@code Membarrier} does: Linux on
 * x86-64 or aarch64 (where {@code TUNSETIFF} is {@code _IOW('T', 202, int)} = 0x400454ca and
 * {@code struct ifreq} is 40 bytes), every symbol found, and native access allowed to this module.
 * Anything else leaves {@link #UNAVAILABLE} saying why.
 *
 * <p>Thread safety: safe from any thread; the scratch segment is per thread.
 */
final class LinuxCalls {

    // fcntl.h and friends: the values of the generic Linux ABI, shared by x86-64 and aarch64.
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = O_NONBLOCK;
    static final int EFD_CLOEXEC = O_CLOEXEC;
    static final int CLONE_NEWNET = 0x40000000;

    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;

    // linux/if_tun.h
    static final long TUNSETIFF = 0x400454caL;
    static final short IFF_TUN = 0x0001;
    static final short IFF_NO_PI = 0x1000;
    static final short IFF_MULTI_QUEUE = 0x0100;
    /** {@code struct ifreq}: the name at 0 (IFNAMSIZ = 16 with its NUL), the flags at 16. */
    static final int IFREQ_SIZE = 40;
    static final int IFREQ_FLAGS_OFFSET = 16;
    static final int IFNAMSIZ = 16;

    // errno values used by name (asm-generic/errno-base.h, errno.h)
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int EBADFD = 77;

    /** Why the calls are unavailable, or null. */
    static final String UNAVAILABLE;

    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle READ;
    private static final MethodHandle WRITE;
    private static final MethodHandle IOCTL;
    private static final MethodHandle POLL;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle SETNS;
    /** glibc 2.32+ only ({@code strerrorname_np}, {@code strerrordesc_np}); null elsewhere. */
    private static final MethodHandle STRERRORNAME;
    private static final MethodHandle STRERRORDESC;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** Scratch bytes after the capture state: two {@code struct pollfd} and one eventfd counter. */
    static final long POLLFDS_OFFSET = 64;
    static final long COUNTER_OFFSET = POLLFDS_OFFSET + 16;
    private static final long SCRATCH_SIZE = COUNTER_OFFSET + 8;

    /**
     * Per thread: the captured call state, then the poll array and the eventfd counter. Allocated
     * once per thread from an automatic arena; a thread only ever uses its own.
     */
    private static final ThreadLocal<MemorySegment> SCRATCH = ThreadLocal.withInitial(() -> {
        if (CAPTURE.byteSize() > POLLFDS_OFFSET) {
            throw new AssertionError("capture state of " + CAPTURE.byteSize() + " bytes overlaps the scratch");
        }
        return Arena.ofAuto().allocate(SCRATCH_SIZE, 8);
    });

    private LinuxCalls() {
    }

    /** This thread's scratch segment (see {@link #POLLFDS_OFFSET}, {@link #COUNTER_OFFSET}). */
    static MemorySegment scratch() {
        return SCRATCH.get();
    }

    /** The errno captured by this thread's last call through this class. */
    static int errno() {
        return (int) ERRNO.get(SCRATCH.get(), 0L);
    }

    static int open(MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(SCRATCH.get(), path, flags, 0);
        } catch (Throwable t) {
            throw rethrow("open", t);
        }
    }

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(SCRATCH.get(), fd);
        } catch (Throwable t) {
            throw rethrow("close", t);
        }
    }

    static long read(int fd, MemorySegment buffer, long count) {
        try {
            return (long) READ.invokeExact(SCRATCH.get(), fd, buffer, count);
        } catch (Throwable t) {
            throw rethrow("read", t);
        }
    }

    static long write(int fd, MemorySegment buffer, long count) {
        try {
            return (long) WRITE.invokeExact(SCRATCH.get(), fd, buffer, count);
        } catch (Throwable t) {
            throw rethrow("write", t);
        }
    }

    static int ioctl(int fd, long request, MemorySegment argument) {
        try {
            return (int) IOCTL.invokeExact(SCRATCH.get(), fd, request, argument);
        } catch (Throwable t) {
            throw rethrow("ioctl", t);
        }
    }

    /** {@code poll} over the {@code count} pollfds at {@link #POLLFDS_OFFSET} of the scratch. */
    static int poll(MemorySegment scratch, long count, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(scratch, scratch.asSlice(POLLFDS_OFFSET, 16), count, timeoutMillis);
        } catch (Throwable t) {
            throw rethrow("poll", t);
        }
    }

    static int eventfd(int initial, int flags) {
        try {
            return (int) EVENTFD.invokeExact(SCRATCH.get(), initial, flags);
        } catch (Throwable t) {
            throw rethrow("eventfd", t);
        }
    }

    static int setns(int fd, int nstype) {
        try {
            return (int) SETNS.invokeExact(SCRATCH.get(), fd, nstype);
        } catch (Throwable t) {
            throw rethrow("setns", t);
        }
    }

    /** {@code EPERM}, or null where libc cannot name it. */
    static String errnoName(int errno) {
        return cString(STRERRORNAME, errno);
    }

    /** {@code Operation not permitted}, or null where libc cannot describe it. */
    static String errnoDescription(int errno) {
        return cString(STRERRORDESC, errno);
    }

    private static String cString(MethodHandle handle, int errno) {
        if (handle == null) {
            return null;
        }
        try {
            MemorySegment s = (MemorySegment) handle.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }

    /**
     * A downcall throws only for a bug or a configuration problem (native access denied, a closed
     * arena, a wrong type), never for a failed call: those return -1 with errno captured.
     */
    private static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(call + " downcall failed", t);
    }

    static {
        String why = null;
        MethodHandle open = null;
        MethodHandle close = null;
        MethodHandle read = null;
        MethodHandle write = null;
        MethodHandle ioctl = null;
        MethodHandle poll = null;
        MethodHandle eventfd = null;
        MethodHandle setns = null;
        MethodHandle strerrorname = null;
        MethodHandle strerrordesc = null;
        try {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.contains("linux")) {
                why = "not Linux (os.name=" + os + "): TUN devices through /dev/net/tun exist on Linux only";
            } else if (!(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64") || arch.equals("arm64"))) {
                why = "os.arch=" + arch + " is not x86-64 or aarch64, the two architectures whose TUNSETIFF and"
                        + " ifreq layout this binding was checked on";
            } else {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                // int open(const char *path, int flags, ...): the mode is the variadic argument
                open = linker.downcallHandle(find(libc, "open"),
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                        errno, Linker.Option.firstVariadicArg(2));
                close = linker.downcallHandle(find(libc, "close"),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT), errno);
                read = linker.downcallHandle(find(libc, "read"),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), errno);
                write = linker.downcallHandle(find(libc, "write"),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), errno);
                // int ioctl(int fd, unsigned long request, ...)
                ioctl = linker.downcallHandle(find(libc, "ioctl"),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                        errno, Linker.Option.firstVariadicArg(2));
                // int poll(struct pollfd *fds, nfds_t nfds, int timeout)
                poll = linker.downcallHandle(find(libc, "poll"),
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), errno);
                eventfd = linker.downcallHandle(find(libc, "eventfd"),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
                setns = linker.downcallHandle(find(libc, "setns"),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
                FunctionDescriptor describe = FunctionDescriptor.of(ADDRESS, JAVA_INT);
                strerrorname = libc.find("strerrorname_np").map(s -> linker.downcallHandle(s, describe)).orElse(null);
                strerrordesc = libc.find("strerrordesc_np").map(s -> linker.downcallHandle(s, describe)).orElse(null);
            }
        } catch (IllegalCallerException e) {
            why = "native access is denied to this module: run with --enable-native-access=dev.mpsafe"
                    + " (or ALL-UNNAMED on the class path) (" + e.getMessage() + ")";
        } catch (Throwable t) {
            why = "binding libc failed: " + t;
        }
        UNAVAILABLE = why;
        OPEN = open;
        CLOSE = close;
        READ = read;
        WRITE = write;
        IOCTL = ioctl;
        POLL = poll;
        EVENTFD = eventfd;
        SETNS = setns;
        STRERRORNAME = strerrorname;
        STRERRORDESC = strerrordesc;
    }

    private static MemorySegment find(SymbolLookup libc, String name) {
        return libc.find(name).orElseThrow(() -> new IllegalStateException("libc has no symbol " + name));
    }
}
