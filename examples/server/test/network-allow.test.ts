import { checkAddress, checkHostName, resolveNetworkPolicy } from "@mandrill-kit/core/plugin";
import { type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorNetwork } from "../src/app.js";

describe("simulator mode: the operator's allow list names the simulator's address:port pairs, nothing broader", () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ acceptAnyKey: () => true, flushIntervalMs: 0 });
  });

  afterAll(async () => {
    await sim.close();
  });

  it("allows exactly the simulator's API and SMTP endpoints", () => {
    const api = new URL(sim.apiUrl);
    const network = operatorNetwork({ kind: "simulator", apiUrl: sim.apiUrl, smtp: sim.smtp });
    expect(network.allow).toEqual([`${api.host}`, `${sim.smtp.host}:${sim.smtp.port}`]);
  });

  it("a tenant host name resolving to the simulator's loopback address reaches no other port of it (25, 587, 2525, 465)", () => {
    const policy = resolveNetworkPolicy(
      operatorNetwork({ kind: "simulator", apiUrl: sim.apiUrl, smtp: sim.smtp }),
      "test",
    );
    const address = sim.smtp.host;
    for (const port of [25, 587, 2525, 465])
      expect(checkAddress(policy, "loopback.attacker.example", address, port), String(port)).toMatchObject({
        code: "ERR_MK_NETWORK_REFUSED",
        reason: "address",
      });
    // What the simulator's routing of smtp.mandrillapp.com and the API client connect to still passes.
    expect(checkAddress(policy, sim.smtp.host, sim.smtp.host, sim.smtp.port ?? 0)).toBeUndefined();
    const api = new URL(sim.apiUrl);
    expect(checkAddress(policy, api.hostname, api.hostname, Number(api.port))).toBeUndefined();
    // A tenant still cannot save the literal on a Mandrill port.
    expect(checkHostName(policy, address, 587)).toBeDefined();
  });
});
