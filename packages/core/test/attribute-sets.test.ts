import { attributeSets, createTelemetry } from "@mandrill-kit/core/plugin";
import { describe, expect, it } from "vitest";

describe("attributeSets", () => {
  it("builds one frozen set per combination of values and hands the same object back after", () => {
    let built = 0;
    const sets = attributeSets(createTelemetry(), (account, outcome: string, type: string) => {
      built += 1;
      return { ...account, outcome, "mandrill_kit.event.type": type };
    });
    const first = sets("acme", "ok", "hard_bounce");
    expect(first).toEqual({ outcome: "ok", "mandrill_kit.event.type": "hard_bounce" });
    expect(Object.isFrozen(first)).toBe(true);
    expect(sets("acme", "ok", "hard_bounce")).toBe(first);
    // Without perAccount the account is not an attribute, so another account shares the set.
    expect(sets("globex", "ok", "hard_bounce")).toBe(first);
    expect(sets("acme", "retry", "hard_bounce")).toEqual({
      outcome: "retry",
      "mandrill_kit.event.type": "hard_bounce",
    });
    expect(built).toBe(2);
  });

  it("keys the sets by account when perAccount is on", () => {
    const sets = attributeSets(createTelemetry({ perAccount: true }), (account, outcome: string) => ({
      ...account,
      outcome,
    }));
    const acme = sets("acme", "sent");
    expect(acme).toEqual({ "mandrill_kit.account": "acme", outcome: "sent" });
    expect(sets("acme", "sent")).toBe(acme);
    expect(sets("globex", "sent")).toEqual({ "mandrill_kit.account": "globex", outcome: "sent" });
  });

  it("does not mix up values that would join to the same text", () => {
    const sets = attributeSets(createTelemetry(), (_account, a: string, b: string) => ({ a, b }));
    expect(sets("acme", "x", "yz")).toEqual({ a: "x", b: "yz" });
    expect(sets("acme", "xy", "z")).toEqual({ a: "xy", b: "z" });
  });

  it("keeps at most 2,000 sets: past that, sets are built per call (made-up values cannot grow memory)", () => {
    let built = 0;
    const sets = attributeSets(createTelemetry(), (_account, name: string) => {
      built += 1;
      return { "error.type": name };
    });
    for (let i = 0; i < 2000; i++) sets("acme", `Error_${i}`);
    expect(built).toBe(2000);
    expect(sets("acme", "Error_0")).toBe(sets("acme", "Error_0"));
    expect(built).toBe(2000);
    const late = sets("acme", "Error_2000");
    expect(late).toEqual({ "error.type": "Error_2000" });
    expect(sets("acme", "Error_2000")).not.toBe(late);
    expect(built).toBe(2002);
  });
});
