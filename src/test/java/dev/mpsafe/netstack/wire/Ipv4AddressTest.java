package dev.mpsafe.netstack.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * Only ASCII digits, and no leading zero in a part: "010" is octal 8 to inet_aton, and
     * Character.isDigit let Arabic-Indic digits through ("١٠.0.0.1" parsed as 10.0.0.1).
     */
    @Test
    void refusesNonAsciiDigitsAndLeadingZerosNamingTheInput() {
        for (String bad : new String[] {"\u0661\u0660.0.0.1", "10.0.0.\uFF11", "010.0.0.1", "10.0.0.01", "10.00.0.1",
                "10.0.000.1", "+1.2.3.4", " 1.2.3.4"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ipv4Address.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Ipv4Address.parse("010.0.0.1"));
        assertTrue(e.getMessage().contains("'010' in '010.0.0.1' has a leading zero"), e.getMessage());
        assertEquals(Ipv4Address.of(10, 0, 0, 0), Ipv4Address.parse("10.0.0.0"), "0 itself is no leading zero");
        assertEquals(Ipv4Address.of(100, 0, 20, 1), Ipv4Address.parse("100.0.20.1"));
    }
}
