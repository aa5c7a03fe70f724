/** Auto Scaling policies (AWS FSBP AutoScaling.1, .2, .6, .9; .3 is part of ec2-imdsv2-required). */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { T, TAG_TIER } from "../conventions";
import { asArray, at, forTypes, isKnown, isUnknown, tagValue } from "../lib";

export const asgElbHealthCheck: ResourceValidationPolicy = {
    name: "autoscaling-elb-health-check",
    description:
        "[AWS FSBP AutoScaling.1] Auto Scaling groups behind a load balancer (target groups, load balancers, " +
        `traffic sources, or "${TAG_TIER}" = "web") must use ELB health checks.`,
    enforcementLevel: "advisory",
    tags: ["AutoScaling.1", "availability"],
    validateResource: forTypes([T.asg], ({ props, providerProps }, report) => {
        const attached = ["targetGroupArns", "loadBalancers", "trafficSources"].some((k) => {
            const v = at(props, k);
            return isUnknown(v) || (asArray(v)?.length ?? 0) > 0;
        });
        const web = tagValue(props, TAG_TIER, providerProps) === "web";
        if (!attached && !web) return;
        const hc = at(props, "healthCheckType");
        if (!isUnknown(hc) && hc !== "ELB") {
            report(`healthCheckType is ${JSON.stringify(hc ?? "unset (EC2)")}: set it to "ELB" so unhealthy targets are replaced.`);
        }
    }),
};

export const asgMultiAz: ResourceValidationPolicy = {
    name: "autoscaling-multi-az",
    description: "[AWS FSBP AutoScaling.2] Auto Scaling groups must span at least two subnets/availability zones.",
    enforcementLevel: "advisory",
    tags: ["AutoScaling.2", "availability"],
    validateResource: forTypes([T.asg], ({ props }, report) => {
        const subnets = at(props, "vpcZoneIdentifiers");
        const azs = at(props, "availabilityZones");
        if (isUnknown(subnets) || isUnknown(azs)) return;
        const n = Math.max(asArray(subnets)?.length ?? 0, asArray(azs)?.length ?? 0);
        if (n < 2) report(`the group spans ${n} subnet(s)/AZ(s); use at least two.`);
    }),
};

export const asgLaunchTemplate: ResourceValidationPolicy = {
    name: "autoscaling-launch-template",
    description:
        "[AWS FSBP AutoScaling.9] Auto Scaling groups must use a launch template (launch configurations are " +
        "deprecated and cannot express IMDSv2 hop limits etc.).",
    enforcementLevel: "advisory",
    tags: ["AutoScaling.9"],
    validateResource: forTypes([T.asg, T.launchConfiguration], ({ type, props }, report) => {
        if (type === T.launchConfiguration) {
            report("aws.ec2.LaunchConfiguration is deprecated: use aws.ec2.LaunchTemplate.");
            return;
        }
        if (isKnown(at(props, "launchConfiguration")) || isUnknown(at(props, "launchConfiguration"))) {
            report("the group uses a launch configuration: use launchTemplate (or mixedInstancesPolicy) instead.");
        } else if (!isKnown(at(props, "launchTemplate")) && !isKnown(at(props, "mixedInstancesPolicy")) &&
            !isUnknown(at(props, "launchTemplate")) && !isUnknown(at(props, "mixedInstancesPolicy"))) {
            report("the group has no launchTemplate.");
        }
    }),
};

export const asgMultipleInstanceTypes: ResourceValidationPolicy = {
    name: "autoscaling-multiple-instance-types",
    description:
        "[AWS FSBP AutoScaling.6] Auto Scaling groups must use at least two instance types (mixedInstancesPolicy overrides) " +
        "across at least two availability zones, so one type's capacity shortage in an AZ cannot stop scaling.",
    enforcementLevel: "advisory",
    tags: ["AutoScaling.6", "availability"],
    validateResource: forTypes([T.asg], ({ props }, report) => {
        const mip = at(props, "mixedInstancesPolicy");
        if (isUnknown(mip)) return;
        const overrides = at(mip, "launchTemplate", "overrides");
        if (isUnknown(overrides)) return;
        const types = new Set(
            (asArray(overrides) ?? []).map((o) => at(o, "instanceType") ?? at(o, "instanceRequirements")).filter((x) => x !== undefined && x !== null).map((x) => JSON.stringify(x)),
        );
        if (types.size < 2) report(`the group launches ${types.size <= 1 ? "a single instance type" : `${types.size} instance types`}: add mixedInstancesPolicy.launchTemplate.overrides with at least two types.`);
    }),
};

export const autoscalingPolicies = [asgElbHealthCheck, asgMultiAz, asgLaunchTemplate, asgMultipleInstanceTypes];
