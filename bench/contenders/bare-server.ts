/**
 * The floor of webhook ingest, in its own process: a bare `node:http` handler that reads the body,
 * form-decodes it with `URLSearchParams`, `JSON.parse`s `mandrill_events` and answers 200 — no
 * signature, no storage, no framework. Nothing that stores events can be faster than this.
 * Prints one JSON line `{ "port": N }` once listening; stops on SIGTERM.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const events = new URLSearchParams(Buffer.concat(chunks).toString("utf8")).get("mandrill_events") ?? "[]";
    JSON.parse(events);
    res.writeHead(200).end("OK");
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
