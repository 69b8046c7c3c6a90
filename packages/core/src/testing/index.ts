export { type Needle, secretNeedles } from "./secret-needles.js";
export { runStoreContract, type StoreContractOptions } from "./store-contract.js";
export { type EventuallyOptions, eventually, type ManualClock, manualClock } from "./time.js";
