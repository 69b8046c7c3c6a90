export { type Needle, secretNeedles } from "./secret-needles.js";
export {
  credentialsContract,
  inboxIngestContract,
  inboxProcessingContract,
  lifecycleContract,
  runStoreContract,
  type StoreContractApi,
  type StoreContractOptions,
  sendsContract,
  suppressionsContract,
} from "./store-contract/index.js";
export { type EventuallyOptions, eventually, type ManualClock, manualClock } from "./time.js";
