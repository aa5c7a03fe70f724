// The mock engine is shared with the offline plan (scripts/plan); tests import it from here.
export * from "../../scripts/plan/mockEngine";
