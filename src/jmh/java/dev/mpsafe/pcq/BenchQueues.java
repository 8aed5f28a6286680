package dev.mpsafe.pcq;

import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.jctools.queues.MpscArrayQueue;

/** The queues the pcq benchmarks compare, by the names used in {@code @Param}. */
final class BenchQueues {

    /** Every name {@link #create} accepts, pcq first: the order of the comparison table. */
    static final String[] NAMES = {"pcq", "jctools", "abq", "clq", "netbsd"};

    private BenchQueues() {
    }

    static <E> Queue<E> create(String name, int capacity) {
        return switch (name) {
            case "pcq" -> Pcq.create(capacity);
            case "jctools" -> new MpscArrayQueue<>(capacity);
            case "abq" -> new ArrayBlockingQueue<>(capacity);
            case "clq" -> new ConcurrentLinkedQueue<>(); // unbounded: no back-pressure on producers
            case "netbsd" -> new NetBsdPcq<>(capacity); // holds capacity - 1
            default -> throw new IllegalArgumentException("unknown queue '" + name + "'; known: "
                    + String.join(", ", NAMES));
        };
    }
}
