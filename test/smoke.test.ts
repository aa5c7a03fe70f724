import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
describe("smoke", () => { it("loads", () => { expect(typeof pulumi.runtime.setMocks).to.equal("function"); }); });
