/**
 * Epoch-based reclamation, after FreeBSD's {@code epoch(9)} and Concurrency Kit's {@code ck_epoch}:
 * nestable sections, synchronous waits, deferred callbacks with a barrier, and cookies. See
 * {@link dev.mpsafe.epoch.Epoch} and {@code docs/epoch.md}.
 */
package dev.mpsafe.epoch;
