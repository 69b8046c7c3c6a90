export {
  encodeForm,
  mandrillJson,
  type SignedWebhook,
  signWebhook,
  TEST_WEBHOOK_KEY,
} from "@mandrill-kit/core";
export { eventFixtures, type FixtureOverrides } from "./fixtures.js";
