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
 * O(1); advancing costs O(1) per tick plus O(1) per entry moved, and an empty level 0 is skipped
 * block by block.
 */
final class TimerWheel {
    final int size;
    final int shift;
    final long mask;
    private final KList[] level0;
    private final long[] bitmap; // level-0 slots that may be non-empty (cleared lazily)
    private final KList[] level1;
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
            level1[(int) ((d >> shift) & mask)].add(k);
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
                // Nothing in level 0: jump to the next block boundary (or past tick).
                current = Math.min(tick + 1, (t | mask) + 1);
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
     * Returns the earliest tick at which {@link #advance} may move something (a non-empty level-0
     * slot, or the next block boundary when only level 1 or the far list hold entries), or
     * {@code Long.MAX_VALUE} if the wheel is empty.
     */
    long nextDueTick() {
        if (count == 0) {
            return Long.MAX_VALUE;
        }
        final long base = current;
        final long boundary = (base | mask) + 1;
        for (long t = base; t < boundary; t++) {
            final int slot = (int) (t & mask);
            final long word = bitmap[slot >>> 6];
            if (word == 0) {
                t |= 63; // skip the rest of this word
                continue;
            }
            if ((word & (1L << slot)) != 0) {
                if (!level0[slot].isEmpty()) {
                    return t;
                }
                bitmap[slot >>> 6] &= ~(1L << slot); // stale bit: the entries were unlinked
            }
        }
        return boundary;
    }
}
