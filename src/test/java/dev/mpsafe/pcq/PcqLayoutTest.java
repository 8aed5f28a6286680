package dev.mpsafe.pcq;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The field layout docs/pcq.md describes, checked on the running JVM: the producer index, the
 * producers' cached limit, the consumer index, and the read-mostly group (waiter, buffer, mask,
 * capacity) each at least 128 bytes (two cache lines, the adjacent-line prefetch pair) from one
 * another, from the object header, and from the object's end. HotSpot orders a class's fields
 * itself and fills a superclass's holes with a subclass's fields, so only measuring shows where
 * they land. Test code only: offsets come from {@code sun.misc.Unsafe}, which main code never uses.
 */
class PcqLayoutTest {

    static final long SPACING = 128;

    @Test
    void shouldKeepEveryHotFieldTwoCacheLinesFromTheOthersAndFromBothEnds() throws Exception {
        Map<String, long[]> fields = new LinkedHashMap<>(); // name -> {offset, size}
        long end = 0;
        for (Class<?> c = Pcq.class; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                long off = offset(f);
                long size = f.getType() == long.class ? 8 : 4; // compressed oops: references are 4 bytes
                fields.put(f.getName(), new long[] {off, size});
                end = Math.max(end, off + size);
            }
        }
        String[][] units = {{"producerIndex"}, {"producerLimit"}, {"consumerIndex"}, {"waiter", "buffer", "mask", "capacity"}};
        String layout = describe(fields, end);
        for (int i = 0; i < units.length; i++) {
            long lo = Long.MAX_VALUE;
            long hi = 0;
            for (String name : units[i]) {
                long[] f = fields.get(name);
                lo = Math.min(lo, f[0]);
                hi = Math.max(hi, f[0] + f[1]);
            }
            assertTrue(lo >= SPACING, String.join(",", units[i]) + " within " + SPACING + " bytes of the header: " + layout);
            assertTrue(end - hi >= SPACING, String.join(",", units[i]) + " within " + SPACING
                    + " bytes of the object's end, next to whatever the heap puts after it: " + layout);
            for (int j = i + 1; j < units.length; j++) {
                for (String a : units[i]) {
                    for (String b : units[j]) {
                        long gap = Math.abs(fields.get(a)[0] - fields.get(b)[0]);
                        assertTrue(gap >= SPACING, a + " and " + b + " only " + gap + " bytes apart: " + layout);
                    }
                }
            }
        }
    }

    private static String describe(Map<String, long[]> fields, long end) {
        StringBuilder sb = new StringBuilder();
        fields.forEach((name, f) -> {
            if (!name.matches("p[0-9a-f]{2}")) {
                sb.append(name).append('@').append(f[0]).append(' ');
            }
        });
        return sb.append("end@").append(end).toString();
    }

    @SuppressWarnings({"deprecation", "removal"})
    private static long offset(Field f) throws ReflectiveOperationException {
        Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        return ((sun.misc.Unsafe) theUnsafe.get(null)).objectFieldOffset(f);
    }
}
