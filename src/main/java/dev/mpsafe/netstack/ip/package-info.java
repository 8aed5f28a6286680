/**
 * The netstack's IP layer. So far: the routing table ({@link dev.mpsafe.netstack.ip.RouteTable}),
 * longest-prefix match read with no lock inside grace-period sections of a domain chosen when the
 * table is created. IP input and output, fragments and ICMP answers are not built yet
 * (docs/netstack.md).
 */
package dev.mpsafe.netstack.ip;
