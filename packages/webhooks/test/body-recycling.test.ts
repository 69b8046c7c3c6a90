/**
 * The parse pool's body memory: a thread gives each body's memory back with its answer, and the
 * router gathers the next bodies in it (no fresh pages per ~1 MB batch). Reused memory must never
 * show a later job anything of an earlier body.
 */
import type { Store } from "@mandrill-kit/core";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { type ParseJobInput, runParseJob } from "../src/parse-job.js";
import { createParsePool, type ParsePool, RECYCLED_BODY_MAX } from "../src/parse-pool.js";
import { CAPTURED_CLICK } from "./fixtures/captured.js";
import { capturedRouterWith, comparable, FORM, signedJob } from "./parse-jobs.js";

const pools: ParsePool[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
  for (const s of stores.splice(0)) await s.close();
});

function pool(): ParsePool {
  const p = createParsePool({ size: 1 });
  pools.push(p);
  return p;
}

/** A signed batch of `n` events whose texts differ from every other batch's (`tag`). */
function batch(tag: string, n: number): ParseJobInput {
  return signedJob(
    Array.from({ length: n }, (_, i) =>
      eventFixtures.hard_bounce({ email: `${tag}-${i}@example.com`, id: `${tag}-msg-${i}` }),
    ),
  );
}

/** The job with its body copied into `into` (what the router does with a pool's buffer). */
function gathered(job: ParseJobInput, into: Buffer): ParseJobInput {
  expect(into.length).toBe(job.body.length);
  Buffer.from(job.body).copy(into);
  return { ...job, body: into };
}

describe("the parse pool's body memory", () => {
  it("comes back from the thread with its answer and gathers the next body", async () => {
    const p = pool();
    const first = batch("first", 120);
    expect(first.body.length).toBeGreaterThan(64 * 1024);
    const firstBytes = Buffer.from(first.body);
    const lent = p.bodyBuffer(first.body.length) as Buffer;
    const result = await p.run(gathered(first, lent));
    // Moved to the thread, not copied: this thread's view of it is detached.
    expect(lent.buffer.byteLength).toBe(0);
    expect(comparable(result)).toEqual(comparable(runParseJob(first)));

    // A smaller body: gathered in the memory the first one came back in (it still holds its bytes).
    const second = batch("second", 10);
    const into = p.bodyBuffer(second.body.length) as Buffer;
    expect(into.length).toBe(second.body.length);
    expect(Buffer.from(into.buffer, 0, firstBytes.length).equals(firstBytes)).toBe(true);
    const again = await p.run(gathered(second, into));
    expect(comparable(again)).toEqual(comparable(runParseJob(second)));
  });

  it("never lets an earlier body show through a later, shorter one", async () => {
    const p = pool();
    // Sizes that go down and up, so most bodies land in memory a longer body filled before.
    const sizes = [160, 5, 120, 1, 90, 160, 2, 140, 8, 60, 3, 100];
    for (const [i, n] of sizes.entries()) {
      const job = batch(`b${i}`, n);
      const into = p.bodyBuffer(job.body.length);
      if (into === undefined) throw new Error("a body under the limit gets a buffer");
      const result = await p.run(gathered(job, into));
      expect(comparable(result), `batch ${i}`).toEqual(comparable(runParseJob(job)));
    }
  });

  it("keeps no memory for bodies over its limit, nor once closed", async () => {
    const p = pool();
    expect(p.bodyBuffer(RECYCLED_BODY_MAX + 1)).toBeUndefined();
    expect(p.bodyBuffer(0)).toBeUndefined();
    expect(p.bodyBuffer(1000)?.length).toBe(1000);
    await p.close();
    expect(p.bodyBuffer(1000)).toBeUndefined();
  });
});

describe("the router with recycled bodies", () => {
  it("stores every event of batches of falling and rising sizes exactly as sent", async () => {
    const threads = pool();
    const captured = new URL(CAPTURED_CLICK.url);
    // Every body the router reads is gathered in memory the pool lends.
    let lent = 0;
    const lending: ParsePool = {
      run: (input) => threads.run(input),
      close: () => threads.close(),
      bodyBuffer: (size) => {
        lent++;
        return threads.bodyBuffer(size);
      },
      get closed() {
        return threads.closed;
      },
      get startFailure() {
        return threads.startFailure;
      },
    };
    const { app, store } = capturedRouterWith(lending);
    stores.push(store);
    const sent: string[] = [];
    const sizes = [150, 4, 90, 1, 150, 12];
    for (const [i, n] of sizes.entries()) {
      const events = Array.from({ length: n }, (_, k) =>
        eventFixtures.open({ email: `r${i}-${k}@example.com`, id: `r${i}-msg-${k}` }),
      );
      const signed = signWebhook({ key: CAPTURED_CLICK.key, url: CAPTURED_CLICK.url, events });
      const res = await request(app)
        .post(captured.pathname)
        .set({ "content-type": FORM, "x-mandrill-signature": signed.signature })
        .send(signed.body);
      expect(res.status, `batch ${i}`).toBe(200);
      sent.push(...events.map((e) => JSON.stringify(e)));
    }
    expect(lent).toBe(sizes.length);
    // Each stored text is its event's source text (Mandrill escapes "/"), which reads back as the event.
    const stored = (await store.inbox.list("default", { limit: 500 })).items.map((e) =>
      JSON.stringify(JSON.parse(e.raw)),
    );
    expect(stored.sort()).toEqual([...sent].sort());
  });
});
