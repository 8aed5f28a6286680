package dev.mpsafe.netstack.ip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile packets of {@link Ipv4StackTest#hostile()} are what they claim to be, in the eyes of
 * a decoder we did not write: written to a pcap (link type raw IP), each is decoded by tshark with
 * checksum validation on, and tshark's own dissection shows the flaw the stack counts it for (a
 * bad checksum, a bogus header length, a fragment, a truncated message...). The stack test
 * then shows each is exactly one counted drop; together they close the "a Java generator
 * whose packets tshark confirms".
 */
class HostileTsharkTest {

    @TempDir
    Path dir;

    /** What tshark must show for each hostile packet (a regex over its verbose dissection of the frame). */
    static Map<String, String> expectations() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("empty", "Frame Length: 0 bytes[\\s\\S]*Malformed Packet");
        m.put("truncated header (19 bytes)", "Malformed Packet: IPv4");
        m.put("version 6", "Version: 6");
        m.put("IHL 4", "Bogus IP header length \\(16, must be at least 20\\)");
        m.put("IHL 0", "Bogus IP header length \\(0, must be at least 20\\)");
        m.put("IHL 15 past a 40-byte buffer", "Malformed Packet: IPv4");
        m.put("total length above the buffer", "IPv4 total length exceeds packet length \\(84 bytes\\)");
        m.put("total length below the header", "Total Length: 12 bytes \\(bogus, less than header length 20\\)");
        m.put("bad IPv4 checksum", "Header checksum status: Bad");
        m.put("option running past the header", "option length = 12 bytes says option goes past end of options");
        m.put("option of length 1", "too-short option length = 1 byte");
        m.put("first fragment (MF)", "More fragments: Set");
        m.put("last fragment (offset 64)", "Fragment Offset: 64\\b");
        m.put("overlapping fragment (offset 8, MF)", "More fragments: Set[\\s\\S]*Fragment Offset: 8\\b");
        m.put("endless fragment (offset 65528, MF)", "Fragment Offset: 65528");
        m.put("not for us", "Destination Address: 10\\.0\\.0\\.3");
        m.put("multicast destination", "Destination Address: 224\\.0\\.0\\.1");
        m.put("limited broadcast source", "Source Address: 255\\.255\\.255\\.255");
        m.put("ICMP truncated (4 bytes)", "Malformed Packet: ICMP");
        m.put("bad ICMP checksum", "Type: 8 \\(Echo \\(ping\\) request\\)[\\s\\S]*Checksum Status: Bad");
        m.put("ICMP timestamp request (type 13)", "Type: 13 \\(Timestamp request\\)");
        m.put("echo request with code 1", "Type: 8 \\(Echo \\(ping\\) request\\)\\s+Code: 1");
        m.put("unreachable quoting no header", "Type: 3 \\(Destination unreachable\\)[\\s\\S]*Bogus IP version");
        m.put("echo reply", "Type: 0 \\(Echo \\(ping\\) reply\\)");
        m.put("UDP truncated (4 bytes)", "Malformed Packet: UDP");
        m.put("UDP bad checksum", "User Datagram Protocol[\\s\\S]*Checksum Status: Bad");
        m.put("UDP length past the datagram", "Bad length value 200 > IP payload length");
        return m;
    }

    @Test
    void shouldShowTsharkTheFlawOfEveryHostilePacket() throws Exception {
        Path tshark = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "tshark")).filter(Files::isExecutable)
                .findFirst().orElse(null);
        assumeTrue(tshark != null, "tshark is not on PATH: skipped "
                + "(apt-get install -y --no-install-recommends tshark; .ci/run installs it)");
        Map<String, Map.Entry<byte[], Object>> hostile = Ipv4StackTest.hostile();
        Map<String, String> expect = expectations();
        assertEquals(hostile.keySet(), expect.keySet(), "an expectation for every hostile packet");
        Path pcap = dir.resolve("hostile.pcap");
        Files.write(pcap, pcap(hostile.values().stream().map(Map.Entry::getKey).toList()));

        Process p = new ProcessBuilder(tshark.toString(), "-r", pcap.toString(), "-o", "ip.check_checksum:TRUE",
                "-o", "udp.check_checksum:TRUE", "-V").redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        List<String> frames = Stream.of(out.split("(?m)^(?=Frame \\d+:)")).filter(f -> f.startsWith("Frame ")).toList();
        assertEquals(hostile.size(), frames.size(), out);
        List<String> unconfirmed = new ArrayList<>();
        int i = 0;
        for (String name : hostile.keySet()) {
            if (!Pattern.compile(expect.get(name)).matcher(frames.get(i)).find()) {
                unconfirmed.add(name + ":\n" + frames.get(i));
            }
            i++;
        }
        assertTrue(unconfirmed.isEmpty(), "tshark does not show the flaw of:\n" + String.join("\n", unconfirmed));
    }

    /** A pcap (microseconds, link type 101: raw IP) with one record per packet. */
    static byte[] pcap(List<byte[]> packets) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0xA1B2C3D4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(101);
        out.write(h.array());
        int t = 0;
        for (byte[] packet : packets) {
            ByteBuffer r = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            r.putInt(1_700_000_000).putInt(t++).putInt(packet.length).putInt(packet.length);
            out.write(r.array());
            out.write(packet);
        }
        return out.toByteArray();
    }
}
