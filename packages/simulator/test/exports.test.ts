import { manualClock } from "@mandrill-kit/core/testing";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterEach, describe, expect, it } from "vitest";
import yauzl from "yauzl";
import { callApi } from "./helpers.js";

let sim: Simulator | undefined;
let clock = manualClock(Date.UTC(2026, 0, 1));

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(): Promise<Simulator> {
  clock = manualClock(Date.UTC(2026, 0, 1));
  sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0, clock, exportDelayMs: 5000 });
  return sim;
}

const api = async (s: Simulator, method: string, body: Record<string, unknown> = {}) =>
  (await callApi(s.apiUrl, method, { key: DEMO_KEYS.valid, ...body })).body as Record<string, unknown>;

/** The one file of a zip, as text (fails on a broken zip). */
async function unzip(buffer: Buffer): Promise<{ name: string; text: string }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))),
  );
  return new Promise((resolve, reject) => {
    zip.readEntry();
    zip.on("error", reject);
    zip.on("entry", (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () =>
          resolve({ name: entry.fileName, text: Buffer.concat(chunks).toString("utf8") }),
        );
      });
    });
  });
}

describe("exports", () => {
  it("exports the denylist as rejects.csv in a zip once the job completes", async () => {
    const s = await start();
    s.control.addReject({ email: "bob@example.net", detail: 'said "no", twice' });
    s.control.addReject({ email: "carol@example.net", reason: "hard-bounce" });
    const job = await api(s, "exports/rejects");
    expect(job).toMatchObject({ type: "reject", state: "waiting", result_url: null, finished_at: null });
    expect(await api(s, "exports/info", { id: job.id })).toMatchObject({ state: "waiting" });
    clock.advance(5000);
    const done = await api(s, "exports/info", { id: job.id });
    expect(done).toMatchObject({ state: "complete", finished_at: expect.any(String) });
    const res = await fetch(done.result_url as string);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const file = await unzip(Buffer.from(await res.arrayBuffer()));
    expect(file.name).toBe("rejects.csv");
    const lines = file.text.trim().split("\n");
    expect(lines[0]).toBe("email,reason,detail,created_at,expires_at,last_event_at");
    expect(lines[1]).toBe(
      'bob@example.net,custom,"said ""no"", twice",2026-01-01 00:00:00,,2026-01-01 00:00:00',
    );
    expect(lines[2]).toMatch(/^carol@example\.net,hard-bounce,,2026-01-01 00:00:00,2026-01-08 00:00:00,/);
    expect(await api(s, "exports/list")).toEqual([done]);
  });

  it("exports the allowlist as whitelist.csv (exports/allowlist too)", async () => {
    const s = await start();
    await api(s, "allowlists/add", { email: "vip@example.net", comment: "ceo" });
    const job = await api(s, "exports/allowlist");
    clock.advance(5000);
    const done = await api(s, "exports/info", { id: job.id });
    const file = await unzip(Buffer.from(await (await fetch(done.result_url as string)).arrayBuffer()));
    expect(file).toEqual({
      name: "whitelist.csv",
      text: "email,detail,created_at\nvip@example.net,ceo,2026-01-01 00:00:00\n",
    });
  });

  it("answers Unknown_Export for an unknown id, and 404 for an unfinished download", async () => {
    const s = await start();
    const res = await callApi(s.apiUrl, "exports/info", { key: DEMO_KEYS.valid, id: "nope" });
    expect(res.body).toMatchObject({ status: "error", name: "Unknown_Export" });
    await api(s, "exports/rejects");
    expect((await fetch(`${s.url}/exports/0000/reject.zip`)).status).toBe(404);
  });

  it("fails, stalls, truncates or replaces an export with the export faults", async () => {
    const s = await start();
    s.control.fault({ kind: "export-error", times: 1 });
    const failed = await api(s, "exports/rejects");
    s.control.fault({ kind: "export-stall", times: 1 });
    const stalled = await api(s, "exports/rejects");
    s.control.fault({ kind: "export-truncate", times: 1 });
    const truncated = await api(s, "exports/rejects");
    s.control.fault({ kind: "export-csv", csv: "email\nnot-an-address\n", times: 1 });
    const custom = await api(s, "exports/rejects");
    clock.advance(60_000);
    expect(await api(s, "exports/info", { id: failed.id })).toMatchObject({
      state: "error",
      result_url: null,
    });
    expect(await api(s, "exports/info", { id: stalled.id })).toMatchObject({
      state: "working",
      result_url: null,
    });
    const cut = await api(s, "exports/info", { id: truncated.id });
    await expect(
      unzip(Buffer.from(await (await fetch(cut.result_url as string)).arrayBuffer())),
    ).rejects.toThrow();
    const replaced = await api(s, "exports/info", { id: custom.id });
    const file = await unzip(Buffer.from(await (await fetch(replaced.result_url as string)).arrayBuffer()));
    expect(file.text).toBe("email\nnot-an-address\n");
  });
});

describe("rejects/list", () => {
  it("answers at most 1,000 entries, expired ones only with include_expired", async () => {
    const s = await start();
    for (let i = 0; i < 1005; i++) s.control.addReject({ email: `u${i}@example.net` });
    s.control.addReject({ email: "soft@example.net", reason: "soft-bounce" });
    expect(await api(s, "rejects/list")).toHaveLength(1000);
    clock.advance(2 * 86_400_000);
    const soft = (await api(s, "rejects/list", { email: "soft@" })) as unknown as unknown[];
    expect(soft).toEqual([]);
    const withExpired = (await api(s, "rejects/list", {
      email: "soft@",
      include_expired: true,
    })) as unknown as {
      expired: boolean;
    }[];
    expect(withExpired).toMatchObject([{ expired: true }]);
  });
});
