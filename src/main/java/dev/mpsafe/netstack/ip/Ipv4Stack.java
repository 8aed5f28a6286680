package dev.mpsafe.netstack.ip;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.Device;
import dev.mpsafe.netstack.wire.DropReason;
import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.netstack.wire.UdpPacket;
import dev.mpsafe.netstack.wire.UdpRepr;
import dev.mpsafe.sync.GraceDomain;
import dev.mpsafe.sync.Section;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The IPv4 layer of a host: input (validate, deliver, answer), output (route, fill in the header,
 * hand to the device), and the ICMP messages RFC 1122 asks of a host: echo replies and
 * destination unreachable (protocol, port), rate-limited.
 *
 * <pre>{@code
 * Ipv4Stack stack = Ipv4Stack.builder(domain, pool, routes).clock(ticker::nanos).build();
 * int ifindex = stack.attach(link.a());
 * stack.addAddress(ifindex, Ipv4Address.parse("192.0.2.1"), 24);   // adds 192.0.2.0/24 on-link
 * while (running) {
 *     stack.poll(ifindex, 64);                                      // the caller's thread
 * }
 * }</pre>
 *
 * <h2>Input</h2>
 * {@link #input} takes a received buffer and always consumes it: delivered to a socket, forwarded
 * to a device (an echo reply is the request rewritten in place), or freed, also when the UDP
 * transport throws (the exception then propagates). Each packet ends as exactly one of:
 * delivered, or a drop counted under one {@link DropReason} (the wire layer's checks: version,
 * IHL, total length against the buffer, options, header checksum; then ICMP's) or one input
 * {@link IpDrop} (in this order: a martian source, a martian destination, not for us, fragment,
 * then per protocol: ICMP and UDP are checked and parsed by the wire layer too, so a damaged UDP
 * datagram is a {@code UDP_*} drop and earns no error). No bytes make it throw: the wire layer's
 * checked views cannot throw once the check passed.
 *
 * <p>Martian sources (RFC 1122 3.2.1.3) are dropped silently, each under its
 * {@code MARTIAN_*} reason: a broadcast, multicast or class E source; one in 0/8 (0.0.0.0 is
 * accepted towards 255.255.255.255 only, where a host without an address, a BOOTP or DHCP client,
 * sends from it); and, on an interface that is not loopback ({@link Device#isLoopback()}), one in
 * 127/8 or one of our own addresses. This is the IP layer's first check, after the wire
 * layer's (a martian with a bad header checksum is that {@link DropReason}). On such an interface a 127/8 destination is dropped too,
 * right after the source checks, as {@link IpDrop#MARTIAN_DESTINATION} (RFC 1122 3.2.1.3 (g):
 * 127/8 never appears outside a host), so nothing on a link reaches a socket bound to 127/8 or
 * draws an answer from it.
 *
 * <p>This stack is a host, not a router: packets for other hosts are {@link IpDrop#NOT_FOR_US},
 * never forwarded, so it never sends time exceeded. Fragments are counted and dropped, not
 * reassembled. Multicast destinations are not for us (no group is joined). The TTL is not
 * looked at: RFC 1122 3.2.1.7 forbids a host to discard a datagram because it was received with a
 * TTL below 2, so TTL 0 and 1 are delivered like any other.
 *
 * <h2>ICMP errors</h2>
 * Destination unreachable quotes the offending IPv4 header as received and the first 8 bytes of
 * its payload (RFC 792, RFC 1122 3.2.2). None is sent for an ICMP message (the stack answers every
 * ICMP type itself or drops it), a fragment (dropped before protocols are looked at), a packet to
 * a broadcast address or from 0.0.0.0, or one from a martian source (dropped first). Errors are rate-limited by a token bucket on the caller's clock: {@code burst} at once,
 * one more every {@code interval}; the defaults, 50 and 1 ms, are Linux's
 * ({@code icmp_msgs_burst}, {@code icmp_msgs_per_sec}).
 *
 * <h2>Output</h2>
 * {@link #output} looks the destination up in the {@link RouteTable} inside a read section of the
 * stack's grace-period domain, copies what it needs out of the route (interface index), leaves the
 * section, prepends a 20-byte header into the buffer's headroom, and hands the buffer to the
 * interface's device. It does not fragment: a packet above the MTU is {@link IpDrop#MTU_EXCEEDED}.
 * It does not loop packets to our own addresses back (they follow their route like any other).
 * A packet with a 127/8 source or destination whose route leaves by an interface that is not
 * loopback is {@link IpDrop#LOOPBACK_OFF_HOST}: loopback addresses never reach a wire.
 *
 * <h2>Threads and ordering</h2>
 * {@code input}, {@code output} and {@code poll} may run on any number of threads at once (one
 * receiving thread per device at a time, the {@link Device} rule). Interfaces and their addresses
 * are immutable snapshots in one array, replaced copy-on-write under {@code config} and published
 * with a release store; the data path reads it with one acquire load and so sees every field of
 * every snapshot it reaches as built. Old snapshots are heap objects the garbage collector
 * reclaims, so they need no grace period; routes do (the table's removal hook), hence the read
 * section around a lookup. Counters are striped adders.
 *
 * <p>Thread safety: safe for any number of threads, with one receiving thread per device.
 *
 * <p>Memory consistency effects: actions before {@link #attach} or {@link #addAddress} returns
 * happen-before a data-path call that sees the new interface or address.
 */
public final class Ipv4Stack {

    /** The TTL of the packets this stack sends (RFC 1700's recommended default, as Linux). */
    public static final int DEFAULT_TTL = 64;
    /** Headroom of the buffers the stack allocates for ICMP errors: an IPv4 header and room for a link header. */
    public static final int HEADROOM = 64;

    /** Bytes of the offending payload an ICMP error quotes after its header (RFC 792). */
    static final int QUOTED_PAYLOAD = 8;
    /** The largest ICMP error the stack builds: ICMP header, the longest IPv4 header, 8 bytes. */
    static final int LARGEST_ICMP_ERROR = Icmpv4Packet.HEADER_LENGTH + 60 + QUOTED_PAYLOAD;
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** The highest interface index. */
    public static final int MAX_INTERFACES = 1024;

    private final GraceDomain domain;
    private final PacketPool pool;
    private final RouteTable routes;
    private final TokenBucket errors;
    private final int ttl;
    private final Ipv4Counters counters = new Ipv4Counters();
    private final DispatchModel dispatch;
    /** The UDP transport, or null; set once by {@link #attachUdp}, read with acquire. */
    private UdpInput udp;
    private final ReentrantLock config = new ReentrantLock();
    /** Interfaces by index (slot 0 unused); replaced whole under {@code config}, read with acquire. */
    // NOTE: the initial array is a plain write in the constructor; like any object, the stack must
    // be published safely to the threads that use it, which publishes this write with it.
    private Interface[] interfaces = new Interface[1];
    /**
     * Identification counters, {@value #ID_COUNTERS} of them, one per cache line (every
     * {@value #ID_STRIDE}th int), picked by a hash of source, destination and protocol; see
     * {@link #nextIdentification}. Started at random values.
     */
    private final int[] identifications = new int[ID_COUNTERS * ID_STRIDE];

    private Ipv4Stack(Builder b) {
        this.domain = b.domain;
        this.pool = b.pool;
        this.routes = b.routes;
        this.ttl = b.ttl;
        this.errors = new TokenBucket(b.nanos, b.burst, b.interval);
        this.dispatch = DispatchModel.of(b.dispatch);
        java.util.SplittableRandom random = new java.util.SplittableRandom();
        for (int i = 0; i < ID_COUNTERS; i++) {
            identifications[i * ID_STRIDE] = random.nextInt(); // plain: published with the stack
        }
    }

    /**
     * A builder for a stack whose route lookups run in sections of {@code domain} (the scheme is
     * chosen here), whose ICMP errors come from {@code pool}, and which routes by {@code routes}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code routes} was made for another domain
     */
    public static Builder builder(GraceDomain domain, PacketPool pool, RouteTable routes) {
        return new Builder(domain, pool, routes);
    }

    // --- configuration ---------------------------------------------------------------------------

    /**
     * Attaches {@code device} as a new interface with no address and returns its index (1, 2, ...).
     *
     * @throws IllegalStateException if {@value #MAX_INTERFACES} interfaces are attached
     * @throws IllegalArgumentException if the device is already attached
     */
    public int attach(Device device) {
        Objects.requireNonNull(device, "device");
        config.lock();
        try {
            Interface[] old = interfaces;
            for (int i = 1; i < old.length; i++) {
                if (old[i].device() == device) {
                    throw new IllegalArgumentException("device " + device.name() + " is already interface " + i);
                }
            }
            int index = old.length;
            if (index > MAX_INTERFACES) {
                throw new IllegalStateException("interface index " + index + " above " + MAX_INTERFACES);
            }
            Interface[] next = Arrays.copyOf(old, index + 1);
            next[index] = new Interface(index, device, List.of(), p -> input(index, p));
            soInterfaces(next);
            return index;
        } finally {
            config.unlock();
        }
    }

    /**
     * Assigns {@code address/prefixLength} to interface {@code ifindex} and adds the on-link route
     * for its prefix (replacing a route for the same prefix, as the table's {@code add} does).
     *
     * @throws IllegalArgumentException if the interface does not exist, the address is not unicast,
     *     the prefix length is outside 1..32, the address is its prefix's network or directed
     *     broadcast address (prefixes of 30 bits or fewer, see {@link InterfaceAddress}), the
     *     address is in 127/8 and the interface is not loopback (127/8 never leaves a host: RFC
     *     1122 3.2.1.3 (g); output would drop everything sent from it), or the address is already
     *     assigned (to any interface); nothing changes then
     */
    public InterfaceAddress addAddress(int ifindex, int address, int prefixLength) {
        InterfaceAddress a = new InterfaceAddress(address, prefixLength);
        config.lock();
        try {
            Interface[] old = interfaces;
            Interface ifc = existing(old, ifindex);
            if (Ipv4Address.isLoopback(address) && !ifc.isLoopback()) {
                throw new IllegalArgumentException("address " + a + " is a loopback address (127/8), and interface "
                        + ifindex + " is not loopback: 127/8 never leaves a host (RFC 1122 3.2.1.3 (g))");
            }
            for (int i = 1; i < old.length; i++) {
                if (old[i].hasAddress(address)) {
                    throw new IllegalArgumentException("address " + a + " is already assigned to interface " + i);
                }
            }
            // The route first: a packet that sees the address must be able to route its answer.
            routes.add(Route.onLink(a.network(), prefixLength, ifindex));
            Interface[] next = old.clone();
            next[ifindex] = ifc.with(a);
            soInterfaces(next);
            return a;
        } finally {
            config.unlock();
        }
    }

    /**
     * The interface with index {@code ifindex}.
     *
     * @throws IllegalArgumentException if there is none
     */
    public Interface iface(int ifindex) {
        return existing(lvInterfaces(), ifindex);
    }

    /** Every attached interface, by index. */
    public List<Interface> interfaces() {
        Interface[] all = lvInterfaces();
        return List.of(Arrays.copyOfRange(all, 1, all.length));
    }

    private static Interface existing(Interface[] all, int ifindex) {
        if (ifindex < 1 || ifindex >= all.length) {
            throw new IllegalArgumentException("interface index " + ifindex + " outside 1.." + (all.length - 1)
                    + " (the attached interfaces)");
        }
        return all[ifindex];
    }

    public GraceDomain domain() {
        return domain;
    }

    public PacketPool pool() {
        return pool;
    }

    public RouteTable routes() {
        return routes;
    }

    /** The live counters. */
    public Ipv4Counters counters() {
        return counters;
    }

    /** The dispatch model chosen at creation, for transports. */
    public DispatchModel dispatch() {
        return dispatch;
    }

    /**
     * Registers the UDP transport: from now on UDP for us goes to {@code transport} instead of
     * being answered with port unreachable.
     *
     * @throws IllegalStateException if one is registered already
     */
    public void attachUdp(UdpInput transport) {
        Objects.requireNonNull(transport, "transport");
        config.lock();
        try {
            if (lvUdp() != null) {
                throw new IllegalStateException("a UDP transport is attached already: " + lvUdp());
            }
            // Release, paired with the acquire in lvUdp: an input thread that sees the transport
            // sees everything its constructor and the caller did before attaching. Udp's own
            // fields are final, so a plain store would already show them initialized; the pair
            // also covers a transport whose state is not all final, and costs nothing on x86.
            UDP.setRelease(this, transport);
        } finally {
            config.unlock();
        }
    }

    /**
     * Where a datagram to {@code destination} would go now: the interface, the address it would be
     * sent from (see {@link Interface#sourceFor}), and the interface's MTU; null when there is no route,
     * the interface has no address, or {@code destination} is in 127/8 and the route does not
     * leave by a loopback interface (output would drop it as {@link IpDrop#LOOPBACK_OFF_HOST}:
     * there is no path to it). A transport asks before it builds a datagram whose checksum
     * covers the source address.
     */
    public OutputPath pathTo(int destination) {
        final long hop = routeHop(destination);
        final int ifindex = hopInterface(hop);
        final Interface[] all = lvInterfaces();
        if (ifindex < 1 || ifindex >= all.length || all[ifindex].addresses().isEmpty()) {
            return null;
        }
        Interface out = all[ifindex];
        if (Ipv4Address.isLoopback(destination) && !out.isLoopback()) {
            return null; // output would drop it (LOOPBACK_OFF_HOST): 127/8 is reached only through loopback
        }
        return new OutputPath(ifindex, out.sourceFor(hopAddress(hop)), out.device().mtu());
    }

    /**
     * A route's answer for a transport: see {@link #pathTo}.
     *
     * @param ifindex the outgoing interface
     * @param source the address it would be sent from: {@link Interface#sourceFor} the next hop
     * @param mtu its device's MTU: the largest IPv4 packet that leaves unfragmented
     */
    public record OutputPath(int ifindex, int source, int mtu) {
    }

    /**
     * Whether {@code address} is a broadcast address for this stack: 255.255.255.255, or the
     * directed broadcast of a prefix of one of its interfaces (a prefix of 31 or 32 bits has none).
     */
    public boolean isBroadcastAddress(int address) {
        return address == -1 || isBroadcastOnAny(lvInterfaces(), address);
    }

    /** Whether {@code address} is one of this stack's interface addresses. */
    public boolean isLocalAddress(int address) {
        return isLocal(lvInterfaces(), address);
    }

    // --- receive -----------------------------------------------------------------------------------

    /**
     * Receives up to {@code max} packets from interface {@code ifindex}'s device and runs
     * {@link #input} on each, on the calling thread; returns how many. Never waits. One thread at a
     * time per interface (the device's receive rule).
     *
     * @throws IllegalArgumentException if the interface does not exist or {@code max} is negative
     */
    public int poll(int ifindex, int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max " + max + " is negative");
        }
        Interface ifc = iface(ifindex);
        return ifc.device().receive(ifc.input, max);
    }

    /**
     * Processes one received packet; consumes {@code packet} whatever happens: taken by a socket,
     * sent on as an echo reply, or freed. Bad bytes are counted drops, never exceptions. An
     * exception from the UDP transport ({@link UdpInput}, which then has not taken the packet) is
     * not swallowed: the packet is freed and the exception propagates to the caller. An echo reply
     * belongs to the output path once it is sent ({@code Device.send} takes ownership), so an
     * exception from a device's send propagates without a free: the device may already have
     * queued the packet for another thread.
     *
     * @throws IllegalArgumentException if interface {@code ifindex} does not exist; the caller
     *     still owns the buffer then
     * @throws NullPointerException if {@code packet} is null
     */
    public void input(int ifindex, PacketBuffer packet) {
        Objects.requireNonNull(packet, "packet");
        Interface in = iface(ifindex);
        counters.received.increment();
        dispatch.enterInput();
        try {
            final int fate;
            try {
                fate = receive(in, packet);
            } catch (RuntimeException | Error e) {
                // receive never throws after a hand-off (a transport that throws has not taken the
                // packet, and the echo reply is sent below, not in receive): the packet is still ours.
                freeAfter(packet, e);
                throw e;
            }
            if (fate == FREE) {
                packet.free();
            } else if (fate == ECHO_REPLY) {
                echoReply(packet);
            }
        } finally {
            dispatch.exitInput();
        }
    }

    /**
     * Frees a packet {@code receive} failed on, keeping {@code failure} the exception the caller
     * sees. Skipped when already freed: only a transport that broke its contract (it freed the
     * packet, then threw) frees it on this thread, and a second free would hide its exception.
     */
    private static void freeAfter(PacketBuffer packet, Throwable failure) {
        try {
            if (!packet.isFreed()) {
                packet.free();
            }
        } catch (RuntimeException | Error e) {
            failure.addSuppressed(e); // the pool closed meanwhile: nothing more to do with it
        }
    }

    /** {@link #receive}: free the packet (a drop, or consumed by the input path). */
    private static final int FREE = 0;
    /** {@link #receive}: a socket took the packet; the caller must not touch it again. */
    private static final int TAKEN = 1;
    /** {@link #receive}: the packet was rewritten in place as an echo reply, for the caller to send. */
    private static final int ECHO_REPLY = 2;

    /**
     * The input path; returns {@link #FREE}, {@link #TAKEN} or {@link #ECHO_REPLY}. It never hands
     * the packet on and then throws, so that {@link #input} may free it after any exception.
     */
    private int receive(Interface in, PacketBuffer p) {
        final Ipv4Packet ip;
        final Ipv4Repr header;
        switch (Ipv4Packet.check(p.data())) {
            case DropReason why -> {
                return drop(why);
            }
            case Ipv4Packet checked -> ip = checked;
        }
        switch (Ipv4Repr.parse(ip)) {
            case DropReason why -> {
                return drop(why);
            }
            case Ipv4Repr parsed -> header = parsed;
        }
        // Link padding after the total length is not part of the datagram (check guaranteed
        // total length <= buffer).
        p.trimBack(p.length() - ip.totalLength());

        final Interface[] all = lvInterfaces();
        final int source = header.source();
        final int destination = header.destination();
        final IpDrop martian = martianSource(in, all, source, destination);
        if (martian != null) {
            return drop(martian); // silently (RFC 1122 3.2.1.3): nothing is answered to it
        }
        if (Ipv4Address.isLoopback(destination) && !in.isLoopback()) {
            // RFC 1122 3.2.1.3 (g): 127/8 never appears outside a host; dropped before the local
            // lookup, so neither an answer nor a socket bound to 127/8 sees it.
            return drop(IpDrop.MARTIAN_DESTINATION);
        }
        final boolean local = isLocal(all, destination);
        final boolean broadcast = !local && in.isBroadcast(destination);
        if (!local && !broadcast) {
            return drop(IpDrop.NOT_FOR_US);
        }
        // No TTL check: RFC 1122 3.2.1.7 forbids a host to discard a datagram only because it
        // arrived with a TTL below 2, and local delivery never decrements it. (A forwarder would
        // check it; this stack does not forward.)
        if (header.moreFragments() || header.fragmentOffset() != 0) {
            return drop(IpDrop.FRAGMENT);
        }
        // An error may be sent only for a unicast datagram to us from a host that can be named
        // (RFC 1122 3.2.2: not to a broadcast, not from 0.0.0.0).
        final boolean mayAnswerError = local && source != 0;
        return switch (header.protocol()) {
            case Ipv4Packet.PROTOCOL_ICMP -> icmpInput(ip, header, local, p);
            case Ipv4Packet.PROTOCOL_UDP -> udpInput(ip, header, mayAnswerError, p);
            default -> {
                unreachable(ip, header, Icmpv4Packet.UNREACHABLE_PROTOCOL, mayAnswerError);
                yield drop(IpDrop.PROTOCOL_UNREACHABLE);
            }
        };
    }

    /**
     * UDP: the header's structure is checked here, then the transport ({@link #attachUdp}) checks
     * the checksum and finds the socket. Without a transport, or when it finds no socket, a
     * datagram whose checksum verifies gets port unreachable; a damaged one is only a drop (as in
     * BSD's and Linux's udp_input: no error for bytes that may not even be UDP's).
     */
    private int udpInput(Ipv4Packet ip, Ipv4Repr header, boolean mayAnswerError, PacketBuffer p) {
        final UdpPacket udp;
        switch (UdpPacket.check(ip.payload())) {
            case DropReason why -> {
                return drop(why);
            }
            case UdpPacket checked -> udp = checked;
        }
        final UdpInput transport = lvUdp();
        if (transport == null) {
            if (UdpRepr.parse(udp, header.source(), header.destination()) instanceof DropReason why) {
                return drop(why);
            }
            unreachable(ip, header, Icmpv4Packet.UNREACHABLE_PORT, mayAnswerError);
            return drop(IpDrop.PORT_UNREACHABLE);
        }
        if (udp.destinationPort() == 0) {
            return drop(DropReason.UDP_ZERO_PORT);
        }
        // Bytes after the UDP length are not the datagram's (check guaranteed length <= payload).
        p.trimBack(p.length() - ip.headerLength() - udp.datagramLength());
        switch (transport.input(header.source(), header.destination(), ip.headerLength(), udp, p)) {
            case TAKEN -> {
                counters.delivered.increment();
                return TAKEN;
            }
            case BAD_CHECKSUM -> {
                return drop(DropReason.UDP_BAD_CHECKSUM);
            }
            case QUEUE_FULL -> {
                return drop(IpDrop.UDP_QUEUE_FULL);
            }
            case NO_PORT -> {
                unreachable(ip, header, Icmpv4Packet.UNREACHABLE_PORT, mayAnswerError);
                return drop(IpDrop.PORT_UNREACHABLE);
            }
        }
        throw new AssertionError();
    }

    /**
     * Destination unreachable quoting a UDP datagram: tells the transport, which reports it to a
     * connected socket (RFC 1122 4.1.3.3). The quote was checked to hold an IPv4 header and 8
     * bytes; a quote of anything else is {@link IpDrop#ICMP_UNHANDLED}.
     */
    private int unreachableInput(Icmpv4Packet icmp, Icmpv4Repr.DestinationUnreachable error) {
        final UdpInput transport = lvUdp();
        final MemorySegment s = icmp.segment();
        final long quote = icmp.offset() + Icmpv4Packet.HEADER_LENGTH;
        final int quotedHeader = (s.get(ValueLayout.JAVA_BYTE, quote) & 0xF) * 4;
        if (transport == null || (s.get(ValueLayout.JAVA_BYTE, quote + 9) & 0xFF) != Ipv4Packet.PROTOCOL_UDP) {
            return drop(IpDrop.ICMP_UNHANDLED);
        }
        counters.delivered.increment();
        transport.unreachable(error.code(), s.get(BE_INT, quote + 12), s.get(BE_SHORT, quote + quotedHeader) & 0xFFFF,
                s.get(BE_INT, quote + 16), s.get(BE_SHORT, quote + quotedHeader + 2) & 0xFFFF);
        return FREE; // the message was consumed; the caller frees the buffer
    }

    /**
     * ICMP for us; {@code local} is false when the datagram went to a broadcast address (the only
     * other destination that gets here). An echo request to a broadcast is ignored
     * (RFC 1122 3.2.2.6 allows it) and an error sent to one is dropped: RFC 1122 3.2.2 forbids
     * sending an ICMP error to a broadcast or multicast address, so it cannot be genuine.
     */
    private int icmpInput(Ipv4Packet ip, Ipv4Repr header, boolean local, PacketBuffer p) {
        final Icmpv4Packet icmp;
        switch (Icmpv4Packet.check(ip.payload())) {
            case DropReason why -> {
                return drop(why);
            }
            case Icmpv4Packet checked -> icmp = checked;
        }
        switch (Icmpv4Repr.parse(icmp)) {
            case DropReason why -> {
                return drop(why);
            }
            case Icmpv4Repr.EchoRequest echo -> {
                if (!local) {
                    return drop(IpDrop.ECHO_TO_BROADCAST);
                }
                counters.delivered.increment();
                // The reply is the request rewritten in place: type 0, same identifier, sequence
                // and data, new checksum. input sends it (echoReply), outside receive, so that an
                // exception out of the output path is never taken for one before the hand-off.
                echo.reply().emit(icmp);
                return ECHO_REPLY;
            }
            case Icmpv4Repr.DestinationUnreachable error when !local -> {
                return drop(IpDrop.ICMP_ERROR_TO_BROADCAST); // RFC 1122 3.2.2: never sent there
            }
            case Icmpv4Repr.TimeExceeded error when !local -> {
                return drop(IpDrop.ICMP_ERROR_TO_BROADCAST);
            }
            case Icmpv4Repr.DestinationUnreachable error -> {
                return unreachableInput(icmp, error);
            }
            case Icmpv4Repr other -> {
                return drop(IpDrop.ICMP_UNHANDLED);
            }
        }
    }

    /**
     * Sends the echo reply {@link #icmpInput} wrote over the request's ICMP message; consumes
     * {@code p}. The request's IPv4 header, checked by {@link #receive}, is still at the front: it
     * gives the addresses, then it is trimmed off (options included) and output prepends a fresh
     * 20-byte one, so nothing is copied.
     */
    private void echoReply(PacketBuffer p) {
        final Ipv4Packet request = Ipv4Packet.wrap(p.data());
        final int to = request.source();
        final int from = request.destination(); // ours: an echo to a broadcast was dropped
        p.trimFront(request.headerLength());
        send(from, to, Ipv4Packet.PROTOCOL_ICMP, p);
    }

    /**
     * Sends destination unreachable with {@code code} for the datagram in {@code ip}, if allowed and
     * the bucket has a token. Reads {@code ip}'s bytes only; the caller still frees them.
     */
    private void unreachable(Ipv4Packet ip, Ipv4Repr header, int code, boolean allowed) {
        final int quoted = ip.headerLength() + QUOTED_PAYLOAD;
        if (!allowed || ip.totalLength() < quoted) {
            counters.icmpErrorsWithheld.increment();
            return;
        }
        if (!errors.tryAcquire()) {
            counters.icmpErrorsRateLimited.increment();
            return;
        }
        final PacketBuffer e = pool.tryAllocate(HEADROOM);
        if (e == null) {
            counters.drop(IpDrop.NO_BUFFER);
            return;
        }
        final MemorySegment message = e.append(Icmpv4Packet.HEADER_LENGTH + quoted);
        MemorySegment.copy(ip.segment(), ip.offset(), message, Icmpv4Packet.HEADER_LENGTH, quoted);
        new Icmpv4Repr.DestinationUnreachable(code, 0, quoted).emit(Icmpv4Packet.wrap(message));
        counters.icmpErrorsSent.increment();
        // From the address the datagram was sent to: it is one of ours (errors go only to unicast
        // datagrams for us).
        send(header.destination(), header.source(), Ipv4Packet.PROTOCOL_ICMP, e);
    }

    // --- send -----------------------------------------------------------------------------------

    /**
     * Sends the transport message in {@code payload}'s data window to {@code destination}: routes
     * it, prepends a 20-byte IPv4 header (TTL {@link Builder#ttl}, no options, DF clear) into the
     * headroom, and hands it to the interface's device. Takes ownership of {@code payload} once
     * the arguments are accepted; a packet that cannot go is a counted {@link IpDrop} and freed.
     *
     * @param source the source address, or 0 for the outgoing interface's address on the next
     *     hop's prefix: {@link Interface#sourceFor} the route's gateway, or {@code destination} for
     *     an on-link route
     * @return whether a device accepted the packet
     * @throws IllegalArgumentException if {@code protocol} is outside 0..255, the payload is longer
     *     than {@value Ipv4Repr#MAX_PAYLOAD_LENGTH} bytes, or its headroom is below 20 bytes; the
     *     caller still owns the buffer then
     * @throws IllegalStateException if {@code payload} was freed
     */
    public boolean output(int source, int destination, int protocol, PacketBuffer payload) {
        return output(null, source, destination, protocol, payload);
    }

    /**
     * As {@link #output(int, int, int, PacketBuffer)}, but on the interface of {@code path}, which
     * {@link #pathTo} returned for this destination just before: a transport that asked for the
     * path (its checksum needs the source) does not pay for a second route lookup. A route change
     * in between sends this one packet the old way, as a packet already queued would go; a
     * {@code source} of 0 then means {@code path}'s source. A null {@code path} routes as the
     * other form does.
     */
    public boolean output(OutputPath path, int source, int destination, int protocol, PacketBuffer payload) {
        Objects.requireNonNull(payload, "payload");
        if (protocol < 0 || protocol > 0xFF) {
            throw new IllegalArgumentException("protocol " + protocol + " outside 0..255");
        }
        if (payload.length() > Ipv4Repr.MAX_PAYLOAD_LENGTH) {
            throw new IllegalArgumentException("payload of " + payload.length() + " bytes above "
                    + Ipv4Repr.MAX_PAYLOAD_LENGTH);
        }
        if (payload.headroom() < Ipv4Packet.MIN_HEADER_LENGTH) {
            throw new IllegalArgumentException("headroom " + payload.headroom() + " below the "
                    + Ipv4Packet.MIN_HEADER_LENGTH + " bytes of an IPv4 header");
        }
        dispatch.enterSocket(null);
        try {
            if (path == null) {
                return sendOn(routeHop(destination), source, destination, protocol, payload);
            }
            return sendOn(hop(path.ifindex(), destination), source == 0 ? path.source() : source,
                    destination, protocol, payload);
        } finally {
            dispatch.exitSocket(null);
        }
    }

    /** Output after the arguments were checked; consumes {@code p}. */
    private boolean send(int source, int destination, int protocol, PacketBuffer p) {
        return sendOn(routeHop(destination), source, destination, protocol, p);
    }

    /**
     * The hop the route to {@code destination} takes, packed by {@link #hop}: the index of the
     * interface it leaves by (-1: no route) and its next hop (the gateway, or {@code destination}
     * on-link), which picks the source address. The route is valid only inside the section (its
     * removal hook may run after it); this copies the two fields needed, into a long so that the
     * hot path allocates nothing, and leaves before any device is touched, so the section stays
     * short and never spans a device call that may wait.
     */
    private long routeHop(int destination) {
        try (Section _ = domain.enter()) {
            Route r = routes.lookup(destination);
            return r == null ? hop(-1, 0) : hop(r.interfaceIndex(), r.nextHopFor(destination));
        }
    }

    /** An interface index in the high half, a next-hop address in the low half. */
    private static long hop(int ifindex, int nextHop) {
        return ((long) ifindex << 32) | (nextHop & 0xFFFF_FFFFL);
    }

    private static int hopInterface(long hop) {
        return (int) (hop >> 32);
    }

    private static int hopAddress(long hop) {
        return (int) hop;
    }

    /** Output by {@code hop} (see {@link #routeHop}); consumes {@code p}. */
    private boolean sendOn(long hop, int source, int destination, int protocol, PacketBuffer p) {
        final int ifindex = hopInterface(hop);
        final Interface[] all = lvInterfaces();
        if (ifindex < 1 || ifindex >= all.length) {
            return dropOut(IpDrop.NO_ROUTE, p);
        }
        final Interface out = all[ifindex];
        int from = source;
        if (from == 0) {
            if (out.addresses().isEmpty()) {
                return dropOut(IpDrop.NO_SOURCE_ADDRESS, p);
            }
            from = out.sourceFor(hopAddress(hop));
        }
        if (!out.isLoopback() && (Ipv4Address.isLoopback(from) || Ipv4Address.isLoopback(destination))) {
            return dropOut(IpDrop.LOOPBACK_OFF_HOST, p); // RFC 1122 3.2.1.3 (g): not onto a wire
        }
        final int total = p.length() + Ipv4Packet.MIN_HEADER_LENGTH;
        if (total > out.device().mtu()) {
            return dropOut(IpDrop.MTU_EXCEEDED, p);
        }
        final int payloadLength = p.length();
        p.prepend(Ipv4Packet.MIN_HEADER_LENGTH);
        new Ipv4Repr(from, destination, protocol, ttl, 0, nextIdentification(from, destination, protocol), false, false, 0,
                payloadLength)
                .emit(Ipv4Packet.wrap(p.data()));
        if (out.device().send(p)) {
            counters.sent.increment();
            return true;
        }
        counters.drop(IpDrop.DEVICE_REFUSED); // the device freed it
        return false;
    }

    /**
     * The identification of the next datagram (RFC 791; RFC 6864 asks only that it not repeat
     * too soon for a source, destination and protocol). As Linux's {@code ip_idents}: one of
     * {@value #ID_COUNTERS} counters chosen by a hash of the three, each on its own cache line, so
     * flows sent from different CPUs do not write one shared word (a single counter was the one
     * write every datagram of every flow shared). Random starting values keep IDs unpredictable
     * from outside (RFC 7739). A getAndAdd: atomicity is all that is needed, it orders nothing
     * else; the volatile mode is x86's locked xadd anyway.
     */
    private int nextIdentification(int source, int destination, int protocol) {
        int h = (source * 0x9E3779B1 + destination) * 0x9E3779B1 + protocol;
        int index = ((h ^ h >>> 16) & (ID_COUNTERS - 1)) * ID_STRIDE;
        return (int) IDENTIFICATIONS.getAndAdd(identifications, index, 1) & 0xFFFF;
    }

    // --- helpers ----------------------------------------------------------------------------------

    private int drop(DropReason why) {
        counters.drop(why);
        return FREE;
    }

    private int drop(IpDrop why) {
        counters.drop(why);
        return FREE;
    }

    private boolean dropOut(IpDrop why, PacketBuffer p) {
        counters.drop(why);
        p.free();
        return false;
    }

    private static boolean isLocal(Interface[] all, int address) {
        for (int i = 1; i < all.length; i++) {
            if (all[i].hasAddress(address)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isBroadcastOnAny(Interface[] all, int address) {
        for (int i = 1; i < all.length; i++) {
            if (all[i].isBroadcast(address)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Why {@code source} cannot be a real sender's for a datagram that came in on {@code in}, or
     * null when it can: the {@code MARTIAN_*} reasons of {@link IpDrop}. 0.0.0.0 is let through
     * towards 255.255.255.255 only, where a host that has no address yet sends from it; 127/8 and
     * our own addresses only on a loopback interface, which receives what this host sent.
     */
    private static IpDrop martianSource(Interface in, Interface[] all, int source, int destination) {
        if ((source >>> 28) >= 0xE || isBroadcastOnAny(all, source)) { // 224/4, 240/4 (255.255.255.255 too)
            return IpDrop.MARTIAN_BROADCAST_OR_MULTICAST;
        }
        if ((source >>> 24) == 0) {
            return source == 0 && destination == -1 ? null : IpDrop.MARTIAN_THIS_NETWORK;
        }
        if (in.isLoopback()) {
            return null;
        }
        if (Ipv4Address.isLoopback(source)) {
            return IpDrop.MARTIAN_LOOPBACK;
        }
        return isLocal(all, source) ? IpDrop.MARTIAN_OURS : null;
    }

    /** Not 0.0.0.0, not 255.255.255.255, not multicast (224/4) or class E (240/4). */
    static boolean isUnicast(int address) {
        return address != 0 && (address >>> 28) < 0xE;
    }

    @Override
    public String toString() {
        return "Ipv4Stack" + interfaces() + " " + counters;
    }

    private UdpInput lvUdp() {
        return (UdpInput) UDP.getAcquire(this);
    }

    private Interface[] lvInterfaces() {
        return (Interface[]) INTERFACES.getAcquire(this);
    }

    /** Release store: publishes the new array and the snapshots in it, built before (see class doc). */
    private void soInterfaces(Interface[] value) {
        INTERFACES.setRelease(this, value);
    }

    // --- builder ----------------------------------------------------------------------------------

    /**
     * Options of a stack. Thread safety: confined to the building thread.
     */
    public static final class Builder {
        private final GraceDomain domain;
        private final PacketPool pool;
        private final RouteTable routes;
        private LongSupplier nanos;
        private int burst = 50;
        private long interval = TimeUnit.MILLISECONDS.toNanos(1);
        private int ttl = DEFAULT_TTL;
        private Dispatch dispatch = Dispatch.MPSAFE;

        private Builder(GraceDomain domain, PacketPool pool, RouteTable routes) {
            this.domain = Objects.requireNonNull(domain, "domain");
            this.pool = Objects.requireNonNull(pool, "pool");
            this.routes = Objects.requireNonNull(routes, "routes");
            if (routes.domain() != domain) {
                throw new IllegalArgumentException("the route table reads in sections of "
                        + routes.domain() + ", not of the stack's domain " + domain);
            }
        }

        /** The clock, in nanoseconds, that drives the ICMP error bucket. Required. */
        public Builder clock(LongSupplier nanos) {
            this.nanos = Objects.requireNonNull(nanos, "nanos");
            return this;
        }

        /**
         * ICMP errors: at most {@code burst} at once, one more every {@code interval} ns.
         * {@code (1, Long.MAX_VALUE)} means one error, then none again.
         *
         * @throws IllegalArgumentException if either is below 1, or {@code burst * interval}
         *     exceeds {@code Long.MAX_VALUE} ns (the bucket's span must fit its clock arithmetic);
         *     the builder is left unchanged
         */
        public Builder icmpErrorRate(int burst, long interval) {
            if (burst < 1) {
                throw new IllegalArgumentException("burst " + burst + " below 1");
            }
            if (interval < 1) {
                throw new IllegalArgumentException("interval " + interval + " ns below 1");
            }
            if (interval > Long.MAX_VALUE / burst) {
                throw new IllegalArgumentException("burst " + burst + " * interval " + interval
                        + " ns exceeds " + Long.MAX_VALUE + " ns");
            }
            this.burst = burst;
            this.interval = interval;
            return this;
        }

        /**
         * The TTL of sent packets, 1..255 (0 is refused: RFC 1122 3.2.1.7).
         *
         * @throws IllegalArgumentException outside 1..255
         */
        public Builder ttl(int ttl) {
            if (ttl < 1 || ttl > 0xFF) {
                throw new IllegalArgumentException("ttl " + ttl + " outside 1..255");
            }
            this.ttl = ttl;
            return this;
        }

        /** The dispatch model ({@link Dispatch#MPSAFE} unless set). */
        public Builder dispatch(Dispatch dispatch) {
            this.dispatch = Objects.requireNonNull(dispatch, "dispatch");
            return this;
        }

        /**
         * @throws IllegalStateException if no clock was given
         * @throws IllegalArgumentException if the pool's buffers are smaller than the stack's
         *     headroom plus its largest ICMP error (the message names both sizes); a
         *     {@code burst * interval} that would overflow is refused earlier, by
         *     {@link #icmpErrorRate}
         */
        public Ipv4Stack build() {
            if (nanos == null) {
                throw new IllegalStateException("no clock: call clock(LongSupplier) (the stack reads no system clock)");
            }
            final int least = HEADROOM + LARGEST_ICMP_ERROR;
            if (pool.bufferSize() < least) {
                throw new IllegalArgumentException("packet buffers of " + pool.bufferSize() + " bytes are below " + least
                        + ": the stack's " + HEADROOM + " bytes of headroom plus its largest ICMP error ("
                        + LARGEST_ICMP_ERROR + " bytes)");
            }
            return new Ipv4Stack(this);
        }
    }

    // VarHandle mechanics
    private static final VarHandle INTERFACES;
    private static final VarHandle IDENTIFICATIONS = MethodHandles.arrayElementVarHandle(int[].class);
    /** Identification counters (a power of two). */
    private static final int ID_COUNTERS = 256;
    /** Ints per counter: one counter per 64-byte cache line, so flows on different CPUs share none. */
    private static final int ID_STRIDE = 16;
    private static final VarHandle UDP;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            INTERFACES = l.findVarHandle(Ipv4Stack.class, "interfaces", Interface[].class);
            UDP = l.findVarHandle(Ipv4Stack.class, "udp", UdpInput.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
