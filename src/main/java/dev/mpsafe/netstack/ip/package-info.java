/**
 * The netstack's IP layer: the routing table ({@link dev.mpsafe.netstack.ip.RouteTable}),
 * longest-prefix match read with no lock inside grace-period sections of a domain chosen when the
 * table is created; and the IPv4 layer of a host ({@link dev.mpsafe.netstack.ip.Ipv4Stack}):
 * interfaces and their addresses, input validation with every refusal a counted drop, output with
 * routing, ICMP echo replies and rate-limited destination unreachable. Fragments are counted and
 * dropped, not reassembled; the stack does not forward (docs/netstack.md).
 */
package dev.mpsafe.netstack.ip;
