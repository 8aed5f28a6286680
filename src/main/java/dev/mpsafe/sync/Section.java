package dev.mpsafe.sync;

/**
 * A read section opened by {@link GraceDomain#enter()}, closed by try-with-resources.
 *
 * <pre>{@code
 * try (Section s = domain.enter()) {
 *     Route r = table.load();   // r stays valid until the section ends
 *     ...
 * }
 * }</pre>
 *
 * <p>The object returned is the calling thread's participant, reused for every section, so opening
 * a section allocates nothing. Close it on the thread that opened it.
 */
public interface Section extends AutoCloseable {

    /** Ends the section (one nesting level). */
    @Override
    void close();
}
