package dev.mpsafe.netstack.ip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.mpsafe.netstack.buffer.PacketBuffer;
import dev.mpsafe.netstack.buffer.PacketPool;
import dev.mpsafe.netstack.device.LinkPair;
import dev.mpsafe.netstack.wire.Ipv4Address;
import dev.mpsafe.netstack.wire.Ipv4Packet;
import dev.mpsafe.smr.Smr;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The identification field: consecutive datagrams of one (source, destination, protocol) carry
 * consecutive identifications (RFC 6864: no repeat too soon), whichever per-flow counter the hash
 * picks, and flows that hash apart do not advance each other's counters.
 */
class Ipv4IdentificationTest {

    @Test
    void oneFlowCountsUpAndFlowsHashedApartDoNotShareACounter() {
        Smr smr = Smr.create("ident", Smr.Mode.DEFAULT);
        PacketPool pool = PacketPool.create(Smr.create("ident-pool", Smr.Mode.DEFAULT), 2048, 1L << 20);
        try (LinkPair link = LinkPair.create("ident", 1500, 64)) {
            Ipv4Stack stack = Ipv4Stack.builder(smr, pool, RouteTable.create(smr)).clock(() -> 0L).build();
            int ifindex = stack.attach(link.a());
            stack.addAddress(ifindex, Ipv4Address.of(10, 1, 0, 1), 16);
            List<Integer> flowA = new ArrayList<>();
            List<Integer> flowB = new ArrayList<>();
            int a = Ipv4Address.of(10, 1, 0, 2);
            int b = Ipv4Address.of(10, 1, 0, 3);
            for (int i = 0; i < 100; i++) {
                flowA.add(sendAndReadIdentification(stack, link, pool, a));
                if (i % 2 == 0) {
                    flowB.add(sendAndReadIdentification(stack, link, pool, b));
                }
            }
            for (int i = 1; i < flowA.size(); i++) {
                assertEquals((flowA.get(i - 1) + 1) & 0xFFFF, flowA.get(i), "flow A at " + i + ": " + flowA);
            }
            for (int i = 1; i < flowB.size(); i++) {
                assertEquals((flowB.get(i - 1) + 1) & 0xFFFF, flowB.get(i), "flow B at " + i + ": " + flowB);
            }
            assertNotEquals(flowA.get(1), flowB.get(1), "two flows, two counters (this pair hashes apart)");
        }
        pool.checkBalanced();
        pool.close();
    }

    private static int sendAndReadIdentification(Ipv4Stack stack, LinkPair link, PacketPool pool, int to) {
        PacketBuffer p = pool.allocate(Ipv4Stack.HEADROOM);
        p.append(8).fill((byte) 0);
        assertEquals(true, stack.output(0, to, 253, p));
        PacketBuffer[] got = new PacketBuffer[1];
        assertEquals(1, link.b().receive(got, 0, 1));
        try {
            return Ipv4Packet.wrap(got[0].data()).identification();
        } finally {
            got[0].free();
        }
    }
}
