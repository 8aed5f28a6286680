/**
 * Wire formats: zero-copy views of IPv4, ICMPv4, UDP and TCP headers in a
 * {@link java.lang.foreign.MemorySegment} (off-heap buffers from {@link dev.mpsafe.smr.SegmentPool},
 * or heap arrays through {@link java.lang.foreign.MemorySegment#ofArray(byte[])}), the validated
 * values read from and written to them, and the internet checksum.
 *
 * <h2>Two levels, as smoltcp's {@code wire} module has them</h2>
 * <ul>
 *   <li>A <em>packet view</em> ({@link dev.mpsafe.netstack.wire.Ipv4Packet},
 *       {@link dev.mpsafe.netstack.wire.Icmpv4Packet}, {@link dev.mpsafe.netstack.wire.UdpPacket},
 *       {@link dev.mpsafe.netstack.wire.TcpPacket}) is a segment, an offset and a length, with an
 *       accessor per field. Untrusted bytes go through its {@code check}, which validates every
 *       length the accessors depend on, once; after it succeeds no accessor can throw. The
 *       unchecked {@code wrap} is for buffers the stack fills itself.</li>
 *   <li>A <em>repr</em> ({@link dev.mpsafe.netstack.wire.Ipv4Repr},
 *       {@link dev.mpsafe.netstack.wire.Icmpv4Repr}, {@link dev.mpsafe.netstack.wire.UdpRepr},
 *       {@link dev.mpsafe.netstack.wire.TcpRepr}) is an immutable value: {@code parse(view)} adds
 *       the protocol's rules (checksums, known codes and option lengths), {@code emit(view)} writes
 *       a header, and {@code headerLength()}/{@code bufferLength()} say how many bytes that
 *       takes.</li>
 * </ul>
 *
 * <h2>Drops, not exceptions</h2>
 * {@code check} and {@code parse} return an {@link dev.mpsafe.netstack.wire.Outcome}: the view or
 * repr, or a {@link dev.mpsafe.netstack.wire.DropReason} that the stack counts. Untrusted bytes
 * never make this package throw; exceptions are kept for bugs in the caller (a range outside the
 * segment, a field out of range, emitting into a buffer too small), and name the value and the
 * limit. See {@code docs/netstack.md} for what is and is not implemented.
 *
 * <p>Byte order: every multi-byte field is big-endian (network order); addresses are {@code int}s
 * in that order (see {@link dev.mpsafe.netstack.wire.Ipv4Address}); ports and 16-bit fields are
 * {@code int}s 0..65535.
 */
package dev.mpsafe.netstack.wire;
