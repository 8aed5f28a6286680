/**
 * mpsafe: the primitives the BSD kernels built to remove their big network lock, for the JVM.
 *
 * <ul>
 *   <li>{@link dev.mpsafe.pcq} &mdash; NetBSD's bounded multi-producer, single-consumer queue.</li>
 * </ul>
 *
 * <p>The module has no dependencies beyond {@code java.base}.
 */
module dev.mpsafe {
    exports dev.mpsafe.pcq;
}
