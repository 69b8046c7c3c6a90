/**
 * Attacks on the example server (issue 13), each named after the attack it stops: brute-forcing the
 * admin token over the JSON API, filling memory with anonymous requests, holding connections with slow
 * headers or bodies, mail-bombing a third party, and leaking request bytes or spreadsheet formulas.
 */
import { connect, type Socket } from "node:net";
import { eventually } from "@mandrill-kit/core/testing";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { neutraliseCell } from "../src/sections/suppressions/csv.js";
import { BoundedMemoryStore, recipientKey } from "../src/security/rate-limit.js";
import { ADMIN_TOKEN, csrfOf, logIn, startTestApp, type TestApp } from "./helpers.js";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const apps: TestApp[] = [];

async function start(...args: Parameters<typeof startTestApp>): Promise<TestApp> {
  const t = await startTestApp(...args);
  apps.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
});

async function configure(t: TestApp, account: string): Promise<void> {
  const res = await request(t.url)
    .put(`/api/accounts/${account}/mandrill`)
    .set(auth)
    .send({ transport: "api", apiKey: "md-security-key-0000", fromEmail: `hello@${account}.example` });
  expect(res.status).toBe(201);
}

function setCookies(res: request.Response): string {
  return ([] as string[]).concat(res.headers["set-cookie"] ?? []).join("\n");
}

describe("JSON API bearer brute force", () => {
  it("answers 429 to an address after too many wrong tokens, even with the right one, while other addresses get in", async () => {
    const t = await start({ trustProxy: 1, rateLimits: { authFailures: { limit: 5, windowMs: 3_600_000 } } });
    const from = (ip: string) => ({ "X-Forwarded-For": ip });
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(t.url)
        .get("/api/accounts")
        .set(from("203.0.113.7"))
        .set("Authorization", `Bearer guess-${i}`);
      guesses.push(res.status);
    }
    expect(guesses).toEqual([401, 401, 401, 401, 401]);
    const right = await request(t.url).get("/api/accounts").set(from("203.0.113.7")).set(auth);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe("ERR_RATE_LIMITED");
    expect(Number(right.headers["retry-after"])).toBeGreaterThan(0);
    expect((await request(t.url).get("/api/accounts").set(from("203.0.113.8")).set(auth)).status).toBe(200);
  });

  it("does not count requests with the right token", async () => {
    const t = await start({ rateLimits: { authFailures: { limit: 2, windowMs: 3_600_000 } } });
    for (let i = 0; i < 10; i++) {
      expect((await request(t.url).get("/api/accounts").set(auth)).status).toBe(200);
    }
  });
});

describe("unauthenticated memory growth", () => {
  it("creates no session for GET /login without a cookie, and still logs in with the login form's token", async () => {
    const t = await start();
    for (let i = 0; i < 50; i++) {
      const res = await request(t.url).get("/login");
      expect(res.status).toBe(200);
      expect(setCookies(res)).not.toContain("mk_session=");
    }
    expect(t.example.sessions.size).toBe(0);

    expect((await logIn(t.url)).response.status).toBe(303);
    expect(t.example.sessions.size).toBe(1);
  });

  it("refuses a login form token taken from another browser (it is bound to that browser's cookie)", async () => {
    const t = await start();
    const theirs = csrfOf((await request(t.url).get("/login")).text);
    const agent = request.agent(t.url);
    await agent.get("/login");
    const res = await agent.post("/login").type("form").send({ token: ADMIN_TOKEN, _csrf: theirs });
    expect(res.status).toBe(403);
  });

  it("keeps at most maxSessions sessions, logging out the least recently used", async () => {
    const t = await start({ maxSessions: 2 });
    const agents = [];
    for (let i = 0; i < 3; i++) agents.push((await logIn(t.url)).agent);
    expect(t.example.sessions.size).toBe(2);
    expect((await agents[0]?.get("/accounts"))?.headers.location).toBe("/login");
    expect((await agents[2]?.get("/accounts"))?.status).toBe(200);
  });

  it("bounds every limiter's memory: keys beyond the cap evict the least recently used", () => {
    const store = new BoundedMemoryStore(3);
    for (let i = 0; i < 100; i++) store.increment(`203.0.113.${i}`);
    expect(store.size).toBe(3);
    expect(store.get("203.0.113.99")?.totalHits).toBe(1);
    expect(store.get("203.0.113.0")).toBeUndefined();
  });
});

describe("slowloris: slow headers and slow bodies", () => {
  /** Opens a raw connection, writes `head`, then one byte every 100 ms; resolves what the server did. */
  function trickle(port: number, head: string, byte: string) {
    const socket: Socket = connect(port, "127.0.0.1");
    let answer = "";
    let closed = false;
    socket.on("data", (d: Buffer) => {
      answer += d.toString();
    });
    socket.on("close", () => {
      closed = true;
      clearInterval(timer);
    });
    socket.on("error", () => undefined);
    socket.write(head);
    const timer = setInterval(() => socket.write(byte), 100);
    return { closed: () => closed, answer: () => answer, socket };
  }

  it("cuts off a body trickled a byte at a time at the request deadline (408), and keeps serving", async () => {
    const t = await start({ http: { requestTimeoutMs: 1000, headersTimeoutMs: 500 } });
    const port = Number(new URL(t.url).port);
    // 100,000 bytes at 10 a second would hold the connection for hours without a deadline.
    const c = trickle(
      port,
      "POST /webhooks/mandrill/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
      "a",
    );
    await eventually(() => c.closed(), 15_000);
    expect(c.answer()).toMatch(/^HTTP\/1\.1 408/);
    expect((await request(t.url).get("/healthz")).status).toBe(200);
  });

  it("closes a connection that sends nothing at the headers deadline, and an idle keep-alive one after keepAliveTimeoutMs", async () => {
    const t = await start({
      http: { requestTimeoutMs: 5000, headersTimeoutMs: 500, keepAliveTimeoutMs: 300 },
    });
    const port = Number(new URL(t.url).port);
    const silent = connect(port, "127.0.0.1");
    let silentClosed = false;
    silent.on("close", () => {
      silentClosed = true;
    });
    silent.on("error", () => undefined);
    const idle = connect(port, "127.0.0.1");
    let idleClosed = false;
    let answered = "";
    idle.on("data", (d: Buffer) => {
      answered += d.toString();
    });
    idle.on("close", () => {
      idleClosed = true;
    });
    idle.on("error", () => undefined);
    idle.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    await eventually(() => silentClosed && idleClosed, 15_000);
    expect(answered).toMatch(/^HTTP\/1\.1 200/);
  });

  it("cuts off headers trickled a byte at a time at the headers deadline (408)", async () => {
    const t = await start({ http: { requestTimeoutMs: 5000, headersTimeoutMs: 500 } });
    const c = trickle(Number(new URL(t.url).port), "GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a");
    await eventually(() => c.closed(), 15_000);
    expect(c.answer()).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe("mail-bombing a third party", () => {
  it("limits test emails per recipient across accounts: four accounts cannot send twenty to one address", async () => {
    const t = await start();
    const statuses: number[] = [];
    for (const account of ["bomb-a", "bomb-b", "bomb-c", "bomb-d"]) {
      await configure(t, account);
      for (let i = 0; i < 5; i++) {
        // Case and +tags do not make a new recipient.
        const to = i % 2 === 0 ? "victim@example.net" : `Victim+${account}${i}@Example.net`;
        const res = await request(t.url).post(`/api/accounts/${account}/test-email`).set(auth).send({ to });
        statuses.push(res.status);
      }
    }
    const delivered = t.sim.inspect
      .outbox({})
      .filter((m) => m.recipients.some((r) => recipientKey(r.email) === "victim@example.net"));
    expect(delivered).toHaveLength(5);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it("limits the demo send route per client address, on the page and the API alike", async () => {
    const t = await start({ rateLimits: { send: { limit: 3, windowMs: 3_600_000 } } });
    await configure(t, "sender-co");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(t.url)
        .post("/api/accounts/sender-co/send")
        .set(auth)
        .send({ to: `r${i}@example.net`, subject: "Hi" });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);

    const { agent } = await logIn(t.url);
    const csrf = csrfOf((await agent.get("/accounts/sender-co/send")).text);
    await agent
      .post("/accounts/sender-co/send")
      .type("form")
      .send({ _csrf: csrf, to: "page@example.net", subject: "Hi" });
    const page = await agent.get("/accounts/sender-co/send");
    expect(page.text).toContain("Too many sends from this address.");
    expect(page.text).not.toContain('id="send-result"');
  });

  it("refuses a demo send to more than 50 recipients", async () => {
    const t = await start();
    await configure(t, "many");
    const to = Array.from({ length: 51 }, (_, i) => `r${i}@example.net`);
    const res = await request(t.url).post("/api/accounts/many/send").set(auth).send({ to, subject: "Hi" });
    expect(res.status).toBe(422);
    expect(res.body.error.fields[0]).toMatchObject({ field: "to" });
  });
});

describe("echoes and spreadsheet formulas", () => {
  it("answers a malformed JSON body without echoing any of it", async () => {
    const t = await start();
    const res = await request(t.url)
      .put("/api/accounts/acme/mandrill")
      .set(auth)
      .set("Content-Type", "application/json")
      .send('{"apiKey": md-secret-in-broken-json-0123}');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("ERR_BAD_REQUEST");
    expect(res.text).not.toContain("md-secret");
    expect(res.text).not.toContain("0123");
  });

  it("neutralises cells a spreadsheet would run, full-width forms, tab, CR and LF included", () => {
    for (const start of ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"]) {
      expect(neutraliseCell(`${start}HYPERLINK("http://evil")`)).toBe(`'${start}HYPERLINK("http://evil")`);
    }
    expect(neutraliseCell("plain@example.net")).toBe("plain@example.net");
  });

  it("exports full-width formula cells neutralised, and imports them back unchanged", async () => {
    const t = await start();
    for (const [email, detail] of [
      ["fw1@example.net", "＝HYPERLINK(1)"],
      ["fw2@example.net", "＠SUM(A1)"],
    ]) {
      await request(t.url).post("/api/accounts/csv-fw/suppressions").set(auth).send({ email, detail });
    }
    const csv = await request(t.url).get("/api/accounts/csv-fw/suppressions.csv").set(auth);
    expect(csv.text).toContain("'＝HYPERLINK(1)");
    expect(csv.text).toContain("'＠SUM(A1)");
    await request(t.url)
      .post("/api/accounts/csv-fw2/suppressions.csv")
      .set(auth)
      .set("Content-Type", "text/csv")
      .send(csv.text);
    const back = await request(t.url).get("/api/accounts/csv-fw2/suppressions?search=fw").set(auth);
    expect((back.body.items as { detail: string }[]).map((i) => i.detail).sort()).toEqual([
      "＝HYPERLINK(1)",
      "＠SUM(A1)",
    ]);
  });
});
