/**
 * The grace-period contract shared by mpsafe's reclamation schemes: when can no reader still hold
 * what a writer replaced?
 *
 * <p>Readers run short <em>sections</em>; a writer that replaced a shared object waits, defers a
 * callback, or takes a cookie, until every section that might have seen the old object has ended.
 * Then the old object can be recycled into a pool, its off-heap memory freed, its handle closed.
 *
 * <ul>
 *   <li>{@link dev.mpsafe.sync.GraceDomain}: the read side and the synchronous wait; every scheme.</li>
 *   <li>{@link dev.mpsafe.sync.Deferring}: callbacks after a grace period, and a barrier for them.</li>
 *   <li>{@link dev.mpsafe.sync.Polling}: a cookie to check later without blocking.</li>
 *   <li>{@link dev.mpsafe.sync.Participant}: a thread's explicit handle, for hot paths.</li>
 *   <li>{@link dev.mpsafe.sync.Protected}: a reference whose loads must run inside a section.</li>
 * </ul>
 *
 * The schemes are {@link dev.mpsafe.pserialize.Pserialize} (synchronous only, cheapest reader) and
 * {@link dev.mpsafe.epoch.Epoch} (synchronous, deferred and polling). A scheme that cannot do
 * something does not implement that interface: a missing capability is a compile error, never a
 * run-time surprise. See {@code docs/sync.md}.
 */
package dev.mpsafe.sync;
