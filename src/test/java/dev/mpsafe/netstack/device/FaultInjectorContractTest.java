package dev.mpsafe.netstack.device;

/** The device contract through a {@link FaultInjector} with every rate 0 (it must be transparent). */
class FaultInjectorContractTest extends DeviceContractTest {
    @Override
    Fixture open(String name, int mtu, int capacity) {
        LinkPair link = LinkPair.create(name, mtu, capacity);
        FaultInjector a = FaultInjector.builder(link.a()).seed(1).build();
        return new Fixture(a, link.b(), () -> {
            a.close();
            link.close();
        });
    }
}
