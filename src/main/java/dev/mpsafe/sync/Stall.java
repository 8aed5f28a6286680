package dev.mpsafe.sync;

import java.time.Duration;

/**
 * A writer has waited longer than the domain's stall threshold for one reader.
 *
 * @param domain the domain's name
 * @param reader the thread whose section the writer is waiting for
 * @param waited how long the writer had been waiting for that reader when this was reported
 */
public record Stall(String domain, Thread reader, Duration waited) {

    @Override
    public String toString() {
        return "grace period of '" + domain + "' stalled " + waited.toMillis() + " ms by reader thread '"
                + reader.getName() + "' (id " + reader.threadId() + ") still inside its section";
    }
}
