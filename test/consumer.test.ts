/**
 * Reuse across projects under mocks: the owner stack exports its CA, a second
 * project reads it through a StackReference and issues its own leaves, which
 * the owner's services trust.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { signedBy } from "./support/certs";
import { mtlsHandshake } from "./support/handshake";
import { named, recorded, resetRecorded, resolveDeep, settle, setupMocks, useConfig } from "./support/pulumiMocks";
import { shippedStackConfig } from "./support/stackConfig";

let ownerOutputs: any;
let ownerSecretOutputs: string[] = [];
let ownerMaterial: { chain: string; key: string; ca: string };

beforeAll(async () => {
    await setupMocks({
        stack: "dev",
        stateful: true,
        stackReferences: () => ({ outputs: ownerOutputs, secretOutputNames: ownerSecretOutputs }),
    });
});

async function runOwner(exportPrivateKey: boolean) {
    resetRecorded();
    const config = shippedStackConfig("dev");
    config["mtls:ca"] = JSON.stringify({ ...JSON.parse(config["mtls:ca"]), exportPrivateKey });
    useConfig(config);
    const { main } = await import("../infra/program");
    const outputs = main();
    ownerSecretOutputs = [];
    for (const [key, value] of Object.entries(outputs)) {
        if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) ownerSecretOutputs.push(key);
    }
    ownerOutputs = await resolveDeep(outputs);
    await settle();
    const cm = named("kubernetes:core/v1:ConfigMap", "user-service-certs").inputs;
    ownerMaterial = {
        chain: cm.data["tls.crt"],
        ca: cm.data["ca.crt"],
        key: named("kubernetes:core/v1:Secret", "user-service-key").inputs.stringData["tls.key"],
    };
}

async function runConsumer() {
    resetRecorded();
    useConfig({
        "consumer:caStack": "organization/mtls/dev",
        "consumer:namespace": "reports-dev",
        "consumer:trustDomain": "dev.shop.internal",
        "consumer:services": JSON.stringify([
            { name: "report-service", image: "example/report-service:1.0", usage: "client" },
        ]),
        "consumer:renderDirectory": "../../out/consumer-test",
    });
    const { consumerStack } = await import("../examples/consumer/program");
    const outputs = await resolveDeep(await consumerStack());
    await settle();
    return outputs;
}

describe("a consumer project issuing from the owner's CA", () => {
    it("exports no CA key by default, and only as a secret when asked", async () => {
        await runOwner(false);
        expect(ownerOutputs.signingPrivateKeyPem).toBeUndefined();
        expect(ownerOutputs.caPrivateKeyPem).toBeUndefined();
        expect(JSON.stringify(ownerOutputs)).not.toContain("PRIVATE KEY");
        await runOwner(true);
        // The key under its name and under its deprecated 0.1 name, both secret; nothing else is.
        expect(ownerSecretOutputs.sort()).toEqual(["caPrivateKeyPem", "signingPrivateKeyPem"]);
        expect(ownerOutputs.signingPrivateKeyPem).toMatch(/PRIVATE KEY/);
        expect(ownerOutputs.caPrivateKeyPem).toBe(ownerOutputs.signingPrivateKeyPem);
    });

    it("issues from an owner that still exports only the 0.1 output names", async () => {
        await runOwner(true);
        const renamed = [
            "trustBundlePem",
            "signingCertPem",
            "signingChainPem",
            "signingNotAfter",
            "signingPrivateKeyPem",
            "rootNotAfter",
        ];
        const current = ownerOutputs;
        ownerOutputs = Object.fromEntries(Object.entries(current).filter(([name]) => !renamed.includes(name)));
        ownerSecretOutputs = ["caPrivateKeyPem"];
        try {
            await runConsumer();
        } finally {
            ownerOutputs = current;
        }
        const cm = named("kubernetes:core/v1:ConfigMap", "report-service-certs").inputs;
        expect(signedBy(cm.data["tls.crt"], current.caSigningCertPem)).toBe(true);
        expect(cm.data["ca.crt"]).toBe(current.caCertPem);
        expect(named("kubernetes:core/v1:Secret", "report-service-key").secretInputs).toContain("stringData");
    });

    it("reads the CA by StackReference and issues leaves the owner's services trust", async () => {
        await runOwner(true);
        const out: any = await runConsumer();
        expect(named("pulumi:pulumi:StackReference", "ca-owner").inputs.name).toBe("organization/mtls/dev");
        const cm = named("kubernetes:core/v1:ConfigMap", "report-service-certs").inputs;
        const key = named("kubernetes:core/v1:Secret", "report-service-key").inputs.stringData["tls.key"];
        expect(signedBy(cm.data["tls.crt"], ownerOutputs.signingCertPem)).toBe(true);
        expect(cm.data["ca.crt"]).toBe(ownerOutputs.trustBundlePem);
        expect(out.services["report-service"].fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
        const handshake = await mtlsHandshake(
            ownerMaterial,
            { chain: cm.data["tls.crt"], key, ca: cm.data["ca.crt"] },
            "user-service.shop-dev.svc",
        );
        expect(handshake).toMatchObject({ ok: true, clientCN: "report-service" });
        expect(recorded.some((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert")).toBe(false);
    });

    it("says what to do when the owner did not export its key", async () => {
        await runOwner(false);
        await expect(runConsumer()).rejects.toThrow(
            /^consumer:caStack: the stack organization\/mtls\/dev does not export its CA key; set mtls:ca\.exportPrivateKey: true in that stack/,
        );
        expect(recorded.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
    });
});
