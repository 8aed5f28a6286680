package dev.mpsafe.netstack.wire;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/** Helpers shared by the wire tests: buffers, random packets, and calling every accessor. */
final class WireTesting {

    static final int SRC = Ipv4Address.of(192, 0, 2, 1);
    static final int DST = Ipv4Address.of(198, 51, 100, 7);

    private static final Map<Class<?>, List<Method>> ACCESSORS = new ConcurrentHashMap<>();

    private WireTesting() {}

    static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex.replace(" ", ""));
    }

    static MemorySegment heap(byte[] bytes) {
        return MemorySegment.ofArray(bytes);
    }

    /** A copy of {@code bytes} at {@code offset} in an off-heap segment with slack on both sides. */
    static MemorySegment offHeap(Arena arena, byte[] bytes, int offset) {
        MemorySegment s = arena.allocate(offset + bytes.length + 13);
        s.fill((byte) 0xA5);
        MemorySegment.copy(bytes, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, offset, bytes.length);
        return s;
    }

    static byte[] bytes(MemorySegment s, long offset, long length) {
        return s.asSlice(offset, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /**
     * Calls every public, zero-argument instance method of {@code view}'s class except the
     * writers ({@code set*}, {@code fill*}, {@code decrement*}), then walks its options and
     * verifies transport checksums, so that any accessor that can throw does. Returns the number
     * of calls made.
     */
    static int callEveryAccessor(Object view) {
        int calls = 0;
        for (Method m : ACCESSORS.computeIfAbsent(view.getClass(), WireTesting::accessorsOf)) {
            try {
                m.invoke(view);
                calls++;
            } catch (InvocationTargetException e) {
                throw new AssertionError(m.getName() + "() threw on " + view, e.getCause());
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        switch (view) {
            case Ipv4Packet p -> {
                for (int at = p.firstOption(); at >= 0; at = p.nextOption(at)) {
                    p.optionKind(at);
                    p.optionLength(at);
                    p.optionData(at);
                    calls += 3;
                }
            }
            case TcpPacket p -> {
                for (int at = p.firstOption(); at >= 0; at = p.nextOption(at)) {
                    p.optionKind(at);
                    p.optionLength(at);
                    p.optionData(at);
                    calls += 3;
                }
                p.verifyChecksum(SRC, DST);
                p.verifyChecksum(-1, 0);
            }
            case UdpPacket p -> {
                p.verifyChecksum(SRC, DST);
                p.verifyChecksum(-1, 0);
            }
            default -> { }
        }
        return calls;
    }

    private static List<Method> accessorsOf(Class<?> c) {
        List<Method> out = new ArrayList<>();
        for (Method m : c.getMethods()) {
            String n = m.getName();
            if (m.getParameterCount() == 0 && !Modifier.isStatic(m.getModifiers())
                    && m.getDeclaringClass() == c
                    && !n.startsWith("set") && !n.startsWith("fill") && !n.startsWith("decrement")) {
                out.add(m);
            }
        }
        if (out.size() < 5) {
            throw new AssertionError("found only " + out + " on " + c);
        }
        return out;
    }

    // --- random packets that are likely to pass check --------------------------------------------

    /** A random IPv4 header and payload: valid layout most of the time, random contents. */
    static byte[] randomIpv4(Random r) {
        int ihl = 5 + r.nextInt(11);
        int headerLength = ihl * 4;
        int payload = r.nextInt(64);
        int padding = r.nextInt(4) == 0 ? r.nextInt(8) : 0;
        byte[] b = new byte[headerLength + payload + padding];
        r.nextBytes(b);
        b[0] = (byte) (0x40 | ihl);
        int total = headerLength + payload;
        b[2] = (byte) (total >>> 8);
        b[3] = (byte) total;
        randomOptions(r, b, 20, headerLength);
        return b;
    }

    /** A random TCP header and payload with a valid layout most of the time. */
    static byte[] randomTcp(Random r) {
        int offset = 5 + r.nextInt(11);
        int headerLength = offset * 4;
        byte[] b = new byte[headerLength + r.nextInt(64)];
        r.nextBytes(b);
        b[12] = (byte) (offset << 4 | (b[12] & 0xF));
        randomOptions(r, b, 20, headerLength);
        return b;
    }

    /** Fills {@code [start, end)} with well-formed options, except now and then. */
    static void randomOptions(Random r, byte[] b, int start, int end) {
        int at = start;
        while (at < end) {
            int room = end - at;
            int pick = r.nextInt(10);
            if (pick == 0) {
                b[at] = 0; // EOL; the rest is whatever it is
                return;
            } else if (pick < 3 || room < 2) {
                b[at++] = 1;
            } else if (pick == 9 && r.nextInt(4) == 0) {
                return; // leave random bytes: sometimes malformed
            } else {
                int len = 2 + r.nextInt(room - 1);
                b[at] = (byte) (2 + r.nextInt(254));
                b[at + 1] = (byte) len;
                at += len;
            }
        }
    }

    /** A checked view or a failure that names the drop reason. */
    static Ipv4Packet checkedIpv4(MemorySegment s) {
        return switch (Ipv4Packet.check(s)) {
            case Ipv4Packet p -> p;
            case DropReason why -> throw new AssertionError("check refused: " + why);
        };
    }
}
