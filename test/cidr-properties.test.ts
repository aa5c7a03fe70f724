import { expect } from "chai";
import fc from "fast-check";
import { cidrContains, cidrsOverlap, hostAddress, planSubnets, prefixLength } from "../components/shared/cidr";
import { FIRST_NODE_OFFSET, nodeAddresses, resolveNodeAddresses } from "../components/shared/clusterNodes";

/** Properties of subnet carving and fixed-address allocation over generated inputs (fast-check). */

const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const fromInt = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
const size = (cidr: string) => 2 ** (32 - prefixLength(cidr));
const first = (cidr: string) => toInt(cidr.split("/")[0]);

/** A CIDR /16 to /`longest` (AWS's VPC sizes up to /28) at an aligned network address inside 10.0.0.0/8. */
const cidrUpTo = (longest: number) =>
    fc.integer({ min: 16, max: longest }).chain((p) =>
        fc.integer({ min: 0, max: 2 ** (p - 8) - 1 }).map((block) => `${fromInt(toInt("10.0.0.0") + block * 2 ** (32 - p))}/${p}`),
    );
const vpcCidr = cidrUpTo(28);

/** A layout request: a VPC with room for /28s, 1–4 AZs, and private/public prefixes longer than the VPC's, at most /28. */
const layout = cidrUpTo(27).chain((vpc) =>
    fc.record({
        vpc: fc.constant(vpc),
        azs: fc.integer({ min: 1, max: 4 }),
        privatePrefix: fc.integer({ min: prefixLength(vpc) + 1, max: 28 }),
        publicPrefix: fc.integer({ min: prefixLength(vpc) + 1, max: 28 }),
    }),
);

describe("subnet carving (planSubnets), for any VPC, AZ count and prefixes", () => {
    it("carves exactly what was asked when it fits, each subnet inside the VPC, sized as asked, pairwise disjoint", () => {
        fc.assert(
            fc.property(layout, ({ vpc, azs, privatePrefix, publicPrefix }) => {
                const needed = azs * (2 ** (32 - privatePrefix) + 2 ** (32 - publicPrefix));
                if (needed > size(vpc)) {
                    expect(() => planSubnets(vpc, azs, privatePrefix, publicPrefix)).to.throw(/need \d+ addresses but VPC/);
                    return;
                }
                const { privateCidrs, publicCidrs } = planSubnets(vpc, azs, privatePrefix, publicPrefix);
                expect(privateCidrs).to.have.length(azs);
                expect(publicCidrs).to.have.length(azs);
                for (const c of privateCidrs) expect(prefixLength(c)).to.equal(privatePrefix);
                for (const c of publicCidrs) expect(prefixLength(c)).to.equal(publicPrefix);
                const all = [...privateCidrs, ...publicCidrs];
                for (const c of all) {
                    expect(cidrContains(vpc, c), `${c} in ${vpc}`).to.equal(true);
                    expect(first(c) % size(c), `${c} starts at its own boundary`).to.equal(0);
                }
                for (let i = 0; i < all.length; i++) {
                    for (let j = i + 1; j < all.length; j++) expect(cidrsOverlap(all[i], all[j]), `${all[i]} vs ${all[j]}`).to.equal(false);
                }
            }),
            { numRuns: 300 },
        );
    });

    it("refuses a prefix not longer than the VPC's or shorter than AWS's /28", () => {
        fc.assert(
            fc.property(vpcCidr, fc.integer({ min: 0, max: 32 }), (vpc, p) => {
                fc.pre(p <= prefixLength(vpc) || p > 28);
                expect(() => planSubnets(vpc, 3, p, 28)).to.throw(/does not fit VPC/);
            }),
        );
    });
});

describe("fixed node addresses (nodeAddresses, resolveNodeAddresses), for any carved subnets and node count", () => {
    const placement = layout
        .filter(({ vpc, azs, privatePrefix, publicPrefix }) => azs * (2 ** (32 - privatePrefix) + 2 ** (32 - publicPrefix)) <= size(vpc))
        .chain((l) => fc.record({ subnets: fc.constant(planSubnets(l.vpc, l.azs, l.privatePrefix, l.publicPrefix).privateCidrs), count: fc.integer({ min: 1, max: 9 }) }));

    it("gives unique addresses, node i inside subnet i mod n, never AWS's first four or the last (broadcast) address", () => {
        fc.assert(
            fc.property(placement, ({ subnets, count }) => {
                const r = resolveNodeAddresses(count, subnets.length, subnets, undefined);
                const perSubnet = Math.ceil(count / subnets.length);
                const fits = FIRST_NODE_OFFSET + perSubnet - 1 <= size(subnets[0]) - 2;
                if (!fits) {
                    // Too small a subnet for this many nodes: one problem naming the subnets, no addresses.
                    expect(r.addresses).to.deep.equal([]);
                    expect(r.problems.map((p) => p.args)).to.deep.equal([["subnetCidrs"]]);
                    return;
                }
                expect(r.problems).to.deep.equal([]);
                expect(r.addresses).to.deep.equal(nodeAddresses(subnets, count));
                expect(new Set(r.addresses).size).to.equal(count);
                r.addresses.forEach((ip, i) => {
                    const subnet = subnets[i % subnets.length];
                    const offset = toInt(ip) - first(subnet);
                    expect(cidrContains(subnet, `${ip}/32`), `${ip} in ${subnet}`).to.equal(true);
                    expect(offset, `${ip} offset in ${subnet}`).to.be.at.least(4).and.at.most(size(subnet) - 2);
                });
            }),
            { numRuns: 300 },
        );
    });

    it("hostAddress refuses AWS's reserved addresses: the first four and the last of any subnet", () => {
        fc.assert(
            fc.property(vpcCidr, fc.integer({ min: -3, max: 70000 }), (subnet, offset) => {
                const usable = offset >= 4 && offset <= size(subnet) - 2;
                if (usable) expect(toInt(hostAddress(subnet, offset)) - first(subnet)).to.equal(offset);
                else expect(() => hostAddress(subnet, offset)).to.throw(/not a usable host address/);
            }),
        );
    });
});
