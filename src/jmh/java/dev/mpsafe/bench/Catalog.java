package dev.mpsafe.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What the comparison runs: one {@link Case} per question a user asks, each a set of JMH runs
 * ({@link Variant}) grouped into series (thread counts), with the baseline every row is divided by.
 * The baseline is always a peer we did not write, or the design ours replaces, measured in the
 * same run.
 */
final class Catalog {

    private Catalog() {
    }

    /** How a figure is read from a run. */
    enum Kind {
        /** The score of each measured iteration: the median over iterations, the CI of their mean. */
        SCORE,
        /** A percentile of every sample ({@code Mode.SampleTime}); its error is the CI over iterations' percentiles. */
        PERCENTILE
    }

    /**
     * One figure of a row.
     *
     * @param name the column title
     * @param key the secondary result to read (an aux counter or a group method), or null for the primary
     * @param kind how to read it
     * @param percentile for {@link Kind#PERCENTILE}: 0..100
     * @param unit the unit to print, or null for JMH's
     * @param plot whether the case's plot shows it
     * @param higherIsBetter the direction of the ratio, or null for the case's
     * @param bound whether each value is a histogram bucket's upper bound (printed "≤ value"; equal
     *     iterations then say nothing about the error)
     */
    record Metric(String name, String key, Kind kind, double percentile, String unit, boolean plot,
            Boolean higherIsBetter, boolean bound) {
        static Metric primary(String name) {
            return new Metric(name, null, Kind.SCORE, Double.NaN, null, true, null, false);
        }

        static Metric secondary(String name, String key, String unit, boolean plot) {
            return new Metric(name, key, Kind.SCORE, Double.NaN, unit, plot, null, false);
        }

        static Metric percentile(String name, double p) {
            return new Metric(name, null, Kind.PERCENTILE, p, null, true, null, false);
        }

        /** The same figure with its ratio in the given direction. */
        Metric better(boolean higher) {
            return new Metric(name, key, kind, percentile, unit, plot, higher, bound);
        }

        /** The same figure, read as a histogram bucket's upper bound. */
        Metric asBound() {
            return new Metric(name, key, kind, percentile, unit, plot, higherIsBetter, true);
        }

        boolean higherIsBetter(Case c) {
            return higherIsBetter == null ? c.higherIsBetter() : higherIsBetter;
        }
    }

    /**
     * One JMH run.
     *
     * @param label the row's name (the scheme or peer)
     * @param benchmark the fully qualified benchmark method (class.method or class.group)
     * @param params JMH {@code @Param} values
     * @param threads the thread count to force, or 0 for the benchmark's own
     * @param threadGroups the group distribution to force ({@code -tg}), or null
     */
    record Variant(String label, String benchmark, Map<String, String> params, int threads, int[] threadGroups) {
    }

    /** Rows measured together, e.g. at one thread count; the baseline is looked up within a series. */
    record Series(String name, List<Variant> variants) {
    }

    /**
     * One question.
     *
     * @param id a short file-name-safe id (plots are named after it)
     * @param title the section title
     * @param question what the case answers, and what one operation is
     * @param higherIsBetter whether a larger first figure is better
     * @param baseline the label of the row the others are divided by, in each series
     * @param metrics the figures; ratios against the baseline are given for each
     * @param series the runs
     */
    record Case(String id, String title, String question, boolean higherIsBetter, String baseline,
            List<Metric> metrics, List<Series> series) {
        int runs() {
            return series.stream().mapToInt(s -> s.variants().size()).sum();
        }

        /** Every distinct row label, in first-seen order. */
        List<String> labels() {
            List<String> labels = new ArrayList<>();
            for (Series s : series) {
                for (Variant v : s.variants()) {
                    if (!labels.contains(v.label())) {
                        labels.add(v.label());
                    }
                }
            }
            return labels;
        }
    }

    /** The grace-period schemes and modes, as the sync benchmarks name them. */
    static final List<String> SCHEMES = List.of("pserializeFenced", "pserializeAsymmetric", "epoch", "smrDefault",
            "smrLazy", "smrDeferred");

    /**
     * Thread counts for the read-side cases: 1 and {@code cpus}; in full mode also the powers of two
     * below {@code cpus}.
     */
    static List<Integer> threadCounts(Compare.Mode mode, int cpus) {
        TreeSet<Integer> counts = new TreeSet<>();
        counts.add(1);
        counts.add(cpus);
        if (mode == Compare.Mode.FULL) {
            for (int t = 2; t < cpus; t *= 2) {
                counts.add(t);
            }
        }
        return List.copyOf(counts);
    }

    /** The curated comparison for a mode on a machine with {@code cpus} processors. */
    static List<Case> cases(Compare.Mode mode, int cpus) {
        boolean full = mode == Compare.Mode.FULL;
        List<Case> cases = new ArrayList<>();

        // Read-side cost: the floor every packet or lookup pays, per scheme and mode, across threads.
        List<String> readPeers = full
                ? List.of("rwlock", "stampedOptimistic", "refcount", "volatileRead", "bareFenced")
                : List.of("rwlock", "stampedOptimistic");
        // Full mode adds the fastest forms of the fence-free schemes: the token form, and for
        // pserialize its exact reader type (docs/sync.md, runs H and J).
        List<String> readForms = full
                ? List.of("pserializeAsymmetricToken", "pserializeAsymmetricExact", "smrLazyToken")
                : List.of();
        List<Series> readSide = new ArrayList<>();
        for (int t : threadCounts(mode, cpus)) {
            List<Variant> vs = new ArrayList<>();
            for (String m : concat(concat(readPeers, SCHEMES), readForms)) {
                vs.add(new Variant(m, "dev.mpsafe.sync.ReadSideCost.OneThread." + m, Map.of(), t, null));
            }
            readSide.add(new Series(t + (t == 1 ? " thread" : " threads"), vs));
        }
        cases.add(new Case("read-side-cost", "Read-side cost",
                "One operation: enter a read section (or take the peer's read protection), read one shared "
                        + "field, leave. No writer. Every reader thread runs the same operation on the same objects.",
                false, "rwlock", List.of(Metric.primary("time")), readSide));

        // Reads while a writer keeps replacing what they read.
        List<Series> rw = new ArrayList<>();
        TreeSet<Integer> readerCounts = new TreeSet<>(List.of(1));
        if (full && cpus > 2) {
            readerCounts.add(cpus - 1);
        }
        for (int readers : readerCounts) {
            List<Variant> vs = new ArrayList<>();
            for (String impl : concat(List.of("rwlock", "stamped"), SCHEMES)) {
                vs.add(new Variant(impl, "dev.mpsafe.sync.ReadWithWriter.rw", Map.of("impl", impl), 0,
                        new int[] {readers, 1}));
            }
            rw.add(new Series(readers + (readers == 1 ? " reader" : " readers") + " + 1 writer", vs));
        }
        cases.add(new Case("read-with-writer", "Read throughput with a concurrent writer",
                "Readers look up an object that one writer keeps replacing (publish, wait for readers, poison "
                        + "the old one, pause about 2 µs). Lookups: all readers together; replacements: the writer.",
                true, "rwlock",
                List.of(Metric.secondary("lookups", "read", null, true),
                        Metric.secondary("replacements", "write", null, false)),
                rw));

        // Grace-period latency: what a writer waits.
        List<Series> latency = new ArrayList<>();
        for (int participants : full ? List.of(0, 1, 2) : List.of(1)) {
            List<Variant> vs = new ArrayList<>();
            for (String impl : concat(List.of("rwlock"), SCHEMES)) {
                vs.add(new Variant(impl, "dev.mpsafe.sync.SynchronizeLatency.synchronize",
                        Map.of("impl", impl, "participants", "" + participants), 0, null));
            }
            latency.add(new Series(participants + (participants == 1 ? " reader" : " readers") + " always inside",
                    vs));
        }
        cases.add(new Case("grace-latency", "Grace-period latency",
                "One operation: a writer's store, then synchronize() (rwlock: take and release the write lock), "
                        + "while reader threads loop enter/read/exit. Sampled: median and 99th percentile. The "
                        + "rwlock writer waits only for the one reader inside and then shuts new readers out; the "
                        + "schemes never stop a reader, so they wait longer and readers pay nothing.",
                false, "rwlock", List.of(Metric.percentile("p50", 50), Metric.percentile("p99", 99)), latency));

        // Many participants: idle virtual threads, each registered by one section.
        List<Series> many = new ArrayList<>();
        List<String> manyImpls = full ? concat(List.of("rwlock"), SCHEMES)
                : List.of("rwlock", "pserializeFenced", "epoch", "smrDefault");
        for (int participants : full ? List.of(1, 100, 10_000) : List.of(1, 10_000)) {
            List<Variant> vs = new ArrayList<>();
            for (String impl : manyImpls) {
                vs.add(new Variant(impl, "dev.mpsafe.sync.ManyParticipants.synchronize",
                        Map.of("impl", impl, "participants", "" + participants), 0, null));
            }
            many.add(new Series(String.format(java.util.Locale.ROOT, "%,d idle virtual thread%s", participants,
                    participants == 1 ? "" : "s"), vs));
        }
        cases.add(new Case("many-participants", "Grace periods with many registered virtual threads",
                "Virtual threads each entered one section (so each holds a registered slot) and now idle "
                        + "outside any section. One operation: a writer's store and synchronize() (rwlock: "
                        + "take and release the write lock). Sampled: median and 99th percentile.",
                false, "rwlock", List.of(Metric.percentile("p50", 50), Metric.percentile("p99", 99)), many));

        // Reclamation throughput and pending garbage.
        List<String> churn = new ArrayList<>(List.of("rwlock", "pserializeFenced"));
        if (full) {
            churn.add("pserializeAsymmetric");
        }
        churn.addAll(List.of("epochSynchronize", "epochCall", "epochCallPoll", "smrDefaultPoll", "smrLazyPoll",
                "smrDeferredPoll", "smrDefaultPool"));
        // ReclamationChurn's maxPending default, and the bucket its SmrPool mark adds (finish()).
        int bound = dev.mpsafe.sync.GraceOptions.DEFAULT_MAX_PENDING;
        int bucket = dev.mpsafe.smr.SmrPool.DEFAULT_BUCKET_SIZE;
        cases.add(new Case("reclamation", "Reclamation throughput and pending garbage",
                "One writer replaces an object and reclaims the old one as fast as it can while a reader thread "
                        + "keeps reading it. Pending: the most replaced objects waiting for reclamation at once "
                        + "(median over iterations; bound " + String.format(java.util.Locale.ROOT, "%,d", bound)
                        + ", and for smrDefaultPool " + String.format(java.util.Locale.ROOT, "%,d", bound + bucket)
                        + ": its mark adds the " + bucket + " objects a writer's bucket holds back).",
                true, "rwlock",
                List.of(Metric.primary("replacements"),
                        Metric.secondary("reader sections", "readerSections", null, false),
                        Metric.secondary("pending high-water", "pendingHighWater", "objects", false).better(false)),
                List.of(series("1 writer + 1 reader", churn, "dev.mpsafe.sync.ReclamationChurn.replace", "impl"))));

        // Pooled and off-heap reuse.
        List<Series> pools = new ArrayList<>();
        for (int t : full ? threadCounts(mode, cpus) : List.of(1)) {
            List<Variant> vs = new ArrayList<>();
            for (String m : List.of("clqPool", "newObject", "smrPool", "smrPoolLocal")) {
                vs.add(new Variant(m, "dev.mpsafe.smr.PoolChurn." + m, Map.of(), t, null));
            }
            pools.add(new Series(t + (t == 1 ? " thread" : " threads"), vs));
        }
        cases.add(new Case("pool-churn", "Object pools: allocate and free",
                "One operation: allocate a 64-byte object, write it, free the one it displaces from a window "
                        + "of 256. smrPool reuses an object only after a grace period; the ConcurrentLinkedQueue "
                        + "free list (clqPool, the baseline) does not wait for readers at all; newObject leaves "
                        + "the old one to the GC.",
                false, "clqPool", List.of(Metric.primary("time")), pools));
        List<Variant> segments = new ArrayList<>();
        for (String m : List.of("arenaShared", "arenaConfined", "segmentPool")) {
            segments.add(new Variant(m, "dev.mpsafe.smr.SegmentChurn." + m, Map.of(), 0, null));
        }
        cases.add(new Case("segment-churn", "Off-heap buffers: obtain and release 2 KiB",
                "One operation: obtain a 2 KiB off-heap buffer another thread could read, write it, release "
                        + "it. arenaShared (the baseline) opens and closes a shared arena per buffer; arenaConfined "
                        + "is only for one thread, shown for scale; segmentPool reuses after a grace period.",
                false, "arenaShared", List.of(Metric.primary("time")), List.of(new Series("1 thread", segments))));

        // pcq against its peers.
        List<String> queues = full ? List.of("abq", "pcq", "jctools", "clq", "netbsd")
                : List.of("abq", "pcq", "jctools", "clq");
        // The relaxed consumers (relaxedGet, JCTools' relaxedPoll) only in the full report.
        List<String> pollers = full
                ? List.of("abq", "pcq", "jctools", "pcqRelaxed", "jctoolsRelaxed", "clq", "netbsd")
                : queues;
        String relaxedNote = full ? " pcqRelaxed and jctoolsRelaxed poll with the relaxed get, which may return "
                + "null while the oldest slot's producer is mid-put; the others are strict." : "";
        cases.add(new Case("pcq-1p1c", "pcq: one producer, one consumer",
                "Items moved from a producer thread to the consumer thread (capacity 1024)." + relaxedNote,
                true, "abq",
                List.of(Metric.secondary("items", "pollsMade", null, true)),
                List.of(series("1P1C", pollers, "dev.mpsafe.pcq.PcqThroughput.p1c1", "impl"))));
        cases.add(new Case("pcq-2p1c", "pcq: two producers, one consumer",
                "As above with two producers; on 2 cores the three threads share them." + relaxedNote,
                true, "abq",
                List.of(Metric.secondary("items", "pollsMade", null, true)),
                List.of(series("2P1C", pollers, "dev.mpsafe.pcq.PcqThroughput.p2c1", "impl"))));
        cases.add(new Case("pcq-burst", "pcq: a 100-item burst to a consumer thread",
                "Time to put 100 items and see the consumer thread take them all.", false, "abq",
                List.of(Metric.primary("time")),
                List.of(series("burst", queues, "dev.mpsafe.pcq.PcqBurstCost.burst", "impl"))));

        // kcont against the JDK's and Netty's schedulers.
        List<String> executors = List.of("stpe", "tpe", "kcont");
        // The score is per task: the benchmark declares @OperationsPerInvocation(BATCH).
        int batch = dev.mpsafe.kcont.KcontImmediate.BATCH;
        cases.add(new Case("kcont-burst", "kcont: immediate work, bursts of " + batch + " tasks",
                "Submit " + batch + " tasks to a worker thread and wait until all ran. One operation is one "
                        + "task, not one burst.", true, "stpe",
                List.of(Metric.primary("tasks")),
                List.of(series("burst", executors, "dev.mpsafe.kcont.KcontImmediate.burst", "impl"))));
        cases.add(new Case("kcont-roundtrip", "kcont: one task's round trip",
                "Submit one task to a worker thread and wait until it ran.", false, "stpe",
                List.of(Metric.primary("time")),
                List.of(series("round trip", executors, "dev.mpsafe.kcont.KcontImmediate.roundTrip", "impl"))));
        cases.add(new Case("kcont-timers", "kcont: arm and cancel a timer",
                "Arm a 10 ms timer and cancel it (TCP's retransmit timer on every segment).", true, "stpe",
                List.of(Metric.primary("arm+cancel")),
                List.of(series("10 ms timer", List.of("stpe", "netty", "kcont"),
                        "dev.mpsafe.kcont.KcontDelayed.scheduleCancel", "impl"))));
        cases.add(new Case("timer-starvation", "Timer starvation under a saturated network class",
                "Seed 004: every worker saturated with NET work while timers re-arm every 1-4 ticks of 1 ms. "
                        + "How late the timers run, in ticks (per 500 ms window; median over iterations). "
                        + "netFirst is NetBSD's order, the baseline; timersFirst is kcont's.",
                false, "netFirst",
                // LatenessHistogram answers with the upper bound of a bucket: exact below 16 ticks, then
                // powers of two (a "1023" is anything from 512 to 1023).
                List.of(Metric.secondary("max lateness", "maxTicks", "ticks", true).asBound(),
                        Metric.secondary("p99 lateness", "p99Ticks", "ticks", true).asBound(),
                        Metric.secondary("timer runs", "timerRuns", "runs", false).better(true)),
                List.of(series("1 ms ticks", List.of("netFirst", "timersFirst"),
                        "dev.mpsafe.kcont.KcontStarvation.saturatedNet", "order"))));
        return List.copyOf(cases);
    }

    /**
     * The cases of {@link #cases} whose id matches {@code only} (a regex, found anywhere in the id),
     * or all of them when {@code only} is null.
     *
     * @throws IllegalArgumentException if {@code only} matches no case; the message lists the ids
     */
    static List<Case> select(Compare.Mode mode, int cpus, String only) {
        List<Case> all = cases(mode, cpus);
        if (only == null) {
            return all;
        }
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(only);
        List<Case> chosen = all.stream().filter(c -> p.matcher(c.id()).find()).toList();
        if (chosen.isEmpty()) {
            throw new IllegalArgumentException("--only '" + only + "' matches no case; the cases are "
                    + all.stream().map(Case::id).toList());
        }
        return chosen;
    }

    private static Series series(String name, List<String> values, String benchmark, String param) {
        List<Variant> vs = new ArrayList<>();
        for (String v : values) {
            Map<String, String> params = new LinkedHashMap<>();
            params.put(param, v);
            vs.add(new Variant(v, benchmark, params, 0, null));
        }
        return new Series(name, vs);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
