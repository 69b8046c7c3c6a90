/** What the in-memory store keeps, and the helpers its repositories share. */

import { storeClosed } from "../adapter/errors.js";
import { page } from "../adapter/paging.js";
import type {
  CredentialRecord,
  InboxRecord,
  Page,
  QuarantinedBatch,
  SendRecord,
  Suppression,
} from "../store.js";

/** Every table of the memory store. */
export interface MemoryState {
  closed: boolean;
  credentials: Map<string, CredentialRecord>;
  /** By account, then normalised address. */
  suppressions: Map<string, Map<string, Suppression>>;
  /** By {@link inboxKey}. */
  inbox: Map<string, InboxRecord>;
  /** The same records in ingest order. */
  inboxBySeq: InboxRecord[];
  quarantined: QuarantinedBatch[];
  sends: SendRecord[];
  seq: number;
  sendSeq: number;
  quarantineSeq: number;
}

export function createState(): MemoryState {
  return {
    closed: false,
    credentials: new Map(),
    suppressions: new Map(),
    inbox: new Map(),
    inboxBySeq: [],
    quarantined: [],
    sends: [],
    seq: 0,
    sendSeq: 0,
    quarantineSeq: 0,
  };
}

/** Runs one repository method; every method runs synchronously, so each is atomic in one process. */
export type MemoryRun = <T>(what: string, fn: () => T) => Promise<T>;

export function memoryRunner(state: MemoryState): MemoryRun {
  return async (what, fn) => {
    if (state.closed) throw storeClosed("The memory store", what);
    return fn();
  };
}

/** Results are copies: a caller mutating one never changes the store. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A page of copies of the first `limit` of `items`. */
export function pageOf<T>(items: T[], limit: number, cursorOf: (item: T) => (string | number)[]): Page<T> {
  const cut = page(items, limit, cursorOf);
  return { items: cut.items.map(clone), next: cut.next };
}

/** An account's suppressions, created empty when missing. */
export function accountSuppressions(state: MemoryState, account: string): Map<string, Suppression> {
  let map = state.suppressions.get(account);
  if (map === undefined) {
    map = new Map();
    state.suppressions.set(account, map);
  }
  return map;
}

/** Key of an event in {@link MemoryState.inbox}. */
export function inboxKey(account: string, key: string): string {
  return `${account}\u0000${key}`;
}

/** Ascending comparison of two strings (code unit order, as the SQL stores' "C" collation). */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
