export {
  encodeForm,
  mandrillJson,
  type SignedWebhook,
  signWebhook,
  TEST_WEBHOOK_KEY,
} from "@mandrill-kit/core/plugin";
export { eventFixtures, type FixtureOverrides } from "./fixtures.js";
