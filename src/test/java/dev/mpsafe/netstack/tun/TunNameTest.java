package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Interface names are checked before any call, with messages naming the value and the limit. */
class TunNameTest {

    @Test
    void shouldAcceptFifteenAsciiBytesAndPatterns() {
        assertArrayEquals("abcdefghijklmno".getBytes(StandardCharsets.US_ASCII), Tun.checkName("abcdefghijklmno"));
        Tun.checkName("tun%d");
        Tun.checkName("a");
        Tun.checkName("veth-x_1.2");
    }

    @Test
    void shouldNameLengthAndLimitWhenTooLong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tun.checkName("abcdefghijklmnop"));
        assertEquals("interface name \"abcdefghijklmnop\" is 16 bytes; the limit is 15 (IFNAMSIZ 16 less the NUL)",
                e.getMessage());
    }

    @Test
    void shouldNameCharacterWhenNotAscii() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tun.checkName("tün0"));
        assertEquals("interface name \"tün0\" has character U+00FC at index 1; only printable ASCII without"
                + " spaces (0x21..0x7E) is allowed", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tun.checkName("tun 0"));
        assertThrows(IllegalArgumentException.class, () -> Tun.checkName("tun\n"));
    }

    @Test
    void shouldRefuseWhatLinuxForbids() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tun.checkName("a/b")).getMessage()
                .contains("'/' at index 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tun.checkName("eth0:1")).getMessage()
                .contains("':' at index 4"));
        assertThrows(IllegalArgumentException.class, () -> Tun.checkName("."));
        assertThrows(IllegalArgumentException.class, () -> Tun.checkName(".."));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tun.checkName("")).getMessage()
                .contains("1..15"));
        assertThrows(NullPointerException.class, () -> Tun.checkName(null));
    }

    @Test
    void shouldRefuseBadNameBeforeAnyCall() {
        // no privileges needed: the name is refused before /dev/net/tun is opened
        assertThrows(IllegalArgumentException.class, () -> Tun.open("sixteen-bytes-xx"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tun.openQueues("mq0", 0, null))
                .getMessage().contains("queues is 0, must be 1..256"));
    }
}
