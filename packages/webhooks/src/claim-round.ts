/** How the dispatch loop sorts its claims and completes events no handler here wants. */
import type { Clock, InboxRecord, Store } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import type { EventRunner } from "./event-runner.js";
import type { HandlerRegistry } from "./handler-registry.js";

/** Largest claim: the lease must cover every claimed event's turn. */
const MAX_CLAIM = 200;
/** Events no handler here wants, completed per statement (see `completeUnwanted`). */
export const UNWANTED_SLICE = 5000;

/**
 * Sorts a claim: events without a handler here are finished at once (completed with the claim);
 * an event whose timed-out run is still going is held back; wanted events beyond the run budget
 * are released; the rest queue for a run.
 */
async function sortClaim(
  claimed: readonly InboxRecord[],
  registry: HandlerRegistry,
  runner: EventRunner,
  runBudget: number,
): Promise<{ finished: { account: string; key: string }[]; queue: InboxRecord[] }> {
  const finished: { account: string; key: string }[] = [];
  const queue: InboxRecord[] = [];
  for (const record of claimed) {
    if (registry.handlersFor(record.type).length === 0)
      finished.push({ account: record.account, key: record.key });
    // Its timed-out run is still going here (the hold lapsed, or it was replayed): not again yet.
    else if (runner.isRunning(record)) await runner.holdBack(record);
    // More runs than the lease covers: back to the queue at once (a later claim takes them).
    else if (queue.length >= runBudget) await runner.release(record);
    else queue.push(record);
  }
  return { finished, queue };
}

/**
 * The next claim's size: claims grow while they are mostly events this process has no handler for
 * (completed in bulk, one transaction per claim), so that about half the run budget is expected in each.
 */
function nextClaimSize(claimed: number, unwanted: number, runBudget: number): number {
  const wanted = Math.max(1, claimed - unwanted) / claimed;
  return Math.min(MAX_CLAIM, Math.max(runBudget, Math.floor(runBudget / (2 * wanted))));
}

/**
 * The types to claim: those with a handler here, when the store completes the others set-based;
 * `undefined` (every type) with an `onAny` handler, or when the store cannot.
 */
function claimTypes(store: Store, registry: HandlerRegistry): string[] | undefined {
  return store.inbox.completeUnwanted === undefined ? undefined : registry.wantedTypes();
}

/** Completes one slice of due events that no handler here wants; resolves with how many. */
export async function completeUnwanted(deps: {
  store: Store;
  registry: HandlerRegistry;
  clock: Clock;
  logger: ComponentLogger;
}): Promise<number> {
  const wanted = claimTypes(deps.store, deps.registry);
  if (wanted === undefined || wanted.length === 0) return 0;
  try {
    const done = await deps.store.inbox.completeUnwanted?.({
      wanted,
      limit: UNWANTED_SLICE,
      now: deps.clock.now(),
    });
    return done ?? 0;
  } catch (error) {
    deps.logger.error({ err: error }, "could not complete inbox events no handler wants; tried again later");
    return 0;
  }
}

/**
 * One claim of up to `limit` due events (of the wanted types when the store completes the others
 * set-based), their handler runs (`concurrency` at a time), and ONE `completeMany` for the claim's
 * finished events (completing event by event would cost a transaction each). Resolves with how many
 * it claimed, whether that was all it asked for (more may be due), and the next claim's size.
 */
export async function claimAndRun(
  deps: {
    store: Store;
    registry: HandlerRegistry;
    runner: EventRunner;
    clock: Clock;
    logger: ComponentLogger;
    concurrency: number;
    runBudget: number;
    leaseMs: number;
  },
  limit: number,
): Promise<{ claimed: number; full: boolean; nextSize?: number }> {
  const { store, registry, runner, clock, logger, runBudget } = deps;
  let claimed: InboxRecord[];
  try {
    const types = claimTypes(store, registry);
    claimed = await store.inbox.claim({
      limit,
      leaseMs: deps.leaseMs,
      now: clock.now(),
      ...(types === undefined ? {} : { types }),
    });
  } catch (error) {
    logger.error({ err: error }, "could not claim inbox events");
    return { claimed: 0, full: false };
  }
  const { finished, queue } = await sortClaim(claimed, registry, runner, runBudget);
  // Sized by how many of this claim no handler here wants (finished so far: those alone).
  const next =
    claimed.length > 0 ? { nextSize: nextClaimSize(claimed.length, finished.length, runBudget) } : {};
  const workers = Array.from({ length: Math.min(deps.concurrency, queue.length) }, async () => {
    for (let record = queue.shift(); record !== undefined; record = queue.shift()) {
      if (await runner.run(record)) finished.push({ account: record.account, key: record.key });
    }
  });
  await Promise.all(workers);
  if (finished.length > 0) {
    try {
      await store.inbox.completeMany(finished, { now: clock.now() });
    } catch (error) {
      logger.error(
        { err: error, events: finished.length },
        "could not mark handled events done; they will run again",
      );
    }
  }
  return { claimed: claimed.length, full: claimed.length >= limit, ...next };
}
