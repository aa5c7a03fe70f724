export * from "../../scripts/plan/stackBuild";
