/**
 * The simulator in its own process for benchmarks (Mandrill is not in the sender's process either).
 * Prints one JSON line: { apiUrl, url, smtp: { host, port, ca } }; stops on SIGTERM.
 */
import { startSimulator } from "@mandrill-kit/simulator";

const sim = await startSimulator({
  flushIntervalMs: 60_000,
  acceptAnyKey: (key) => !key.startsWith("invalid"),
});
process.stdout.write(
  `${JSON.stringify({ apiUrl: sim.apiUrl, url: sim.url, smtp: { host: sim.smtp.host, port: sim.smtp.port, ca: sim.smtp.ca } })}\n`,
);
// Keep memory flat over long runs: the outbox and events are not needed here.
const trim = setInterval(() => sim.control.clearRecords(), 2000);
process.on("SIGTERM", () => {
  clearInterval(trim);
  void sim.close().then(() => process.exit(0));
});
