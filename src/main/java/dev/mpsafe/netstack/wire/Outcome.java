package dev.mpsafe.netstack.wire;

/**
 * The result of checking or parsing untrusted bytes: either the view or repr asked for, or the
 * {@link DropReason} that refused them.
 *
 * <p>Each {@code check} and {@code parse} returns the narrow interface for its type, which permits
 * exactly two cases, so a {@code switch} over it is exhaustive and needs no default:
 *
 * <pre>{@code
 * switch (Ipv4Packet.check(buffer, 0, length)) {
 *     case Ipv4Packet ip -> input(ip);
 *     case DropReason why -> drops.increment(why);
 * }
 * }</pre>
 *
 * <h2>Why a result and not an exception</h2>
 * Malformed packets are routine input from the wire, not bugs, and the stack turns each one into a
 * counted drop. Throwing for them would pay for a stack trace (or need a preallocated exception
 * that lies about where it came from) on the one path an attacker controls, and would let a
 * forgotten {@code catch} kill a worker thread. Here the view itself is the success value (no
 * wrapper object) and the failure is an enum constant (no allocation at all), and the compiler
 * checks that both cases are handled. Exceptions remain for what is a bug in our own code: bad
 * arguments, emitting into a buffer that is too small.
 *
 * <p>Thread safety: every implementation is immutable, except that a view reads its buffer, which
 * other code may write.
 */
public sealed interface Outcome {

    /** {@link Ipv4Packet#check}: the view, or why the bytes cannot be one. */
    sealed interface OfIpv4Packet extends Outcome permits Ipv4Packet, DropReason {}

    /** {@link Ipv4Repr#parse}: the repr, or why the packet breaks a rule. */
    sealed interface OfIpv4Repr extends Outcome permits Ipv4Repr, DropReason {}

    /** {@link Icmpv4Packet#check}. */
    sealed interface OfIcmpv4Packet extends Outcome permits Icmpv4Packet, DropReason {}

    /** {@link Icmpv4Repr#parse}. */
    sealed interface OfIcmpv4Repr extends Outcome permits Icmpv4Repr, DropReason {}

    /** {@link UdpPacket#check}. */
    sealed interface OfUdpPacket extends Outcome permits UdpPacket, DropReason {}

    /** {@link UdpRepr#parse}. */
    sealed interface OfUdpRepr extends Outcome permits UdpRepr, DropReason {}

    /** {@link TcpPacket#check}. */
    sealed interface OfTcpPacket extends Outcome permits TcpPacket, DropReason {}

    /** {@link TcpRepr#parse}. */
    sealed interface OfTcpRepr extends Outcome permits TcpRepr, DropReason {}
}
