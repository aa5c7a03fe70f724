/** Each role reads only the secrets it uses: the web nodes get the application's database secret, never Galera's admin secret. */
import { expect } from "chai";
import { resolveOutput } from "./harness/mocks";
import { BuiltStack, buildStack } from "./harness/stacks";

describe("web nodes' secrets (dev stack)", () => {
    let s: BuiltStack;
    before(async () => {
        s = await buildStack("dev");
    });

    it("the web role may read the app database secret, Redis AUTH and the ownCloud admin secret, never the Galera admin secret", async () => {
        const arn = async (o: unknown) => (await resolveOutput(o as string)).value;
        const app = await arn(s.platform.galera.appSecretArn);
        const galeraAdmin = await arn(s.platform.galera.secretArn);
        const redis = await arn(s.platform.redis.authSecretArn);
        const owncloudAdmin = await arn(s.platform.web.adminSecretArn);
        const doc = JSON.parse(s.engine.byName("dev-owncloud-node-policy").inputs.policy);
        const readable = doc.Statement.filter((st: any) => [st.Action].flat().includes("secretsmanager:GetSecretValue")).flatMap((st: any) => [st.Resource].flat());
        expect(readable.sort()).to.deep.equal([app, redis, owncloudAdmin].sort());
        expect(readable).to.not.include(galeraAdmin);
    });

    it("web user data points DB_SECRET_ARN at the app secret", async () => {
        const app = (await resolveOutput(s.platform.galera.appSecretArn)).value;
        const [lt] = s.engine.ofType("aws:ec2/launchTemplate:LaunchTemplate");
        expect(Buffer.from(lt.inputs.userData, "base64").toString()).to.contain(`export DB_SECRET_ARN='${app}'`);
    });
});
