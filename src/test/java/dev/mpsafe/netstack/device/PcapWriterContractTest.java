package dev.mpsafe.netstack.device;

import java.util.concurrent.atomic.AtomicLong;

/** The device contract through a {@link PcapWriter} on each end of a {@link LinkPair}. */
class PcapWriterContractTest extends DeviceContractTest {
    @Override
    Fixture open(String name, int mtu, int capacity) {
        LinkPair link = LinkPair.create(name, mtu, capacity);
        AtomicLong clock = new AtomicLong();
        PcapWriter a = PcapWriter.open(link.a(), dir.resolve("a.pcap"), clock::incrementAndGet,
                PcapWriter.Resolution.NANOSECONDS);
        PcapWriter b = PcapWriter.open(link.b(), dir.resolve("b.pcap"), clock::incrementAndGet,
                PcapWriter.Resolution.MICROSECONDS);
        return new Fixture(a, b, () -> {
            a.close();
            b.close();
        });
    }
}
