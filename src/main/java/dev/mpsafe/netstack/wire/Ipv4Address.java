package dev.mpsafe.netstack.wire;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * IPv4 addresses as the wire layer holds them: the four bytes, big-endian, in an {@code int}
 * ({@code 192.0.2.1} is {@code 0xC0000201}). An {@code int} needs no allocation and compares with
 * {@code ==}; these helpers convert it for people.
 *
 * <p>Thread safety: stateless.
 */
public final class Ipv4Address {

    private Ipv4Address() {}

    /**
     * The address {@code a.b.c.d}.
     *
     * @throws IllegalArgumentException if a byte is outside 0..255, naming it
     */
    public static int of(int a, int b, int c, int d) {
        return Bytes.inRange("first byte", a, 0, 255) << 24 | Bytes.inRange("second byte", b, 0, 255) << 16
                | Bytes.inRange("third byte", c, 0, 255) << 8 | Bytes.inRange("fourth byte", d, 0, 255);
    }

    /**
     * Parses dotted-quad notation, exactly four decimal bytes of ASCII digits {@code 0}..{@code 9},
     * none with a leading zero (other than {@code 0} itself): {@code inet_aton} reads {@code 010}
     * as octal 8, so the text is refused rather than read either way; other scripts' digits
     * ({@code Character.isDigit}) are refused too.
     *
     * @throws IllegalArgumentException naming {@code text} if it is not four dot-separated
     *     numbers 0..255 so written
     */
    public static int parse(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("'" + text + "' has " + parts.length
                    + " dot-separated parts; an IPv4 address has 4");
        }
        int address = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("'" + part + "' in '" + text + "' is not a number 0..255"
                        + " in ASCII digits 0-9");
            }
            if (part.length() > 1 && part.charAt(0) == '0') {
                throw new IllegalArgumentException("'" + part + "' in '" + text + "' has a leading zero"
                        + " (inet_aton would read it as octal); write a number 0..255 without one");
            }
            address = address << 8 | Bytes.inRange("byte '" + part + "' in '" + text + "'",
                    Integer.parseInt(part), 0, 255);
        }
        return address;
    }

    /** Whether {@code address} is in 127/8, which never leaves a host (RFC 1122 3.2.1.3 (g)). */
    public static boolean isLoopback(int address) {
        return (address >>> 24) == 127;
    }

    /** Dotted-quad notation. */
    public static String format(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 0xFF) + "." + (address >>> 8 & 0xFF) + "."
                + (address & 0xFF);
    }

    /** The address {@code address} holds (its four bytes, big-endian). */
    public static int of(Inet4Address address) {
        byte[] b = address.getAddress();
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | b[3] & 0xFF;
    }

    /** The {@link Inet4Address} of {@code address}; no name lookup. */
    public static Inet4Address toInetAddress(int address) {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) (address >>> 24),
                    (byte) (address >>> 16), (byte) (address >>> 8), (byte) address});
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // four bytes are always an IPv4 address
        }
    }
}
