/**
 * The webhook route a user would write by hand in an afternoon (issue 19's contender), in its own
 * process: Express 5, `express.urlencoded({ extended: false, limit: "20mb" })`, Mandrill's signature
 * (HMAC-SHA1 over the URL + form pairs sorted by name, compared with timingSafeEqual), `JSON.parse`,
 * then ONE better-sqlite3 transaction (WAL, synchronous=FULL, so the 200 follows a durable commit):
 * `INSERT OR IGNORE` of every event (unique on account, _id, event, ts) and an upsert into a
 * suppressions table for hard bounces, spam, unsubscribes and rejects; `res.sendStatus(200)`.
 *
 * Written to be fast, not to lose: statements prepared once, one transaction per batch, no logging.
 * Environment: DB_FILE, WEBHOOK_KEY, PUBLIC_URL (the registered Callback URL is PUBLIC_URL + the path).
 * Prints one JSON line `{ "port": N }` once listening; stops on SIGTERM.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import express from "express";

const file = process.env.DB_FILE;
const key = process.env.WEBHOOK_KEY;
const publicUrl = process.env.PUBLIC_URL;
if (file === undefined || key === undefined || publicUrl === undefined) {
  throw new Error("hand-rolled-server needs DB_FILE, WEBHOOK_KEY and PUBLIC_URL");
}

const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(`
  CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,
    account     TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    email       TEXT,
    payload     TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (account, message_id, event, ts)
  );
  CREATE TABLE IF NOT EXISTS suppressions (
    account    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account, email)
  );
`);
const insertEvent = db.prepare(
  "INSERT OR IGNORE INTO events (account, message_id, event, ts, email, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
);
const upsertSuppression = db.prepare(
  `INSERT INTO suppressions (account, email, reason, updated_at) VALUES (?, ?, ?, ?)
   ON CONFLICT (account, email) DO UPDATE SET reason = excluded.reason, updated_at = excluded.updated_at`,
);
const SUPPRESSING = new Set(["hard_bounce", "spam", "unsub", "reject"]);

interface MandrillEvent {
  event: string;
  _id: string;
  ts: number;
  msg?: { email?: string };
}

const store = db.transaction((account: string, events: MandrillEvent[], now: number) => {
  for (const e of events) {
    const email = e.msg?.email?.toLowerCase() ?? null;
    insertEvent.run(account, e._id, e.event, e.ts, email, JSON.stringify(e), now);
    if (email !== null && SUPPRESSING.has(e.event)) upsertSuppression.run(account, email, e.event, now);
  }
});

function signatureOf(url: string, form: Record<string, string>): string {
  const hmac = createHmac("sha1", key as string);
  hmac.update(url);
  for (const name of Object.keys(form).sort()) hmac.update(name + form[name]);
  return hmac.digest("base64");
}

const app = express();
app.post(
  "/webhooks/mandrill/:account",
  express.urlencoded({ extended: false, limit: "20mb" }),
  (req, res) => {
    const form = req.body as Record<string, string>;
    const given = Buffer.from(req.get("x-mandrill-signature") ?? "");
    const expected = Buffer.from(signatureOf(publicUrl + req.originalUrl, form));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.sendStatus(401);
      return;
    }
    const events = JSON.parse(form.mandrill_events ?? "[]") as MandrillEvent[];
    store(String(req.params.account), events, Date.now());
    res.sendStatus(200);
  },
);

const server = app.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => {
    db.close();
    process.exit(0);
  });
  server.closeIdleConnections();
});
