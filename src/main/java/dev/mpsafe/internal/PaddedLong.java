package dev.mpsafe.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** A long alone on its cache lines (128 bytes each side): a domain's global sequence or epoch. */
@SuppressWarnings("unused")
public final class PaddedLong extends PaddedLongValue {
    long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;

    public PaddedLong(long initial) {
        svValue(initial);
    }
}

@SuppressWarnings("unused")
abstract class PaddedLongPad {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
}

abstract class PaddedLongValue extends PaddedLongPad {
    private static final VarHandle VALUE;

    private long value;

    public final long lvValue() {
        return (long) VALUE.getVolatile(this);
    }

    public final void svValue(long v) {
        VALUE.setVolatile(this, v);
    }

    public final boolean casValue(long expect, long update) {
        return VALUE.compareAndSet(this, expect, update);
    }

    /** Atomic add (volatile read-modify-write); returns the previous value. */
    public final long getAndAddValue(long delta) {
        return (long) VALUE.getAndAdd(this, delta);
    }

    static {
        try {
            VALUE = MethodHandles.lookup().findVarHandle(PaddedLongValue.class, "value", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
