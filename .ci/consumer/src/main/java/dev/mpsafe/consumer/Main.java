package dev.mpsafe.consumer;

import dev.mpsafe.epoch.Epoch;
import dev.mpsafe.kcont.Kcont;
import dev.mpsafe.kcont.KcontGroup;
import dev.mpsafe.kcont.Priority;
import dev.mpsafe.pcq.Pcq;
import dev.mpsafe.pserialize.Pserialize;
import dev.mpsafe.smr.SegmentPool;
import dev.mpsafe.smr.Smr;
import dev.mpsafe.smr.SmrPool;
import dev.mpsafe.sync.Protected;
import dev.mpsafe.sync.Section;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ResolvedModule;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Uses mpsafe the way a modular application would, and fails (exception, non-zero exit) on
 * anything unexpected: the module wiring first, then the pcq API, then a small MPSC run.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        String module = checkModule();
        checkSingleThreaded();
        long items = checkProducersAndConsumer();
        String grace = checkGracePeriods();
        String kcont = checkKcont();
        System.out.println("consumer check: OK (" + module + "; pcq: FIFO, full/empty, argument checks, "
                + items + " items from 2 producers; " + grace + "; " + kcont + ")");
    }

    /** pserialize and epoch through the exported API, as a module (membarrier needs native access). */
    private static String checkGracePeriods() {
        Pserialize psz = Pserialize.create("consumer");
        ReentrantLock writers = new ReentrantLock();
        Protected<String> ref = Protected.create(psz, writers, "v1");
        try (Section _ = psz.enter()) { // "_": javac -Xlint:try warns on an unused named resource
            check("v1".equals(ref.load()), "Protected.load() inside a section");
        }
        writers.lock();
        try {
            check("v1".equals(ref.exchange("v2")), "Protected.exchange()");
            psz.perform();
        } finally {
            writers.unlock();
        }
        String reason = Pserialize.asymmetricUnavailableReason();
        check(reason != null || psz.mode() == Pserialize.Mode.ASYMMETRIC,
                "membarrier available but pserialize chose " + psz.mode());
        AtomicBoolean ran = new AtomicBoolean();
        try (Epoch epoch = Epoch.create("consumer")) {
            epoch.call(() -> ran.set(true));
            epoch.barrier();
        }
        check(ran.get(), "an epoch callback did not run by barrier()");
        return "pserialize " + psz.mode() + (reason == null ? "" : " (" + reason + ")") + ", epoch call+barrier, "
                + checkSmr();
    }

    /** kcont: an immediate and a delayed continuation run on a worker thread; drain and close. */
    private static String checkKcont() throws InterruptedException {
        CountDownLatch ran = new CountDownLatch(2);
        try (KcontGroup group = KcontGroup.builder("consumer").workers(1).build()) {
            Kcont now = group.worker(0).kcont("now", Priority.NET, ran::countDown);
            Kcont later = group.worker(0).kcont("later", Priority.CLOCK, ran::countDown);
            check(now.schedule(), "a fresh kcont was already pending");
            check(later.schedule(5, TimeUnit.MILLISECONDS), "a fresh delayed kcont was already pending");
            check(ran.await(10, TimeUnit.SECONDS), "kcont continuations did not run within 10 s");
            now.drain();
        }
        return "kcont schedule, delayed schedule, drain, close";
    }

    /** SMR cookies and both pools: a freed object or segment comes back only after the grace period. */
    private static String checkSmr() {
        Smr smr = Smr.create("consumer", Smr.Mode.LAZY);
        check(smr.mode() == Smr.Mode.LAZY || Smr.lazyUnavailableReason() != null,
                "membarrier available but smr chose " + smr.mode());
        long goal = smr.advance();
        check(smr.poll(goal), "an smr goal with no reader did not pass");
        SmrPool<StringBuilder> pool = SmrPool.<StringBuilder>builder(smr, StringBuilder::new).bucketSize(1).build();
        StringBuilder a = pool.allocate();
        pool.free(a);
        smr.synchronize(); // a grace period now (a LAZY poll alone would wait for the next tick)
        check(pool.allocate() == a, "SmrPool did not reuse a freed object once its goal passed");
        try (SegmentPool segments = SegmentPool.builder(smr, 256).build()) {
            MemorySegment s = segments.allocate();
            s.set(ValueLayout.JAVA_LONG, 0, 42);
            segments.free(s);
            check(segments.stats().freed() == 1, "SegmentPool stats: " + segments.stats());
        }
        return "smr " + smr.mode() + " poll + SmrPool + SegmentPool";
    }

    /** Checks that dev.mpsafe is a real named module in the boot layer, loaded from the expected jar. */
    private static String checkModule() throws Exception {
        Module self = Main.class.getModule();
        check(self.isNamed() && self.getName().equals("dev.mpsafe.consumer"),
                "the consumer must run as the named module dev.mpsafe.consumer, but runs in " + self);

        Module mpsafe = Pcq.class.getModule();
        check(mpsafe.isNamed(), "Pcq was loaded from the class path (unnamed module), not the module path");
        check(mpsafe.getName().equals("dev.mpsafe"), "Pcq is in module " + mpsafe.getName() + ", expected dev.mpsafe");
        check(mpsafe.getLayer() == ModuleLayer.boot(), "dev.mpsafe is not in the boot layer");
        check(self.canRead(mpsafe), "dev.mpsafe.consumer cannot read dev.mpsafe");

        ModuleDescriptor d = mpsafe.getDescriptor();
        check(!d.isAutomatic(), "dev.mpsafe is an automatic module: the jar has no module-info.class");
        check(mpsafe.isExported("dev.mpsafe.pcq"), "dev.mpsafe does not export dev.mpsafe.pcq");
        check(d.exports().stream().filter(e -> e.source().equals("dev.mpsafe.pcq")).noneMatch(ModuleDescriptor.Exports::isQualified),
                "dev.mpsafe exports dev.mpsafe.pcq only to named friends");

        ResolvedModule resolved = ModuleLayer.boot().configuration().findModule("dev.mpsafe")
                .orElseThrow(() -> new IllegalStateException("dev.mpsafe is not resolved in the boot layer"));
        URI location = resolved.reference().location()
                .orElseThrow(() -> new IllegalStateException("dev.mpsafe has no location"));
        Path jar = Path.of(location);
        check(Files.isRegularFile(jar), "dev.mpsafe was not loaded from a jar but from " + jar);
        String expected = System.getProperty("mpsafe.expected.jar");
        if (expected != null && !expected.isEmpty()) {
            check(Files.isSameFile(jar, Path.of(expected)),
                    "dev.mpsafe was loaded from " + jar + ", expected the installed " + expected);
        }

        String requires = d.requires().stream()
                .map(r -> (r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC) ? "static " : "") + r.name())
                .sorted().collect(Collectors.joining(", "));
        String version = d.rawVersion().orElse(null);
        String expectedVersion = System.getProperty("mpsafe.expected.version");
        if (version != null && expectedVersion != null && !expectedVersion.isEmpty()) {
            check(version.equals(expectedVersion),
                    "dev.mpsafe has module version " + version + ", expected " + expectedVersion);
        }
        return "dev.mpsafe module " + (version == null ? "(no version)" : version)
                + ", named, boot layer, requires " + requires
                + ", exports " + d.exports().stream().map(ModuleDescriptor.Exports::source).sorted().collect(Collectors.joining(", "))
                + ", from " + jar
                + "; consumer module " + self.getName();
    }

    private static void checkSingleThreaded() {
        Pcq<String> q = Pcq.create(3);
        check(q.maxItems() == 3, "maxItems() = " + q.maxItems() + ", expected 3");
        check(q.size() == 0, "a new queue has size() = " + q.size());
        check(q.get() == null, "get() on an empty queue did not return null");
        check(q.put("a") && q.put("b") && q.put("c"), "put() refused an item below capacity");
        check(q.size() == 3, "size() = " + q.size() + " after 3 puts");
        check(!q.put("d"), "put() into a full queue returned true");
        check("a".equals(q.get()), "get() is not FIFO (expected a)");
        check(q.put("d"), "put() failed after get() freed a slot");
        check("b".equals(q.get()) && "c".equals(q.get()) && "d".equals(q.get()), "get() is not FIFO (expected b, c, d)");
        check(q.get() == null && q.size() == 0, "queue not empty after taking everything out");

        expect(IllegalArgumentException.class, () -> Pcq.create(0), "create(0)");
        expect(IllegalArgumentException.class, () -> Pcq.create(-1), "create(-1)");
        expect(NullPointerException.class, () -> q.put(null), "put(null)");
    }

    /** Two producer threads against the one consumer thread: nothing lost, nothing duplicated, per-producer FIFO. */
    private static long checkProducersAndConsumer() throws InterruptedException {
        final int perProducer = 200_000;
        final int producers = 2;
        Pcq<Long> q = Pcq.create(64);
        Thread[] threads = new Thread[producers];
        for (int p = 0; p < producers; p++) {
            final long base = (long) p << 32;
            threads[p] = Thread.ofPlatform().name("producer-" + p).start(() -> {
                for (long i = 0; i < perProducer; i++) {
                    Long item = base | i;
                    while (!q.put(item)) {
                        Thread.onSpinWait();
                    }
                }
            });
        }
        long[] next = new long[producers];
        long received = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (received < (long) producers * perProducer) {
            Long item = q.get();
            if (item == null) {
                check(System.nanoTime() < deadline, "timed out after " + received + " items");
                Thread.onSpinWait();
                continue;
            }
            int p = (int) (item >>> 32);
            long seq = item & 0xffff_ffffL;
            check(p >= 0 && p < producers, "unknown producer in item " + item);
            check(seq == next[p], "producer " + p + ": got item " + seq + ", expected " + next[p]);
            next[p]++;
            received++;
        }
        for (Thread t : threads) {
            t.join();
        }
        check(q.get() == null && q.size() == 0, "items left over after all were received");
        return received;
    }

    private static void expect(Class<? extends Throwable> type, Runnable action, String what) {
        try {
            action.run();
        } catch (Throwable t) {
            check(type.isInstance(t), what + " threw " + t + ", expected " + type.getSimpleName());
            return;
        }
        throw new IllegalStateException(what + " did not throw " + type.getSimpleName());
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException("consumer check FAILED: " + message);
        }
    }
}
