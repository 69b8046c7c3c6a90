import type { InboxEventInput, InboxRepository, LogContext, Logger, Store } from "@mandrill-kit/core";

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

/**
 * A store whose inbox counts claim calls and the size of each completeMany, and records each
 * completeUnwanted's result (when the store has it).
 */
export function countingStore(store: Store): Store & {
  calls: { claim: number; completeMany: number[]; completeUnwanted: number[] };
} {
  const calls = { claim: 0, completeMany: [] as number[], completeUnwanted: [] as number[] };
  const { completeUnwanted } = store.inbox;
  const counting = withInbox(store, {
    claim: (options) => {
      calls.claim++;
      return store.inbox.claim(options);
    },
    completeMany: (events, options) => {
      calls.completeMany.push(events.length);
      return store.inbox.completeMany(events, options);
    },
    ...(completeUnwanted === undefined
      ? {}
      : {
          completeUnwanted: async (options) => {
            const n = await completeUnwanted.call(store.inbox, options);
            calls.completeUnwanted.push(n);
            return n;
          },
        }),
  });
  return Object.assign(counting, { calls });
}

/** The store without the optional `inbox.completeUnwanted` (as a store of your own may be). */
export function withoutCompleteUnwanted(store: Store): Store {
  const { completeUnwanted: _, ...inbox } = store.inbox;
  return { ...withInbox(store, {}), inbox };
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

/**
 * Inbox inputs as plain objects: `raw` read (a parse thread's events decode it from their UTF-8 on
 * first read), `rawUtf8` left out after checking it is that text's UTF-8.
 */
export function plainInputs(inputs: readonly InboxEventInput[]): InboxEventInput[] {
  return inputs.map((event) => {
    const { rawUtf8, ...fields } = event;
    if (rawUtf8 !== undefined && Buffer.from(rawUtf8).toString("utf8") !== event.raw)
      throw new Error(`rawUtf8 of ${event.key} is not the UTF-8 of its raw text`);
    return { ...fields, raw: event.raw };
  });
}
