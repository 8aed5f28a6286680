package dev.mpsafe.netstack.device;

/** The device contract over a {@link Loopback}: it receives what it sends. */
class LoopbackContractTest extends DeviceContractTest {
    @Override
    Fixture open(String name, int mtu, int capacity) {
        Loopback lo = Loopback.create(name, mtu, capacity);
        return new Fixture(lo, lo, lo);
    }
}
