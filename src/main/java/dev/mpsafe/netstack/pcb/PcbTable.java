package dev.mpsafe.netstack.pcb;

import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.sync.Deferring;
import dev.mpsafe.sync.GraceDomain;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;

/**
 * A protocol control block table: the bindings of one transport protocol (UDP now, TCP later),
 * demultiplexed with no lock inside a grace-period read section, changed by writers that serialize
 * per hash bucket, with removed PCBs handed to a callback only after a grace period. BSD's
 * {@code struct inpcbinfo} and {@code in_pcb.c}, reduced to IPv4 and to what the seed-003 receive
 * path needs.
 *
 * <pre>{@code
 * PcbTable<Socket> udp = PcbTable.<Socket>builder(domain).name("udp").build();
 * Pcb<Socket> dns = udp.bind(0, 53, server);                     // *:53
 * Pcb<Socket> client = udp.bind(0, 0, socket);                   // *:<ephemeral>
 * client = udp.connect(client, source, peer, 53);                // source:<same port> <- peer:53
 * try (Section _ = domain.enter()) {                             // the receive path
 *     Pcb<Socket> to = udp.lookup(dst, dstPort, src, srcPort);   // no lock, no allocation
 *     if (to != null) to.owner().enqueue(datagram);
 * }
 * udp.remove(dns, () -> server.free());                          // after a grace period
 * }</pre>
 *
 * <p><b>Readers.</b> {@link #lookup} runs inside a section of the table's {@link #domain()}: it
 * takes no lock, writes no shared memory and allocates nothing. The PCB it returns, and its owner,
 * stay valid (their {@code afterGrace} callback has not run) until the section ends.
 *
 * <p><b>Writers.</b> {@link #bind}, {@link #connect} and {@link #remove} may be called from any
 * thread, concurrently; they lock only the hash buckets they change (the port bucket of the local
 * port, then at most two buckets of the exact table), so writers on different ports rarely meet.
 * Each either applies completely or throws and changes nothing, except {@link #remove}, which has
 * unlinked the PCB before it waits or defers: an exception from {@code afterGrace} (run on the
 * caller), or a deferral the domain refused inside one of its sections, surfaces after the unlink.
 * A writer must not hold a section of the domain when it calls {@link #remove} with a callback on
 * a domain that is not {@link Deferring}, or is closed (it would wait for itself; it throws
 * instead, before changing anything).
 *
 * <p><b>Lookup rule</b> (BSD {@code in_pcblookup_hash}): a connected PCB whose 4-tuple equals the
 * datagram's wins; otherwise the best unconnected PCB on the local port: one bound to the
 * datagram's destination address beats one bound to {@code 0.0.0.0}; otherwise null.
 *
 * <p><b>Conflicts</b> (BSD {@code in_pcbbind} without {@code SO_REUSEADDR}/{@code SO_REUSEPORT}):
 * {@code bind} refuses a local port that any PCB of the table already uses with an overlapping
 * local address (equal, or either is {@code 0.0.0.0}), connected or not.
 *
 * <p><b>Ephemeral ports</b> ({@code bind} with port 0): RFC 6056 section 3.3.1, Algorithm 1
 * ("simple port randomization", as FreeBSD's {@code in_pcb_lport}): start at a random port of
 * the range, take the first free one going up and wrapping around, {@link PortsExhaustedException}
 * when the whole range is in use. Algorithm 1 favours a port that follows a run of used ones; the
 * RFC accepts that for its simplicity and its never failing while a port is free.
 *
 * <p><b>Departures from BSD.</b> PCBs are immutable: {@code connect} publishes a new PCB and
 * unlinks the old one, instead of rehashing one in place under a lock that readers would need.
 * The replaced PCB needs no grace period of its own: it has the same owner as its successor.
 * Binding fails on any overlap ({@code SO_REUSEADDR} and {@code SO_REUSEPORT} are not
 * implemented). A connected PCB's local address stays fixed: a reconnect keeps it.
 *
 * <p>Thread safety: safe for any number of concurrent readers (inside sections) and writers.
 *
 * <p>Memory consistency effects: actions in a thread before it calls {@code bind} or {@code connect}
 * happen-before actions of a reader after a {@code lookup} that returns the PCB it published. A
 * section that a removal's grace period waited for happens-before the {@code afterGrace} callback.
 *
 * @param <T> the owner's type (the socket)
 */
public final class PcbTable<T> {

    /*
     * Implementation overview.
     *
     * Layout: three arrays of `buckets` buckets each.
     *   ports[i]  writer-only: a lock and every PCB whose local port hashes to i (localPort & mask),
     *             connected or not. bind's conflict check for a port reads this one bucket.
     *   wild[i]   readers: the unconnected PCBs among ports[i], as an immutable array. Guarded by
     *             ports[i]'s lock.
     *   exact[j]  readers: connected PCBs whose 4-tuple hashes to j, as an immutable array. Guarded
     *             by exactLocks[j].
     * Why connected PCBs are not in wild: the wildcard scan never walks past connections, so the
     * thousands of connections a TCP listener's port will carry do not slow the lookup of datagrams
     * for the listener (FreeBSD 14 splits its PCB hash into exact and wildcard tables too). Why ports[] is
     * separate from wild[]: conflicts are judged against connected PCBs too, and readers never need
     * them there. Buckets hashed by port with `& mask` spread a range of consecutive ports (the
     * ephemeral range) perfectly; the exact table mixes all four fields.
     *
     * Buckets are copy-on-write arrays: a writer builds a new array under the bucket's lock and
     * publishes it with one release store of the bucket slot (soWild/soExact); readers load the
     * slot with an acquire load (laWild/laExact) and scan the array, which never changes after
     * publication. A bucket holds a handful of PCBs, so the copy costs less than the pointer
     * chasing and per-node publication of a linked list, and the reader walks contiguous memory.
     *
     * Publication: a PCB's fields are final and written in its constructor; the array holding it
     * is filled with plain stores; the release store of the slot publishes both, and the reader's
     * acquire load of the slot makes them visible (PcbPublicationTest). The release/acquire pair,
     * not the final-field freeze, is also what publishes the owner's state written before bind.
     *
     * Lock order: a port-bucket lock, then exact-bucket locks in ascending index order. Every
     * writer takes the port lock of the PCB's local port first (a PCB's port never changes, so all
     * changes to one PCB serialize there); connect may take two exact locks (a reconnect moves a
     * PCB between exact buckets), always lower index first. No writer holds two port locks. Hence
     * no deadlock. Pcb.removed is written only under the PCB's port lock, so writers check it there.
     *
     * Invariant (no SO_REUSEADDR): bind refuses overlaps and connect keeps the local address and
     * port, so for any (localAddress, localPort) at most one PCB of the table can match a lookup:
     * the one on that port bound to that address or to 0.0.0.0, connected or not. The arguments
     * below use it; reuse options will have to revisit them.
     *
     * Linearization points. bind: its release store of wild[i]. remove and connect: the release
     * store of the old PCB's `removed` flag (soRemoved), which comes BEFORE the stores that unlink
     * it; connect also writes old.successor = new (plain) before it. A refused call: its check
     * under the port lock. Readers treat a PCB whose flag they read as true as gone, and follow
     * its successor: so a PCB stays visible in arrays after its linearization point without being
     * returned, and the arrays may lag the flags, never lead them.
     *
     * Connect, step by step: (0) old.successor = new; soRemoved(old)  [LP]
     *                        (1) soExact(j, ... + new)
     *                        (2) soWild(i, ... - old)   (or soExact of old's bucket, a reconnect)
     * lookup: (a) laWild(i); (b) laExact(j); then the flags of the candidates it found.
     * - (b) found new: (1) precedes it, so (0) does: every later flag read sees old removed.
     * - (a) holds old and its flag reads true: the successor is new, visible (release/acquire on
     *   the flag); the lookup returns new if new matches the datagram's 4-tuple, else skips old.
     * - (a) holds old and its flag reads false: before the LP; it returns old (or an exact match).
     * - (a) does not hold old: (a) read (2) or later, so (1) happens-before (b), and (b) cannot read
     *   an exact[j] older than (1) (coherence): it finds new.
     * Hence at every instant a lookup finds old or new, never neither, and one thread never sees
     * new and then old. Each order matters: (0) after (1) would let a lookup for another peer
     * return old after a lookup of this peer returned new; (2) before (1), or (b) before (a), lets
     * a lookup miss both (PcbConnectTest; PcbConnectOrderNegativeControl shows the reader with
     * (b) before (a) finding neither).
     *
     * lookup linearizes at the flag read of the PCB it returns (or, for null, at (b): by the
     * invariant the one PCB that could match was absent from its arrays or read as removed).
     *
     * Reclamation: remove unlinks under the locks, releases them, then waits for a grace period
     * (Deferring.call on the domain if it can defer and is not closed, else synchronize() on the
     * caller's thread) and only then runs afterGrace. Any section that could have loaded an array holding the PCB began
     * before the unlinking store, hence before the wait began, so it has ended (PcbGraceTest).
     *
     * Progress: lookup is lock-free: bounded by the buckets' lengths plus one step per connect
     * that replaced a PCB it holds while it ran (each such step follows a completed linearization
     * point). Writers block on bucket locks.
     */

    /** The most buckets a table may have. */
    public static final int MAX_BUCKETS = 1 << 20;
    /** Buckets per hash table unless the builder says otherwise. */
    public static final int DEFAULT_BUCKETS = 1024;
    /** The default ephemeral range: 49152..65535, IANA's dynamic ports (RFC 6335), as Linux and FreeBSD. */
    public static final int DEFAULT_FIRST_EPHEMERAL = 49152;
    /** The last port of the default ephemeral range. */
    public static final int DEFAULT_LAST_EPHEMERAL = 65535;

    private static final boolean CHECKS = PcbTable.class.desiredAssertionStatus();
    private static final Pcb<?>[] EMPTY = new Pcb<?>[0];

    private final GraceDomain domain;
    private final String name;
    private final int mask;
    private final int firstEphemeral;
    private final int lastEphemeral;
    private final RandomGenerator random;
    private final ReentrantLock randomLock = new ReentrantLock();
    private final PortBucket[] ports;
    /** Unconnected PCBs by local port; slot i written under ports[i].lock; see soWild/laWild. */
    private final Pcb<?>[][] wild;
    /** Connected PCBs by 4-tuple; slot j written under exactLocks[j]; see soExact/laExact. */
    private final Pcb<?>[][] exact;
    private final ReentrantLock[] exactLocks;
    /** PCBs linked now; changed by writers under a port lock, read by anyone. */
    private final AtomicInteger size = new AtomicInteger();

    /** A port bucket: its lock and every PCB whose port hashes here (writers only). */
    private static final class PortBucket {
        final ReentrantLock lock = new ReentrantLock();
        /** Guarded by lock; never read by readers. */
        Pcb<?>[] all = EMPTY;
    }

    private PcbTable(Builder<T> b) {
        this.domain = b.domain;
        this.name = b.name;
        this.mask = b.buckets - 1;
        this.firstEphemeral = b.firstEphemeral;
        this.lastEphemeral = b.lastEphemeral;
        this.random = b.random != null ? b.random : new SplittableRandom(new SecureRandom().nextLong());
        this.ports = new PortBucket[b.buckets];
        this.wild = new Pcb<?>[b.buckets][];
        this.exact = new Pcb<?>[b.buckets][];
        this.exactLocks = new ReentrantLock[b.buckets];
        for (int i = 0; i < b.buckets; i++) {
            ports[i] = new PortBucket();
            wild[i] = EMPTY;
            exact[i] = EMPTY;
            exactLocks[i] = new ReentrantLock();
        }
        // Plain stores above: the table reaches other threads only by a safe publication of the
        // table object itself (a final field, a volatile, a thread start), as any object does.
    }

    /**
     * A builder for a table whose lookups run in sections of {@code domain}.
     *
     * @throws NullPointerException if {@code domain} is null
     */
    public static <T> Builder<T> builder(GraceDomain domain) {
        return new Builder<>(domain);
    }

    /** The grace-period domain whose sections protect lookups. */
    public GraceDomain domain() {
        return domain;
    }

    /** The table's name ({@code "udp"}), as PCBs and messages show it. */
    public String name() {
        return name;
    }

    /** The PCBs linked now (a moment's count while writers run). */
    public int size() {
        return size.get();
    }

    /**
     * Binds {@code owner} to {@code localAddress:localPort}; port 0 picks a free ephemeral port
     * (RFC 6056 Algorithm 1, see the class comment). The new PCB is unconnected; lookups that begin
     * after this returns find it.
     *
     * @param localAddress an address of this host, or 0 for every address ({@code INADDR_ANY})
     * @param localPort 1..65535, or 0 for an ephemeral port
     * @return the new PCB, with the port chosen
     * @throws IllegalArgumentException if {@code localPort} is outside 0..65535
     * @throws NullPointerException if {@code owner} is null
     * @throws PortInUseException if a PCB of this table uses {@code localPort} with an overlapping
     *     local address (equal, or either is 0); it names the PCB
     * @throws PortsExhaustedException if the port is 0 and every ephemeral port is in use for
     *     {@code localAddress}; it names the range
     */
    public Pcb<T> bind(int localAddress, int localPort, T owner) {
        checkPort("local port", localPort, 0);
        Objects.requireNonNull(owner, "owner");
        if (localPort != 0) {
            PortBucket bucket = ports[localPort & mask];
            bucket.lock.lock();
            try {
                Pcb<?> holder = conflict(bucket, localAddress, localPort);
                if (holder != null) {
                    throw new PortInUseException(name, localAddress, localPort, holder, "local address");
                }
                return insertUnconnected(bucket, localAddress, localPort, owner);
            } finally {
                bucket.lock.unlock();
            }
        }
        // RFC 6056 3.3.1, Algorithm 1: a random start, then upwards with wrap-around. Each port is
        // checked and taken under its own bucket's lock, so two binds never take the same port; a
        // port freed behind the search is not revisited (the RFC's loop does the same).
        final int first = firstEphemeral;
        final int last = lastEphemeral;
        final int count = last - first + 1;
        int port = first + nextRandom(count);
        for (int tried = 0; tried < count; tried++) {
            PortBucket bucket = ports[port & mask];
            bucket.lock.lock();
            try {
                if (conflict(bucket, localAddress, port) == null) {
                    return insertUnconnected(bucket, localAddress, port, owner);
                }
            } finally {
                bucket.lock.unlock();
            }
            port = port == last ? first : port + 1;
        }
        throw new PortsExhaustedException(name, localAddress, first, last, count);
    }

    /**
     * Connects: publishes a new connected PCB {@code localAddress:bound.localPort() <-
     * remoteAddress:remotePort} with {@code bound}'s owner, and unlinks {@code bound}, which then
     * reports {@link Pcb#removed()}. Atomic for readers: a lookup of the new PCB's 4-tuple finds,
     * at every instant, {@code bound} or the new PCB, never neither. (Lookups from other peers
     * that a wildcard {@code bound} answered find neither afterwards, correctly: the socket no
     * longer takes their datagrams.) {@code bound}
     * may itself be connected (a reconnect to another peer, as Linux allows for UDP; BSD's socket
     * layer disconnects first).
     *
     * @param bound a PCB of this table, not removed
     * @param localAddress the source address: when {@code bound} is bound to 0, the one the caller
     *     chose by route; otherwise {@code bound}'s own address. Nonzero.
     * @param remoteAddress nonzero
     * @param remotePort 1..65535
     * @return the new PCB, to use instead of {@code bound}
     * @throws IllegalArgumentException if an address is 0, {@code remotePort} is outside 1..65535,
     *     or {@code bound} is bound to an address other than {@code localAddress}
     * @throws IllegalStateException if {@code bound} was removed (or replaced by an earlier connect)
     *     or belongs to another table
     * @throws PortInUseException if another PCB is connected with exactly this 4-tuple (cannot
     *     happen while bind refuses every overlap; kept for when reuse options come)
     * @throws NullPointerException if {@code bound} is null
     */
    public Pcb<T> connect(Pcb<T> bound, int localAddress, int remoteAddress, int remotePort) {
        Objects.requireNonNull(bound, "bound");
        if (localAddress == 0) {
            throw new IllegalArgumentException("local address 0.0.0.0: connect needs the source address "
                    + "(chosen by route when " + bound + " is bound to *), nonzero");
        }
        if (bound.localAddress != 0 && bound.localAddress != localAddress) {
            throw new IllegalArgumentException("local address " + Ipv4Address.format(localAddress) + " differs from "
                    + Ipv4Address.format(bound.localAddress) + ", the address " + bound + " is bound to");
        }
        if (remoteAddress == 0) {
            throw new IllegalArgumentException("remote address 0.0.0.0: connect needs a nonzero remote address");
        }
        checkPort("remote port", remotePort, 1);
        checkOurs(bound);
        final int localPort = bound.localPort;
        final int pi = localPort & mask;
        final int ej = exactIndex(localAddress, localPort, remoteAddress, remotePort);
        // A reconnect also unlinks bound from its own exact bucket.
        final int eOld = bound.connected()
                ? exactIndex(bound.localAddress, localPort, bound.remoteAddress, bound.remotePort) : ej;
        final ReentrantLock lo = exactLocks[Math.min(ej, eOld)];
        final ReentrantLock hi = exactLocks[Math.max(ej, eOld)];
        PortBucket bucket = ports[pi];
        bucket.lock.lock();
        try {
            checkLinked(bound);
            lo.lock();
            if (hi != lo) {
                hi.lock();
            }
            Pcb<T> next;
            try {
                Pcb<?>[] byTuple = lpExact(ej);
                for (Pcb<?> p : byTuple) {
                    if (p != bound && p.localPort == localPort && p.localAddress == localAddress
                            && p.remoteAddress == remoteAddress && p.remotePort == remotePort) {
                        throw new PortInUseException(name, localAddress, localPort, p,
                                "4-tuple to " + Ipv4Address.format(remoteAddress) + ":" + remotePort + " from");
                    }
                }
                next = new Pcb<>(this, localAddress, localPort, remoteAddress, remotePort, bound.owner());
                // (0) The linearization point: plain store of the successor, published by the
                // release store of the flag. From here readers that hold bound skip it for next.
                bound.successor = next;
                bound.soRemoved();
                // (1) Publish next where exact lookups find it (release: next's fields, the array,
                // and (0) before the slot). A reconnect within one bucket swaps in this one store.
                soExact(ej, with(bound.connected() && eOld == ej ? without(byTuple, bound) : byTuple, next));
                // (2) Then unlink bound (release: orders (1) before it). See the overview for why
                // neither (0) nor (1) may move after (2).
                if (!bound.connected()) {
                    soWild(pi, without(lpWild(pi), bound));
                } else if (eOld != ej) {
                    soExact(eOld, without(lpExact(eOld), bound));
                }
            } finally {
                if (hi != lo) {
                    hi.unlock();
                }
                lo.unlock();
            }
            bucket.all = with(without(bucket.all, bound), next);
            return next;
        } finally {
            bucket.lock.unlock();
        }
    }

    /**
     * Whether a removal with an after-grace action, made now, would have to wait for the caller's
     * own section: inside a section of a domain that cannot defer, because it has no callbacks
     * (pserialize, SMR) or because it was closed ({@link Deferring#isClosed()}). {@link #remove}
     * throws then; callers that must decide before they change anything of their own ask first.
     */
    public boolean removalWouldWaitForCaller() {
        return !Deferring.canDefer(domain) && domain.inSection();
    }

    /** Why {@link #removalWouldWaitForCaller()} is true, for messages: what the domain is now. */
    private String whyNoDeferral() {
        return domain instanceof Deferring ? "which is closed and defers no more callbacks" : "which cannot defer";
    }

    /**
     * Unlinks {@code pcb}; lookups that begin after this returns no longer find it. Then, once
     * every section that could have found it has ended, runs {@code afterGrace}: on this thread
     * after {@link GraceDomain#synchronize()} (so this call waits), or, when the domain is
     * {@link Deferring} (epoch), from the domain's callbacks (this call does not wait for the grace
     * period, only, outside a section, for room when the domain's pending callbacks are at its
     * bound; see {@link Deferring#barrier()}). A {@link Deferring} domain that was closed takes no more
     * callbacks: then this call waits and runs {@code afterGrace} itself, as for a domain that
     * cannot defer, so the action is never lost; so it does when the domain refuses the callback
     * for another reason (an epoch that cannot start its domain thread). Either way
     * {@code afterGrace} runs exactly once ({@link Deferring#callOrWait}). With a null
     * {@code afterGrace} nothing waits.
     *
     * <p>Not idempotent: removing a PCB twice is a bug in the caller's bookkeeping, and throws.
     *
     * @param afterGrace what to do once no reader can hold {@code pcb} (free the socket's
     *     resources), or null; must not enter a section of the domain it waits for
     * @throws IllegalStateException if {@code pcb} was already removed (or replaced by
     *     {@code connect}), belongs to another table, or if the caller is inside a section of a
     *     domain that cannot defer now (no callbacks, or closed) while {@code afterGrace} is not
     *     null (the wait would never end); nothing is changed then. If the domain refuses the
     *     deferral of a call made inside one of its sections (closed by another thread between
     *     that check and the deferral, which is the caller's race, or an epoch that cannot start
     *     its domain thread), the PCB is unlinked and the exception says that {@code afterGrace}
     *     did not run, and it never will. Whatever {@code afterGrace} throws when it runs on this
     *     thread also propagates, the PCB unlinked.
     * @throws NullPointerException if {@code pcb} is null
     */
    public void remove(Pcb<T> pcb, Runnable afterGrace) {
        Objects.requireNonNull(pcb, "pcb");
        checkOurs(pcb);
        if (afterGrace != null && removalWouldWaitForCaller()) {
            throw new IllegalStateException("remove(" + pcb + ") inside a section of domain '" + domain.name()
                    + "', " + whyNoDeferral() + ": waiting for the grace period would wait for this section");
        }
        final int pi = pcb.localPort & mask;
        PortBucket bucket = ports[pi];
        bucket.lock.lock();
        try {
            checkLinked(pcb);
            // The linearization point (release): readers that still hold pcb skip it from here.
            pcb.soRemoved();
            if (pcb.connected()) {
                int ej = exactIndex(pcb.localAddress, pcb.localPort, pcb.remoteAddress, pcb.remotePort);
                ReentrantLock lock = exactLocks[ej];
                lock.lock();
                try {
                    soExact(ej, without(lpExact(ej), pcb));
                } finally {
                    lock.unlock();
                }
            } else {
                soWild(pi, without(lpWild(pi), pcb));
            }
            bucket.all = without(bucket.all, pcb);
            size.decrementAndGet();
        } finally {
            bucket.lock.unlock();
        }
        if (afterGrace == null) {
            return;
        }
        // Outside a section whenever the domain cannot defer (checked above), so a wait here ends.
        Deferring.callOrWait(domain, afterGrace, "remove(" + pcb + ") unlinked the PCB");
    }

    /**
     * The PCB a datagram from {@code remoteAddress:remotePort} to {@code localAddress:localPort}
     * belongs to, or null: the connected PCB with exactly this 4-tuple, else the unconnected PCB on
     * {@code localPort} bound to {@code localAddress}, else the one bound to 0.0.0.0. Arguments are
     * not validated: a local port outside 1..65535 matches nothing, while the remote address and
     * port only select among connected PCBs, so a remote port outside 1..65535 (or 0, which UDP
     * allows as a source port) matches no connected PCB and still gets the unconnected one.
     *
     * <p>Call inside a section of {@link #domain()}. The PCB and its owner stay valid until the
     * section ends; to keep using the owner after that, take the owner's own reference (a count,
     * a pcq put) inside the section. No lock, no allocation, no write to shared memory.
     *
     * @throws IllegalStateException with {@code -ea}, outside a section of the domain
     */
    @SuppressWarnings("unchecked")
    public Pcb<T> lookup(int localAddress, int localPort, int remoteAddress, int remotePort) {
        if (CHECKS && !domain.inSection()) {
            throw new IllegalStateException("PcbTable.lookup() outside a section of domain '" + domain.name()
                    + "': the PCB could be reclaimed while in use; enter a section first");
        }
        // (a) then (b), both acquire: the order the connect argument needs (overview).
        final Pcb<?>[] byPort = laWild(localPort & mask);
        final Pcb<?>[] byTuple = laExact(exactIndex(localAddress, localPort, remoteAddress, remotePort));
        return (Pcb<T>) select(byPort, byTuple, localAddress, localPort, remoteAddress, remotePort);
    }

    /**
     * The lookup rule over two loaded bucket arrays: the live exact match, else the best live
     * wildcard. A removed PCB is followed to its successor (the PCB connect replaced it with),
     * which is returned if it matches the 4-tuple exactly; otherwise it is skipped.
     */
    static Pcb<?> select(Pcb<?>[] byPort, Pcb<?>[] byTuple, int localAddress, int localPort, int remoteAddress,
            int remotePort) {
        for (Pcb<?> p : byTuple) {
            if (p.remoteAddress == remoteAddress && p.remotePort == remotePort && p.localPort == localPort
                    && p.localAddress == localAddress) {
                Pcb<?> live = live(p);
                if (live != null && live.matches(localAddress, localPort, remoteAddress, remotePort)) {
                    return live;
                }
            }
        }
        Pcb<?> any = null;
        for (Pcb<?> p : byPort) {
            if (p.localPort == localPort && (p.localAddress == localAddress || p.localAddress == 0)) {
                Pcb<?> live = live(p);
                if (live == p) {
                    if (p.localAddress == localAddress) {
                        return p;
                    }
                    any = p;
                } else if (live != null && live.matches(localAddress, localPort, remoteAddress, remotePort)) {
                    return live; // connected to this very peer by a connect that raced us
                }
            }
        }
        return any;
    }

    /**
     * {@code p}, or the PCB connect replaced it with (transitively), or null if removed. Each step
     * is an acquire load of the flag, which makes the plain {@code successor} written before it
     * visible. Lock-free: each step follows a connect that has completed its linearization point.
     */
    private static Pcb<?> live(Pcb<?> p) {
        Pcb<?> q = p;
        while (q != null && q.removed()) {
            q = q.successor;
        }
        return q;
    }

    /**
     * The wrong reader for {@code PcbConnectOrderNegativeControl}: probes the exact table before
     * loading the port bucket, the order the overview says must not be used. Not for other uses.
     */
    @SuppressWarnings("unchecked")
    Pcb<T> lookupExactFirstForNegativeControl(int localAddress, int localPort, int remoteAddress, int remotePort) {
        final Pcb<?>[] byTuple = laExact(exactIndex(localAddress, localPort, remoteAddress, remotePort));
        final Pcb<?>[] byPort = laWild(localPort & mask);
        return (Pcb<T>) select(byPort, byTuple, localAddress, localPort, remoteAddress, remotePort);
    }

    /**
     * Every PCB linked now, for monitoring and tests ({@code netstat}). Each port bucket is read
     * under its lock in turn, so the list is exact when no writer runs and otherwise a mix of
     * moments. Allocates; not for the data path.
     */
    @SuppressWarnings("unchecked")
    public List<Pcb<T>> pcbs() {
        List<Pcb<T>> all = new ArrayList<>();
        for (PortBucket bucket : ports) {
            bucket.lock.lock();
            try {
                for (Pcb<?> p : bucket.all) {
                    all.add((Pcb<T>) p);
                }
            } finally {
                bucket.lock.unlock();
            }
        }
        return all;
    }

    /**
     * The PCB bound or connected with exactly this local address and port, or null; at most one
     * exists while binds refuse overlaps. Takes the port bucket's lock; for tests.
     */
    @SuppressWarnings("unchecked")
    Pcb<T> boundTo(int localAddress, int localPort) {
        PortBucket bucket = ports[localPort & mask];
        bucket.lock.lock();
        try {
            for (Pcb<?> p : bucket.all) {
                if (p.localPort == localPort && p.localAddress == localAddress) {
                    return (Pcb<T>) p;
                }
            }
            return null;
        } finally {
            bucket.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PcbTable[" + name + ", domain " + domain.name() + ", " + size() + " PCBs, " + (mask + 1)
                + " buckets, ephemeral " + firstEphemeral + ".." + lastEphemeral + "]";
    }

    // ---- writers' helpers (callers hold the bucket locks named) ----

    /** A PCB of {@code bucket} whose port is {@code port} and whose address overlaps {@code address}. */
    private static Pcb<?> conflict(PortBucket bucket, int address, int port) {
        for (Pcb<?> p : bucket.all) {
            if (p.localPort == port && (p.localAddress == address || p.localAddress == 0 || address == 0)) {
                return p;
            }
        }
        return null;
    }

    /** Creates and links an unconnected PCB; the caller holds {@code bucket.lock}. */
    private Pcb<T> insertUnconnected(PortBucket bucket, int address, int port, T owner) {
        Pcb<T> pcb = new Pcb<>(this, address, port, 0, 0, owner);
        int pi = port & mask;
        bucket.all = with(bucket.all, pcb);
        size.incrementAndGet();
        // Release: publishes pcb's fields, the owner's state written before bind, and the array.
        soWild(pi, with(lpWild(pi), pcb));
        return pcb;
    }

    private void checkOurs(Pcb<T> pcb) {
        if (pcb.table != this) {
            throw new IllegalStateException(pcb + " belongs to " + pcb.table + ", not to " + this);
        }
    }

    /** Under the PCB's port lock, where {@code removed} is written. */
    private static void checkLinked(Pcb<?> pcb) {
        if (pcb.lpRemoved()) {
            throw new IllegalStateException(pcb + " was already removed (by remove, or replaced by connect)");
        }
    }

    private static void checkPort(String what, int port, int min) {
        if (port < min || port > 65535) {
            throw new IllegalArgumentException(what + " " + port + " is outside " + min + "..65535");
        }
    }

    private int nextRandom(int bound) {
        // RandomGenerator implementations are not thread-safe, and binds on different buckets run
        // concurrently; a lock is cheap next to a bind. A seeded generator gives the same ports
        // for the same sequence of binds (the tests rely on it).
        randomLock.lock();
        try {
            return random.nextInt(bound);
        } finally {
            randomLock.unlock();
        }
    }

    private int exactIndex(int localAddress, int localPort, int remoteAddress, int remotePort) {
        // Mixes all four fields (murmur3-style multipliers): many connections to one server port,
        // or from one client address, still spread. No allocation, a few multiplies.
        int h = remoteAddress * 0x9E3779B9;
        h = (h ^ localAddress) * 0x85EBCA6B;
        h = (h ^ (localPort << 16 | remotePort & 0xFFFF)) * 0xC2B2AE35;
        return (h ^ h >>> 15) & mask;
    }

    private static Pcb<?>[] with(Pcb<?>[] array, Pcb<?> pcb) {
        Pcb<?>[] next = Arrays.copyOf(array, array.length + 1);
        next[array.length] = pcb; // plain: published by the caller's release store of the slot
        return next;
    }

    private static Pcb<?>[] without(Pcb<?>[] array, Pcb<?> pcb) {
        for (int i = 0; i < array.length; i++) {
            if (array[i] == pcb) {
                if (array.length == 1) {
                    return EMPTY;
                }
                Pcb<?>[] next = new Pcb<?>[array.length - 1];
                System.arraycopy(array, 0, next, 0, i);
                System.arraycopy(array, i + 1, next, i, array.length - i - 1);
                return next;
            }
        }
        throw new AssertionError(pcb + " is not in its bucket"); // a bug in this class
    }

    // ---- bucket slot accessors (JCTools names: la acquire load, lp plain load, so release store) ----

    /** Acquire load of wild[i]: pairs with soWild. */
    private Pcb<?>[] laWild(int i) {
        return (Pcb<?>[]) WILD.getAcquire(wild, i);
    }

    /** Plain load of wild[i] by a writer holding ports[i].lock: only it stores the slot. */
    private Pcb<?>[] lpWild(int i) {
        return (Pcb<?>[]) WILD.get(wild, i);
    }

    /** Release store of wild[i], under ports[i].lock: publishes the array and the PCBs in it. */
    private void soWild(int i, Pcb<?>[] bucket) {
        WILD.setRelease(wild, i, bucket);
    }

    /** Acquire load of exact[j]: pairs with soExact. */
    private Pcb<?>[] laExact(int j) {
        return (Pcb<?>[]) EXACT.getAcquire(exact, j);
    }

    /** Plain load of exact[j] by a writer holding exactLocks[j]: only it stores the slot. */
    private Pcb<?>[] lpExact(int j) {
        return (Pcb<?>[]) EXACT.get(exact, j);
    }

    /** Release store of exact[j], under exactLocks[j]: publishes the array and the PCBs in it. */
    private void soExact(int j, Pcb<?>[] bucket) {
        EXACT.setRelease(exact, j, bucket);
    }

    /**
     * Options for a {@link PcbTable}.
     *
     * @param <T> the owner's type
     */
    public static final class Builder<T> {
        private final GraceDomain domain;
        private int buckets = DEFAULT_BUCKETS;
        private int firstEphemeral = DEFAULT_FIRST_EPHEMERAL;
        private int lastEphemeral = DEFAULT_LAST_EPHEMERAL;
        private RandomGenerator random;
        private String name = "pcb";

        private Builder(GraceDomain domain) {
            this.domain = Objects.requireNonNull(domain, "domain");
        }

        /**
         * Buckets in each hash table (the port table and the exact table): a power of two,
         * 1..{@value #MAX_BUCKETS}; {@value #DEFAULT_BUCKETS} by default. About the number of
         * PCBs expected keeps buckets at one or two PCBs.
         *
         * @throws IllegalArgumentException otherwise, naming the value and the limit
         */
        public Builder<T> buckets(int buckets) {
            if (buckets < 1 || buckets > MAX_BUCKETS || Integer.bitCount(buckets) != 1) {
                throw new IllegalArgumentException("buckets " + buckets + " is not a power of two in 1.."
                        + MAX_BUCKETS);
            }
            this.buckets = buckets;
            return this;
        }

        /**
         * The ephemeral port range for {@code bind} with port 0, inclusive:
         * {@code 1 <= first <= last <= 65535}; {@value #DEFAULT_FIRST_EPHEMERAL}..{@value
         * #DEFAULT_LAST_EPHEMERAL} by default (IANA, Linux and FreeBSD).
         *
         * @throws IllegalArgumentException otherwise, naming the values and the limits
         */
        public Builder<T> ephemeralPorts(int first, int last) {
            if (first < 1 || first > 65535) {
                throw new IllegalArgumentException("first ephemeral port " + first + " is outside 1..65535");
            }
            if (last < first || last > 65535) {
                throw new IllegalArgumentException("last ephemeral port " + last + " is outside " + first
                        + "..65535 (first " + first + " to 65535)");
            }
            this.firstEphemeral = first;
            this.lastEphemeral = last;
            return this;
        }

        /**
         * The generator for ephemeral ports: a seeded one makes them deterministic (tests). The
         * table uses it under its own lock. By default a {@link SplittableRandom} seeded from
         * {@link SecureRandom}: unpredictable start points across tables and runs, though not a
         * cryptographic stream; pass a {@code SecureRandom} where RFC 6056's off-path attacker
         * is a concern.
         *
         * @throws NullPointerException if {@code random} is null
         */
        public Builder<T> random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /**
         * The protocol's name ({@code "udp"}, {@code "tcp"}), shown by PCBs and in messages;
         * {@code "pcb"} by default.
         *
         * @throws NullPointerException if {@code name} is null
         */
        public Builder<T> name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        public PcbTable<T> build() {
            return new PcbTable<>(this);
        }
    }

    // VarHandle mechanics
    private static final VarHandle WILD = MethodHandles.arrayElementVarHandle(Pcb[][].class);
    private static final VarHandle EXACT = WILD;
}
