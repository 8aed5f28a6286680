package dev.mpsafe.pcq;

import java.util.AbstractQueue;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;
import org.jctools.queues.MpscArrayQueue;

/** The queues the pcq benchmarks compare, by the names used in {@code @Param}. */
final class BenchQueues {

    /** Every name {@link #create} accepts, pcq first: the order of the comparison table. */
    static final String[] NAMES = {"pcq", "pcqRelaxed", "jctools", "jctoolsRelaxed", "abq", "clq", "netbsd"};

    private BenchQueues() {
    }

    static <E> Queue<E> create(String name, int capacity) {
        return switch (name) {
            case "pcq" -> Pcq.create(capacity);
            case "jctools" -> new MpscArrayQueue<>(capacity);
            case "abq" -> new ArrayBlockingQueue<>(capacity);
            case "clq" -> new ConcurrentLinkedQueue<>(); // unbounded: no back-pressure on producers
            case "netbsd" -> new NetBsdPcq<>(capacity); // holds capacity - 1
            case "pcqRelaxed" -> {
                Pcq<E> pcq = Pcq.create(capacity);
                yield new RelaxedConsumer<>(pcq, pcq::relaxedGet, pcq::relaxedPeek);
            }
            case "jctoolsRelaxed" -> {
                MpscArrayQueue<E> mpsc = new MpscArrayQueue<>(capacity);
                yield new RelaxedConsumer<>(mpsc, mpsc::relaxedPoll, mpsc::relaxedPeek);
            }
            default -> throw new IllegalArgumentException("unknown queue '" + name + "'; known: "
                    + String.join(", ", NAMES));
        };
    }

    /**
     * A queue whose {@code poll()} and {@code peek()} are the relaxed consumer operations of the
     * queue it wraps ({@link Pcq#relaxedGet()}, JCTools' {@code relaxedPoll()}): they may return
     * null while the oldest slot's producer is between its claim and its write. Benchmark-only;
     * each fork uses one queue kind, so the delegate calls are monomorphic and inlined.
     */
    static final class RelaxedConsumer<E> extends AbstractQueue<E> {
        private final Queue<E> q;
        private final Supplier<E> poll;
        private final Supplier<E> peek;

        RelaxedConsumer(Queue<E> q, Supplier<E> poll, Supplier<E> peek) {
            this.q = q;
            this.poll = poll;
            this.peek = peek;
        }

        @Override
        public boolean offer(E e) {
            return q.offer(e);
        }

        @Override
        public E poll() {
            return poll.get();
        }

        @Override
        public E peek() {
            return peek.get();
        }

        @Override
        public int size() {
            return q.size();
        }

        @Override
        public Iterator<E> iterator() {
            return q.iterator();
        }
    }
}
