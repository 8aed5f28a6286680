package dev.mpsafe.netstack.ip;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.smr.Smr;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ThreadLocalRandom;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Seed 003's hand-off on the real receive queue of an MPSAFE socket: the input thread writes a
 * datagram into an off-heap packet buffer with plain stores and puts the buffer on the socket's
 * mailbox (a pcq); a reader that gets the buffer sees every byte and the buffer's length as
 * written, never an earlier use's bytes.
 */
@JCStressTest
@Description("MPSAFE mailbox hand-off: a reader that receives the packet buffer sees the datagram whole "
        + "(both 8-byte words of this round's stamp, and the length). The ordering is the pcq put's "
        + "release store of the slot against the consumer's acquire load; on x86 (TSO) stores are not "
        + "reordered, so the FORBIDDEN outcome can only show on a weakly ordered machine (the ARM CI job).")
@Outcome(id = "1, 16", expect = ACCEPTABLE, desc = "received, whole")
@Outcome(id = "-1, -1", expect = ACCEPTABLE, desc = "not delivered yet")
@Outcome(expect = FORBIDDEN, desc = "received, but stale or partial bytes or length")
@State
public class MailboxHandOffTest {

    static final PacketPool POOL = PacketPool.create(Smr.create("jcstress-mailbox", Smr.Mode.DEFAULT), 256, 32L << 20);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    final DispatchModel.Mailbox mailbox = DispatchModel.of(Dispatch.MPSAFE).newMailbox(4);
    final long stamp = ThreadLocalRandom.current().nextLong();

    @Actor
    public void input() {
        PacketBuffer p = POOL.allocate(0);
        MemorySegment s = p.append(16);
        s.set(LONG, 0, stamp);
        s.set(LONG, 8, ~stamp);
        if (!mailbox.deliver(p)) {
            p.free();
        }
    }

    @Actor
    public void reader(II_Result r) {
        Object item = mailbox.poll();
        if (item == null) {
            r.r1 = -1;
            r.r2 = -1;
            return;
        }
        PacketBuffer p = (PacketBuffer) item;
        MemorySegment s = p.data();
        r.r1 = p.length() == 16 && s.get(LONG, 0) == stamp && s.get(LONG, 8) == ~stamp ? 1 : 0;
        r.r2 = p.length();
        p.free();
    }

    @Arbiter
    public void drain() {
        mailbox.drain(item -> ((PacketBuffer) item).free());
    }
}
