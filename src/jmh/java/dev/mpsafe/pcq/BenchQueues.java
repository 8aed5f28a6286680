package dev.mpsafe.pcq;

import java.util.AbstractQueue;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
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
            case "pcqRelaxed" -> new RelaxedPcq<>(Pcq.create(capacity));
            case "jctoolsRelaxed" -> new RelaxedMpsc<>(new MpscArrayQueue<>(capacity));
            default -> throw new IllegalArgumentException("unknown queue '" + name + "'; known: "
                    + String.join(", ", NAMES));
        };
    }

    /**
     * pcq with {@code poll()} mapped to {@link Pcq#relaxedGet()}: the consumer may see null while
     * the oldest slot's producer is between its claim and its write. Benchmark-only adapter; the
     * extra call is monomorphic and inlined.
     */
    static final class RelaxedPcq<E> extends AbstractQueue<E> {
        private final Pcq<E> q;

        RelaxedPcq(Pcq<E> q) {
            this.q = q;
        }

        @Override
        public boolean offer(E e) {
            return q.put(e);
        }

        @Override
        public E poll() {
            return q.relaxedGet();
        }

        @Override
        public E peek() {
            return q.relaxedPeek();
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

    /** JCTools' peer of {@link RelaxedPcq}: {@code poll()} mapped to {@code relaxedPoll()}. */
    static final class RelaxedMpsc<E> extends AbstractQueue<E> {
        private final MpscArrayQueue<E> q;

        RelaxedMpsc(MpscArrayQueue<E> q) {
            this.q = q;
        }

        @Override
        public boolean offer(E e) {
            return q.offer(e);
        }

        @Override
        public E poll() {
            return q.relaxedPoll();
        }

        @Override
        public E peek() {
            return q.relaxedPeek();
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
