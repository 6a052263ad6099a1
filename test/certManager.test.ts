import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
    KEY_ALGORITHMS,
    certManagerAcceptsKey,
    certManagerCertificateProblems,
    certManagerDeliveryProblems,
    certManagerPrivateKey,
    certManagerUsages,
} from "../components/rules";
import { bundleSpec, certificateSpec } from "../components/certManagerObjects";
import { RawStackConfig, StackConfigError, parseStackConfig } from "../infra/spec";
import { parseCertificate } from "./support/certs";
import {
    byType,
    named,
    recorded,
    resetRecorded,
    resolveDeep,
    settle,
    setupMocks,
    useConfig,
} from "./support/pulumiMocks";

const names = { project: "mtls", stack: "test" };
const issuerRef = { name: "ca-issuer-abc", kind: "Issuer" as const, group: "cert-manager.io" as const };

function stack(extra: RawStackConfig = {}, services?: unknown[]): RawStackConfig {
    return {
        namespace: "shop",
        trustDomain: "dev.shop.internal",
        services: services ?? [
            { name: "user-service", image: "example/user-service:1.0", port: 8443, allowFrom: ["order-service"] },
            { name: "order-service", image: "example/order-service:1.0", usage: "client" },
        ],
        ...extra,
    };
}

function problemsOf(raw: RawStackConfig): string[] {
    try {
        parseStackConfig(raw, names);
    } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as StackConfigError).problems;
    }
    throw new Error("the config was accepted");
}

describe("cert-manager mapping (pure)", () => {
    it("maps every key algorithm of ours to a privateKey cert-manager's validation accepts", () => {
        expect(KEY_ALGORITHMS.map((a) => [a, certManagerPrivateKey(a)])).toEqual([
            ["ECDSA-P256", { algorithm: "ECDSA", size: 256 }],
            ["ECDSA-P384", { algorithm: "ECDSA", size: 384 }],
            ["RSA-2048", { algorithm: "RSA", size: 2048 }],
            ["RSA-3072", { algorithm: "RSA", size: 3072 }],
            ["RSA-4096", { algorithm: "RSA", size: 4096 }],
            ["ED25519", { algorithm: "Ed25519" }],
        ]);
    });

    it("applies cert-manager's key rules: RSA 2048 to 8192 bits, ECDSA 256/384/521, Ed25519", () => {
        expect(certManagerAcceptsKey({ algorithm: "RSA", size: 1024 })).toBe(false);
        expect(certManagerAcceptsKey({ algorithm: "RSA", size: 8192 })).toBe(true);
        expect(certManagerAcceptsKey({ algorithm: "ECDSA", size: 521 })).toBe(true);
        expect(certManagerAcceptsKey({ algorithm: "ECDSA", size: 224 })).toBe(false);
        expect(certManagerAcceptsKey({ algorithm: "Ed25519" })).toBe(true);
    });

    it("gives the same usages as the Pulumi path, in cert-manager's words", () => {
        expect(certManagerUsages("both", "ECDSA-P256")).toEqual(["digital signature", "server auth", "client auth"]);
        expect(certManagerUsages("server", "RSA-2048")).toEqual([
            "digital signature",
            "key encipherment",
            "server auth",
        ]);
        expect(certManagerUsages("client", "ED25519")).toEqual(["digital signature", "client auth"]);
    });

    it("builds a Certificate spec with the service's identity, lifetime and key", () => {
        const spec = certificateSpec({
            secretName: "user-service-mtls-tls",
            commonName: "user-service",
            dnsNames: ["user-service", "user-service.shop"],
            uris: ["spiffe://dev.shop.internal/ns/shop/sa/user-service"],
            ipAddresses: [],
            usage: "both",
            keyAlgorithm: "RSA-3072",
            validityHours: 2160,
            renewBeforeHours: 720,
            issuerRef,
        });
        expect(spec).toEqual({
            secretName: "user-service-mtls-tls",
            commonName: "user-service",
            dnsNames: ["user-service", "user-service.shop"],
            uris: ["spiffe://dev.shop.internal/ns/shop/sa/user-service"],
            usages: ["digital signature", "key encipherment", "server auth", "client auth"],
            duration: "2160h",
            renewBefore: "720h",
            isCA: false,
            privateKey: { algorithm: "RSA", size: 3072, rotationPolicy: "Always", encoding: "PKCS1" },
            issuerRef,
        });
    });

    it("builds a Bundle that writes ca.crt into the one namespace", () => {
        expect(bundleSpec("PEM", "shop")).toEqual({
            sources: [{ inLine: "PEM" }],
            target: {
                configMap: { key: "ca.crt" },
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } },
            },
        });
    });

    it("refuses what cert-manager's validation refuses", () => {
        expect(certManagerCertificateProblems("ECDSA-P256", 2160, 720)).toEqual([]);
        expect(certManagerCertificateProblems("ECDSA-P256", 24, 24).map((p) => p.argument)).toEqual([
            "renewBeforeHours",
        ]);
        expect(certManagerCertificateProblems("ECDSA-P256", 0.5, 0.05).map((p) => p.argument)).toEqual([
            "validityHours",
            "renewBeforeHours",
        ]);
    });

    it("refuses env delivery and restart rollout, which cannot follow in-cluster renewals", () => {
        expect(certManagerDeliveryProblems("files", "hot")).toEqual([]);
        expect(certManagerDeliveryProblems(undefined, undefined)).toEqual([]);
        expect(certManagerDeliveryProblems("env", undefined).map((p) => p.argument)).toEqual(["delivery"]);
        expect(certManagerDeliveryProblems("files", "restart").map((p) => p.argument)).toEqual(["rollout"]);
    });
});

describe("mtls:issuance in the config contract", () => {
    it("defaults to pulumi for every service", () => {
        const spec = parseStackConfig(stack(), names);
        expect(spec.issuance).toEqual({ provider: "pulumi", issuerKind: "Issuer" });
        expect(spec.services.map((s) => [s.issuance, s.rollout])).toEqual([
            ["pulumi", "restart"],
            ["pulumi", "restart"],
        ]);
    });

    it("switches a stack to cert-manager, whose services roll out hot", () => {
        const spec = parseStackConfig(stack({ issuance: "cert-manager" }), names);
        expect(spec.services.map((s) => [s.issuance, s.rollout])).toEqual([
            ["cert-manager", "hot"],
            ["cert-manager", "hot"],
        ]);
    });

    it("lets one service override the stack", () => {
        const spec = parseStackConfig(
            stack({}, [
                { name: "user-service", image: "u:1", port: 8443, issuance: "cert-manager" },
                { name: "order-service", image: "o:1", usage: "client" },
            ]),
            names,
        );
        expect(spec.services.map((s) => s.issuance)).toEqual(["cert-manager", "pulumi"]);
    });

    it("takes a ClusterIssuer with cert-manager's namespace by default", () => {
        const spec = parseStackConfig(
            stack({ issuance: { provider: "cert-manager", issuerKind: "ClusterIssuer" } }),
            names,
        );
        expect(spec.issuance).toEqual({
            provider: "cert-manager",
            issuerKind: "ClusterIssuer",
            clusterResourceNamespace: "cert-manager",
        });
    });

    it("refuses bad issuance settings by key path", () => {
        expect(problemsOf(stack({ issuance: "vault" }))).toEqual([
            expect.stringMatching(/^mtls:issuance: "vault" is not an issuance; use one of pulumi, cert-manager$/),
        ]);
        expect(problemsOf(stack({ issuance: { provider: "cert-manager", issuerKind: "Vault" } }))).toEqual([
            expect.stringMatching(/^mtls:issuance\.issuerKind: "Vault" is not a cert-manager issuer kind/),
        ]);
        expect(problemsOf(stack({ issuance: { provider: "cert-manager", clusterResourceNamespace: "cm" } }))).toEqual([
            expect.stringMatching(
                /^mtls:issuance\.clusterResourceNamespace: only applies with issuerKind: ClusterIssuer/,
            ),
        ]);
        expect(problemsOf(stack({ issuance: { provider: "pulumi", issuerKind: "ClusterIssuer" } }))).toEqual([
            expect.stringMatching(/^mtls:issuance\.issuerKind: only applies when a service is issued by cert-manager/),
        ]);
        expect(problemsOf(stack({}, [{ name: "a", image: "a:1", port: 1, issuance: "acme" }]))).toEqual([
            expect.stringMatching(/^mtls:services\[0\]\.issuance: "acme" is not an issuance/),
        ]);
    });

    it("refuses keystores for a cert-manager service, at the key that asked for them", () => {
        expect(
            problemsOf(
                stack({ issuance: "cert-manager" }, [{ name: "a", image: "a:1", port: 1, keystores: ["pkcs12"] }]),
            ),
        ).toEqual([
            expect.stringMatching(
                /^mtls:services\[0\]\.keystores: cert-manager writes tls\.crt and tls\.key only, so keystores pkcs12 cannot be built/,
            ),
        ]);
        expect(
            problemsOf(
                stack({ issuance: "cert-manager", certificates: { keystores: ["pkcs12"] } }, [
                    { name: "a", image: "a:1", port: 1 },
                ]),
            ),
        ).toEqual([
            expect.stringMatching(
                /^mtls:services\[0\]\.issuance: cert-manager writes tls\.crt and tls\.key only.*set keystores: \[\] on it$/,
            ),
        ]);
    });

    it("refuses a cert-manager service that could not follow its renewals, by key path", () => {
        const problems = problemsOf(
            stack({ issuance: "cert-manager" }, [
                { name: "a", image: "a:1", port: 1, delivery: "env" },
                { name: "b", image: "b:1", port: 1, rollout: "restart" },
                { name: "c", image: "c:1", port: 1, rollout: "hot" },
            ]),
        );
        expect(problems).toEqual([
            expect.stringMatching(/^mtls:services\[0\]\.delivery: env cannot follow cert-manager's renewals/),
            expect.stringMatching(/^mtls:services\[1\]\.rollout: restart cannot work with cert-manager/),
        ]);
    });

    it("refuses a renew window cert-manager would refuse, once, at the service's key", () => {
        const problems = problemsOf(
            stack({ issuance: "cert-manager" }, [
                { name: "a", image: "a:1", port: 1, validityHours: 48, renewBeforeHours: 48 },
            ]),
        );
        expect(problems).toEqual([
            expect.stringMatching(/^mtls:services\[0\]\.renewBeforeHours: 48 must be less than validityHours/),
        ]);
    });
});

type Program = typeof import("../infra/program");
let program: Program;

function engineConfig(raw: RawStackConfig): Record<string, string> {
    return Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [`mtls:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
    );
}

async function run(raw: RawStackConfig): Promise<any> {
    useConfig(engineConfig(raw));
    const outputs = await resolveDeep(program.main());
    await settle();
    return outputs;
}

const API = {
    Issuer: "cert-manager.io/v1",
    ClusterIssuer: "cert-manager.io/v1",
    Certificate: "cert-manager.io/v1",
    Bundle: "trust.cert-manager.io/v1alpha1",
};
const crs = (kind: keyof typeof API) => byType(`kubernetes:${API[kind]}:${kind}`);
const envOf = (service: string) =>
    named("kubernetes:apps/v1:Deployment", `${service}-deployment`).inputs.spec.template.spec.containers[0].env;
const volumeOf = (service: string) =>
    named("kubernetes:apps/v1:Deployment", `${service}-deployment`).inputs.spec.template.spec.volumes[0];
const files = (volume: any) =>
    volume.projected.sources
        .flatMap((s: any) => (s.configMap ?? s.secret).items.map((i: any) => [i.path, i.mode]))
        .sort();

describe("a stack issued by cert-manager, under mocks", () => {
    beforeAll(async () => {
        await setupMocks({ stack: "test" });
        program = await import("../infra/program");
    });
    beforeEach(resetRecorded);
    afterEach(() => vi.restoreAllMocks());

    const mixed = () =>
        stack({ kubernetes: { renderDirectory: "out/test-cm" } }, [
            {
                name: "user-service",
                image: "u:1",
                port: 8443,
                allowFrom: ["order-service"],
                issuance: "cert-manager",
                keyAlgorithm: "ED25519",
            },
            { name: "order-service", image: "o:1", usage: "client" },
        ]);

    it("hands the CA to cert-manager as a kubernetes.io/tls Secret with the key as secret data, and a CA Issuer using it", async () => {
        const outputs = await run(mixed());
        const [issuer] = crs("Issuer");
        const caSecret = byType("kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/tls")!;
        expect(issuer.inputs).toMatchObject({
            apiVersion: "cert-manager.io/v1",
            metadata: { namespace: "shop" },
            spec: { ca: { secretName: caSecret.state.metadata.name } },
        });
        expect(caSecret.inputs.metadata.namespace).toBe("shop");
        expect(caSecret.secretInputs).toContain("stringData");
        const root = named("tls:index/selfSignedCert:SelfSignedCert", "ca-root").state.certPem;
        expect(caSecret.inputs.stringData["tls.crt"]).toBe(root);
        expect(caSecret.inputs.stringData["ca.crt"]).toBe(root);
        expect(caSecret.inputs.stringData["tls.key"]).toBe(
            named("tls:index/privateKey:PrivateKey", "ca-root-key").state.privateKeyPem,
        );
        expect(parseCertificate(caSecret.inputs.stringData["tls.crt"]).isCa).toBe(true);
        // No private key anywhere but in Secrets, nor in the outputs.
        for (const object of recorded.filter(
            (r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:core/v1:Secret",
        )) {
            expect(JSON.stringify(object.inputs), object.name).not.toMatch(/PRIVATE KEY/);
        }
        expect(JSON.stringify(outputs)).not.toMatch(/PRIVATE KEY/);
    });

    it("emits a Certificate with the same identity, lifetime, usages and key as the Pulumi path would", async () => {
        await run(mixed());
        const [certificate] = crs("Certificate");
        const [issuer] = crs("Issuer");
        expect(certificate.inputs.metadata).toMatchObject({ name: "user-service", namespace: "shop" });
        expect(certificate.inputs.spec).toEqual({
            secretName: "user-service-mtls-tls",
            secretTemplate: {
                labels: { "app.kubernetes.io/name": "user-service", "app.kubernetes.io/part-of": "mtls" },
            },
            commonName: "user-service",
            dnsNames: [
                "user-service",
                "user-service.shop",
                "user-service.shop.svc",
                "user-service.shop.svc.cluster.local",
            ],
            uris: ["spiffe://dev.shop.internal/ns/shop/sa/user-service"],
            usages: ["digital signature", "server auth", "client auth"],
            duration: "2160h",
            renewBefore: "720h",
            isCA: false,
            privateKey: { algorithm: "Ed25519", rotationPolicy: "Always", encoding: "PKCS1" },
            issuerRef: { name: issuer.state.metadata.name, kind: "Issuer", group: "cert-manager.io" },
        });
        // The Pulumi-issued service keeps its own key and certificate; the cert-manager one has none from Pulumi.
        expect(byType("tls:index/locallySignedCert:LocallySignedCert").map((r) => r.name)).toEqual([
            "order-service-cert",
        ]);
    });

    it("distributes the trust bundle with trust-manager as ca.crt in the stack's namespace", async () => {
        const outputs = await run(mixed());
        const [bundle] = crs("Bundle");
        expect(bundle.inputs.apiVersion).toBe("trust.cert-manager.io/v1alpha1");
        expect(bundle.inputs.spec).toEqual(bundleSpec(outputs.caCertPem, "shop"));
    });

    it("mounts the same files with the same modes and sets the same variables as a Pulumi-issued service", async () => {
        await run(
            stack({ kubernetes: { renderDirectory: "out/test-cm" } }, [
                { name: "user-service", image: "u:1", port: 8443, issuance: "cert-manager" },
                { name: "order-service", image: "o:1", port: 8443, rollout: "hot" },
            ]),
        );
        expect(files(volumeOf("user-service"))).toEqual(files(volumeOf("order-service")));
        expect(files(volumeOf("user-service"))).toEqual([
            ["ca.crt", 0o444],
            ["tls.crt", 0o444],
            ["tls.key", 0o400],
        ]);
        const shape = (service: string) =>
            envOf(service).map((e: any) => [e.name, e.value?.replace(service, "<svc>") ?? "from"]);
        expect(shape("user-service")).toEqual(shape("order-service"));
        const sources = volumeOf("user-service").projected.sources;
        const [bundle] = crs("Bundle");
        expect(sources.find((s: any) => s.configMap).configMap.name).toBe(bundle.state.metadata.name);
        expect(sources.find((s: any) => s.secret).secret.name).toBe("user-service-mtls-tls");
        // Hot: the pods stay while cert-manager rewrites the Secret.
        expect(
            named("kubernetes:apps/v1:Deployment", "user-service-deployment").inputs.spec.template.metadata
                .annotations ?? {},
        ).toEqual({});
    });

    it("says in the outputs that the cluster renews the certificate", async () => {
        const outputs = await run(mixed());
        expect(outputs.services["user-service"]).toMatchObject({
            issuance: "cert-manager",
            issueReason: "issued in cluster: renews 720 h before its end",
            certificate: "shop/user-service",
            secretName: "user-service-mtls-tls",
            renewBeforeHours: 720,
        });
        expect(outputs.services["user-service"].notAfter).toBeUndefined();
        expect(outputs.services["order-service"]).toMatchObject({ issuance: "pulumi", notAfter: expect.any(String) });
    });

    it("publishes a ClusterIssuer's CA Secret in cert-manager's cluster resource namespace", async () => {
        await run(
            stack({
                issuance: { provider: "cert-manager", issuerKind: "ClusterIssuer", clusterResourceNamespace: "certs" },
                kubernetes: { renderDirectory: "out/test-cm" },
            }),
        );
        const [issuer] = crs("ClusterIssuer");
        expect(issuer.inputs.metadata.namespace).toBeUndefined();
        const caSecret = byType("kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/tls")!;
        expect(caSecret.inputs.metadata.namespace).toBe("certs");
        expect(crs("Certificate").map((c) => c.inputs.spec.issuerRef.kind)).toEqual(["ClusterIssuer", "ClusterIssuer"]);
        expect(byType("tls:index/locallySignedCert:LocallySignedCert")).toEqual([]);
    });

    it("keeps both roots in the Bundle during a rotation and moves the Issuer to the new CA at switch", async () => {
        const base = { issuance: "cert-manager", kubernetes: { renderDirectory: "out/test-cm" } };
        await run(stack({ ...base, ca: { generation: 1, rotation: "introduce" } }));
        const introduce = {
            bundle: crs("Bundle")[0].inputs.spec.sources[0].inLine,
            secret: byType("kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/tls")!.inputs
                .stringData["tls.crt"],
        };
        const roots = (pem: string) => pem.match(/BEGIN CERTIFICATE/g)!.length;
        expect(roots(introduce.bundle)).toBe(2);
        expect(introduce.bundle).toContain(introduce.secret);
        resetRecorded();
        await run(stack({ ...base, ca: { generation: 1, rotation: "switch" } }));
        const ca2 = named("tls:index/selfSignedCert:SelfSignedCert", "ca-g2-root").state.certPem;
        expect(
            byType("kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/tls")!.inputs.stringData[
                "tls.crt"
            ],
        ).toBe(ca2);
        expect(roots(crs("Bundle")[0].inputs.spec.sources[0].inLine)).toBe(2);
        resetRecorded();
        await run(stack({ ...base, ca: { generation: 1, rotation: "retire" } }));
        expect(crs("Bundle")[0].inputs.spec.sources[0].inLine).toBe(
            named("tls:index/selfSignedCert:SelfSignedCert", "ca-g2-root").state.certPem,
        );
    });
});
