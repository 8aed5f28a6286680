package dev.mpsafe.kcont;

/**
 * A hashed timer wheel with one overflow level and a far list, owned by one worker thread.
 *
 * <p>Level 0 has {@code size} slots of one tick: an entry whose deadline {@code d} is within
 * {@code size} ticks of the current tick sits in slot {@code d & mask}, and every entry of a slot
 * has the same deadline when the slot is processed (so no per-entry round counter is needed).
 * Level 1 has {@code size} slots of {@code size} ticks each ("blocks"); at each block boundary the
 * block's slot is cascaded into level 0. Deadlines beyond level 1's reach wait in a far list that
 * is redistributed once per level-1 revolution ({@code size * size} ticks). Insert and unlink are
 * O(1); advancing costs O(1) per tick plus O(1) per entry moved, and with an empty level 0 it jumps
 * straight to the next block boundary that has work (a non-empty level-1 slot, or a far
 * redistribution). {@link #nextDueTick()} names that same next event, so an idle worker with only
 * far timers parks until it, rather than waking at every block boundary.
 */
final class TimerWheel {
    final int size;
    final int shift;
    final long mask;
    private final KList[] level0;
    private final long[] bitmap; // level-0 slots that may be non-empty (cleared lazily)
    private final KList[] level1;
    private final long[] bitmap1; // level-1 slots that may be non-empty (cleared lazily)
    private final KList far = new KList(true);
    /** The next tick to process: every tick before it has been processed. */
    long current;
    /** Entries linked anywhere in the wheel. */
    int count;

    TimerWheel(int size, long startTick) {
        this.size = size;
        this.shift = Integer.numberOfTrailingZeros(size);
        this.mask = size - 1;
        this.level0 = new KList[size];
        this.level1 = new KList[size];
        for (int i = 0; i < size; i++) {
            level0[i] = new KList(true);
            level1[i] = new KList(true);
        }
        this.bitmap = new long[(size + 63) >>> 6];
        this.bitmap1 = new long[(size + 63) >>> 6];
        this.current = startTick;
    }

    /** Links {@code k} for deadline tick {@code d >= current}. */
    void insert(Kcont k, long d) {
        count++;
        final long delta = d - current;
        if (delta < size) {
            final int slot = (int) (d & mask);
            level0[slot].add(k);
            bitmap[slot >>> 6] |= 1L << slot;
        } else if ((d >> shift) - (current >> shift) < size) {
            final int slot = (int) ((d >> shift) & mask);
            level1[slot].add(k);
            bitmap1[slot >>> 6] |= 1L << slot;
        } else {
            far.add(k);
        }
    }

    /** Moves every entry due at or before {@code tick} into {@code sink}, in deadline order. */
    void advance(long tick, KList sink) {
        if (count == 0) {
            if (tick >= current) {
                current = tick + 1;
            }
            return;
        }
        while (current <= tick) {
            final long t = current;
            if ((t & mask) == 0) {
                if (((t >> shift) & mask) == 0) {
                    redistributeFar();
                }
                cascade(level1[(int) ((t >> shift) & mask)]);
            } else if (level0Empty()) {
                // Nothing in level 0: jump to the next block boundary with work (or past tick).
                // The boundaries in between have empty level-1 slots and no far redistribution.
                current = Math.min(tick + 1, nextBoundaryWithWork((t | mask) + 1));
                continue;
            }
            final int slot = (int) (t & mask);
            final KList l = level0[slot];
            Kcont k;
            while ((k = l.poll()) != null) {
                count--;
                sink.add(k);
            }
            bitmap[slot >>> 6] &= ~(1L << slot);
            current = t + 1;
        }
    }

    /** Moves every entry, due or not, into {@code sink} (termination). */
    void removeAll(KList sink) {
        for (int i = 0; i < size; i++) {
            moveAll(level0[i], sink);
            moveAll(level1[i], sink);
        }
        moveAll(far, sink);
        java.util.Arrays.fill(bitmap, 0L);
        java.util.Arrays.fill(bitmap1, 0L);
    }

    private void moveAll(KList from, KList sink) {
        Kcont k;
        while ((k = from.poll()) != null) {
            count--;
            sink.add(k);
        }
    }

    private void cascade(KList from) {
        Kcont k;
        while ((k = from.poll()) != null) {
            count--;
            insert(k, k.armedTick);
        }
    }

    /**
     * The first block boundary at or after {@code boundary} (itself one) at which advance has
     * something to do above level 0: a block whose level-1 slot is non-empty (its cascade), or a
     * far redistribution (a multiple of {@code size * size} ticks) while the far list holds
     * entries; {@code Long.MAX_VALUE} if neither. Level-1 entries all lie within one revolution of
     * level 1 from the current block (insert's rule), so one pass over the level-1 slots from the
     * boundary's block finds the first; stale bits of slots emptied by unlinks are cleared on the way.
     */
    private long nextBoundaryWithWork(long boundary) {
        long best = Long.MAX_VALUE;
        if (!far.isEmpty()) {
            final long span = (long) size << shift; // size * size ticks
            best = Math.floorDiv(boundary + span - 1, span) * span; // the next multiple of span
        }
        final long firstBlock = boundary >> shift;
        final long endBlock = best == Long.MAX_VALUE ? firstBlock + size : Math.min(firstBlock + size, best >> shift);
        final long block = firstNonEmpty(level1, bitmap1, firstBlock, endBlock);
        return block == Long.MAX_VALUE ? best : block << shift;
    }

    private void redistributeFar() {
        int n = far.size;
        while (n-- > 0) {
            final Kcont k = far.poll();
            count--;
            insert(k, k.armedTick); // lands back in far if still out of level 1's reach
        }
    }

    private boolean level0Empty() {
        for (long w : bitmap) {
            if (w != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Returns the earliest tick at which {@link #advance} may move something: the tick of the first
     * non-empty level-0 slot, or a block boundary with work above level 0 (a non-empty level-1
     * block, whose entries are due in it or later; a far redistribution, whose entries are due no
     * earlier), whichever comes first; {@code Long.MAX_VALUE} if the wheel is empty. Never later
     * than the earliest deadline in the wheel.
     */
    long nextDueTick() {
        if (count == 0) {
            return Long.MAX_VALUE;
        }
        final long base = current;
        // A current tick on a block boundary has not been processed yet, so its cascade (and a far
        // redistribution there) is still to come: it counts as a boundary with work. Naming the
        // next boundary instead would let a level-1 entry due in this block wait a whole block.
        final long firstBoundary = (base & mask) == 0 ? base : (base | mask) + 1;
        // One revolution of level 0 from base, in tick order: entries due in this block, then
        // those due in the next one (in the slots before base's).
        return Math.min(firstLevel0(base, base + size), nextBoundaryWithWork(firstBoundary));
    }

    /** The first tick in [from, to) whose level-0 slot is non-empty, or Long.MAX_VALUE. */
    private long firstLevel0(long from, long to) {
        return firstNonEmpty(level0, bitmap, from, to);
    }

    /**
     * The first index i in [from, to) (a tick for level 0, a block for level 1) whose slot
     * {@code i & mask} of {@code lists} is non-empty, or Long.MAX_VALUE. {@code bits} marks the
     * slots that may be non-empty: a clear word skips 64 slots at once, and a set bit whose list
     * turns out empty (its entries were unlinked) is cleared on the way.
     */
    private long firstNonEmpty(KList[] lists, long[] bits, long from, long to) {
        for (long i = from; i < to; i++) {
            final int slot = (int) (i & mask);
            final long word = bits[slot >>> 6];
            if (word == 0) {
                i |= 63; // skip the rest of this word
                continue;
            }
            if ((word & (1L << slot)) != 0) {
                if (!lists[slot].isEmpty()) {
                    return i;
                }
                bits[slot >>> 6] &= ~(1L << slot); // stale bit: the entries were unlinked
            }
        }
        return Long.MAX_VALUE;
    }
}
