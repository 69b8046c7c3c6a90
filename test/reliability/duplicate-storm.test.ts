import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT, eventually, type RunningApp, saveSettings, startApp, WEBHOOK_KEY } from "./helpers.js";
import { figure, SLICE, sizes } from "./sizes.js";

let app: RunningApp;
const runs = new Map<string, number>();

beforeAll(async () => {
  app = await startApp();
  app.example.webhooks.onAny((event) => {
    const key = eventKey(event);
    runs.set(key, (runs.get(key) ?? 0) + 1);
  });
  await saveSettings(app.url);
});
afterAll(async () => {
  await app?.close();
});

describe(`duplicate storm (${SLICE})`, () => {
  it(`stores one inbox row per event, one suppression and one handler run when one signed batch is posted ${sizes.duplicateStorm} times at once`, async () => {
    const bounced = "storm-bounce@example.net";
    const events = [
      eventFixtures.hard_bounce({ email: bounced, id: "storm-hb" }),
      ...Array.from({ length: 20 }, (_, i) =>
        eventFixtures.delivered({ email: `storm-${i}@example.com`, id: `storm-d${i}` }),
      ),
    ];
    const signed = signWebhook({ key: WEBHOOK_KEY, url: app.callbackUrl, events });
    const parsed = parseMandrillEvents(signed.mandrillEvents);
    if (!parsed.ok) throw new Error("fixture did not parse");
    const keys = parsed.events.map(eventKey);

    const statuses = await Promise.all(
      Array.from({ length: sizes.duplicateStorm }, () =>
        fetch(`${app.url}/webhooks/mandrill/${ACCOUNT}`, {
          method: "POST",
          headers: signed.headers,
          body: signed.body,
        }).then((r) => r.status),
      ),
    );
    // Every delivery is acknowledged (a redelivery is not an error), but only one has an effect.
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const { store } = app.example;
    await eventually(async () => (await store.inbox.stats(ACCOUNT)).done === keys.length);
    // One more claim pass, awaited: an event that could run a second time would run in it.
    await app.example.webhooks.runDue();

    const stats = await store.inbox.stats(ACCOUNT);
    expect(stats.total).toBe(keys.length);
    expect(stats.pending + stats.dead).toBe(0);
    for (const key of keys) expect(await store.inbox.get(ACCOUNT, key), key).toBeDefined();
    expect(await store.suppressions.count(ACCOUNT)).toBe(1);
    expect(await store.suppressions.check(ACCOUNT, [bounced])).toHaveLength(1);
    expect([...runs.keys()].sort()).toEqual([...keys].sort());
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    figure("duplicate storm", {
      posts: sizes.duplicateStorm,
      acknowledged: statuses.length,
      events: keys.length,
      inboxRows: stats.total,
      suppressions: 1,
      handlerRuns: [...runs.values()].reduce((a, b) => a + b, 0),
    });
  });
});
