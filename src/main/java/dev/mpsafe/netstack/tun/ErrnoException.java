package dev.mpsafe.netstack.tun;

import java.io.IOException;

/**
 * A system call failed: names the call (and what it was applied to), the {@code errno} value, its
 * symbolic name and its meaning, for example
 * {@code ioctl(TUNSETIFF, "tun0") failed: errno 16 EBUSY (Device or resource busy)}, followed by a
 * hint where the cause is known.
 *
 * <p>Thread safety: immutable.
 */
public final class ErrnoException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final int errno;

    /**
     * @param syscall the call and its argument, e.g. {@code read(tun0)}
     * @param errno the captured {@code errno}
     * @param hint what the caller can do about it, or null
     */
    ErrnoException(String syscall, int errno, String hint) {
        super(message(syscall, errno, hint));
        this.syscall = syscall;
        this.errno = errno;
    }

    /** The failed call, with what it was applied to: {@code ioctl(TUNSETIFF, "tun0")}. */
    public String syscall() {
        return syscall;
    }

    /** The {@code errno} the call left. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of {@link #errno()}: {@code EBUSY}, or {@code errno 133} when unknown. */
    public String errnoName() {
        return name(errno);
    }

    static String message(String syscall, int errno, String hint) {
        return syscall + " failed: errno " + errno + " " + name(errno) + " (" + description(errno) + ")"
                + (hint == null ? "" : ": " + hint);
    }

    /** libc's name where it has {@code strerrorname_np} (glibc 2.32+), else our table. */
    static String name(int errno) {
        String name = LinuxCalls.UNAVAILABLE == null ? LinuxCalls.errnoName(errno) : null;
        if (name != null) {
            return name;
        }
        String[] known = known(errno);
        return known == null ? "errno " + errno : known[0];
    }

    /** libc's meaning where it has {@code strerrordesc_np}, else our table. */
    static String description(int errno) {
        String text = LinuxCalls.UNAVAILABLE == null ? LinuxCalls.errnoDescription(errno) : null;
        if (text != null) {
            return text;
        }
        String[] known = known(errno);
        return known == null ? "unknown error" : known[1];
    }

    /** The errno values these calls can return, for a libc without the two functions (musl). */
    private static String[] known(int errno) {
        return switch (errno) {
            case 1 -> new String[] {"EPERM", "Operation not permitted"};
            case 2 -> new String[] {"ENOENT", "No such file or directory"};
            case 4 -> new String[] {"EINTR", "Interrupted system call"};
            case 5 -> new String[] {"EIO", "Input/output error"};
            case 6 -> new String[] {"ENXIO", "No such device or address"};
            case 9 -> new String[] {"EBADF", "Bad file descriptor"};
            case 11 -> new String[] {"EAGAIN", "Resource temporarily unavailable"};
            case 12 -> new String[] {"ENOMEM", "Cannot allocate memory"};
            case 13 -> new String[] {"EACCES", "Permission denied"};
            case 14 -> new String[] {"EFAULT", "Bad address"};
            case 16 -> new String[] {"EBUSY", "Device or resource busy"};
            case 17 -> new String[] {"EEXIST", "File exists"};
            case 19 -> new String[] {"ENODEV", "No such device"};
            case 22 -> new String[] {"EINVAL", "Invalid argument"};
            case 23 -> new String[] {"ENFILE", "Too many open files in system"};
            case 24 -> new String[] {"EMFILE", "Too many open files"};
            case 25 -> new String[] {"ENOTTY", "Inappropriate ioctl for device"};
            case 38 -> new String[] {"ENOSYS", "Function not implemented"};
            case 77 -> new String[] {"EBADFD", "File descriptor in bad state"};
            case 90 -> new String[] {"EMSGSIZE", "Message too long"};
            case 105 -> new String[] {"ENOBUFS", "No buffer space available"};
            default -> null;
        };
    }
}
