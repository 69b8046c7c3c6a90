/** The in-memory `sends` repository. */
import { beforeSeq, pageLimit } from "../adapter/paging.js";
import { normalizeSendRecord, sendListEmail } from "../adapter/sends.js";
import type { SendRecordInput, SendRepository } from "../store.js";
import { clone, type MemoryRun, type MemoryState, pageOf } from "./state.js";

export function memorySends(state: MemoryState, run: MemoryRun): SendRepository {
  return {
    record: (entries: readonly SendRecordInput[]) =>
      run("sends.record", () => {
        const rows = entries.map(normalizeSendRecord);
        for (const row of rows) state.sends.push({ ...row, seq: ++state.sendSeq });
      }),
    findByMessageId: (messageId) =>
      run("sends.findByMessageId", () => {
        const found = state.sends.findLast((s) => s.messageId === messageId);
        return found === undefined ? undefined : clone(found);
      }),
    list: (account, query = {}) =>
      run("sends.list", () => {
        const limit = pageLimit(query);
        const before = beforeSeq(query);
        const email = sendListEmail(query);
        const items = state.sends
          .filter(
            (s) => s.account === account && s.seq < before && (email === undefined || s.email === email),
          )
          .reverse();
        return pageOf(items, limit, (s) => [s.seq]);
      }),
  };
}
