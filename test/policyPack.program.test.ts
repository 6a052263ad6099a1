// The project's own program passes its policy pack: every resource the shipped stacks register
// (inputs as the mocks record them, fully known as on `pulumi up`) and the stack's outputs.
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { noPrivateKeyInStackOutputs, policies } from "../policy/policies";
import { messages, validateStack } from "./support/policyHarness";
import { recorded, resetRecorded, resolveDeep, settle, setupMocks, useConfig } from "./support/pulumiMocks";
import { SHIPPED_STACKS, shippedStackConfig } from "./support/stackConfig";

type Program = typeof import("../infra/program");
let program: Program;

beforeAll(async () => {
    // A preview: the program then writes no render directory.
    await setupMocks({ stack: "dev", preview: true });
    program = await import("../infra/program");
});
beforeEach(resetRecorded);

async function runStack(config: Record<string, string>): Promise<Record<string, unknown>> {
    useConfig(config);
    const outputs = await resolveDeep(program.main());
    await settle();
    return outputs as Record<string, unknown>;
}

const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const stackPolicies = policies.filter((p): p is StackValidationPolicy => "validateStack" in p);

function stackResources(outputs: Record<string, unknown>) {
    return [
        { type: "pulumi:pulumi:Stack", name: "mtls-dev", props: outputs },
        ...recorded.map((r) => ({
            type: r.type,
            name: r.name,
            parent: "mtls-dev",
            props: { ...r.inputs, ...r.state },
        })),
    ];
}

describe.each(SHIPPED_STACKS)("the %s stack", (stack) => {
    it("passes every policy of the pack", async () => {
        const outputs = await runStack(shippedStackConfig(stack));
        const checked = new Set<string>();
        for (const resource of recorded) {
            for (const policy of resourcePolicies) {
                expect(
                    await messages(policy, { type: resource.type, name: resource.name, props: resource.inputs }),
                    `${policy.name} on ${resource.name}`,
                ).toEqual([]);
            }
            checked.add(resource.type);
        }
        for (const policy of stackPolicies)
            expect(await validateStack(policy, stackResources(outputs)), policy.name).toEqual([]);
        // The check covered what the rules are about, not an empty program.
        expect([...checked]).toEqual(
            expect.arrayContaining([
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:core/v1:Secret",
                "kubernetes:apps/v1:Deployment",
                "tls:index/privateKey:PrivateKey",
                "tls:index/selfSignedCert:SelfSignedCert",
                "tls:index/locallySignedCert:LocallySignedCert",
            ]),
        );
    });
});

describe("a stack that exports its CA key (mtls:ca.exportPrivateKey: true)", () => {
    it("is refused by no-private-key-in-stack-outputs until the output is listed in allowedOutputs", async () => {
        const config = shippedStackConfig("dev");
        const ca = JSON.parse(config["mtls:ca"] ?? "{}");
        config["mtls:ca"] = JSON.stringify({ ...ca, exportPrivateKey: true });
        const outputs = await runStack(config);
        const found = await validateStack(noPrivateKeyInStackOutputs, stackResources(outputs));
        expect(found.map((v) => v.message).sort()).toEqual([
            expect.stringMatching(/^stack output caPrivateKeyPem holds a private key \((EC )?PRIVATE KEY block\)/),
            expect.stringMatching(/^stack output signingPrivateKeyPem holds a private key \((EC )?PRIVATE KEY block\)/),
        ]);
        const allowedOutputs = ["signingPrivateKeyPem", "caPrivateKeyPem"];
        expect(await validateStack(noPrivateKeyInStackOutputs, stackResources(outputs), { allowedOutputs })).toEqual(
            [],
        );
        expect(
            await validateStack(noPrivateKeyInStackOutputs, stackResources(outputs), {
                allowedOutputs: ["caPrivateKeyPem"],
            }),
        ).toHaveLength(1);
    });
});

describe("a stack with Istio's plug-in CA (mtls:mesh pluginCa on prod)", () => {
    it("passes every policy of the pack: the intermediate key sits in a Secret only", async () => {
        const config = shippedStackConfig("prod");
        config["mtls:mesh"] = JSON.stringify({ provider: "istio", pluginCa: true });
        const outputs = await runStack(config);
        const types = new Set(recorded.map((r) => r.type));
        expect([...types]).toEqual(
            expect.arrayContaining([
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                "kubernetes:security.istio.io/v1:AuthorizationPolicy",
                "kubernetes:security.istio.io/v1:PeerAuthentication",
            ]),
        );
        expect(
            recorded.some((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === "cacerts"),
        ).toBe(true);
        for (const resource of recorded) {
            for (const policy of resourcePolicies) {
                expect(
                    await messages(policy, { type: resource.type, name: resource.name, props: resource.inputs }),
                    `${policy.name} on ${resource.name}`,
                ).toEqual([]);
            }
        }
        for (const policy of stackPolicies)
            expect(await validateStack(policy, stackResources(outputs)), policy.name).toEqual([]);
    });
});
