import type { LogContext, Logger, Store } from "@mandrill-kit/core";

/** A store whose inbox counts claim and completeMany calls (everything else is the wrapped store's). */
export function countingStore(store: Store): Store & { calls: { claim: number; completeMany: number[] } } {
  const calls = { claim: 0, completeMany: [] as number[] };
  return {
    kind: store.kind,
    credentials: store.credentials,
    suppressions: store.suppressions,
    sends: store.sends,
    migrate: () => store.migrate(),
    close: () => store.close(),
    inbox: {
      ...store.inbox,
      claim: (options) => {
        calls.claim++;
        return store.inbox.claim(options);
      },
      completeMany: (events, options) => {
        calls.completeMany.push(events.length);
        return store.inbox.completeMany(events, options);
      },
    },
    calls,
  };
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
