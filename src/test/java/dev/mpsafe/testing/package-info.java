/**
 * Test support shared by the packages' tests: bounded waits for another thread to reach a point
 * in the code that gives no signal of its own.
 */
package dev.mpsafe.testing;
