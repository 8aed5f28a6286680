package dev.mpsafe.kcont;

/**
 * An intrusive doubly linked list of continuations, threaded through {@link Kcont#next},
 * {@link Kcont#prev} and {@link Kcont#list}. Owned by one worker thread: no synchronization.
 * Add, remove and poll are O(1) and allocate nothing.
 */
final class KList {
    Kcont head;
    Kcont tail;
    int size;
    /** True for the timer wheel's lists, so that unlinking keeps the wheel's count. */
    final boolean inWheel;

    KList(boolean inWheel) {
        this.inWheel = inWheel;
    }

    void add(Kcont k) {
        k.list = this;
        k.next = null;
        k.prev = tail;
        if (tail == null) {
            head = k;
        } else {
            tail.next = k;
        }
        tail = k;
        size++;
    }

    void remove(Kcont k) {
        final Kcont p = k.prev;
        final Kcont n = k.next;
        if (p == null) {
            head = n;
        } else {
            p.next = n;
        }
        if (n == null) {
            tail = p;
        } else {
            n.prev = p;
        }
        k.next = null;
        k.prev = null;
        k.list = null;
        size--;
    }

    Kcont poll() {
        final Kcont k = head;
        if (k != null) {
            remove(k);
        }
        return k;
    }

    boolean isEmpty() {
        return head == null;
    }
}
