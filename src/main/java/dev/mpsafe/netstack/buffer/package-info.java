/**
 * Packet buffers: pooled off-heap {@link dev.mpsafe.netstack.buffer.PacketBuffer}s with a data
 * window and headroom, so headers are prepended in place (the role of BSD's mbuf with a cluster),
 * handed out by a {@link dev.mpsafe.netstack.buffer.PacketPool} over a
 * {@link dev.mpsafe.smr.SegmentPool}, which reuses a freed buffer's memory only after a grace
 * period.
 *
 * <p>Ownership: a buffer has one owner, who frees it exactly once or hands it on; a device's
 * {@code send} takes ownership, its {@code receive} gives it. The pool counts what it hands out
 * and gets back, so a test ends with {@link dev.mpsafe.netstack.buffer.PacketPool#checkBalanced()}.
 * Double frees and uses after free throw {@link java.lang.IllegalStateException}. See
 * {@code docs/netstack.md}.
 */
package dev.mpsafe.netstack.buffer;
