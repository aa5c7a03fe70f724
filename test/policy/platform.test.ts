/**
 * The real dev and prod stacks, built offline under mocks, run through the policy pack the way
 * `pulumi preview --policy-pack policy --policy-pack-config policy/config/<stack>.json` would.
 */
import { expect } from "chai";
import { evaluate, formatVerdicts, mandatory } from "../../policy/evaluate";
import { buildStack } from "../harness/stacks";
import { toEvalResources } from "../../scripts/plan/report";


for (const stack of ["dev", "prod"]) {
    describe(`policy pack on the ${stack} stack`, function () {
        this.timeout(60_000);
        it("has no mandatory violation and no policy that cannot run", async () => {
            const { engine } = await buildStack(stack);
            const resources = toEvalResources(engine.resources);
            expect(resources.length).to.be.greaterThan(50);
            const verdicts = await evaluate(resources, { stack });
            expect(mandatory(verdicts), formatVerdicts(verdicts)).to.deep.equal([]);
            expect(verdicts.filter((v) => v.unknownValue), formatVerdicts(verdicts)).to.deep.equal([]);
        });

        it("would catch a data node moved into a public subnet (the pack sees the real wiring)", async () => {
            const { engine } = await buildStack(stack);
            const resources = toEvalResources(engine.resources);
            const bastion = resources.find((r) => r.type === "aws:ec2/instance:Instance" && (r.props.tags as Record<string, string>)?.["owncloud-ha:tier"] === "bastion");
            expect(bastion, "the stack has a bastion instance").to.not.equal(undefined);
            (bastion!.props.tags as Record<string, string>)["owncloud-ha:tier"] = "galera";
            const verdicts = await evaluate(resources, { stack });
            expect(verdicts.map((v) => v.policyName)).to.include("nodes-in-private-subnets");
        });
    });
}
