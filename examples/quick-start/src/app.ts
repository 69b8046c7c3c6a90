// npm install express @mandrill-kit/credentials @mandrill-kit/sqlite @mandrill-kit/webhooks @mandrill-kit/sender
// export MANDRILL_KIT_KEYS="$(npx mandrill-kit keys generate)" ADMIN_TOKEN="$(openssl rand -hex 24)"
import { mandrillKit, mandrillSettings } from "@mandrill-kit/credentials";
import { mandrillSender } from "@mandrill-kit/sender";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { mandrillWebhooks } from "@mandrill-kit/webhooks";
import express, { type NextFunction, type Request, type Response } from "express";

const { MANDRILL_KIT_KEYS: keys, ADMIN_TOKEN: adminToken, MANDRILL_API_URL: apiUrl } = process.env;
if (!keys || !adminToken)
  throw new Error("Set MANDRILL_KIT_KEYS (npx mandrill-kit keys generate) and ADMIN_TOKEN");
const port = Number(process.env.PORT ?? 3000);

const app = express();
app.use(express.json()); // for your own routes (req.body below); the kit's routers read their own bodies
const kit = mandrillKit({
  store: openSqliteStore({ filename: "./mandrill.db" }),
  keys,
  publicUrl: process.env.PUBLIC_URL ?? `http://localhost:${port}`, // where Mandrill posts webhooks
});
app.use(kit);

// Your auth. An account is the id your app gives a customer (tenant). Here it is in the URL, behind an
// admin token; in your app, map the signed-in user to their tenant's id (e.g. req.user.tenantId).
function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  if (req.get("authorization") === `Bearer ${adminToken}`) next();
  else res.status(401).json({ error: "unauthorized" });
}
app.use("/admin/email", requireAdmin, mandrillSettings({ authorize: "handled-upstream" }));

const webhooks = mandrillWebhooks(); // POST /webhooks/mandrill/:account, signed by Mandrill
webhooks.on("hard_bounce", (event, { account }) => {
  // The kit has already suppressed the address for this account; update your own records here.
  console.log(`${account}: ${event.email ?? "(no address)"} hard-bounced`);
});
app.use(webhooks);

// MANDRILL_API_URL sends API-transport mail to a local simulator (npx mandrill-simulator) instead; the
// sender refuses loopback and private addresses unless you, the operator, allow that host:port.
const local = apiUrl ? { api: { baseUrl: apiUrl }, network: { allow: [new URL(apiUrl).host] } } : {};
app.use(mandrillSender(local));
app.use("/accounts", requireAdmin);
app.post("/accounts/:account/invite", async (req, res, next) => {
  try {
    if (req.mandrill === undefined) throw new Error("mount mandrillSender() before this route");
    const result = await req.mandrill.send(req.params.account, {
      to: req.body?.email,
      subject: "You're invited",
      html: "<p>Hello!</p>",
    });
    res.json(result); // per recipient: sent | queued | rejected | suppressed | unknown …
  } catch (error) {
    next(error); // Express 4 does not catch a rejected promise (Express 5 does): without this it crashes
  }
});

app.listen(port, () => {
  webhooks.start(kit.context); // run handlers, and retries left from before a restart, from now on
  console.log(`Listening on http://localhost:${port}`);
});
