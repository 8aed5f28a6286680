/**
 * The netstack's protocol control block tables, after BSD's {@code in_pcb.c}: which socket an
 * incoming datagram belongs to. A {@link dev.mpsafe.netstack.pcb.PcbTable} holds the bindings
 * ({@link dev.mpsafe.netstack.pcb.Pcb}) of one transport protocol and answers the receive path's
 * question, exact 4-tuple first, then the best wildcard, inside a read section of a grace-period
 * domain, with no lock and no allocation. Writers ({@code bind}, {@code connect}, {@code remove})
 * lock only the hash buckets they change; a removed PCB's owner is released only after a grace
 * period. Ephemeral ports follow RFC 6056. IPv4 only; {@code SO_REUSEADDR} and
 * {@code SO_REUSEPORT} are not implemented (docs/netstack.md, "PCB tables").
 *
 * <h2>Memory-access vocabulary</h2>
 * As in {@code dev.mpsafe.pcq}: {@code lp} plain load, {@code la} acquire load, {@code so}
 * ordered (release) store.
 */
package dev.mpsafe.netstack.pcb;
