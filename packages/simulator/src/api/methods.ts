import * as allowlists from "./allowlists.js";
import type { ApiHandler } from "./api-call.js";
import * as exportJobs from "./exports.js";
import * as messages from "./messages.js";
import * as rejects from "./rejects.js";
import * as senders from "./senders.js";
import * as templates from "./templates.js";
import * as users from "./users.js";
import * as webhooks from "./webhooks.js";

/** Every API method the simulator answers, `group/method` → handler. */
export const API_METHODS: Readonly<Record<string, ApiHandler>> = Object.freeze({
  "users/ping": users.ping,
  "users/ping2": users.ping2,
  "users/info": users.info,
  "users/senders": users.senders,
  "senders/domains": senders.domains,
  "senders/check-domain": senders.checkDomain,
  "senders/add-domain": senders.addDomain,
  "messages/send": messages.send,
  "messages/send-template": messages.sendTemplate,
  "messages/info": messages.info,
  "rejects/add": rejects.add,
  "rejects/list": rejects.list,
  "rejects/delete": rejects.remove,
  "whitelists/add": allowlists.add,
  "whitelists/list": allowlists.list,
  "whitelists/delete": allowlists.remove,
  "allowlists/add": allowlists.add,
  "allowlists/list": allowlists.list,
  "allowlists/delete": allowlists.remove,
  "webhooks/list": webhooks.list,
  "webhooks/add": webhooks.add,
  "webhooks/info": webhooks.info,
  "webhooks/update": webhooks.update,
  "webhooks/delete": webhooks.remove,
  "templates/add": templates.add,
  "templates/info": templates.info,
  "templates/list": templates.list,
  "templates/delete": templates.remove,
  "exports/rejects": exportJobs.rejects,
  "exports/whitelist": exportJobs.whitelist,
  "exports/allowlist": exportJobs.whitelist,
  "exports/info": exportJobs.info,
  "exports/list": exportJobs.list,
});
