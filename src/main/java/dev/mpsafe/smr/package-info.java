/**
 * Safe memory reclamation after FreeBSD's {@code smr(9)}: cookies ({@code advance}/{@code poll}),
 * fence-free LAZY readers through {@code membarrier(2)}, DEFERRED (batched) advances, and the pools
 * built on it: {@link dev.mpsafe.smr.SmrPool} (objects, like a UMA zone with SMR) and
 * {@link dev.mpsafe.smr.SegmentPool} (off-heap {@code MemorySegment}s). See
 * {@link dev.mpsafe.smr.Smr} and {@code docs/smr.md}.
 */
package dev.mpsafe.smr;
