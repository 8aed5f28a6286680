/**
 * Passive serialization, after NetBSD's {@code pserialize(9)}: the cheapest readers, and writers
 * that wait. See {@link dev.mpsafe.pserialize.Pserialize} and {@code docs/pserialize.md}.
 */
package dev.mpsafe.pserialize;
