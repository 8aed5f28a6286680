package dev.mpsafe.netstack.tun;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a user without the privileges sees: a child JVM started inside a fresh namespace with
 * {@code setpriv} (util-linux) either as user nobody, or as root without CAP_NET_ADMIN, tries to
 * open a device and prints the exception. Root only (to drop the privileges), like the other
 * namespace tests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunPrivilegeTest {

    NetnsFixture ns;

    @BeforeEach
    void setUp() throws Exception {
        NetnsFixture.assumeAvailable();
        NetnsFixture.assumeCommand("setpriv", "util-linux");
        ns = NetnsFixture.create();
    }

    @AfterEach
    void tearDown() {
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void shouldSayWhatToDoWhenNotRoot() throws Exception {
        String out = probe("--reuid=65534", "--regid=65534", "--clear-groups");
        assertTrue(out.startsWith("EXCEPTION TunUnavailableException: open(\"/dev/net/tun\", O_RDWR) failed: errno 13"
                + " EACCES (Permission denied); a TUN device needs CAP_NET_ADMIN"), out);
        assertTrue(out.contains("run as root") && out.contains("ip tuntap add") && out.contains("setcap")
                && out.contains("ip netns exec"), out);
    }

    @Test
    void shouldSayWhatToDoWhenRootLacksNetAdmin() throws Exception {
        String out = probe("--inh-caps=-net_admin", "--bounding-set=-net_admin");
        assertTrue(out.startsWith("EXCEPTION TunUnavailableException: ioctl(TUNSETIFF, \"probe0\") failed: errno 1"
                + " EPERM (Operation not permitted); a TUN device needs CAP_NET_ADMIN"), out);
        assertTrue(out.contains("CAUSE ErrnoException: ioctl(TUNSETIFF"), out);
    }

    /** Runs {@code TunProbe probe0} under {@code setpriv OPTIONS} inside the namespace. */
    private String probe(String... setprivOptions) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("setpriv"));
        cmd.addAll(List.of(setprivOptions));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xshare:auto");
        cmd.add("-cp");
        // only our own classes: a user without privileges may not read the Maven repository
        cmd.add(classDirectories());
        cmd.add(TunProbe.class.getName());
        cmd.add("probe0");
        return ns.exec(30, cmd.toArray(String[]::new)).output().strip();
    }

    private static String classDirectories() {
        List<String> dirs = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!entry.endsWith(".jar")) {
                dirs.add(entry);
            }
        }
        return String.join(java.io.File.pathSeparator, dirs);
    }
}
