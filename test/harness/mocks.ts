// The one mock engine (scripts/plan/mockEngine.ts): the offline plan runs programs under it and
// every test reaches it through this file, so there is no second engine to drift from the first.
export * from "../../scripts/plan/mockEngine";
