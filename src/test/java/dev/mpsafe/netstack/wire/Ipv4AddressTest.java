package dev.mpsafe.netstack.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.Inet4Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The int form of IPv4 addresses against the JDK's own parsing of dotted quads. */
class Ipv4AddressTest {

    @Test
    void convertsToAndFromInet4AddressAsTheJdkReadsTheSameText() throws Exception {
        for (String text : new String[] {"0.0.0.0", "10.0.0.1", "192.0.2.255", "255.255.255.255", "128.1.2.3"}) {
            Inet4Address jdk = (Inet4Address) InetAddress.getByName(text); // a literal: no lookup
            int ours = Ipv4Address.parse(text);
            assertEquals(ours, Ipv4Address.of(jdk), text);
            assertEquals(jdk, Ipv4Address.toInetAddress(ours), text);
            assertEquals(text, Ipv4Address.format(ours));
        }
    }
}
