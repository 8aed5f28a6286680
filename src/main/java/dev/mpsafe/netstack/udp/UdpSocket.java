package dev.mpsafe.netstack.udp;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.ip.DispatchModel;
import dev.mpsafe.netstack.ip.Ipv4Stack;
import dev.mpsafe.netstack.pcb.Pcb;
import dev.mpsafe.netstack.pcb.PcbTable;
import dev.mpsafe.netstack.pcb.PortInUseException;
import dev.mpsafe.netstack.pcb.PortsExhaustedException;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.netstack.wire.UdpPacket;
import dev.mpsafe.netstack.wire.UdpRepr;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A UDP socket of our stack, shaped like {@link java.nio.channels.DatagramChannel}: {@link #bind},
 * {@link #connect}, {@link #send}/{@link #receive} with any peer, {@link #write}/{@link #read} with
 * the connected one, blocking or not ({@link #configureBlocking}), and a receive with a timeout.
 *
 * <h2>Receiving</h2>
 * Datagrams wait in a bounded receive queue ({@link Udp#open(int)}); when it is full, the receive
 * path drops the datagram and counts it ({@link UdpDrop#QUEUE_FULL}), never waiting. A receive
 * copies one datagram's data into the buffer; bytes that do not fit are discarded, as
 * {@code DatagramChannel} does. In blocking mode a receive parks until a datagram comes; under
 * {@link dev.mpsafe.netstack.ip.Dispatch#MPSAFE} the parking is the pcq's own, and the receive
 * path's put wakes the reader (seed 003). Readers are served one at a time. A receive frees each
 * datagram's buffer on the reader's thread; before it parks, it hands what that thread freed back
 * to the packet pools ({@link PacketPool#flush()}), so that a parked reader holds no buffer.
 *
 * <h2>Errors</h2>
 * A connected socket that receives ICMP destination unreachable for its peer reports it once, as
 * Linux does: the next {@code receive}/{@code read} that finds the queue empty, or the next
 * {@code send}/{@code write}, throws {@link PortUnreachableException} (code 3) or
 * {@link SocketException} (other codes). Errors that arrive before it is reported replace it
 * (the latest is reported), and together they take one place in the receive queue (the wake-up of
 * a parked reader), not one each.
 *
 * <h2>Closing</h2>
 * {@link #close} unlinks the socket's PCB; a reader parked in {@code receive} wakes with
 * {@link AsynchronousCloseException}. The datagrams still queued are freed after a grace period of
 * the stack's domain, once no input thread that found the PCB can still be delivering to it, even
 * when the domain was closed first (the close then waits for the grace period itself). An
 * interrupt of a thread blocked in {@code receive} (or entering a receive that may wait) closes the
 * socket and throws {@link ClosedByInterruptException}, as for an interruptible channel; a receive
 * that never waits (non-blocking mode, or a zero timeout) ignores the interrupt status and leaves
 * it set, as {@code DatagramChannel} does in non-blocking mode. {@code close} of an open, bound
 * socket must not be called inside a read section of the stack's domain unless the domain can
 * defer (it may wait for a grace period); a close inside a section never waits for another close.
 *
 * <h2>Broadcast</h2>
 * Sends and connects to 255.255.255.255 or to the directed broadcast of one of the stack's
 * prefixes throw {@link BroadcastNotEnabledException} unless {@link #setBroadcast}{@code (true)}
 * ({@code SO_BROADCAST}). A broadcast goes where the route to its address leads: a directed
 * broadcast out of its prefix's interface; 255.255.255.255 only if a route covers it (a default
 * route), else {@link NoRouteToHostException} (the stack does not pick an interface for it).
 *
 * <p><b>Not implemented</b>: IPv6, multicast, {@code disconnect}, socket options other than
 * broadcast ({@code SO_REUSEADDR}, buffer sizes in bytes), selectors.
 *
 * <p>Thread safety: safe for any number of threads; receives are serialized among themselves.
 */
public final class UdpSocket implements AutoCloseable {

    /**
     * The most data one datagram may carry: what an IPv4 datagram holds after its 20-byte header
     * and the 8-byte UDP header, 65,507 bytes (the UDP length field alone would allow 65,527).
     */
    public static final int MAX_DATA_LENGTH = Ipv4Repr.MAX_PAYLOAD_LENGTH - UdpPacket.HEADER_LENGTH;

    static final int ERROR_PORT_UNREACHABLE = 1;
    static final int ERROR_UNREACHABLE = 2;

    /** Put on the mailbox to wake a parked reader: after a close or an error. Never a datagram. */
    private static final Object WAKE = new Object() {
        @Override
        public String toString() {
            return "WAKE";
        }
    };
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Udp udp;
    private final Ipv4Stack stack;
    private final PcbTable<UdpSocket> table;
    private final DispatchModel dispatch;
    final DispatchModel.Mailbox mailbox;
    final SocketCounters counters = new SocketCounters();
    /** Serializes bind, connect and close. */
    private final ReentrantLock stateLock = new ReentrantLock();
    /**
     * Held by the one close() that closes the socket, from the moment it marks it closed (taken
     * under stateLock) until the unlink is done; a later close() outside a section waits on it.
     */
    private final ReentrantLock closeLock = new ReentrantLock();
    /** Serializes readers: the mailbox has one consumer at a time. */
    private final ReentrantLock readLock = new ReentrantLock();

    /*
     * Ordering. The socket's state is written under stateLock (bind, connect, close) and read
     * without it on the data path, so each field the data path reads is volatile: a send or
     * receive sees the latest bind, connect or close, and a closed socket is never mistaken for
     * an open one. No field is written on the per-datagram path: delivery touches only the
     * mailbox (the pcq, whose put/get carry the buffer's contents, see MailboxHandOffTest) and
     * the counters. `pendingError` is written by the receive path (ICMP) and cleared once by
     * getAndSet, so one caller reports it; it is read first without a locked write, because a
     * locked write on every send, on a line other flows' sockets may share, cost MPSAFE up to
     * 40% of its two-flow throughput (UdpThroughput).
     */

    /** The socket's PCB, or null before it is bound; written under stateLock. */
    private volatile Pcb<UdpSocket> pcb;
    private volatile InetSocketAddress remote;
    /** The connected peer as the data path compares it; written before {@link #remote}, read after it. */
    private int remoteAddress;
    private int remotePort;
    private volatile boolean closed;
    private volatile boolean blocking = true;
    /**
     * The pool of the last datagram a reader of this socket freed, flushed with the stack's before a
     * reader parks. Read and written only under readLock, which orders it between readers; written
     * only when it changes (once, in practice), so the receive path does not dirty the socket's
     * lines, which input threads read, once per datagram.
     */
    private PacketPool freedInto;
    /** SO_BROADCAST: whether sends and connects to a broadcast address are allowed. */
    private volatile boolean broadcast;
    /** 0, or the ERROR_* code of an ICMP error not yet reported; see {@link #reportError}. */
    private int pendingError;

    UdpSocket(Udp udp, int receiveQueue) {
        this.udp = udp;
        this.stack = udp.stack;
        this.table = udp.table;
        this.dispatch = udp.dispatch;
        this.mailbox = dispatch.newMailbox(receiveQueue);
    }

    // --- state ----------------------------------------------------------------------------------

    /**
     * Binds to {@code local}: a port of the wildcard address (0.0.0.0) or of one of the stack's
     * addresses; port 0, or a null {@code local}, picks a free ephemeral port at random.
     *
     * @throws AlreadyBoundException if bound already
     * @throws BindException if the port is in use on an overlapping address, no ephemeral port is
     *     free, or the address is not the stack's
     * @throws UnsupportedAddressTypeException for an address other than an IPv4 {@link InetSocketAddress}
     * @throws ClosedChannelException if closed
     */
    public UdpSocket bind(SocketAddress local) throws IOException {
        InetSocketAddress a = local == null ? new InetSocketAddress(0) : checkAddress(local);
        int address = toInt(a);
        stateLock.lock();
        try {
            ensureOpen();
            if (pcb != null) {
                throw new AlreadyBoundException();
            }
            if (address != 0 && !stack.isLocalAddress(address)) {
                throw new BindException("cannot assign " + a + ": " + Ipv4Address.format(address)
                        + " is not an address of this stack");
            }
            pcb = bindPcb(address, a.getPort());
            return this;
        } finally {
            stateLock.unlock();
        }
    }

    private Pcb<UdpSocket> bindPcb(int address, int port) throws BindException {
        dispatch.enterSocket(this);
        try {
            return table.bind(address, port, this);
        } catch (PortInUseException | PortsExhaustedException e) {
            BindException b = new BindException(e.getMessage());
            b.initCause(e);
            throw b;
        } finally {
            dispatch.exitSocket(this);
        }
    }

    /**
     * Connects to {@code remote}: from now on only its datagrams are received (those already
     * queued from others are discarded as they are read), and {@link #read}/{@link #write} work.
     * An unbound socket is bound to an ephemeral port first; a socket bound to the wildcard
     * address takes the address of the interface the route to {@code remote} leaves by.
     *
     * @throws AlreadyConnectedException if connected already
     * @throws IllegalArgumentException if {@code remote}'s address is 0.0.0.0 or its port 0;
     *     nothing changes then
     * @throws NoRouteToHostException if the stack has no route to {@code remote}, or
     *     {@code remote} is in 127/8 and its route does not leave by a loopback interface
     * @throws SocketException if the socket is bound to a 127/8 address and the route to
     *     {@code remote} does not leave by a loopback interface; nothing changes then
     * @throws BindException if that 4-tuple is in use, or no ephemeral port is free
     * @throws BroadcastNotEnabledException if {@code remote} is a broadcast address and
     *     {@link #setBroadcast} has not allowed broadcasts; nothing changes then
     * @throws ClosedChannelException if closed
     */
    public UdpSocket connect(SocketAddress remote) throws IOException {
        InetSocketAddress r = checkAddress(remote);
        int address = toInt(r);
        if (address == 0 || r.getPort() == 0) {
            throw new IllegalArgumentException("cannot connect to " + r + ": address and port must be non-zero");
        }
        checkBroadcast("connect to", address);
        stateLock.lock();
        try {
            ensureOpen();
            if (this.remote != null) {
                throw new AlreadyConnectedException();
            }
            Ipv4Stack.OutputPath path = stack.pathTo(address);
            if (path == null) {
                throw new NoRouteToHostException("no route to " + r);
            }
            Pcb<UdpSocket> bound = pcb;
            if (bound != null) {
                checkLoopbackSource(bound.localAddress(), path, "connect", address, r.getPort());
            }
            boolean boundHere = bound == null;
            if (boundHere) {
                bound = bindPcb(0, 0);
            }
            int local = bound.localAddress() != 0 ? bound.localAddress() : path.source();
            dispatch.enterSocket(this);
            try {
                pcb = table.connect(bound, local, address, r.getPort());
            } catch (PortInUseException e) {
                if (boundHere) {
                    table.remove(bound, null);
                } else {
                    pcb = bound;
                }
                BindException b = new BindException(e.getMessage());
                b.initCause(e);
                throw b;
            } finally {
                dispatch.exitSocket(this);
            }
            remoteAddress = address;
            remotePort = r.getPort();
            this.remote = new InetSocketAddress(r.getAddress(), r.getPort()); // volatile: publishes the two above
            return this;
        } finally {
            stateLock.unlock();
        }
    }

    /** Sets blocking (the default) or non-blocking mode for receive and send. */
    public UdpSocket configureBlocking(boolean block) {
        this.blocking = block;
        return this;
    }

    public boolean isBlocking() {
        return blocking;
    }

    /**
     * Allows (true) or refuses (false, the default) sends and connects to a broadcast address:
     * 255.255.255.255 or the directed broadcast of one of the stack's prefixes ({@code SO_BROADCAST};
     * Linux refuses them with {@code EACCES} without it). Takes effect for the next send, including
     * writes of a socket already connected to a broadcast address.
     */
    public UdpSocket setBroadcast(boolean on) {
        this.broadcast = on;
        return this;
    }

    /** Whether broadcasts are allowed ({@link #setBroadcast}). */
    public boolean getBroadcast() {
        return broadcast;
    }

    public boolean isOpen() {
        return !closed;
    }

    public boolean isConnected() {
        return remote != null;
    }

    /** The bound address and port, or null if unbound. */
    public InetSocketAddress getLocalAddress() {
        Pcb<UdpSocket> p = pcb;
        return p == null ? null : new InetSocketAddress(inet(p.localAddress()), p.localPort());
    }

    /** The connected peer, or null. */
    public InetSocketAddress getRemoteAddress() {
        return remote;
    }

    /** This socket's counters. */
    public SocketCounters counters() {
        return counters;
    }

    /** Datagrams waiting in the receive queue now (an estimate while datagrams arrive). */
    public int queued() {
        return mailbox.size();
    }

    /**
     * Closes the socket: unlinks its PCB (no datagram is delivered to it afterwards), wakes a
     * blocked reader with {@link AsynchronousCloseException}, and frees the queued datagrams after
     * a grace period: from a deferred callback when the stack's domain is {@link Deferring}, on
     * this thread after waiting for the grace period otherwise, or when that domain was closed
     * (it takes no more callbacks, and the queued buffers must still go back to the pool).
     *
     * <p>Idempotent. A close of a socket that another thread is closing waits until that close
     * has unlinked the socket, as {@link java.nio.channels.Channel#close} does, except inside a
     * read section of the stack's domain or in one of its deferred callbacks
     * ({@link Deferring#inCallback}): there it returns at once, the socket marked closed
     * ({@link #isOpen} false, every later operation refused) but its port possibly still bound for
     * a moment. Waiting there could deadlock: the other close may be waiting for a grace period
     * that this section holds back, or, under epoch, for room among the pending callbacks that
     * this section or this callback's thread holds back.
     *
     * @throws IllegalStateException if called inside a read section of the stack's domain when that
     *     domain cannot defer (it has no callbacks, or was closed), on a socket that is open and
     *     bound: the unlink would wait for the section. Nothing is changed then: the socket stays
     *     open, bound and with its queue. A socket that is closed already, or was never bound,
     *     waits for nothing and closes (or returns) inside any section.
     */
    @Override
    public void close() {
        Pcb<UdpSocket> p = null;
        boolean closing = false; // whether this call is the one that closes the socket
        stateLock.lock();
        try {
            if (!closed) {
                p = pcb;
                if (p != null && table.removalWouldWaitForCaller()) {
                    // Checked before anything changes, under stateLock so that no bind slips in
                    // between: marking the socket closed and then failing to unlink it would leave
                    // its port bound and its queue filling with nobody to drain it. An unbound
                    // socket has nothing to unlink and nothing queued: its close waits for nothing.
                    throw new IllegalStateException("close() of " + this + " inside a read section of domain '"
                            + stack.domain().name() + "', " + (stack.domain() instanceof Deferring
                                    ? "which is closed and defers no more callbacks" : "which cannot defer")
                            + ": the unlink would wait for this section");
                }
                // Taken before closed is set, in the same stateLock hold: a close that finds closed
                // set (it reads it under stateLock) finds closeLock held until the unlink is done.
                // Uncontended here: only a close that saw closed set waits on it, and closed is set
                // once. Lock order stateLock -> closeLock; closeLock is never held while stateLock
                // is taken (close0 does not take it), and waiters hold neither.
                closeLock.lock();
                closed = true;
                closing = true;
            }
        } finally {
            stateLock.unlock();
        }
        if (!closing) {
            // Another close closed it. Wait for its unlink, as Channel.close does, unless this
            // thread is inside a section of the domain, or runs the domain's callbacks: that close
            // may be waiting for this very section (synchronize(), or Epoch.call() at its pending
            // bound), or for room among the pending callbacks that only this thread's next
            // callback makes, and this wait would then never end. The socket is closed already;
            // only the port's release may lag.
            GraceDomain domain = stack.domain();
            if (!domain.inSection() && !(domain instanceof Deferring d && d.inCallback())) {
                closeLock.lock(); // not interruptible, as the grace-period waits it stands behind
                closeLock.unlock();
            }
            return;
        }
        try {
            close0(p);
        } finally {
            closeLock.unlock();
        }
    }

    /** The one close: {@code p} is the PCB to unlink, or null if the socket was never bound. */
    private void close0(Pcb<UdpSocket> p) {
        mailbox.deliver(WAKE); // if full, a reader is not parked: it sees closed on its next look
        if (p != null) {
            // Outside the dispatch lock: the grace period may be waited for here (BSD sleeps for
            // it without softnet_lock too). After it, no input thread can still hold the PCB.
            table.remove(p, this::reclaim);
        } else {
            reclaim();
        }
    }

    /** After the grace period: frees what is still queued. Serialized with readers. */
    private void reclaim() {
        readLock.lock();
        try {
            mailbox.drain(item -> {
                if (item instanceof PacketBuffer b) {
                    b.free();
                }
            });
        } finally {
            readLock.unlock();
        }
    }

    // --- receive ----------------------------------------------------------------------------------

    /**
     * Receives one datagram into {@code dst} and returns its sender: waits for one in blocking
     * mode, returns null at once in non-blocking mode when none is queued. An unbound socket is
     * bound to an ephemeral port first.
     */
    public InetSocketAddress receive(ByteBuffer dst) throws IOException {
        return receive(dst, blocking ? -1 : 0);
    }

    /**
     * As {@link #receive(ByteBuffer)}, waiting at most {@code timeout} whatever the mode; null if
     * none came.
     *
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public InetSocketAddress receive(ByteBuffer dst, long timeout, TimeUnit unit) throws IOException {
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout " + timeout + " " + unit + " is negative");
        }
        return receive(dst, Math.max(0, unit.toNanos(timeout)));
    }

    /**
     * Reads one datagram from the connected peer into {@code dst}; returns the bytes copied, or 0
     * when non-blocking and none is queued.
     *
     * @throws NotYetConnectedException if not connected
     */
    public int read(ByteBuffer dst) throws IOException {
        if (remote == null) {
            throw new NotYetConnectedException();
        }
        int before = dst.position();
        return receive(dst, blocking ? -1 : 0) == null ? 0 : dst.position() - before;
    }

    /** nanos: negative waits forever, 0 never waits. */
    private InetSocketAddress receive(ByteBuffer dst, long nanos) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
        ensureOpen();
        if (pcb == null) {
            bindIfUnbound();
        }
        if (nanos == 0) {
            // Never waits for data, so it is not a blocking operation: as DatagramChannel's
            // non-blocking receive, it neither closes the socket on a pending interrupt nor touches
            // the interrupt status (a cancelled task polling its socket must not lose it and its
            // queued datagrams). The lock is held only by other receives, briefly in this mode.
            readLock.lock();
        } else {
            try {
                readLock.lockInterruptibly();
            } catch (InterruptedException e) {
                close();
                Thread.currentThread().interrupt(); // as an interruptible channel leaves it
                throw new ClosedByInterruptException();
            }
        }
        try {
            final long deadline = nanos > 0 ? System.nanoTime() + nanos : 0;
            while (true) {
                if (closed) {
                    // closed after this receive began (ensureOpen passed on entry): as a channel does
                    throw new AsynchronousCloseException();
                }
                Object item = mailbox.poll();
                if (item == null) {
                    reportPendingError();
                    long wait = nanos <= 0 ? nanos : deadline - System.nanoTime();
                    if (nanos == 0 || nanos > 0 && wait <= 0) {
                        return null;
                    }
                    flushBeforePark();
                    try {
                        item = mailbox.receive(wait);
                    } catch (InterruptedException e) {
                        readLock.unlock();
                        try {
                            close(); // with the interrupt cleared, so a grace-period wait can park
                        } finally {
                            readLock.lock(); // the finally below unlocks
                        }
                        Thread.currentThread().interrupt(); // as an interruptible channel leaves it
                        throw new ClosedByInterruptException();
                    }
                }
                if (item instanceof PacketBuffer p) {
                    final PacketPool pool = p.pool();
                    if (freedInto != pool) {
                        freedInto = pool;
                    }
                    InetSocketAddress from = copyOut(p, dst);
                    if (from != null) {
                        return from;
                    }
                }
                // WAKE, a timeout (checked at the top), or a datagram from before connect: look again
            }
        } finally {
            readLock.unlock();
        }
    }

    /**
     * Before a reader parks: gives back what this thread freed in copyOut and still caches in the
     * segment pools (see PacketPool's "Sizing"). A reader frees every datagram and never allocates,
     * so its frees stay in its cache, where no other thread can allocate them, until a bucket of
     * them fills; a parked reader is a live thread that may never free again, and enough of them
     * (one per socket, on virtual threads) would hold every buffer while the pool reports none
     * outstanding. Once per park, not per datagram: an advance of the pool's domain when the cache
     * holds frees, and nothing else. The pools are the stack's and the one this socket's last
     * datagram came from (another host's, over a link between two stacks), if different. Under
     * readLock. A flush refused inside a section of a pool's domain (PacketPool.flush) propagates:
     * a reader must not park inside a section.
     */
    private void flushBeforePark() {
        final PacketPool own = stack.pool();
        own.flush();
        final PacketPool last = freedInto;
        if (last != null && last != own) {
            last.flush();
        }
    }

    /**
     * Copies the datagram's data into {@code dst} and frees the buffer. The buffer's data window
     * starts at its IPv4 header, which the IP layer checked, and ends with the UDP datagram.
     *
     * @return the sender, or null for a datagram from someone other than the connected peer
     *     (queued before {@link #connect}), which is discarded
     */
    private InetSocketAddress copyOut(PacketBuffer p, ByteBuffer dst) {
        try {
            final MemorySegment d = p.data();
            final int ipHeader = (d.get(ValueLayout.JAVA_BYTE, 0) & 0xF) * 4;
            final int source = d.get(BE_INT, 12);
            final int port = d.get(BE_SHORT, ipHeader) & 0xFFFF;
            final InetSocketAddress peer = remote;
            if (peer != null && (remoteAddress != source || remotePort != port)) {
                return null;
            }
            final int data = ipHeader + UdpPacket.HEADER_LENGTH;
            final int n = Math.min(p.length() - data, dst.remaining());
            MemorySegment.copy(d, data, MemorySegment.ofBuffer(dst), 0, n);
            dst.position(dst.position() + n);
            return peer != null ? peer : new InetSocketAddress(inet(source), port);
        } finally {
            p.free();
        }
    }

    private void bindIfUnbound() throws IOException {
        stateLock.lock();
        try {
            ensureOpen();
            if (pcb == null) {
                pcb = bindPcb(0, 0);
            }
        } finally {
            stateLock.unlock();
        }
    }

    // --- send -------------------------------------------------------------------------------------

    /**
     * Sends the bytes remaining in {@code src} as one datagram to {@code target}; returns how many
     * (all of them), or 0 in non-blocking mode when no packet buffer is free now. Binds an unbound
     * socket to an ephemeral port first. The stack does not fragment: the data must fit the
     * outgoing interface's MTU less 28 bytes of headers, and one IPv4 datagram
     * ({@value #MAX_DATA_LENGTH} bytes, whatever the MTU).
     *
     * @throws AlreadyConnectedException if connected to another peer
     * @throws IllegalArgumentException if {@code target}'s address is 0.0.0.0 or its port 0, as
     *     {@link #connect} refuses them; nothing is bound, sent or consumed then
     * @throws NoRouteToHostException if the stack has no route to {@code target}, or
     *     {@code target} is in 127/8 and its route does not leave by a loopback interface (127/8
     *     never leaves the host); the socket is bound by then
     * @throws SocketException if the datagram is longer than the route's MTU allows or above
     *     {@value #MAX_DATA_LENGTH} bytes, or longer than a packet buffer holds, or the socket is
     *     bound to a 127/8 address and the route to {@code target} does not leave by a loopback
     *     interface; nothing is sent or consumed then
     * @throws BroadcastNotEnabledException if {@code target} is a broadcast address and
     *     {@link #setBroadcast} has not allowed broadcasts; nothing is bound, sent or consumed then
     * @throws PortUnreachableException if a connected socket has an ICMP error to report
     */
    public int send(ByteBuffer src, SocketAddress target) throws IOException {
        InetSocketAddress t = checkAddress(target);
        InetSocketAddress peer = remote;
        if (peer != null && !(remoteAddress == toInt(t) && remotePort == t.getPort())) {
            throw new AlreadyConnectedException();
        }
        return sendTo(src, toInt(t), t.getPort());
    }

    /**
     * Sends the bytes remaining in {@code src} as one datagram to the connected peer.
     *
     * @throws NotYetConnectedException if not connected
     * @throws BroadcastNotEnabledException if the peer is a broadcast address and broadcasts are
     *     not allowed now ({@link #setBroadcast})
     */
    public int write(ByteBuffer src) throws IOException {
        InetSocketAddress peer = remote;
        if (peer == null) {
            throw new NotYetConnectedException();
        }
        return sendTo(src, remoteAddress, remotePort); // read after remote: see the fields
    }

    private int sendTo(ByteBuffer src, int address, int port) throws IOException {
        Objects.requireNonNull(src, "src");
        if (port < 1 || port > 0xFFFF) {
            throw new IllegalArgumentException("destination port " + port + " outside 1..65535");
        }
        if (address == 0) {
            // As connect refuses it: 0.0.0.0 names no host (RFC 1122 3.2.1.3 (a): a source only).
            throw new IllegalArgumentException("cannot send to " + Ipv4Address.format(address) + ":" + port
                    + ": the destination address must be non-zero");
        }
        ensureOpen();
        checkBroadcast("send to", address); // before anything changes: nothing bound or consumed
        if (remote != null) {
            reportPendingError();
        }
        if (pcb == null) {
            bindIfUnbound();
        }
        final Pcb<UdpSocket> from = pcb;
        final Ipv4Stack.OutputPath path = stack.pathTo(address);
        if (path == null) {
            throw new NoRouteToHostException("no route to " + Ipv4Address.format(address));
        }
        checkLoopbackSource(from.localAddress(), path, "send", address, port);
        final int n = src.remaining();
        final int mtuMax = path.mtu() - Ipv4Packet.MIN_HEADER_LENGTH - UdpPacket.HEADER_LENGTH;
        if (n > MAX_DATA_LENGTH && MAX_DATA_LENGTH <= mtuMax) {
            // A device may report an MTU above what one IPv4 datagram can carry (UdpRepr's own
            // limit, 65,527, is UDP's length field's, above IPv4's): the IPv4 limit then binds.
            throw new SocketException("datagram of " + n + " bytes is above " + MAX_DATA_LENGTH
                    + ", the most UDP data one IPv4 datagram carries (" + Ipv4Repr.MAX_PAYLOAD_LENGTH
                    + " bytes of IPv4 payload less the " + UdpPacket.HEADER_LENGTH + "-byte UDP header)");
        }
        if (n > mtuMax) {
            throw new SocketException("datagram of " + n + " bytes is above " + mtuMax + ", the most that fits the MTU of "
                    + path.mtu() + " on interface " + path.ifindex() + " (this stack does not fragment)");
        }
        final PacketPool pool = stack.pool();
        final int fits = pool.bufferSize() - Ipv4Stack.HEADROOM; // headers go in the headroom
        if (n > fits) {
            throw new SocketException("datagram of " + n + " bytes is above " + fits + ", the most a packet buffer of "
                    + pool.bufferSize() + " bytes holds after the stack's " + Ipv4Stack.HEADROOM + " bytes of headroom");
        }
        PacketBuffer b = pool.tryAllocate(Ipv4Stack.HEADROOM);
        if (b == null) {
            if (!blocking) {
                return 0;
            }
            try {
                b = pool.allocate(Ipv4Stack.HEADROOM);
            } catch (IllegalStateException e) {
                throw new IOException("no packet buffer to send from: " + e.getMessage(), e);
            }
        }
        boolean handedOff = false;
        dispatch.enterSocket(this);
        try {
            MemorySegment.copy(MemorySegment.ofBuffer(src), 0, b.append(n), 0, n);
            final int source = from.localAddress() != 0 ? from.localAddress() : path.source();
            b.prepend(UdpPacket.HEADER_LENGTH);
            new UdpRepr(from.localPort(), port, n).emit(UdpPacket.wrap(b.data()), source, address);
            final boolean sent = stack.output(path, source, address, Ipv4Packet.PROTOCOL_UDP, b);
            handedOff = true; // output() returned: it took the buffer, sent or dropped and freed
            src.position(src.position() + n);
            if (sent) {
                counters.sent.increment();
                udp.counters.sent.increment();
            }
            return n;
        } finally {
            if (!handedOff) {
                b.free(); // nothing may leak from a send that failed before the stack took the buffer
            }
            dispatch.exitSocket(this);
        }
    }

    /**
     * Refuses a datagram from a socket bound to a 127/8 address towards a destination whose route
     * leaves by an interface that is not loopback: 127/8 never leaves a host (RFC 1122 3.2.1.3
     * (g)), so output would drop it as {@code LOOPBACK_OFF_HOST}; Linux refuses the same call with
     * EINVAL. Called before anything changes (nothing bound, sent or consumed).
     */
    private void checkLoopbackSource(int local, Ipv4Stack.OutputPath path, String op, int address, int port)
            throws SocketException {
        if (Ipv4Address.isLoopback(local) && !stack.iface(path.ifindex()).isLoopback()) {
            throw new SocketException("cannot " + op + " from " + Ipv4Address.format(local) + " to "
                    + Ipv4Address.format(address) + ":" + port + ": its route leaves by interface "
                    + path.ifindex() + ", which is not loopback, and a 127/8 source never leaves the host");
        }
    }

    // --- errors -----------------------------------------------------------------------------------

    /**
     * From the receive path: remembers the error (the latest one wins, as Linux keeps one per
     * socket) and wakes a parked reader. Only an error that finds none pending queues the wake-up
     * marker, so a run of errors takes one place in the receive queue, not one each (a flood of
     * them, forged or not, would otherwise crowd out the datagrams). No wake-up is lost: a reader
     * clears the pending error only in reportPendingError, which it calls after a poll found the
     * queue empty and before it waits, so an error that finds one pending was either set before
     * that call, which then reports it, or has its marker still ahead of the reader in the queue.
     */
    void reportError(int error) {
        if ((int) PENDING.getAndSet(this, error) == 0) {
            mailbox.deliver(WAKE); // if full, the reader is busy and checks the error when it empties
        }
    }

    /**
     * Throws the pending error once, clearing it (getAndSet: one caller reports it). The plain
     * volatile read first keeps the common case, no error, free of a locked write on every send.
     */
    private void reportPendingError() throws SocketException {
        if ((int) PENDING.getVolatile(this) == 0) {
            return;
        }
        int e = (int) PENDING.getAndSet(this, 0);
        if (e == ERROR_PORT_UNREACHABLE) {
            throw new PortUnreachableException("ICMP port unreachable from " + remote);
        }
        if (e != 0) {
            throw new SocketException("ICMP destination unreachable for " + remote);
        }
    }

    // --- helpers ----------------------------------------------------------------------------------

    /** Refuses a broadcast {@code address} unless {@link #setBroadcast} allowed it. */
    private void checkBroadcast(String operation, int address) throws BroadcastNotEnabledException {
        if (!broadcast && stack.isBroadcastAddress(address)) {
            throw new BroadcastNotEnabledException(operation, address);
        }
    }

    private void ensureOpen() throws ClosedChannelException {
        if (closed) {
            throw new ClosedChannelException();
        }
    }

    private static InetSocketAddress checkAddress(SocketAddress a) {
        Objects.requireNonNull(a, "address");
        if (!(a instanceof InetSocketAddress i)) {
            throw new UnsupportedAddressTypeException();
        }
        if (i.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        if (!(i.getAddress() instanceof Inet4Address) && !i.getAddress().isAnyLocalAddress()) {
            throw new UnsupportedAddressTypeException();
        }
        return i;
    }

    private static int toInt(InetSocketAddress a) {
        return a.getAddress() instanceof Inet4Address v4 ? Ipv4Address.of(v4) : 0; // else the wildcard (checkAddress)
    }

    private static InetAddress inet(int address) {
        return Ipv4Address.toInetAddress(address);
    }

    @Override
    public String toString() {
        Pcb<UdpSocket> p = pcb;
        return "UdpSocket[" + (closed ? "closed" : p == null ? "unbound" : p.toString()) + "]";
    }

    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(UdpSocket.class, "pendingError", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
