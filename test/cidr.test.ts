import { expect } from "chai";
import { cidrContains, cidrProblem, cidrsOverlap, defaultSubnetPrefixes, planSubnets } from "../components/shared/cidr";

describe("cidr helpers", () => {
    it("accepts aligned IPv4 CIDRs and explains every kind of bad one", () => {
        expect(cidrProblem("10.0.0.0/16")).to.equal(undefined);
        expect(cidrProblem("10.0.0.1/16")).to.match(/host bits set; the network address is 10\.0\.0\.0\/16/);
        expect(cidrProblem("10.0.300.0/24")).to.match(/not a valid IPv4 CIDR/);
        expect(cidrProblem("10.0.0.0")).to.match(/not IPv4 CIDR notation/);
        expect(cidrProblem("fd00::/8")).to.match(/not IPv4 CIDR notation/);
    });

    it("detects overlap, including equal and nested ranges", () => {
        expect(cidrsOverlap("10.0.0.0/16", "10.0.0.0/16")).to.equal(true);
        expect(cidrsOverlap("10.0.0.0/8", "10.1.0.0/16")).to.equal(true);
        expect(cidrsOverlap("10.1.0.0/16", "10.0.0.0/8")).to.equal(true);
        expect(cidrsOverlap("10.0.0.0/16", "10.1.0.0/16")).to.equal(false);
        expect(cidrContains("10.0.0.0/16", "10.0.48.0/24")).to.equal(true);
        expect(cidrContains("10.0.0.0/16", "10.1.48.0/24")).to.equal(false);
    });

    it("carves private blocks first so a /16 packs without gaps", () => {
        expect(planSubnets("10.0.0.0/16", 3, 20, 24)).to.deep.equal({
            privateCidrs: ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"],
            publicCidrs: ["10.0.48.0/24", "10.0.49.0/24", "10.0.50.0/24"],
        });
    });

    it("produces disjoint subnets inside the VPC whenever they fit, and refuses exactly when they don't", () => {
        for (const azs of [1, 2, 3, 4, 6]) {
            for (const [priv, pub] of [[20, 24], [24, 20], [19, 19], [22, 26], [18, 18]]) {
                const needed = azs * (2 ** (32 - priv) + 2 ** (32 - pub));
                if (needed > 2 ** 16) {
                    expect(() => planSubnets("10.2.0.0/16", azs, priv, pub)).to.throw(/need \d+ addresses/);
                    continue;
                }
                const { privateCidrs, publicCidrs } = planSubnets("10.2.0.0/16", azs, priv, pub);
                const all = [...privateCidrs, ...publicCidrs];
                expect(all).to.have.length(2 * azs);
                for (const c of all) expect(cidrContains("10.2.0.0/16", c), c).to.equal(true);
                for (let i = 0; i < all.length; i++) {
                    for (let j = i + 1; j < all.length; j++) {
                        expect(cidrsOverlap(all[i], all[j]), `${all[i]} vs ${all[j]}`).to.equal(false);
                    }
                }
            }
        }
    });

    it("refuses subnets that do not fit, with the numbers", () => {
        expect(() => planSubnets("10.0.0.0/24", 3, 26, 26)).to.throw(/need 384 addresses but VPC 10\.0\.0\.0\/24 has 256/);
        expect(() => planSubnets("10.0.0.0/16", 3, 16, 24)).to.throw(/private subnet prefix \/16 does not fit/);
        expect(() => planSubnets("10.0.0.0/16", 3, 20, 29)).to.throw(/at most \/28/);
    });

    it("derives default prefixes from the VPC size, capped at /28", () => {
        expect(defaultSubnetPrefixes("10.0.0.0/16")).to.deep.equal({ privatePrefixLength: 20, publicPrefixLength: 24 });
        expect(defaultSubnetPrefixes("10.0.0.0/24")).to.deep.equal({ privatePrefixLength: 28, publicPrefixLength: 28 });
    });
});
