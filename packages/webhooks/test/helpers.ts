import type { InboxRepository, LogContext, Logger, Store } from "@mandrill-kit/core";

/** `store` with some inbox methods replaced (everything else is the wrapped store's). */
export function withInbox(store: Store, inbox: Partial<InboxRepository>): Store {
  return {
    kind: store.kind,
    credentials: store.credentials,
    suppressions: store.suppressions,
    sends: store.sends,
    migrate: () => store.migrate(),
    close: () => store.close(),
    inbox: { ...store.inbox, ...inbox },
  };
}

/** A store whose inbox counts claim calls and the size of each completeMany. */
export function countingStore(store: Store): Store & { calls: { claim: number; completeMany: number[] } } {
  const calls = { claim: 0, completeMany: [] as number[] };
  const counting = withInbox(store, {
    claim: (options) => {
      calls.claim++;
      return store.inbox.claim(options);
    },
    completeMany: (events, options) => {
      calls.completeMany.push(events.length);
      return store.inbox.completeMany(events, options);
    },
  });
  return Object.assign(counting, { calls });
}

/** A logger that keeps every entry, by level. */
export function captureLogger(): Logger & {
  entries: { level: string; message: string; context: LogContext }[];
} {
  const entries: { level: string; message: string; context: LogContext }[] = [];
  const at = (level: string) => (context: LogContext, message: string) => {
    entries.push({ level, message, context });
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), entries };
}

/** A promise the test opens later; `gates` collects the openers so afterEach can release them. */
export function gate(gates: (() => void)[]): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  gates.push(open);
  return { wait, open };
}
