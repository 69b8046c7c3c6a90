import { type StoreContractApi, type StoreContractOptions, storePerTest, T0 } from "./helpers.js";

/** `sends`: recording recipients, finding them by Mandrill id, paging newest first. */
export function sendsContract(api: StoreContractApi, options: StoreContractOptions): void {
  const { describe, test, expect } = api;
  describe("sends", () => {
    const store = storePerTest(api, options);

    test("records recipients and finds them by Mandrill id", async () => {
      await store.sends.record([
        {
          account: "acme",
          email: "Alice@Example.org",
          status: "sent",
          messageId: "m1",
          rejectReason: null,
          transport: "api",
          correlationId: "c1",
          subject: "Hi",
          at: T0,
        },
        {
          account: "acme",
          email: "bob@example.net",
          status: "rejected",
          messageId: "m2",
          rejectReason: "hard-bounce",
          transport: "api",
          correlationId: "c1",
          subject: "Hi",
          at: T0,
        },
      ]);
      expect(await store.sends.findByMessageId("m1")).toMatchObject({
        account: "acme",
        email: "alice@example.org",
        status: "sent",
        correlationId: "c1",
        at: T0,
      });
      expect(await store.sends.findByMessageId("nope")).toBeUndefined();
      const list = await store.sends.list("acme");
      expect(list.items.map((s) => s.messageId)).toEqual(["m2", "m1"]);
      expect(
        (await store.sends.list("acme", { email: "BOB@example.net" })).items.map((s) => s.status),
      ).toEqual(["rejected"]);
      expect((await store.sends.list("other")).items).toEqual([]);
    });

    test("pages newest first", async () => {
      for (let i = 0; i < 9; i++) {
        await store.sends.record([
          {
            account: "acme",
            email: `u${i}@example.com`,
            status: "sent",
            messageId: `m${i}`,
            rejectReason: null,
            transport: "smtp",
            correlationId: null,
            subject: null,
            at: T0 + i,
          },
        ]);
      }
      const first = await store.sends.list("acme", { limit: 4 });
      const second = await store.sends.list("acme", { limit: 4, after: first.next });
      const third = await store.sends.list("acme", { limit: 4, after: second.next });
      expect([...first.items, ...second.items, ...third.items].map((s) => s.messageId)).toEqual([
        "m8",
        "m7",
        "m6",
        "m5",
        "m4",
        "m3",
        "m2",
        "m1",
        "m0",
      ]);
      expect(third.next).toBeNull();
    });
  });
}
