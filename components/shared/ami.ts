import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Owner of the official Debian AMIs (the Debian cloud team's account). */
export const DEBIAN_AMI_OWNER = "136693071363";

/** True for an EC2 instance type name like `t3.micro` or `m7gd.2xlarge` (format only, not availability). */
export function isInstanceType(value: string): boolean {
    return /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(value);
}

/** `t4g.small` → arm64, `t3.micro` → x86_64, `g4dn.xlarge` → x86_64 (the g there is a family, not Graviton). */
export function instanceArchitecture(instanceType: string): "x86_64" | "arm64" {
    const m = /^([a-z]+)(\d+)([a-z-]*)\./.exec(instanceType);
    if (!m) return "x86_64";
    const [, family, , attributes] = m;
    return family === "a" || attributes.includes("g") ? "arm64" : "x86_64";
}

/** The newest official Debian 12 AMI for an architecture (an invoke, so it also works in preview). */
export function debian12Ami(architecture: "x86_64" | "arm64", opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    const debArch = architecture === "arm64" ? "arm64" : "amd64";
    return aws.ec2
        .getAmiOutput(
            {
                owners: [DEBIAN_AMI_OWNER],
                mostRecent: true,
                filters: [
                    { name: "name", values: [`debian-12-${debArch}-*`] },
                    { name: "architecture", values: [architecture] },
                    { name: "virtualization-type", values: ["hvm"] },
                ],
            },
            opts,
        )
        .apply((ami) => ami.id);
}

