/**
 * Devices: the network interfaces the stack sends IP packets through and receives them from
 * ({@link dev.mpsafe.netstack.device.Device}), after smoltcp's {@code phy} module and BSD's
 * {@code ifnet}.
 *
 * <ul>
 *   <li>{@link dev.mpsafe.netstack.device.LinkPair} and {@link dev.mpsafe.netstack.device.Loopback}:
 *       in-memory devices over bounded {@link dev.mpsafe.pcq.Pcq}s, for tests and benchmarks
 *       (no privileges needed). A full queue is a counted drop.</li>
 *   <li>Middleware that wraps any device: {@link dev.mpsafe.netstack.device.PcapWriter} (a pcap
 *       trace with link type raw IP, for tshark and Wireshark) and
 *       {@link dev.mpsafe.netstack.device.FaultInjector} (seeded drop, corrupt, duplicate,
 *       reorder, delay).</li>
 * </ul>
 *
 * <p>Ownership: {@code send} takes the buffer whatever it returns (a dropped packet is freed by
 * the device); {@code receive} gives buffers to the caller. Bad packets and full queues are
 * counted drops ({@link dev.mpsafe.netstack.device.DeviceCounters}), never exceptions. No device
 * here reads a clock: the pcap writer's timestamps and the fault injector's delays come from the
 * caller. See {@code docs/netstack.md}.
 */
package dev.mpsafe.netstack.device;
