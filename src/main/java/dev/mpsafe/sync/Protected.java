package dev.mpsafe.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A reference that readers load inside a section of its domain and writers replace under the
 * writers' lock: the typed form of an RCU-protected pointer.
 *
 * <pre>{@code
 * Protected<Table> table = Protected.create(domain, writersLock, initial);
 * // reader
 * try (Section _ = domain.enter()) { Table t = table.load(); ... }
 * // writer
 * writersLock.lock();
 * try { Table old = table.exchange(next); domain.synchronize(); recycle(old); }
 * finally { writersLock.unlock(); }
 * }</pre>
 *
 * <p>The accessors follow FreeBSD's {@code smr_types.h}: {@link #enteredLoad()} (alias
 * {@link #load()}) inside a section, {@link #serializedLoad()} and {@link #serializedStore}
 * (alias {@link #store}) and {@link #exchange} under the writers' lock, {@link #unserializedLoad()}
 * with neither, for a caller that never dereferences a possibly reclaimed value. With {@code -ea},
 * an entered load outside a section of the domain throws {@link IllegalStateException}, and a
 * serialized access without the writers' lock (when one was given) throws too. Without
 * {@code -ea} the checks cost nothing.
 *
 * <p>Memory consistency effects: actions before a {@link #store} or {@link #exchange}
 * happen-before actions after a {@link #load()} that returns the stored value (release/acquire).
 *
 * <p>Thread safety: safe for concurrent readers and writers; writers serialize on their lock.
 *
 * @param <T> the referenced type
 */
public final class Protected<T> {

    private static final boolean CHECKS = Protected.class.desiredAssertionStatus();
    private static final VarHandle VALUE;

    private final GraceDomain domain;
    private final ReentrantLock writersLock;
    @SuppressWarnings("unused") // accessed through VALUE
    private T value;

    private Protected(GraceDomain domain, ReentrantLock writersLock, T initial) {
        this.domain = Objects.requireNonNull(domain, "domain");
        this.writersLock = writersLock;
        VALUE.setRelease(this, initial);
    }

    /**
     * A protected reference whose writers must hold {@code writersLock} (checked with {@code -ea}).
     *
     * @param writersLock the lock that serializes writers, or null if the caller serializes them
     *     some other way (and documents how)
     */
    public static <T> Protected<T> create(GraceDomain domain, ReentrantLock writersLock, T initial) {
        return new Protected<>(domain, writersLock, initial);
    }

    /** The domain whose sections protect this reference. */
    public GraceDomain domain() {
        return domain;
    }

    /**
     * Loads the value inside a section (acquire). The object stays valid until the section ends.
     * Same as {@link #enteredLoad()}.
     *
     * @throws IllegalStateException with {@code -ea}, if the caller is not inside a section of the domain
     */
    public T load() {
        return enteredLoad();
    }

    /**
     * Loads the value inside a section (acquire; FreeBSD's {@code smr_entered_load}). The object
     * stays valid until the section ends.
     *
     * @throws IllegalStateException with {@code -ea}, if the caller is not inside a section of the domain
     */
    @SuppressWarnings("unchecked")
    public T enteredLoad() {
        if (CHECKS && !domain.inSection()) {
            throw new IllegalStateException("Protected.enteredLoad() outside a section of domain '" + domain.name()
                    + "': the object could be reclaimed while in use; enter a section first");
        }
        return (T) VALUE.getAcquire(this);
    }

    /**
     * Loads the value with no section and no lock ({@code smr_unserialized_load}): for uses that
     * never dereference what they load while it could be reclaimed, such as comparing it with a
     * known object, or that keep it alive some other way (a reference count, ownership). The caller
     * documents why that is safe; nothing is checked.
     */
    @SuppressWarnings("unchecked")
    public T unserializedLoad() {
        return (T) VALUE.getAcquire(this);
    }

    /**
     * Loads the value for a writer that holds the writers' lock (no section needed: no other writer
     * can replace it meanwhile).
     *
     * @throws IllegalStateException with {@code -ea}, if a writers' lock was given and is not held
     */
    @SuppressWarnings("unchecked")
    public T serializedLoad() {
        checkWriter("serializedLoad()");
        return (T) VALUE.getAcquire(this);
    }

    /**
     * Publishes {@code next} (release). Readers that enter after this see it; the caller must still
     * wait a grace period before reclaiming what it replaced.
     *
     * @throws IllegalStateException with {@code -ea}, if a writers' lock was given and is not held
     */
    public void store(T next) {
        serializedStore(next);
    }

    /**
     * Publishes {@code next} (release; {@code smr_serialized_store}) under the writers' lock. Same
     * as {@link #store}.
     *
     * @throws IllegalStateException with {@code -ea}, if a writers' lock was given and is not held
     */
    public void serializedStore(T next) {
        checkWriter("serializedStore()");
        VALUE.setRelease(this, next);
    }

    /**
     * Publishes {@code next} and returns the value it replaced, to reclaim after a grace period.
     *
     * @throws IllegalStateException with {@code -ea}, if a writers' lock was given and is not held
     */
    @SuppressWarnings("unchecked")
    public T exchange(T next) {
        checkWriter("exchange()");
        return (T) VALUE.getAndSetRelease(this, next);
    }

    private void checkWriter(String op) {
        if (CHECKS && writersLock != null && !writersLock.isHeldByCurrentThread()) {
            throw new IllegalStateException("Protected." + op + " of domain '" + domain.name()
                    + "' without holding the writers' lock");
        }
    }

    static {
        try {
            VALUE = MethodHandles.lookup().findVarHandle(Protected.class, "value", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
