import { IPv4, IPv4CidrRange, IPv4Prefix, Pool, Validator } from "ip-num";

/**
 * Pure IPv4 CIDR helpers built on ip-num, so subnet arithmetic is done by a library that has been
 * tested on edge cases rather than by bit twiddling here.
 */

/** Returns an error text if `cidr` is not an IPv4 network in CIDR notation (address must be the network start). */
export function cidrProblem(cidr: string): string | undefined {
    if (typeof cidr !== "string" || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) {
        return `"${cidr}" is not IPv4 CIDR notation like 10.0.0.0/16`;
    }
    const [notation] = Validator.isValidIPv4CidrNotation(cidr);
    if (!notation) {
        return `"${cidr}" is not a valid IPv4 CIDR (each octet 0-255, prefix 0-32)`;
    }
    const [aligned] = Validator.isValidIPv4CidrRange(cidr);
    if (!aligned) {
        const start = IPv4CidrRange.fromCidr(cidr).getFirst().toString();
        return `"${cidr}" has host bits set; the network address is ${start}/${prefixLength(cidr)}`;
    }
    return undefined;
}

export function prefixLength(cidr: string): number {
    return Number(cidr.split("/")[1]);
}

/** True when the two ranges share at least one address (equal and nested ranges overlap too). */
export function cidrsOverlap(a: string, b: string): boolean {
    const ra = IPv4CidrRange.fromCidr(a);
    const rb = IPv4CidrRange.fromCidr(b);
    return ra.isEquals(rb) || ra.contains(rb) || rb.contains(ra) || ra.isOverlapping(rb);
}

/** True when `inner` lies entirely within `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
    const ro = IPv4CidrRange.fromCidr(outer);
    const ri = IPv4CidrRange.fromCidr(inner);
    return ro.isEquals(ri) || ro.contains(ri);
}

export interface SubnetLayout {
    /** One CIDR per availability zone, in the order the zones were given. */
    privateCidrs: string[];
    publicCidrs: string[];
}

/**
 * Carves one private and one public subnet per AZ out of the VPC CIDR. The larger (private) blocks
 * are taken first so that the layout packs without gaps: 10.0.0.0/16 with 3 AZs, /20 private and
 * /24 public gives 10.0.0.0/20, 10.0.16.0/20, 10.0.32.0/20 and 10.0.48.0/24, 10.0.49.0/24, 10.0.50.0/24.
 * Throws with the numbers when they do not fit.
 */
export function planSubnets(
    vpcCidr: string,
    azCount: number,
    privatePrefixLength: number,
    publicPrefixLength: number,
): SubnetLayout {
    const vpcPrefix = prefixLength(vpcCidr);
    for (const [what, p] of [["private", privatePrefixLength], ["public", publicPrefixLength]] as const) {
        if (!Number.isInteger(p) || p <= vpcPrefix || p > 28) {
            throw new Error(
                `${what} subnet prefix /${p} does not fit VPC ${vpcCidr}: it must be longer than /${vpcPrefix} ` +
                    `and at most /28 (AWS's smallest subnet)`,
            );
        }
    }
    const vpcSize = 2 ** (32 - vpcPrefix);
    const needed = azCount * (2 ** (32 - privatePrefixLength) + 2 ** (32 - publicPrefixLength));
    if (needed > vpcSize) {
        throw new Error(
            `${azCount} private /${privatePrefixLength} and ${azCount} public /${publicPrefixLength} subnets need ` +
                `${needed} addresses but VPC ${vpcCidr} has ${vpcSize}; use longer subnet prefixes or a larger VPC`,
        );
    }
    const pool = Pool.fromCidrRanges([IPv4CidrRange.fromCidr(vpcCidr)]);
    const take = (p: number): string => pool.getCidrRange(IPv4Prefix.fromNumber(BigInt(p))).toCidrString();
    const ordered = [
        { kind: "private" as const, p: privatePrefixLength },
        { kind: "public" as const, p: publicPrefixLength },
    ].sort((x, y) => x.p - y.p);
    const out: SubnetLayout = { privateCidrs: [], publicCidrs: [] };
    for (const { kind, p } of ordered) {
        for (let i = 0; i < azCount; i++) {
            (kind === "private" ? out.privateCidrs : out.publicCidrs).push(take(p));
        }
    }
    return out;
}

/** Default subnet prefixes for a VPC: private 16× and public 256× smaller than the VPC, capped at /28. */
export function defaultSubnetPrefixes(vpcCidr: string): { privatePrefixLength: number; publicPrefixLength: number } {
    const p = prefixLength(vpcCidr);
    return { privatePrefixLength: Math.min(p + 4, 28), publicPrefixLength: Math.min(p + 8, 28) };
}

/**
 * The address `offset` places after the network address of `cidr` (AWS reserves the first four and
 * the last address of every subnet, so offsets start at 4). Throws when it falls outside the range.
 */
export function hostAddress(cidr: string, offset: number): string {
    const range = IPv4CidrRange.fromCidr(cidr);
    const size = Number(range.getSize());
    if (!Number.isInteger(offset) || offset < 4 || offset > size - 2) {
        throw new Error(`offset ${offset} is not a usable host address in ${cidr} (4 to ${size - 2})`);
    }
    return IPv4.fromNumber(range.getFirst().getValue() + BigInt(offset)).toString();
}

/** MariaDB account host for clients in `cidr`: `10.0.%` for octet-aligned ranges, else `address/netmask`. */
export function mariadbHostPattern(cidr: string): string {
    const p = prefixLength(cidr);
    const octets = cidr.split("/")[0].split(".");
    if (p === 0) return "%";
    if (p % 8 === 0) return `${octets.slice(0, p / 8).join(".")}.%`;
    const mask = [0, 1, 2, 3].map((i) => 256 - 2 ** (8 - Math.min(8, Math.max(0, p - 8 * i)))).map((m) => (m === 256 ? 0 : m));
    return `${cidr.split("/")[0]}/${mask.join(".")}`;
}
