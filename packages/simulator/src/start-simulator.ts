import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { componentLogger } from "@mandrill-kit/core/plugin";
import type { SMTPServer } from "smtp-server";
import { createAccount, keyStates } from "./account-state.js";
import { createApiServer } from "./api-server.js";
import { generateCertificate } from "./certificate.js";
import { addAccount, type SimContext } from "./context.js";
import { FaultRegistry } from "./faults.js";
import { type ResolvedOptions, resolveOptions, type SimulatorOptions } from "./options.js";
import { createControl, type SimulatorControl } from "./simulator-control.js";
import { createInspect, type SimulatorInspect } from "./simulator-inspect.js";
import { startSmtpServer } from "./smtp-listener.js";
import { createWebhookDispatcher } from "./webhook-dispatcher.js";

/** A running simulator. */
export interface Simulator {
  /** `http://host:port` of the HTTP server. */
  readonly url: string;
  /** The API base URL, e.g. `http://127.0.0.1:PORT/api/1.0/` (Mandrill's is `https://mandrillapp.com/api/1.0/`). */
  readonly apiUrl: string;
  /** SMTP: `port` offers STARTTLS (null when disabled), `securePort` is implicit TLS; `ca` is the certificate to trust. */
  readonly smtp: { host: string; port: number | null; securePort: number | null; ca: string };
  readonly control: SimulatorControl;
  readonly inspect: SimulatorInspect;
  /** Stops both servers, the dispatcher and every timer. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Starts a local Mandrill: the HTTP API subset of docs/mandrill.md#http-api, an SMTP server (docs/mandrill.md#smtp) and a webhook
 * dispatcher that signs like Mandrill (docs/mandrill.md#webhooks and docs/mandrill.md#webhook-signature). Options are validated synchronously (a bad option
 * throws `MandrillKitConfigError` before anything listens); the promise resolves once both servers
 * listen on `host` (127.0.0.1, free ports by default).
 */
export function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const o = resolveOptions(options);
  return start(o);
}

async function start(o: ResolvedOptions): Promise<Simulator> {
  const faults = new FaultRegistry();
  for (const f of o.faults) faults.add(f);
  const ctx: SimContext = {
    options: o,
    log: componentLogger(o.logger, { component: "simulator" }),
    now: () => o.clock.now(),
    baseUrl: "",
    accounts: new Map(),
    keys: new Map(),
    messages: new Map(),
    outbox: [],
    events: [],
    apiLog: [],
    deliveries: [],
    faults,
    dispatcher: undefined as never,
    pending: new Set(),
    scheduled: new Map(),
    closed: false,
    seq: { outbox: 0, event: 0, delivery: 0, api: 0, webhook: 0, batch: 0 },
  };
  ctx.dispatcher = createWebhookDispatcher(ctx);
  for (const a of o.accounts) {
    const account = createAccount(a, o.clock.now());
    addAccount(ctx, account, keyStates(a.keys ?? [], account));
  }

  const tls =
    o.tls ??
    (o.smtpPort === false && o.smtpsPort === false
      ? { key: "", cert: "" }
      : await generateCertificate(o.host));
  const http = createApiServer(ctx);
  const smtpServers: SMTPServer[] = [];
  let smtpPort: number | null = null;
  let smtpsPort: number | null = null;
  try {
    const port = await listen(http, o.port, o.host);
    ctx.baseUrl = `http://${hostForUrl(o.host)}:${port}`;
    if (o.smtpPort !== false) {
      const s = await startSmtpServer(ctx, { port: o.smtpPort, secure: false, ...tls });
      smtpServers.push(s.server);
      smtpPort = s.port;
    }
    if (o.smtpsPort !== false) {
      const s = await startSmtpServer(ctx, { port: o.smtpsPort, secure: true, ...tls });
      smtpServers.push(s.server);
      smtpsPort = s.port;
    }
  } catch (error) {
    http.close();
    http.closeAllConnections();
    await Promise.all(smtpServers.map(closeSmtp));
    await ctx.dispatcher.close();
    throw error;
  }
  ctx.log.info({ url: ctx.baseUrl, smtpPort, smtpsPort }, "Mandrill simulator listening");

  const control = createControl(ctx);
  const inspect = createInspect(ctx);

  let closing: Promise<void> | undefined;
  return {
    url: ctx.baseUrl,
    apiUrl: `${ctx.baseUrl}/api/1.0/`,
    smtp: { host: o.host, port: smtpPort, securePort: smtpsPort, ca: tls.cert },
    control,
    inspect,
    close() {
      closing ??= (async () => {
        ctx.closed = true;
        for (const work of [...ctx.pending]) work.cancel();
        ctx.scheduled.clear();
        faults.clear();
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await Promise.all([httpClosed, ...smtpServers.map(closeSmtp), ctx.dispatcher.close()]);
      })();
      return closing;
    },
  };
}
