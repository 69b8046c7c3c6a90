/** The SQLite `sends` repository. */
import type { SendRecordInput, SendRepository } from "@mandrill-kit/core";
import {
  beforeSeq,
  normalizeSendRecord,
  page,
  pageLimit,
  type SendRow,
  sendListEmail,
  toSend,
} from "@mandrill-kit/core/adapter";
import type { SqliteContext } from "./connection.js";

export function sqliteSends({ db, run, bookkeeping }: SqliteContext): SendRepository {
  const sql = {
    insert:
      db.prepare(`INSERT INTO sends (account, email, status, message_id, reject_reason, transport, correlation_id, subject, at)
      VALUES (@account, @email, @status, @messageId, @rejectReason, @transport, @correlationId, @subject, @at)`),
    byMessageId: db.prepare<[string], SendRow>(
      "SELECT * FROM sends WHERE message_id = ? ORDER BY seq DESC LIMIT 1",
    ),
    list: db.prepare<[string, number, number], SendRow>(
      "SELECT * FROM sends WHERE account = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ),
    listEmail: db.prepare<[string, string, number, number], SendRow>(
      "SELECT * FROM sends WHERE account = ? AND email = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ),
  };
  const recordTx = db.transaction((rows: ReturnType<typeof normalizeSendRecord>[]) => {
    for (const row of rows) sql.insert.run(row);
  });

  return {
    record: (entries: readonly SendRecordInput[]) =>
      run("sends.record", () => {
        const rows = entries.map(normalizeSendRecord);
        // Send records map Mandrill ids back to accounts; the mail itself is already out, and losing the
        // last records to a power cut loses correlation, not mail: no fsync per send.
        bookkeeping(() => recordTx.immediate(rows));
      }),
    findByMessageId: (messageId) =>
      run("sends.findByMessageId", () => {
        const row = sql.byMessageId.get(messageId);
        return row === undefined ? undefined : toSend(row);
      }),
    list: (account, query = {}) =>
      run("sends.list", () => {
        const limit = pageLimit(query);
        const before = beforeSeq(query);
        const email = sendListEmail(query);
        if (email === null) return { items: [], next: null };
        const rows =
          email === undefined
            ? sql.list.all(account, before, limit + 1)
            : sql.listEmail.all(account, email, before, limit + 1);
        return page(rows.map(toSend), limit, (s) => [s.seq]);
      }),
  };
}
