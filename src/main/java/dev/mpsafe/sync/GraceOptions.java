package dev.mpsafe.sync;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Settings for a grace-period domain. Immutable: each {@code with} method returns a copy.
 *
 * <pre>{@code
 * Epoch e = Epoch.create(GraceOptions.named("routes").withStallThreshold(Duration.ofMillis(50)));
 * }</pre>
 *
 * <p>Thread safety: immutable.
 */
public final class GraceOptions {

    private static final System.Logger LOG = System.getLogger("dev.mpsafe.sync");

    /** The default stall threshold: a writer that waited this long for one reader reports it. */
    public static final Duration DEFAULT_STALL_THRESHOLD = Duration.ofSeconds(1);
    /** The default bound on pending callbacks (see {@link #withMaxPendingCallbacks}). */
    public static final int DEFAULT_MAX_PENDING = 1 << 16;

    private final String name;
    private final Duration stallThreshold;
    private final Consumer<Stall> stallHandler;
    private final BiConsumer<Runnable, Throwable> callbackErrorHandler;
    private final boolean callbacksOnDomainThread;
    private final int maxPendingCallbacks;

    private GraceOptions(String name, Duration stallThreshold, Consumer<Stall> stallHandler,
            BiConsumer<Runnable, Throwable> callbackErrorHandler, boolean callbacksOnDomainThread,
            int maxPendingCallbacks) {
        this.name = name;
        this.stallThreshold = stallThreshold;
        this.stallHandler = stallHandler;
        this.callbackErrorHandler = callbackErrorHandler;
        this.callbacksOnDomainThread = callbacksOnDomainThread;
        this.maxPendingCallbacks = maxPendingCallbacks;
    }

    /**
     * Defaults with the given domain name: stall threshold {@value #DEFAULT_STALL_THRESHOLD_MS} ms,
     * stalls and callback failures logged through {@code System.Logger} "dev.mpsafe.sync",
     * callbacks run by a domain-owned thread, at most {@value #DEFAULT_MAX_PENDING} pending callbacks.
     *
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static GraceOptions named(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("domain name must not be blank");
        }
        return new GraceOptions(name, DEFAULT_STALL_THRESHOLD, GraceOptions::logStall,
                GraceOptions::logCallbackFailure, true, DEFAULT_MAX_PENDING);
    }

    /** The longest stall threshold: {@code Long.MAX_VALUE} nanoseconds. */
    static final Duration MAX_STALL_THRESHOLD = Duration.ofNanos(Long.MAX_VALUE);

    /** {@value #DEFAULT_STALL_THRESHOLD_MS}, for the javadoc. */
    static final long DEFAULT_STALL_THRESHOLD_MS = 1000;

    /**
     * How long a writer waits for one reader before it reports a {@link Stall} (to the handler, and
     * as a {@code dev.mpsafe.GracePeriodStall} JFR event). The writer keeps waiting.
     *
     * @throws IllegalArgumentException if not positive, or longer than {@code Long.MAX_VALUE}
     *     nanoseconds (about 292 years), which a wait could not measure
     */
    public GraceOptions withStallThreshold(Duration threshold) {
        Objects.requireNonNull(threshold, "threshold");
        if (threshold.isNegative() || threshold.isZero()) {
            throw new IllegalArgumentException("stall threshold must be positive, got " + threshold);
        }
        if (threshold.compareTo(MAX_STALL_THRESHOLD) > 0) {
            // Checked here, not when a writer first waits: there the overflow would throw mid-wait.
            throw new IllegalArgumentException("stall threshold " + threshold + " is above " + MAX_STALL_THRESHOLD
                    + " (Long.MAX_VALUE ns), the longest a wait can measure");
        }
        return new GraceOptions(name, threshold, stallHandler, callbackErrorHandler, callbacksOnDomainThread,
                maxPendingCallbacks);
    }

    /**
     * Receives stall reports, on the waiting thread: a writer's, or the thread that runs an epoch
     * domain's callbacks while it waits for a grace period. It must not block for long.
     */
    public GraceOptions withStallHandler(Consumer<Stall> handler) {
        return new GraceOptions(name, stallThreshold, Objects.requireNonNull(handler, "handler"),
                callbackErrorHandler, callbacksOnDomainThread, maxPendingCallbacks);
    }

    /** Receives each callback that threw, and what it threw; failures are also counted. */
    public GraceOptions withCallbackErrorHandler(BiConsumer<Runnable, Throwable> handler) {
        return new GraceOptions(name, stallThreshold, stallHandler, Objects.requireNonNull(handler, "handler"),
                callbacksOnDomainThread, maxPendingCallbacks);
    }

    /**
     * Who runs deferred callbacks: {@code true} (the default) a thread the domain owns and starts on
     * the first callback; {@code false} the callers of {@code poll()}, {@code barrier()} and, when
     * the pending bound is hit, {@code call()}.
     */
    public GraceOptions withCallbacksOnDomainThread(boolean onDomainThread) {
        return new GraceOptions(name, stallThreshold, stallHandler, callbackErrorHandler, onDomainThread,
                maxPendingCallbacks);
    }

    /**
     * The bound on callbacks accepted and not yet run. A {@code call()} made outside a section when
     * the bound is reached first waits for (or, with caller-run callbacks, performs) reclamation,
     * so pending garbage cannot grow without bound; calls made inside a section, or by a callback
     * of the same domain, are accepted anyway, since waiting there could deadlock. Epoch's bound
     * is exact: calls that may wait never take the count above it, however many race; only the
     * calls accepted anyway can.
     *
     * @throws IllegalArgumentException if below 1
     */
    public GraceOptions withMaxPendingCallbacks(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max pending callbacks must be >= 1, got " + max);
        }
        return new GraceOptions(name, stallThreshold, stallHandler, callbackErrorHandler, callbacksOnDomainThread,
                max);
    }

    public String name() {
        return name;
    }

    public Duration stallThreshold() {
        return stallThreshold;
    }

    public Consumer<Stall> stallHandler() {
        return stallHandler;
    }

    public BiConsumer<Runnable, Throwable> callbackErrorHandler() {
        return callbackErrorHandler;
    }

    public boolean callbacksOnDomainThread() {
        return callbacksOnDomainThread;
    }

    public int maxPendingCallbacks() {
        return maxPendingCallbacks;
    }

    private static void logStall(Stall stall) {
        LOG.log(Level.WARNING, stall.toString());
    }

    private static void logCallbackFailure(Runnable callback, Throwable failure) {
        LOG.log(Level.ERROR, "deferred callback " + callback + " threw", failure);
    }

    @Override
    public String toString() {
        return "GraceOptions[name=" + name + ", stallThreshold=" + stallThreshold + ", callbacksOnDomainThread="
                + callbacksOnDomainThread + ", maxPendingCallbacks=" + maxPendingCallbacks + "]";
    }
}
