package dev.mpsafe.sync;

/**
 * A read section opened by {@link GraceDomain#enter()}, closed by try-with-resources.
 *
 * <pre>{@code
 * try (Section _ = domain.enter()) {
 *     Route r = table.load();   // r stays valid until the section ends
 *     ...
 * }
 * }</pre>
 *
 * <p>Name the resource {@code _} (Java 22+): javac's {@code -Xlint:try} warns about a named
 * resource the body never uses.
 *
 * <p>The object returned is the calling thread's participant, reused for every section, so opening
 * a section allocates nothing. Close it on the thread that opened it.
 */
public interface Section extends AutoCloseable {

    /** Ends the section (one nesting level). */
    @Override
    void close();
}
