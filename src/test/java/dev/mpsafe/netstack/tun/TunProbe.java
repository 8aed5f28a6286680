package dev.mpsafe.netstack.tun;

/**
 * A main for {@code TunPrivilegeTest}'s child JVMs: tries to open a TUN device and prints the
 * outcome on one line ({@code OPENED name} or {@code EXCEPTION class: message}).
 */
final class TunProbe {

    private TunProbe() {
    }

    public static void main(String[] args) {
        try (Tun tun = Tun.open(args[0])) {
            System.out.println("OPENED " + tun.name());
        } catch (Exception e) {
            System.out.println("EXCEPTION " + e.getClass().getSimpleName() + ": " + e.getMessage());
            if (e.getCause() != null) {
                System.out.println("CAUSE " + e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage());
            }
        }
    }
}
