import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface JsonSecretArgs {
    namePrefix: string;
    description: string;
    kmsKeyId?: pulumi.Input<string>;
    recoveryWindowInDays?: number;
    tags: Record<string, string>;
}

/**
 * A Secrets Manager secret `name` holding `value` as JSON (version `${name}-value`). The value is
 * marked a Pulumi secret, so it is encrypted in state and never printed.
 */
export function jsonSecret(name: string, args: JsonSecretArgs, value: Record<string, pulumi.Input<string>>, parent: pulumi.Resource): aws.secretsmanager.Secret {
    const secret = new aws.secretsmanager.Secret(name, args, { parent });
    new aws.secretsmanager.SecretVersion(
        `${name}-value`,
        { secretId: secret.id, secretString: pulumi.secret(pulumi.jsonStringify(value)) },
        { parent: secret },
    );
    return secret;
}
