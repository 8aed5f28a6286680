package dev.mpsafe.internal;

/**
 * Loads of a slot's words for tests outside this package (jcstress tests included). The slot
 * accessors are protected, so that no participant a user holds exposes them; this class shares
 * their package. Loads only, under the accessors' own names and access modes: a test that must
 * change a slot owns a subclass of its own (SlotTableTest, ReadSideCost).
 *
 * <p>Thread safety: as the accessor each method calls.
 */
public final class SlotPeek {

    private SlotPeek() {
    }

    /** Plain load of the state word; only the slot's owner may use it, as {@code lpState()}. */
    public static long lpState(ThreadSlot slot) {
        return slot.lpState();
    }

    /** Opaque load of the next word (pserialize), from any thread, as {@code loNextWord()}. */
    public static long loNextWord(ThreadSlot slot) {
        return slot.loNextWord();
    }
}
