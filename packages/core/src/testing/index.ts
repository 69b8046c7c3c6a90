export { type Needle, secretNeedles } from "./secret-needles.js";
export { runStoreContract, type StoreContractOptions } from "./store-contract.js";
