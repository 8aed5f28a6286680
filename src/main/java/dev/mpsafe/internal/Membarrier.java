package dev.mpsafe.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * Linux {@code membarrier(2)}, private expedited, through the Foreign Function &amp; Memory API (no
 * JNI): one call makes every running thread of this process execute a full memory barrier before
 * it returns. It is the JVM's stand-in for NetBSD's cross-call broadcast in
 * {@code pserialize_perform} and for the clock-tick interrupt FreeBSD's SMR_LAZY relies on: with
 * it, readers can skip their fence and the writer pays instead.
 *
 * <p>Availability is decided once, at class initialization: Linux on x86-64 (syscall 324) or
 * aarch64 (283), a kernel whose {@code MEMBARRIER_CMD_QUERY} lists private expedited, a successful
 * registration, and native access allowed to this module. Anything else (another OS or
 * architecture, seccomp refusing the syscall, {@code --illegal-native-access=deny}) makes it
 * unavailable, with {@link #unavailableReason()} saying why. {@code -Dmpsafe.membarrier=off}
 * disables it on purpose.
 *
 * <p>Thread safety: safe from any thread.
 */
public final class Membarrier {

    static final int CMD_QUERY = 0;
    static final int CMD_PRIVATE_EXPEDITED = 1 << 3;
    static final int CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4;

    private static final MethodHandle SYSCALL;
    private static final MethodHandle SYSCALL_ERRNO;
    private static final long NR;
    private static final String UNAVAILABLE;

    private Membarrier() {
    }

    /** Whether {@link #barrier()} works in this process. */
    public static boolean isAvailable() {
        return UNAVAILABLE == null;
    }

    /** Why {@link #barrier()} is unavailable, or null if it is available. */
    public static String unavailableReason() {
        return UNAVAILABLE;
    }

    /**
     * Makes every running thread of the process execute a full memory barrier, and this thread too.
     *
     * @throws IllegalStateException if unavailable or if the kernel refuses the call
     */
    public static void barrier() {
        command(CMD_PRIVATE_EXPEDITED, "PRIVATE_EXPEDITED");
    }

    /** Issues {@code cmd}; package-private so a test can make the call fail. */
    static void command(int cmd, String name) {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException("membarrier unavailable: " + UNAVAILABLE);
        }
        long ret;
        try {
            ret = (long) SYSCALL.invokeExact(NR, cmd, 0, 0);
        } catch (Throwable t) {
            throw new IllegalStateException("membarrier(" + name + ") failed", t);
        }
        if (ret != 0) {
            failedOnce(cmd, name, ret);
        }
    }

    /**
     * The barrier call failed: errno is lost by then (the JVM may have clobbered it), so call once
     * more through the errno-capturing handle, as the probe does, to say why. The fast path keeps
     * the plain handle: capturing needs a state segment, and perform() allocates nothing. A second
     * barrier is harmless (it only makes threads fence), and if it succeeds the barrier has been
     * made, so the caller goes on.
     */
    private static void failedOnce(int cmd, String name, long firstRet) {
        StructLayout capture = Linker.Option.captureStateLayout();
        VarHandle errnoHandle = capture.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        long ret;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(capture);
            ret = (long) SYSCALL_ERRNO.invokeExact(state, NR, cmd, 0, 0);
            errno = (int) errnoHandle.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("membarrier(" + name + ") returned " + firstRet
                    + ", and the call to learn errno failed", t);
        }
        if (ret != 0) {
            throw new IllegalStateException("membarrier(" + name + ") returned " + firstRet + ", errno " + errno
                    + " on a second try (EPERM 1: this process is not registered; EINVAL 22: the command"
                    + " is not supported)");
        }
    }

    static {
        MethodHandle syscall = null;
        MethodHandle syscallErrno = null;
        long nr = -1;
        String why = null;
        try {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if ("off".equalsIgnoreCase(System.getProperty("mpsafe.membarrier", ""))) {
                why = "disabled by -Dmpsafe.membarrier=off";
            } else if (!os.contains("linux")) {
                why = "not Linux (os.name=" + os + ")";
            } else if (arch.equals("amd64") || arch.equals("x86_64")) {
                nr = 324;
            } else if (arch.equals("aarch64") || arch.equals("arm64")) {
                nr = 283;
            } else {
                why = "no membarrier syscall number known for os.arch=" + arch;
            }
            if (why == null) {
                Linker linker = Linker.nativeLinker();
                MemorySegment fn = linker.defaultLookup().find("syscall")
                        .orElseThrow(() -> new IllegalStateException("libc has no syscall symbol"));
                // long syscall(long number, ...): membarrier(int cmd, unsigned flags, int cpu_id)
                FunctionDescriptor fd = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT);
                syscall = linker.downcallHandle(fn, fd, Linker.Option.firstVariadicArg(1));
                syscallErrno = linker.downcallHandle(fn, fd, Linker.Option.firstVariadicArg(1),
                        Linker.Option.captureCallState("errno"));
                why = probe(syscallErrno, nr);
            }
        } catch (Throwable t) {
            why = "binding failed: " + t;
        }
        SYSCALL = syscall;
        SYSCALL_ERRNO = syscallErrno;
        NR = nr;
        UNAVAILABLE = why;
    }

    /** Queries and registers; returns null on success, else the reason. */
    private static String probe(MethodHandle syscallErrno, long nr) throws Throwable {
        StructLayout capture = Linker.Option.captureStateLayout();
        VarHandle errno = capture.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(capture);
            long mask = (long) syscallErrno.invokeExact(state, nr, CMD_QUERY, 0, 0);
            if (mask < 0) {
                return "membarrier(QUERY) failed, errno " + (int) errno.get(state, 0L)
                        + " (ENOSYS 38: not in this kernel or blocked by seccomp)";
            }
            if ((mask & CMD_PRIVATE_EXPEDITED) == 0) {
                return "kernel lacks MEMBARRIER_CMD_PRIVATE_EXPEDITED (query mask 0x" + Long.toHexString(mask) + ")";
            }
            long ret = (long) syscallErrno.invokeExact(state, nr, CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
            if (ret != 0) {
                return "membarrier(REGISTER_PRIVATE_EXPEDITED) refused, errno " + (int) errno.get(state, 0L);
            }
        }
        return null;
    }
}
