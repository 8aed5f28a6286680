/**
 * Helpers shared by mpsafe's packages and not exported by the module: per-thread reader slots and
 * their registry, the {@code membarrier(2)} binding, stall watching. Nothing here is API.
 */
package dev.mpsafe.internal;
