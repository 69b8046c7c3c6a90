export { runStoreContract, type StoreContractOptions } from "./store-contract.js";
