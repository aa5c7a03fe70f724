// Entry point of the Pulumi program (Pulumi.yaml `main`). The stack outputs are what runProgram returns.
import { runProgram } from "./program";

export = runProgram();
