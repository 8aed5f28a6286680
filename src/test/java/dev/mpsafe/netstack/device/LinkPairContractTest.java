package dev.mpsafe.netstack.device;

/** The device contract over a {@link LinkPair}: send on one end, receive on the other. */
class LinkPairContractTest extends DeviceContractTest {
    @Override
    Fixture open(String name, int mtu, int capacity) {
        LinkPair link = LinkPair.create(name, mtu, capacity);
        return new Fixture(link.a(), link.b(), link);
    }
}
