/**
 * MtlsService holds exactly the resources of ServiceCertificate, CertificateMaterial and
 * MtlsWorkload of the same name, under one component, and gives each an alias to the component
 * it had under the separate layout (what lets a deployed stack move without a new key).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
    captureRegistrations,
    named,
    recorded,
    resetRecorded,
    sent,
    settle,
    setupMocks,
    valueOf,
} from "./support/pulumiMocks";

type Components = typeof import("../components");
let c: Components;

beforeAll(async () => {
    await setupMocks();
    c = await import("../components");
    captureRegistrations();
});
beforeEach(resetRecorded);

const URN = (type: string, name: string) => `urn:pulumi:dev::mtls::${type}::${name}`;

function newService(name: string, ca: import("../components").CertificateIssuer, extra: { alias?: boolean } = {}) {
    return new c.MtlsService(name, {
        serviceName: name,
        namespace: "shop",
        usage: "server",
        certificate: { issuer: ca, trustDomain: "shop.internal" },
        material: { labels: { app: name } },
        workload: { image: `shop/${name}:1`, port: 8443, allowFrom: ["order-service"], ingressFrom: [] },
        ...(extra.alias === false ? { aliasSeparateComponents: false } : {}),
    });
}

function newSeparate(name: string, ca: import("../components").CertificateIssuer) {
    const certificate = new c.ServiceCertificate(name, {
        issuer: ca,
        serviceName: name,
        namespace: "shop",
        usage: "server",
        trustDomain: "shop.internal",
    });
    const material = new c.CertificateMaterial(name, { certificate, namespace: "shop", labels: { app: name } });
    return new c.MtlsWorkload(name, {
        serviceName: name,
        namespace: "shop",
        usage: "server",
        image: `shop/${name}:1`,
        material,
        port: 8443,
        allowFrom: ["order-service"],
        ingressFrom: [],
    });
}

const childrenOf = (parent: string) =>
    sent
        .filter((s) => s.parent === parent)
        .map((s) => `${s.type}::${s.name}`)
        .sort();

describe("MtlsService", () => {
    it("declares the three components' resources under itself, each aliased to its former component", async () => {
        const ca = new c.CertificateAuthority("ca", { commonName: "shop root CA" });
        const service = newService("user-service", ca);
        newSeparate("cart-service", ca);
        await valueOf(service.workload.deploymentName);
        await settle();

        const own = URN("mtls:index:MtlsService", "user-service");
        const separate = [
            ...childrenOf(URN("mtls:index:ServiceCertificate", "cart-service")),
            ...childrenOf(URN("mtls:index:CertificateMaterial", "cart-service")),
            ...childrenOf(URN("mtls:index:MtlsWorkload", "cart-service")),
        ]
            .map((key) => key.replace(/cart-service/g, "user-service"))
            .sort();
        expect(separate.length).toBe(10);
        expect(childrenOf(own)).toEqual(separate);
        // No component of the separate layout is registered for the service itself.
        expect(sent.filter((s) => s.name === "user-service").map((s) => s.type)).toEqual(["mtls:index:MtlsService"]);

        const former: Record<string, string> = {
            "tls:index/privateKey:PrivateKey": "ServiceCertificate",
            "tls:index/certRequest:CertRequest": "ServiceCertificate",
            "tls:index/locallySignedCert:LocallySignedCert": "ServiceCertificate",
            "pulumi-nodejs:dynamic/mtls:RenewalClock": "ServiceCertificate",
            "kubernetes:core/v1:ConfigMap": "CertificateMaterial",
            "kubernetes:core/v1:Secret": "CertificateMaterial",
            "kubernetes:core/v1:ServiceAccount": "MtlsWorkload",
            "kubernetes:apps/v1:Deployment": "MtlsWorkload",
            "kubernetes:core/v1:Service": "MtlsWorkload",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy": "MtlsWorkload",
        };
        for (const child of sent.filter((s) => s.parent === own)) {
            expect(former[child.type], child.type).toBeDefined();
            expect(child.aliasParents, `${child.type} ${child.name}`).toEqual([
                URN(`mtls:index:${former[child.type]}`, "user-service"),
            ]);
        }
        // The separate components' own children carry no alias.
        expect(sent.filter((s) => s.name.startsWith("cart-service-")).flatMap((s) => s.aliasParents)).toEqual([]);
    });

    it("wires its own material into its own Deployment, as the separate components do", async () => {
        const ca = new c.CertificateAuthority("ca", { commonName: "shop root CA" });
        const service = newService("user-service", ca);
        newSeparate("cart-service", ca);
        await valueOf(service.workload.deploymentName);
        await settle();
        const shape = (name: string) => {
            const pod = named("kubernetes:apps/v1:Deployment", `${name}-deployment`).inputs.spec.template;
            const container = pod.spec.containers[0];
            return {
                env: container.env.map((e: { name: string; value?: string }) =>
                    e.name === "MTLS_SERVICE_NAME" ? e.name : `${e.name}=${e.value ?? "ref"}`,
                ),
                mounts: container.volumeMounts,
                annotations: Object.keys(pod.metadata.annotations ?? {}).sort(),
                sources: pod.spec.volumes[0].projected.sources.map((s: object) => Object.keys(s)[0]),
            };
        };
        const mine = shape("user-service");
        expect(JSON.stringify(mine).replace(/user-service/g, "X")).toBe(
            JSON.stringify(shape("cart-service")).replace(/cart-service/g, "X"),
        );
        expect(mine.annotations).toEqual(["mtls.pulumi.com/ca-bundle-sha256", "mtls.pulumi.com/cert-sha256"]);
        // The key goes to the Secret only, as a secret input.
        const secret = named("kubernetes:core/v1:Secret", "user-service-key");
        expect(secret.secretInputs.some((path) => "stringData.tls.key".startsWith(path))).toBe(true);
        expect(JSON.stringify(named("kubernetes:core/v1:ConfigMap", "user-service-certs").inputs)).not.toContain(
            "PRIVATE KEY",
        );
        // The key leaves the component only as a secret output.
        expect(await pulumi.isSecret(service.certificate.privateKeyPem)).toBe(true);
        expect(await pulumi.isSecret(service.certificate.certPem)).toBe(false);
        expect(await valueOf(service.certificate.commonName)).toBe("user-service");
        expect(await valueOf(service.identity.spiffeId)).toBe("spiffe://shop.internal/ns/shop/sa/user-service");
    });

    it("gives no alias with aliasSeparateComponents: false", async () => {
        const ca = new c.CertificateAuthority("ca", { commonName: "shop root CA" });
        const service = newService("new-service", ca, { alias: false });
        await valueOf(service.workload.deploymentName);
        await settle();
        const children = sent.filter((s) => s.parent === URN("mtls:index:MtlsService", "new-service"));
        expect(children.length).toBe(10);
        expect(children.flatMap((s) => s.aliasParents)).toEqual([]);
    });

    it("refuses bad arguments before any child exists, naming the part and the field", () => {
        const ca = new c.CertificateAuthority("ca", { commonName: "shop root CA" });
        expect(
            () =>
                new c.MtlsService("bad", {
                    serviceName: "bad",
                    namespace: "shop",
                    usage: "server",
                    certificate: { issuer: ca },
                    workload: { image: "shop/bad:1" },
                }),
        ).toThrow(/MtlsWorkload bad: port: /);
        expect(recorded.filter((r) => r.name.startsWith("bad-")).map((r) => r.type)).toEqual([]);
    });
});
