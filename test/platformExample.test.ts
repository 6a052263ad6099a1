/**
 * examples/platform: a stack written against the package's components alone gets the checks,
 * the rotation and the identities between objects without this repository's program.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signedBy } from "./support/certs";
import { mtlsHandshake } from "./support/handshake";
import { byType, named, resetRecorded, resolveDeep, settle, setupMocks, useConfig } from "./support/pulumiMocks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

beforeAll(async () => {
    await setupMocks({ project: "mtls-platform", stack: "dev" });
});
beforeEach(resetRecorded);

async function run(config: Record<string, string> = {}) {
    useConfig({
        "platform:namespace": "payments-dev",
        "platform:trustDomain": "dev.payments.internal",
        "platform:renderDirectory": "../../out/platform-test",
        ...config,
    });
    const { platformStack } = await import("../examples/platform/program");
    const outputs: any = await resolveDeep(platformStack());
    await settle();
    return outputs;
}

function material(service: string) {
    const cm = named("kubernetes:core/v1:ConfigMap", `${service}-certs`).inputs;
    const key = named("kubernetes:core/v1:Secret", `${service}-key`).inputs.stringData["tls.key"];
    return { chain: cm.data["tls.crt"], ca: cm.data["ca.crt"], key };
}

function env(service: string): Record<string, string> {
    const container = named(DEPLOYMENT, `${service}-deployment`).inputs.spec.template.spec.containers[0];
    return Object.fromEntries(
        container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]),
    );
}

describe("examples/platform", () => {
    it("declares access between objects: the server admits the two client objects by CN and SPIFFE ID", async () => {
        await run();
        expect(
            byType(DEPLOYMENT)
                .map((d) => d.name)
                .sort(),
        ).toEqual(["checkout-api-deployment", "ledger-deployment", "refund-worker-deployment"]);
        expect(env("ledger").MTLS_ALLOWED_CLIENTS).toBe("checkout-api,refund-worker");
        expect(env("ledger").MTLS_ALLOWED_SPIFFE_IDS).toBe(
            "spiffe://dev.payments.internal/ns/payments-dev/sa/checkout-api,spiffe://dev.payments.internal/ns/payments-dev/sa/refund-worker",
        );
        const handshake = await mtlsHandshake(material("ledger"), material("checkout-api"), "ledger.payments-dev.svc");
        expect(handshake).toMatchObject({ ok: true, clientCN: "checkout-api" });
    });

    it("rotates with two plain values: at switch the new generation signs and both roots are trusted", async () => {
        const outputs = await run({ "platform:caRotation": "switch" });
        expect(outputs.signingGeneration).toBe(2);
        const roots = outputs.trustBundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        expect(roots).toHaveLength(2);
        const leaf = material("ledger").chain;
        expect(signedBy(leaf, roots[1])).toBe(true);
        expect(signedBy(leaf, roots[0])).toBe(false);
        expect(material("refund-worker").ca).toBe(outputs.trustBundlePem);
    });

    it("stops with the component, the argument and the fix when a certificate would renew on every up", async () => {
        await expect(run({ "platform:checkoutValidityHours": "100" })).rejects.toThrow(
            /^ServiceCertificate checkout-api: renewBeforeHours: 720 must be less than validityHours \(100\)/,
        );
        expect(byType("tls:index/locallySignedCert:LocallySignedCert").map((r) => r.name)).not.toContain(
            "checkout-api-cert",
        );
    });
});
