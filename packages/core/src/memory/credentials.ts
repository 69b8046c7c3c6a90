/** The in-memory `credentials` repository. */
import { requireAccountId } from "../account-id.js";
import { checkCredentialWrite, checkExpectedVersion } from "../adapter/credentials.js";
import { afterKey, pageLimit } from "../adapter/paging.js";
import type { CredentialPutOptions, CredentialRecord, CredentialRepository, PageOptions } from "../store.js";
import { byText, clone, type MemoryRun, type MemoryState, pageOf } from "./state.js";

export function memoryCredentials(state: MemoryState, run: MemoryRun): CredentialRepository {
  const { credentials } = state;
  return {
    get: (account) =>
      run("credentials.get", () => {
        const record = credentials.get(requireAccountId(account));
        return record === undefined ? undefined : clone(record);
      }),
    put: (account, write, options: CredentialPutOptions = {}) =>
      run("credentials.put", () => {
        requireAccountId(account);
        checkCredentialWrite(write);
        const existing = credentials.get(account);
        const current = existing?.version ?? 0;
        checkExpectedVersion(account, options.expectedVersion, current);
        const at = options.at ?? Date.now();
        const record: CredentialRecord = {
          account,
          version: current + 1,
          settings: clone(write.settings),
          secrets: { ...write.secrets },
          createdAt: existing?.createdAt ?? at,
          updatedAt: at,
        };
        credentials.set(account, record);
        return clone(record);
      }),
    delete: (account) => run("credentials.delete", () => credentials.delete(requireAccountId(account))),
    list: (options: PageOptions = {}) =>
      run("credentials.list", () => {
        const limit = pageLimit(options);
        const after = afterKey(options);
        const items = [...credentials.values()]
          .filter((r) => after === null || r.account > after)
          .sort((a, b) => byText(a.account, b.account));
        return pageOf(items, limit, (r) => [r.account]);
      }),
  };
}
