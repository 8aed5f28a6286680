/**
 * pcq: a bounded multi-producer, single-consumer queue, after NetBSD's {@code pcq(9)}.
 *
 * <p>{@link dev.mpsafe.pcq.Pcq} keeps NetBSD's contract ({@code put} fails when full, one consumer
 * calls {@code get}/{@code peek}, {@code maxItems} tells the capacity) and drops its traps: any
 * capacity up to {@link dev.mpsafe.pcq.Pcq#MAX_CAPACITY} is usable in full, producers and the
 * consumer never CAS the same word, and a strict {@code get} never reports empty while a completed
 * {@code put} is pending. See {@code docs/pcq.md} for the algorithm, the ordering argument and the
 * measured figures.
 *
 * <h2>Memory-access vocabulary</h2>
 * Accessor names carry their ordering, as in JCTools:
 * <ul>
 *   <li>{@code lp}/{@code sp}: plain load/store;</li>
 *   <li>{@code la}: acquire load; {@code so}: ordered (release) store;</li>
 *   <li>{@code lv}/{@code sv}: volatile (sequentially consistent) load/store;</li>
 *   <li>{@code cas}: volatile compare-and-set.</li>
 * </ul>
 */
package dev.mpsafe.pcq;
