package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mpsafe.netstack.wire.Icmpv4Packet;
import dev.mpsafe.netstack.wire.Icmpv4Repr;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.netstack.wire.Ipv4Repr;
import dev.mpsafe.testing.ThreadWaits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The device against the real kernel, each test in its own network namespace (root only; skipped
 * with the reason elsewhere). The kernel is the peer: a packet written to the TUN is an IP packet
 * the kernel receives, and the kernel's own echo reply comes back through a read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunTest {

    static final int KERNEL = Ipv4Address.of(10, 98, 0, 1);
    static final int US = Ipv4Address.of(10, 98, 0, 2);

    NetnsFixture ns;
    Arena arena;
    MemorySegment buffer;

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        ns = NetnsFixture.create();
        arena = Arena.ofShared();
        buffer = arena.allocate(2048);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns != null) {
            String name = ns.name();
            ns.close();
            assertFalse(NetnsFixture.listed(name), "namespace " + name + " left behind");
            arena.close();
        }
    }

    /**
     * The Tun cleaner thread is started on the opening thread before it joins the target
     * namespace: a thread inherits its creator's network namespace, and every Tun here is opened
     * inside a namespace the test made. It used to start on the thread that had joined it, and
     * stayed in that namespace (deleted, but kept alive by the thread) for the life of the JVM.
     */
    @Test
    void shouldRunTheCleanerThreadInTheProcesssOwnNamespace() throws Exception {
        ns.openTun("tun0").close();
        Path tasks = Path.of("/proc/self/task");
        String cleanerTask = null;
        try (var ids = Files.list(tasks)) {
            for (Path task : (Iterable<Path>) ids::iterator) {
                String comm;
                try {
                    comm = Files.readString(task.resolve("comm")).strip();
                } catch (NoSuchFileException gone) {
                    continue; // the thread ended while listing
                }
                if ("mpsafe-tun-cleaner".startsWith(comm) && comm.startsWith("mpsafe-tun-c")) {
                    cleanerTask = task.getFileName().toString(); // comm holds 15 bytes of the name
                }
            }
        }
        assertNotEquals(null, cleanerTask, "no mpsafe-tun-cleaner thread in " + tasks);
        Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/net"));
        Path cleaners = Files.readSymbolicLink(tasks.resolve(cleanerTask).resolve("ns/net"));
        assertEquals(own, cleaners, "the cleaner thread's network namespace");
    }

    @Test
    void shouldResolveNamePatternWhenKernelPicksNumber() throws Exception {
        Tun tun = ns.openTun("mpt%d");
        assertEquals("mpt0", tun.name());
        assertTrue(ns.ip("link", "show", "mpt0").output().contains("mpt0"));
        assertEquals("Tun[mpt0]", tun.toString());
    }

    @Test
    void shouldGetKernelsEchoReplyWhenWritingRequest() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        drain(tun);
        for (int seq = 0; seq < 20; seq++) {
            int size = 13 * seq;
            int length = TunPackets.echoRequest(buffer, US, KERNEL, 0x4242, seq, size);
            tun.write(buffer, 0, length);
            int n = tun.receive(buffer, 2, TimeUnit.SECONDS);
            assertEquals(length, n, "reply length for seq " + seq);
            Ipv4Packet ip = assertInstanceOf(Ipv4Packet.class, Ipv4Packet.check(buffer, 0, n));
            Ipv4Repr header = assertInstanceOf(Ipv4Repr.class, Ipv4Repr.parse(ip));
            assertEquals(KERNEL, header.source());
            assertEquals(US, header.destination());
            Icmpv4Packet icmp = assertInstanceOf(Icmpv4Packet.class, Icmpv4Packet.check(ip.payload()));
            assertEquals(new Icmpv4Repr.EchoReply(0x4242, seq, size), Icmpv4Repr.parse(icmp));
        }
    }

    @Test
    void shouldReturnNoPacketWhenTimeoutPasses() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        drain(tun);
        assertEquals(Tun.NO_PACKET, tun.read(buffer));
        long start = System.nanoTime();
        assertEquals(Tun.NO_PACKET, tun.receive(buffer, 100, TimeUnit.MILLISECONDS));
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMillis >= 95 && tookMillis < 2_000, "receive(100 ms) took " + tookMillis + " ms");
        assertFalse(tun.awaitReadable(0, TimeUnit.MILLISECONDS));
    }

    @Test
    void shouldWakeWaitingReaderWhenClosed() throws Exception {
        Tun tun = ns.openTun("tun0");
        CompletableFuture<Throwable> reader = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name("tun-poll-reader").start(() -> {
            try {
                tun.receive(buffer, -1, TimeUnit.MILLISECONDS); // no timeout
                reader.complete(null);
            } catch (Throwable e) {
                reader.complete(e);
            }
        });
        awaitAsleepInPoll(t); // a close before that would find no waiting reader to wake
        assertFalse(reader.isDone(), "the reader returned without a packet: " + reader.getNow(null));
        long start = System.nanoTime();
        tun.close();
        Throwable thrown = reader.get(5, TimeUnit.SECONDS);
        t.join(5_000);
        assertInstanceOf(AsynchronousCloseException.class, thrown);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2), "close took too long to wake the reader");
        assertFalse(tun.isOpen());
        tun.close(); // idempotent
        assertThrows(ClosedChannelException.class, () -> tun.read(buffer));
        assertThrows(ClosedChannelException.class, () -> tun.write(buffer, 0, 20));
        // the interface went with its only descriptor
        assertFalse(ns.execAllowingFailure(10, "ip", "link", "show", "tun0").exitCode() == 0);
    }

    @Test
    void shouldNameSyscallAndErrnoWhenNameBusy() throws Exception {
        ns.openTun("busy0");
        ErrnoException e = assertThrows(ErrnoException.class, () -> ns.openTun("busy0"));
        assertEquals(16, e.errno());
        assertEquals("EBUSY", e.errnoName());
        assertTrue(e.getMessage().startsWith("ioctl(TUNSETIFF, \"busy0\") failed: errno 16 EBUSY (Device or resource busy)"),
                e.getMessage());
    }

    @Test
    void shouldNameErrnoWhenWritingNonIpBytes() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        buffer.fill((byte) 0);
        ErrnoException e = assertThrows(ErrnoException.class, () -> tun.write(buffer, 0, 40));
        assertEquals(22, e.errno());
        assertTrue(e.getMessage().startsWith("write(tun0, 40 bytes) failed: errno 22 EINVAL"), e.getMessage());
    }

    @Test
    void shouldReportBadStateWhenInterfaceDeleted() throws Exception {
        Tun tun = ns.openTun("gone0");
        ns.ip("link", "del", "gone0");
        assertTrue(tun.awaitReadable(1, TimeUnit.SECONDS), "poll should report the error at once");
        ErrnoException e = assertThrows(ErrnoException.class, () -> tun.read(buffer));
        assertEquals(77, e.errno());
        assertTrue(e.getMessage().contains("EBADFD") && e.getMessage().contains("deleted"), e.getMessage());
    }

    @Test
    void shouldRejectHeapBuffersAndBadRanges() throws Exception {
        Tun tun = ns.openTun("tun0");
        MemorySegment heap = MemorySegment.ofArray(new byte[100]);
        assertThrows(IllegalArgumentException.class, () -> tun.read(heap));
        assertThrows(IllegalArgumentException.class, () -> tun.write(heap, 0, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> tun.write(buffer, 2040, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> tun.write(buffer, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> tun.read(buffer.asReadOnly()));
    }

    @Test
    void shouldTruncateWhenBufferShorterThanPacket() throws Exception {
        Tun tun = ns.openTun("tun0");
        ns.up("tun0", "10.98.0.1/24");
        drain(tun);
        int length = TunPackets.echoRequest(buffer, US, KERNEL, 1, 1, 200);
        tun.write(buffer, 0, length);
        MemorySegment small = arena.allocate(100);
        assertTrue(tun.awaitReadable(2, TimeUnit.SECONDS));
        int n = tun.read(small);
        assertEquals(100, n, "read into 100 bytes returned " + n + " of " + length);
        assertEquals(Tun.NO_PACKET, tun.read(buffer), "the rest of a truncated packet must not come as another");
    }

    @Test
    void shouldKeepEachFlowOnItsQueueWhenMultiQueue() throws Exception {
        List<Tun> queues = ns.openQueues("mq0", 2);
        assertEquals(2, queues.size());
        assertTrue(queues.stream().allMatch(q -> q.isMultiQueue() && q.name().equals("mq0")));
        ns.up("mq0", "10.98.0.1/24");
        for (Tun q : queues) {
            drain(q);
        }
        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < 2; i++) {
                Tun q = queues.get(i);
                int source = Ipv4Address.of(10, 98, 0, 2 + i);
                int length = TunPackets.echoRequest(buffer, source, KERNEL, 100 + i, round, 32);
                q.write(buffer, 0, length);
                assertEquals(length, q.receive(buffer, 2, TimeUnit.SECONDS), "queue " + i + " round " + round);
                Ipv4Packet ip = (Ipv4Packet) Ipv4Packet.check(buffer, 0, length);
                assertEquals(source, ip.destination(), "queue " + i + " got another flow's reply");
            }
        }
        // the interface stays while one queue is open
        queues.get(0).close();
        assertEquals(0, ns.execAllowingFailure(10, "ip", "link", "show", "mq0").exitCode());
        queues.get(1).close();
        assertFalse(ns.execAllowingFailure(10, "ip", "link", "show", "mq0").exitCode() == 0);
    }

    /**
     * Every close() returns only after both descriptors are closed, a second concurrent one too.
     * A reader blocked in receive is woken by the first close() and then held in flight (by
     * runInFlight: a woken reader leaves within microseconds, too soon to act in between), so the
     * first closer keeps waiting; a second close() meanwhile must wait with it, an interrupt
     * neither ending its wait nor getting lost. Before the fix the second returned at once, with
     * both descriptors, and the interface, still there.
     */
    @Test
    void shouldReturnFromEveryCloseOnlyAfterTheDescriptorsAreClosed() throws Exception {
        Tun tun = ns.openTun("tun0");
        Map<Integer, String> files = files(tun.descriptors());
        assertEquals(List.of("/dev/net/tun", "anon_inode:[eventfd]"), List.copyOf(files.values()));
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Throwable> woken = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().name("tun-reader").start(() -> {
            try {
                tun.runInFlight(() -> {
                    try {
                        tun.receive(buffer, -1, TimeUnit.MILLISECONDS); // no timeout
                        woken.complete(null);
                    } catch (Throwable e) {
                        woken.complete(e);
                    }
                    awaitUninterruptibly(release);
                });
            } catch (ClosedChannelException e) {
                woken.complete(e);
            }
        });
        Closer first;
        Closer second;
        try {
            await(() -> tun.callsInFlight() == 2, "the reader to enter receive inside runInFlight");
            first = new Closer(tun, files, "tun-closer-1");
            assertInstanceOf(AsynchronousCloseException.class, woken.get(10, TimeUnit.SECONDS),
                    "the first close() wakes the reader");
            assertEquals(1, tun.callsInFlight(), "the reader left receive and is held in flight");
            second = new Closer(tun, files, "tun-closer-2");
            // the bug shows as the second close() returning; the fix as it waiting inside close()
            await(() -> second.result.isDone() || second.waitingInClose(), "the second close() to return or wait");
            assertFalse(first.result.isDone(), "the first close() returned while a call was in flight");
            second.thread.interrupt();
        } finally {
            release.countDown(); // a failed assertion above leaves no thread held
        }
        Closer.Outcome secondOutcome = second.result.get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), secondOutcome.stillOpen(), "still open when the second close() returned");
        assertTrue(secondOutcome.interrupted(), "the second closer's interrupt status was lost");
        Closer.Outcome firstOutcome = first.result.get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), firstOutcome.stillOpen(), "still open when the first close() returned");
        assertFalse(firstOutcome.interrupted());
        reader.join(10_000);
        assertFalse(reader.isAlive(), "the reader did not leave");
        tun.close(); // idempotent, after both
        assertNotEquals(0, ns.execAllowingFailure(10, "ip", "link", "show", "tun0").exitCode(),
                "the interface went with its only descriptor");
    }

    /**
     * A Tun dropped without close() has both descriptors closed by its Cleaner once the garbage
     * collector finds it unreachable, and the interface goes with them. Before the fix both stayed
     * open, and the interface stayed, for the life of the JVM.
     */
    @Test
    void shouldCloseTheDescriptorsWhenATunIsDroppedWithoutClose() throws Exception {
        ReferenceQueue<Tun> queue = new ReferenceQueue<>();
        Map<Integer, String> files = new LinkedHashMap<>();
        PhantomReference<Tun> dropped = openAndDrop("leak0", files, queue);
        assertEquals(List.of("/dev/net/tun", "anon_inode:[eventfd]"), List.copyOf(files.values()));
        assertEquals(2, stillOpen(files).size());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        collect(queue, 1, deadline, "a dropped Tun stayed reachable");
        // the Cleaner's thread runs the action after the collector has found the Tun unreachable
        while (!stillOpen(files).isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "descriptors still open 20 s after the Tun was dropped: "
                    + stillOpen(files));
            Thread.yield();
        }
        assertNotEquals(0, ns.execAllowingFailure(10, "ip", "link", "show", "leak0").exitCode(),
                "the interface went with its descriptor");
        Reference.reachabilityFence(dropped);
    }

    /**
     * close() runs the same Cleanable that the Cleaner would, so a Tun collected after close() is
     * not closed again: the Cleaner must not close the numbers, which by then belong to other
     * files. The test holds both numbers with files of its own, drops the closed Tun, waits until
     * the Cleaner can no longer run the Tun's action and has finished any run of it that started,
     * and checks that its own files are still open.
     */
    @Test
    void shouldNotCloseTheNumbersAgainWhenAClosedTunIsCollected() throws Exception {
        /*
         * What the test waits for, and why that suffices (JDK 25 sources: java.lang.ref.Cleaner,
         * jdk.internal.ref.CleanerImpl and PhantomCleanable).
         *
         * 1. A weak reference to the closed Tun's Cleanable is cleared. The Cleaner holds every
         *    registered Cleanable strongly (CleanerImpl.activeList) until clean() removes it; the
         *    only other holders are the Tun (gone) and, while the Cleaner is about to run it, the
         *    collector's pending list and the Cleaner's queue. So it is cleared only once the
         *    Cleanable is off that list: removed by close() (the fix), or by the Cleaner's thread,
         *    which removes it and then, in the same clean() call, runs its action (the bug).
         *    Either way the Cleaner can never start the action after this point.
         * 2. A sentinel action registered on the same Cleaner after step 1 has run. The Cleaner runs
         *    actions on the one thread its factory made (CleanerImpl.run: dequeue one, clean it,
         *    repeat), and that thread could not dequeue the sentinel before it existed, so a run of
         *    the Tun's action that started before step 1 has returned by then. The sentinel
         *    completes a future, which orders those close(2) calls before our reads of
         *    /proc/self/fd.
         * Neither step relies on the order in which the Cleaner dequeues: its ReferenceQueue is a
         * LIFO stack, and the Reference Handler thread enqueues on its own time. Watching for the
         * Cleaner's thread to go idle, as this test did, could see it idle before the Reference
         * Handler had enqueued the Tun's Cleanable, and pass without the Cleaner having run.
         */
        ReferenceQueue<Cleaner.Cleanable> queue = new ReferenceQueue<>();
        Map<Integer, String> closedFiles = new LinkedHashMap<>();
        WeakReference<Cleaner.Cleanable> cleanable = openCloseAndDrop("closed0", closedFiles, queue);
        int[] numbers = closedFiles.keySet().stream().mapToInt(Integer::intValue).toArray();
        List<Integer> held = holdNumbers(closedFiles.keySet());
        try {
            Map<Integer, String> ours = files(numbers);
            assertEquals(List.of("/dev/null", "/dev/null"), List.copyOf(ours.values()), "the test holds the numbers");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            collect(queue, 1, deadline, "the closed Tun's Cleanable stayed strongly reachable");
            Reference.reachabilityFence(cleanable); // a WeakReference collected itself is never enqueued
            String ranOn = runSentinelOnTheCleaner(deadline);
            assertEquals("mpsafe-tun-cleaner", ranOn, "the sentinel ran on another thread than the Tun's actions");
            assertEquals(ours, files(numbers),
                    "the Cleaner closed numbers that close() had already closed, and the test's files had taken");
        } finally {
            for (int fd : held) {
                // a number the bug closed may have gone to a file of the JVM's since: leave it be
                if (files(fd).get(fd).equals("/dev/null")) {
                    LinuxCalls.close(fd);
                }
            }
        }
    }

    /**
     * Opens a Tun in the namespace, not through the fixture (which would keep it reachable),
     * records its descriptors' files, and returns only a phantom reference: once this frame is
     * gone nothing holds the Tun.
     */
    private PhantomReference<Tun> openAndDrop(String ifname, Map<Integer, String> files, ReferenceQueue<Tun> queue)
            throws IOException {
        Tun tun = Tun.open(ifname, ns.path());
        files.putAll(files(tun.descriptors()));
        return new PhantomReference<>(tun, queue);
    }

    /**
     * As {@link #openAndDrop}, but closes the Tun first, and returns a weak reference to its
     * Cleanable (see {@link Tun#cleanable()}) instead of a reference to the Tun.
     */
    private WeakReference<Cleaner.Cleanable> openCloseAndDrop(String ifname, Map<Integer, String> files,
            ReferenceQueue<Cleaner.Cleanable> queue) throws IOException {
        Tun tun = Tun.open(ifname, ns.path());
        files.putAll(files(tun.descriptors()));
        tun.close();
        assertEquals(List.of(), stillOpen(files), "close() left descriptors open");
        return new WeakReference<>(tun.cleanable(), queue);
    }

    /**
     * Registers an action for a fresh object on the Tuns' Cleaner, drops the object, and runs
     * System.gc() until the action has run; returns the name of the thread that ran it.
     */
    private static String runSentinelOnTheCleaner(long deadline) throws InterruptedException, ExecutionException {
        CompletableFuture<String> ran = new CompletableFuture<>();
        registerSentinel(ran);
        while (!ran.isDone()) {
            assertTrue(System.nanoTime() < deadline, "the Cleaner did not run a dropped sentinel's action within 20 s");
            System.gc();
            try {
                ran.get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // not yet: collect again
            }
        }
        return ran.join();
    }

    /** Registers the sentinel in a frame of its own, so that nothing on the caller's stack holds the object. */
    private static void registerSentinel(CompletableFuture<String> ran) {
        Tun.cleaner().register(new Object(), () -> ran.complete(Thread.currentThread().getName()));
    }

    /** Runs System.gc() until {@code count} references have been enqueued on {@code queue}; fails with {@code what}. */
    private static void collect(ReferenceQueue<?> queue, int count, long deadline, String what)
            throws InterruptedException {
        int enqueued = 0;
        while (enqueued < count) {
            assertTrue(System.nanoTime() < deadline, what + " through 20 s of System.gc()");
            System.gc();
            if (queue.remove(100) != null) { // waits for the collector's verdict, at most 100 ms
                enqueued++;
            }
        }
    }

    /**
     * Opens /dev/null until this process holds every number in {@code numbers} (open(2) returns
     * the lowest free number); returns all it opened, for the caller to close.
     */
    private static List<Integer> holdNumbers(Collection<Integer> numbers) {
        int highest = numbers.stream().mapToInt(Integer::intValue).max().orElseThrow();
        List<Integer> opened = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment devNull = a.allocateFrom("/dev/null");
            while (opened.isEmpty() || opened.getLast() < highest) {
                int fd = LinuxCalls.open(devNull, LinuxCalls.O_RDONLY | LinuxCalls.O_CLOEXEC);
                assertTrue(fd >= 0, "open(/dev/null) failed: errno " + LinuxCalls.errno());
                opened.add(fd);
            }
        }
        return opened;
    }

    /**
     * What each descriptor refers to now, as /proc/self/fd shows it ("/dev/net/tun",
     * "anon_inode:[eventfd]"), or "(closed)".
     */
    private static Map<Integer, String> files(int... fds) throws IOException {
        Map<Integer, String> files = new LinkedHashMap<>();
        for (int fd : fds) {
            try {
                files.put(fd, Files.readSymbolicLink(Path.of("/proc/self/fd", Integer.toString(fd))).toString());
            } catch (NoSuchFileException e) {
                files.put(fd, "(closed)");
            }
        }
        return files;
    }

    /**
     * The descriptors of {@code files} that still refer to the file recorded for them ("7 ->
     * /dev/net/tun"). A number the kernel gave to another file since counts as closed.
     */
    private static List<String> stillOpen(Map<Integer, String> files) {
        List<String> open = new ArrayList<>();
        files.forEach((fd, file) -> {
            try {
                if (Files.readSymbolicLink(Path.of("/proc/self/fd", Integer.toString(fd))).toString().equals(file)) {
                    open.add(fd + " -> " + file);
                }
            } catch (NoSuchFileException closed) {
                // closed, and not reused
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return open;
    }

    /**
     * A thread that closes a Tun, then lists which of its descriptors are still open, and says
     * whether its interrupt status is set.
     */
    private static final class Closer {
        record Outcome(List<String> stillOpen, boolean interrupted) {}

        final CompletableFuture<Outcome> result = new CompletableFuture<>();
        final Thread thread;

        Closer(Tun tun, Map<Integer, String> files, String name) {
            thread = Thread.ofPlatform().name(name).start(() -> {
                try {
                    tun.close();
                    result.complete(new Outcome(stillOpen(files), Thread.currentThread().isInterrupted()));
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            });
        }

        /** Whether the thread is parked inside Tun.close(). */
        boolean waitingInClose() {
            return ThreadWaits.isIn(thread, Tun.class, "close", Thread.State.WAITING, Thread.State.TIMED_WAITING);
        }
    }

    /**
     * Waits until {@code t} sleeps in poll(2): inside {@link LinuxCalls#poll} (a native call, which
     * the JVM shows as RUNNABLE) and asleep in the kernel (state S in /proc/self/task/TID/stat).
     * The frame alone would also hold for the instants before the system call starts. Returns
     * early if {@code t} ends (the caller's assertion on what it returned decides); fails after
     * {@link ThreadWaits#TIMEOUT_S}. {@code t}'s name must be unique in this process and fit the
     * kernel's 15-byte thread name (comm), by which its task is found.
     */
    private static void awaitAsleepInPoll(Thread t) throws Exception {
        assertTrue(t.getName().length() <= 15, "the kernel keeps 15 bytes of a thread name: " + t.getName());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ThreadWaits.TIMEOUT_S);
        while (t.isAlive()) {
            boolean inPoll = ThreadWaits.isIn(t, LinuxCalls.class, "poll", Thread.State.RUNNABLE);
            char kernel = kernelState(t.getName());
            if (inPoll && kernel == 'S') {
                return;
            }
            assertTrue(System.nanoTime() - deadline < 0, "waited " + ThreadWaits.TIMEOUT_S + " s for "
                    + t.getName() + " to sleep in poll(2); kernel state " + kernel + ", " + ThreadWaits.stackOf(t));
            Thread.sleep(1); // polls a condition (a stack frame and a kernel state) that has no signal to wait on
        }
    }

    /** The kernel's state letter (R running, S sleeping...) of the thread whose comm is {@code name}; '?' if none. */
    private static char kernelState(String name) throws IOException {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(task.resolve("comm")).strip().equals(name)) {
                        String stat = Files.readString(task.resolve("stat")); // "tid (comm) S ..."
                        return stat.charAt(stat.lastIndexOf(')') + 2);
                    }
                } catch (NoSuchFileException gone) {
                    // the thread ended while listing
                }
            }
        }
        return '?';
    }

    /** Waits up to 10 s for {@code condition}, failing with {@code what} if it never holds. */
    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "waited 10 s for " + what);
            Thread.yield();
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads whatever the kernel queued while the link came up. */
    private void drain(Tun tun) throws Exception {
        while (tun.receive(buffer, 20, TimeUnit.MILLISECONDS) != Tun.NO_PACKET) {
            // discard
        }
    }
}
