import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { materialVolumeName } from "../components/certificateMaterial";
import { ingressPolicySpec } from "../components/ingressRules";
import { EKU, KEY_USAGE, parseCertificate, signedBy } from "./support/certs";
import { readPkcs12 } from "./support/pkcs12";
import { byType, named, recorded, resetRecorded, setupMocks, valueOf } from "./support/pulumiMocks";

type Components = typeof import("../components");
let c: Components;

const TLS = {
    key: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
};
const K8S = {
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
    deployment: "kubernetes:apps/v1:Deployment",
    service: "kubernetes:core/v1:Service",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    authorizationPolicy: "kubernetes:security.istio.io/v1:AuthorizationPolicy",
    peerAuthentication: "kubernetes:security.istio.io/v1:PeerAuthentication",
};
const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";

beforeAll(async () => {
    await setupMocks();
    c = await import("../components");
});
beforeEach(resetRecorded);

function newCa(name = "ca", args: Partial<import("../components").CertificateAuthorityArgs> = {}) {
    return new c.CertificateAuthority(name, { commonName: "test root CA", ...args });
}

function newLeaf(
    ca: import("../components").CertificateIssuer,
    args: Partial<import("../components").ServiceCertificateArgs> = {},
) {
    return new c.ServiceCertificate((args.serviceName as string) ?? "user-service", {
        issuer: ca,
        serviceName: "user-service",
        namespace: "shop",
        ...args,
    });
}

describe("ServiceCertificate with a stack-wide RenewalSchedule", () => {
    const SCHEDULE = "pulumi-nodejs:dynamic/mtls:RenewalSchedule";

    it("reads its entry instead of keeping a RenewalClock of its own", async () => {
        const ca = newCa();
        const schedule = new c.RenewalSchedule("renewal", {
            issuerNotAfter: ca.notAfter,
            certificates: { "user-service": { validityHours: 2160, renewBeforeHours: 720 } },
        });
        const leaf = newLeaf(ca, { renewal: schedule });
        await valueOf(leaf.certPem);
        expect(byType(SCHEDULE)).toHaveLength(1);
        expect(recorded.filter((r) => r.type.endsWith("RenewalClock"))).toEqual([]);
        expect(await valueOf(schedule.entry("user-service"))).toMatchObject({ validityHours: 2160 });
    });

    it("refuses a schedule that keeps no entry under its name, before any child", () => {
        const ca = newCa();
        const schedule = new c.RenewalSchedule("renewal", {
            certificates: { "order-service": { validityHours: 2160, renewBeforeHours: 720 } },
        });
        const before = recorded.length;
        expect(() => newLeaf(ca, { renewal: schedule })).toThrow(
            /ServiceCertificate "user-service": renewal: the RenewalSchedule keeps no entry "user-service"/,
        );
        expect(recorded.slice(before).filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        expect(() => schedule.entry("user-service")).toThrow(/no entry "user-service".*keeps order-service/);
    });

    it("refuses an entry whose lifetime differs from the certificate's, naming both", async () => {
        const { scheduleEntryProblem } = await import("../components/serviceCertificate");
        expect(scheduleEntryProblem({ validityHours: 480, renewBeforeHours: 100 }, 2160, 720)).toBe(
            "the schedule's entry asks for 480 h renewed 100 h before the end, the certificate for 2160 h and 720 h; give both the same values",
        );
        expect(scheduleEntryProblem({ validityHours: 2160, renewBeforeHours: 100 }, 2160, 720)).toMatch(
            /renewed 100 h/,
        );
        expect(scheduleEntryProblem({ validityHours: 2160, renewBeforeHours: 720 }, 2160, 720)).toBeUndefined();
        expect(scheduleEntryProblem(undefined, 2160, 720)).toBeUndefined();
    });
});

describe("CertificateAuthority", () => {
    it("makes a self-signed root with the CA flag and only the CA usages", async () => {
        const ca = newCa();
        const pem = await valueOf(ca.certPem);
        const root = named(TLS.selfSigned, "ca-root").inputs;
        expect(root.isCaCertificate).toBe(true);
        expect(root.allowedUses).toEqual(["cert_signing", "crl_signing"]);
        expect(root.setSubjectKeyId).toBe(true);
        expect(root.subject.commonName).toBe("test root CA");
        expect(named(TLS.key, "ca-root-key").inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const parsed = parseCertificate(pem);
        expect(parsed.isCa).toBe(true);
        expect(parsed.keyUsages).toBe(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign);
        expect(await valueOf(ca.chainPem)).toBe("");
        expect(await valueOf(ca.trustBundlePem)).toBe(pem);
    });

    it("keeps the signing key a secret output", async () => {
        const ca = newCa("secret-ca");
        expect(await pulumi.isSecret(ca.privateKeyPem)).toBe(true);
        expect(await valueOf(ca.privateKeyPem)).toMatch(/PRIVATE KEY/);
        expect(await pulumi.isSecret(ca.certPem)).toBe(false);
    });

    it("with intermediate: the root signs an intermediate CA, which signs leaves", async () => {
        const ca = newCa("prod-ca", { intermediate: true, keyAlgorithm: "ECDSA-P384", validityHours: 1000 });
        const leaf = newLeaf(ca);
        const [rootPem, intermediatePem, leafPem, chainPem, bundlePem] = await Promise.all([
            valueOf(ca.rootCertPem),
            valueOf(ca.certPem),
            valueOf(leaf.certPem),
            valueOf(leaf.chainPem),
            valueOf(leaf.caBundlePem),
        ]);
        const inter = named(TLS.signed, "prod-ca-intermediate").inputs;
        expect(inter).toMatchObject({
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
            validityPeriodHours: 500,
        });
        expect(parseCertificate(intermediatePem).isCa).toBe(true);
        expect(signedBy(intermediatePem, rootPem)).toBe(true);
        expect(signedBy(leafPem, intermediatePem)).toBe(true);
        expect(signedBy(leafPem, rootPem)).toBe(false);
        expect(chainPem).toBe(leafPem + intermediatePem);
        expect(bundlePem).toBe(rootPem);
        expect(
            byType(TLS.key)
                .filter((k) => k.name.startsWith("prod-ca"))
                .map((k) => k.inputs.ecdsaCurve),
        ).toEqual(["P384", "P384"]);
    });

    it("adds extra trusted certificates to the bundle without repeating the root", async () => {
        const old = newCa("old-ca");
        const ca = newCa("new-ca", { additionalTrustedCertPems: [old.rootCertPem] });
        const [bundle, rootPem, oldPem] = await Promise.all([
            valueOf(ca.trustBundlePem),
            valueOf(ca.rootCertPem),
            valueOf(old.rootCertPem),
        ]);
        expect(bundle).toBe(rootPem + oldPem);
    });
});

describe("ServiceCertificate", () => {
    it.each([
        ["server", ["digital_signature", "server_auth"], [EKU.serverAuth]],
        ["client", ["digital_signature", "client_auth"], [EKU.clientAuth]],
        ["both", ["digital_signature", "server_auth", "client_auth"], [EKU.serverAuth, EKU.clientAuth]],
    ] as const)("usage %s gets its EKUs and never the CA's usages", async (usage, uses, ekus) => {
        const leaf = newLeaf(newCa(`ca-${usage}`), { serviceName: `svc-${usage}`, usage });
        const parsed = parseCertificate(await valueOf(leaf.certPem));
        expect(named(TLS.signed, `svc-${usage}-cert`).inputs.allowedUses).toEqual(uses);
        expect(named(TLS.signed, `svc-${usage}-cert`).inputs.isCaCertificate).toBe(false);
        expect(parsed.isCa).toBe(false);
        expect(parsed.extendedKeyUsages).toEqual(ekus);
        expect(parsed.keyUsages & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)).toBe(0);
    });

    it("derives the Kubernetes DNS names and the SPIFFE ID, plus extra names and IPs", async () => {
        const leaf = newLeaf(newCa(), {
            trustDomain: "dev.shop.internal",
            dnsNames: ["user-service", "api.shop.example"],
            ipAddresses: ["10.0.0.7"],
        });
        await valueOf(leaf.certPem);
        const csr = named(TLS.csr, "user-service-csr").inputs;
        const expectedDns = [
            "user-service",
            "user-service.shop",
            "user-service.shop.svc",
            "user-service.shop.svc.cluster.local",
            "api.shop.example",
        ];
        expect(csr.subject.commonName).toBe("user-service");
        expect(csr.dnsNames).toEqual(expectedDns);
        expect(csr.uris).toEqual(["spiffe://dev.shop.internal/ns/shop/sa/user-service"]);
        expect(csr.ipAddresses).toEqual(["10.0.0.7"]);
        expect(await valueOf(leaf.dnsNames)).toEqual(expectedDns);
        expect(await valueOf(leaf.uris)).toEqual(["spiffe://dev.shop.internal/ns/shop/sa/user-service"]);
        expect(await valueOf(leaf.commonName)).toBe("user-service");
    });

    it("has no URI SAN without a trust domain", async () => {
        const leaf = newLeaf(newCa());
        expect(await valueOf(leaf.uris)).toEqual([]);
        expect(named(TLS.csr, "user-service-csr").inputs.uris).toEqual([]);
    });

    it("reports validity, renewal point and fingerprint read from the issued certificate", async () => {
        const before = Date.now();
        const leaf = newLeaf(newCa(), { validityHours: 100, renewBeforeHours: 30 });
        const [pem, notAfter, renewAt, fingerprint] = await Promise.all([
            valueOf(leaf.certPem),
            valueOf(leaf.notAfter),
            valueOf(leaf.renewAt),
            valueOf(leaf.fingerprintSha256),
        ]);
        const cert = named(TLS.signed, "user-service-cert").inputs;
        expect(cert).toMatchObject({ validityPeriodHours: 100, earlyRenewalHours: 30 });
        const hoursLeft = (Date.parse(notAfter as string) - before) / 3_600_000;
        expect(hoursLeft).toBeGreaterThan(99);
        expect(hoursLeft).toBeLessThanOrEqual(100.01);
        expect(Date.parse(notAfter as string) - Date.parse(renewAt as string)).toBe(30 * 3_600_000);
        expect(fingerprint).toBe(parseCertificate(pem).node.fingerprint256.replace(/:/g, "").toLowerCase());
    });

    it("keeps the private key secret and the certificate plain", async () => {
        const leaf = newLeaf(newCa());
        expect(await pulumi.isSecret(leaf.privateKeyPem)).toBe(true);
        for (const plain of [leaf.certPem, leaf.chainPem, leaf.notAfter, leaf.fingerprintSha256, leaf.dnsNames]) {
            expect(await pulumi.isSecret(plain as pulumi.Output<unknown>)).toBe(false);
        }
    });

    it.each(["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"] as const)(
        "issues a %s certificate",
        async (algorithm) => {
            const leaf = newLeaf(newCa(`ca-${algorithm}`), {
                serviceName: `svc-${algorithm.toLowerCase()}`,
                keyAlgorithm: algorithm,
            });
            const node = parseCertificate(await valueOf(leaf.certPem)).node;
            const expectedType = algorithm.startsWith("RSA") ? "rsa" : algorithm === "ED25519" ? "ed25519" : "ec";
            expect(node.publicKey.asymmetricKeyType).toBe(expectedType);
            if (algorithm.startsWith("RSA"))
                expect(node.publicKey.asymmetricKeyDetails?.modulusLength).toBe(Number(algorithm.slice(4)));
        },
    );

    it("passes a rotation trigger to the key and the certificate as Pulumi's replacement trigger", async () => {
        // Mocks do not see resource options, so a transformation on the component (inherited by its
        // children) records the options each child is registered with.
        const seen = new Map<string, pulumi.Input<unknown> | undefined>();
        const record: pulumi.ResourceTransformation = ({ name, props, opts }) => {
            seen.set(name, opts.replacementTrigger);
            return { props, opts };
        };
        const leaf = new c.ServiceCertificate(
            "trigger-service",
            {
                issuer: newCa("ca-trigger"),
                serviceName: "trigger-service",
                namespace: "shop",
                autoRenew: false,
                rotationTrigger: "generation-2",
            },
            { transformations: [record] },
        );
        await valueOf(leaf.certPem);
        for (const child of ["trigger-service-key", "trigger-service-csr", "trigger-service-cert"]) {
            expect(seen.has(child), child).toBe(true);
            expect(await valueOf(pulumi.output(seen.get(child))), child).toEqual(["generation-2"]);
        }
    });
});

describe("RotatingCertificateAuthority", () => {
    const LEDGER = "pulumi-nodejs:dynamic/mtls:RotationLedger";

    it("steady: one generation under the component, with its ledger; the root signs and is the whole bundle", async () => {
        const ca = new c.RotatingCertificateAuthority("rot", { commonName: "rot root CA" });
        const [cert, bundle, root, urn] = await Promise.all([
            valueOf(ca.certPem),
            valueOf(ca.trustBundlePem),
            valueOf(ca.rootCertPem),
            valueOf(ca.generations[0].authority.urn),
        ]);
        expect(ca.generations.map((g) => [g.generation, g.role])).toEqual([[1, "signing"]]);
        expect(urn).toMatch(/::mtls:index:RotatingCertificateAuthority\$mtls:index:CertificateAuthority::rot$/);
        expect(named(LEDGER, "rot-rotation").inputs).toMatchObject({ generation: 1, phase: "steady" });
        expect(named(TLS.selfSigned, "rot-root").inputs.subject.commonName).toBe("rot root CA");
        expect(cert).toBe(root);
        expect(bundle).toBe(root);
        expect(await pulumi.isSecret(ca.privateKeyPem)).toBe(true);
    });

    it("switch: the next generation signs, both roots are trusted, and its leaves chain to the new root only", async () => {
        const ca = new c.RotatingCertificateAuthority("rot-switch", { commonName: "rot root CA", rotation: "switch" });
        const leaf = newLeaf(ca, { serviceName: "rot-leaf", autoRenew: false });
        const [oldRoot, newRoot, signing, bundle, leafPem, commonName] = await Promise.all([
            valueOf(ca.generations[0].authority.rootCertPem),
            valueOf(ca.generations[1].authority.rootCertPem),
            valueOf(ca.certPem),
            valueOf(ca.trustBundlePem),
            valueOf(leaf.certPem),
            valueOf(ca.commonName),
        ]);
        expect(ca.generations.map((g) => [g.generation, g.role])).toEqual([
            [1, "trusted"],
            [2, "signing"],
        ]);
        expect(ca.signingGeneration).toBe(2);
        expect(commonName).toBe("rot root CA G2");
        expect(named(TLS.selfSigned, "rot-switch-g2-root").inputs.subject.commonName).toBe("rot root CA G2");
        expect(signing).toBe(newRoot);
        expect(bundle).toBe(`${oldRoot.trimEnd()}\n${newRoot.trimEnd()}\n`);
        expect(signedBy(leafPem, newRoot)).toBe(true);
        expect(signedBy(leafPem, oldRoot)).toBe(false);
        expect(await valueOf(leaf.caBundlePem)).toBe(bundle);
    });

    it("retire: only the next generation is left", async () => {
        const ca = new c.RotatingCertificateAuthority("rot-retire", {
            commonName: "rot root CA",
            rotation: "retire",
            generation: 3,
        });
        await valueOf(ca.certPem);
        expect(ca.generations.map((g) => [g.generation, g.role])).toEqual([[4, "signing"]]);
        expect(
            recorded.filter((r) => r.type === TLS.selfSigned && r.name.startsWith("rot-retire")).map((r) => r.name),
        ).toEqual(["rot-retire-g4-root"]);
    });

    it("refuses a generation or phase that is not one before creating anything", () => {
        expect(() => new c.RotatingCertificateAuthority("rot-bad", { commonName: "x", generation: 0 })).toThrow(
            /^RotatingCertificateAuthority rot-bad: generation: must be a whole number from 1 up/,
        );
        expect(
            () => new c.RotatingCertificateAuthority("rot-bad2", { commonName: "x", rotation: "rotate" as any }),
        ).toThrow(/rotation: "rotate" is not a rotation phase; use one of introduce, switch, retire/);
        expect(recorded.filter((r) => r.name.startsWith("rot-bad"))).toEqual([]);
    });
});

describe("argument checks in the components", () => {
    it("ServiceCertificate refuses a renew window longer than the certificate's life before creating anything", async () => {
        const ca = newCa("ca-window");
        await valueOf(ca.certPem);
        resetRecorded();
        expect(() => newLeaf(ca, { serviceName: "window", validityHours: 100, renewBeforeHours: 120 })).toThrow(
            /^ServiceCertificate window: renewBeforeHours: 120 must be less than validityHours \(100\)/,
        );
        expect(recorded.filter((r) => r.name.startsWith("window"))).toEqual([]);
    });

    it("ServiceCertificate names an unknown key algorithm and usage with what is allowed", () => {
        const ca = newCa("ca-algo");
        expect(() => newLeaf(ca, { serviceName: "algo", keyAlgorithm: "RSA-1024" as any })).toThrow(
            /keyAlgorithm: "RSA-1024" is not a supported key algorithm; use one of ECDSA-P256/,
        );
        expect(() => newLeaf(ca, { serviceName: "use", usage: "peer" as any })).toThrow(
            /usage: "peer" is not a usage; use one of server, client, both/,
        );
    });

    it("CertificateAuthority refuses an intermediate that outlives its root", () => {
        expect(() =>
            newCa("ca-long", { validityHours: 1000, intermediate: true, intermediateValidityHours: 2000 }),
        ).toThrow(/^CertificateAuthority ca-long: intermediateValidityHours: 2000 exceeds validityHours \(1000\)/);
        expect(recorded.filter((r) => r.name.startsWith("ca-long"))).toEqual([]);
    });
});

describe("CertificateMaterial", () => {
    async function material() {
        const leaf = newLeaf(newCa(), { trustDomain: "td" });
        const m = new c.CertificateMaterial("user-service", {
            certificate: leaf,
            namespace: "shop",
            labels: { app: "user-service" },
        });
        await Promise.all([valueOf(m.configMapName), valueOf(m.secretName)]);
        return { leaf, m };
    }

    it("puts the chain and CA bundle in a ConfigMap and only the key in a Secret", async () => {
        const { leaf } = await material();
        const cm = named(K8S.configMap, "user-service-certs");
        const secret = named(K8S.secret, "user-service-key");
        expect(Object.keys(cm.inputs.data).sort()).toEqual(["ca.crt", "tls.crt"]);
        expect(cm.inputs.data["tls.crt"]).toBe(await valueOf(leaf.chainPem));
        expect(cm.inputs.data["ca.crt"]).toBe(await valueOf(leaf.caBundlePem));
        expect(JSON.stringify(cm.inputs)).not.toContain("PRIVATE KEY");
        expect(Object.keys(secret.inputs.stringData)).toEqual(["tls.key"]);
        expect(secret.inputs.stringData["tls.key"]).toBe(await valueOf(leaf.privateKeyPem));
        expect(cm.inputs.metadata).toMatchObject({ namespace: "shop", labels: { app: "user-service" } });
        expect(cm.inputs.metadata.name).toBeUndefined();
        expect(secret.inputs.metadata.name).toBeUndefined();
    });

    it("holds the material's objects and settings as its own fields, and nothing private besides", async () => {
        const { m, leaf } = await material();
        expect(await valueOf(m.configMap.metadata.name)).toBe(await valueOf(m.configMapName));
        expect(await valueOf(m.secret.metadata.name)).toBe(await valueOf(m.secretName));
        expect([m.rollout, m.volumeName, m.keystores, m.keystorePassword]).toEqual([
            "restart",
            "mtls-user-service",
            [],
            undefined,
        ]);
        expect(m.identity).toBe(leaf.identity);
        // The component's own fields beside the SDK's (which are `__`-prefixed or on every component): exactly the documented ones.
        const sdk = new Set(Object.keys(new pulumi.ComponentResource("test:index:Bare", "bare")));
        expect(
            Object.keys(m)
                .filter((k) => !sdk.has(k) && !k.startsWith("__"))
                .sort(),
        ).toEqual(
            [
                "configMap",
                "configMapName",
                "identity",
                "keystorePassword",
                "keystores",
                "rollout",
                "secret",
                "secretName",
                "volumeName",
            ].sort(),
        );
    });

    it("hands back one projected volume with the key at 0400 and certificates at 0444", async () => {
        const { m } = await material();
        const [volume] = await valueOf(pulumi.output(m.volumes()));
        const [cmSource, secretSource] = volume.projected!.sources!;
        expect(cmSource.configMap!.name).toBe(await valueOf(m.configMapName));
        expect(cmSource.configMap!.items).toEqual([
            { key: "ca.crt", path: "ca.crt", mode: 0o444 },
            { key: "tls.crt", path: "tls.crt", mode: 0o444 },
        ]);
        expect(secretSource.secret!.name).toBe(await valueOf(m.secretName));
        expect(secretSource.secret!.items).toEqual([{ key: "tls.key", path: "tls.key", mode: 0o400 }]);
        expect(m.volumeMounts("/certs")).toEqual([{ name: "mtls-user-service", mountPath: "/certs", readOnly: true }]);
        expect(m.fileEnv("/certs/").map((e) => `${e.name}=${e.value}`)).toEqual([
            "MTLS_CERT_FILE=/certs/tls.crt",
            "MTLS_KEY_FILE=/certs/tls.key",
            "MTLS_CA_FILE=/certs/ca.crt",
        ]);
    });

    it("hands back the volume, its mount and the file variables in one piece, named after the material", async () => {
        const { m } = await material();
        const leaf = newLeaf(newCa("ca-second"), { serviceName: "audit-client" });
        const second = new c.CertificateMaterial("audit-client", { certificate: leaf, namespace: "shop" });
        const [own, other] = [m.mount("/etc/mtls"), second.mount("/etc/audit")];
        expect(own.volume.name).toBe(own.volumeMount.name);
        expect([own.volume.name, other.volume.name]).toEqual(["mtls-user-service", "mtls-audit-client"]);
        expect(other.env.map((e) => e.value)).toEqual([
            "/etc/audit/tls.crt",
            "/etc/audit/tls.key",
            "/etc/audit/ca.crt",
        ]);
        expect(materialVolumeName("x".repeat(80))).toMatch(/^mtls-x+-[0-9a-f]{8}$/);
        expect(materialVolumeName("x".repeat(80)).length).toBeLessThanOrEqual(63);
    });

    it("with secretType tls: a kubernetes.io/tls Secret with the chain and the key, for charts that take an existingSecret", async () => {
        const leaf = newLeaf(newCa("ca-tls-secret"), { serviceName: "chart-app" });
        const m = new c.CertificateMaterial("chart-app", { certificate: leaf, namespace: "shop", secretType: "tls" });
        await valueOf(m.secretName);
        const secret = named(K8S.secret, "chart-app-key").inputs;
        expect(secret.type).toBe("kubernetes.io/tls");
        expect(Object.keys(secret.stringData).sort()).toEqual(["tls.crt", "tls.key"]);
        expect(secret.stringData["tls.crt"]).toBe(await valueOf(leaf.chainPem));
        const { m: plain } = await material();
        await valueOf(plain.secretName);
        expect(named(K8S.secret, "user-service-key").inputs.type).toBe("Opaque");
    });

    it("hands back env vars that reference the ConfigMap and the Secret, never the PEM text", async () => {
        const { m } = await material();
        const env = await valueOf(pulumi.output(m.env()));
        expect(env.map((e) => e.name)).toEqual(["MTLS_CERT", "MTLS_KEY", "MTLS_CA"]);
        expect(env[1].valueFrom!.secretKeyRef).toEqual({ name: await valueOf(m.secretName), key: "tls.key" });
        expect(env[0].valueFrom!.configMapKeyRef).toEqual({ name: await valueOf(m.configMapName), key: "tls.crt" });
        expect(env.every((e) => e.value === undefined)).toBe(true);
    });

    it("annotates with fingerprints only", async () => {
        const { leaf, m } = await material();
        const annotations = await valueOf(pulumi.output(m.podAnnotations()));
        expect(annotations["mtls.pulumi.com/cert-sha256"]).toBe(await valueOf(leaf.fingerprintSha256));
        expect(annotations["mtls.pulumi.com/ca-bundle-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    });
});

describe("CertificateMaterial with keystores", () => {
    async function material(
        args: Partial<import("../components").CertificateMaterialArgs> = {},
        name = "user-service",
    ) {
        const ca = newCa(`ca-${name}`, { intermediate: true });
        const leaf = newLeaf(ca, { serviceName: name });
        const m = new c.CertificateMaterial(name, {
            certificate: leaf,
            namespace: "shop",
            keystores: ["pkcs12"],
            ...args,
        });
        await Promise.all([valueOf(m.configMapName), valueOf(m.secretName)]);
        return {
            leaf,
            m,
            secret: named(K8S.secret, `${name}-key`),
            password: named(PASSWORD_TYPE, `${name}-keystore-password`),
        };
    }

    it("adds keystore.p12 and truststore.p12 and the password to the Secret, all as secrets, and nothing to the ConfigMap", async () => {
        const { leaf, secret, password, m } = await material();
        expect(Object.keys(secret.inputs.stringData).sort()).toEqual(["keystore-password", "tls.key"]);
        expect(Object.keys(secret.inputs.data).sort()).toEqual(["keystore.p12", "truststore.p12"]);
        expect(secret.inputs.stringData["keystore-password"]).toBe(password.state.result);
        expect(secret.secretInputs).toEqual(expect.arrayContaining(["stringData", "data"]));
        expect(Object.keys(named(K8S.configMap, "user-service-certs").inputs.data).sort()).toEqual([
            "ca.crt",
            "tls.crt",
        ]);
        const keystore = await readPkcs12(
            Buffer.from(secret.inputs.data["keystore.p12"], "base64"),
            password.state.result,
        );
        expect(keystore.certificates.map((cert) => cert.pem).join("")).toBe(await valueOf(leaf.chainPem));
        const truststore = await readPkcs12(
            Buffer.from(secret.inputs.data["truststore.p12"], "base64"),
            password.state.result,
        );
        expect(truststore.certificates.map((cert) => cert.pem).join("")).toBe(await valueOf(leaf.caBundlePem));
        expect(await pulumi.isSecret(m.keystorePassword!)).toBe(true);
    });

    it("draws the password from random.RandomPassword: 32 letters and digits, its version the keeper", async () => {
        const { password } = await material({ keystorePasswordVersion: 4 });
        expect(password.inputs).toMatchObject({
            length: 32,
            special: false,
            minLower: 1,
            minUpper: 1,
            minNumeric: 1,
            keepers: { version: "4" },
        });
        expect(password.state.result).toMatch(/^[A-Za-z0-9]{32}$/);
    });

    it("with jks, adds truststore.jks too, and never a JKS keystore", async () => {
        const { secret, m } = await material({ keystores: ["pkcs12", "jks"] });
        expect(Object.keys(secret.inputs.data).sort()).toEqual(["keystore.p12", "truststore.jks", "truststore.p12"]);
        expect(m.keystoreFiles()).toEqual(["keystore.p12", "truststore.p12", "truststore.jks"]);
    });

    it("mounts the stores 0400 beside tls.key and hands their paths, type and password reference to the app, never the password", async () => {
        const { m } = await material({ keystores: ["pkcs12", "jks"] });
        const [volume] = await valueOf(pulumi.output(m.volumes()));
        expect(volume.projected!.sources![1].secret!.items).toEqual(
            ["tls.key", "keystore.p12", "truststore.p12", "truststore.jks"].map((f) => ({
                key: f,
                path: f,
                mode: 0o400,
            })),
        );
        const env = await valueOf(pulumi.output(m.fileEnv("/certs")));
        const byName = Object.fromEntries(env.map((e) => [e.name, e]));
        expect(byName.MTLS_KEYSTORE_FILE.value).toBe("/certs/keystore.p12");
        expect(byName.MTLS_TRUSTSTORE_FILE.value).toBe("/certs/truststore.p12");
        expect(byName.MTLS_TRUSTSTORE_JKS_FILE.value).toBe("/certs/truststore.jks");
        expect(byName.MTLS_KEYSTORE_TYPE.value).toBe("PKCS12");
        expect(byName.MTLS_KEYSTORE_PASSWORD).toEqual({
            name: "MTLS_KEYSTORE_PASSWORD",
            valueFrom: { secretKeyRef: { name: await valueOf(m.secretName), key: "keystore-password" } },
        });
    });

    it("rolls the pods when the password version changes, also with hot rollout, by the version alone", async () => {
        const restart = await material({ keystorePasswordVersion: 2 });
        expect(await valueOf(pulumi.output(restart.m.podAnnotations()))).toMatchObject({
            "mtls.pulumi.com/keystore-password-version": "2",
        });
        const hot = await material({ rollout: "hot" }, "hot-service");
        expect(await valueOf(pulumi.output(hot.m.podAnnotations()))).toEqual({
            "mtls.pulumi.com/keystore-password-version": "1",
        });
        expect(JSON.stringify(await valueOf(pulumi.output(restart.m.podAnnotations())))).not.toContain(
            restart.password.state.result,
        );
    });

    it("adds nothing without keystores: no password, no stores, no variables", async () => {
        const leaf = newLeaf(newCa("ca-plain"), { serviceName: "plain" });
        const m = new c.CertificateMaterial("plain", { certificate: leaf, namespace: "shop" });
        await valueOf(m.secretName);
        expect(byType(PASSWORD_TYPE)).toEqual([]);
        expect(named(K8S.secret, "plain-key").inputs.data).toBeUndefined();
        expect(m.fileEnv().map((e) => e.name)).toEqual(["MTLS_CERT_FILE", "MTLS_KEY_FILE", "MTLS_CA_FILE"]);
        expect(m.keystorePassword).toBeUndefined();
    });

    it("refuses a bad keystores list before creating anything, naming the entry and the fix", async () => {
        const leaf = newLeaf(newCa("ca-bad"), { serviceName: "bad" });
        expect(
            () => new c.CertificateMaterial("bad", { certificate: leaf, namespace: "shop", keystores: ["jks"] }),
        ).toThrow(/CertificateMaterial bad: keystores: jks adds a JKS truststore .*write \[pkcs12, jks\]/);
        expect(
            () =>
                new c.CertificateMaterial("bad2", {
                    certificate: leaf,
                    namespace: "shop",
                    keystores: ["pkcs12", "bks" as never],
                }),
        ).toThrow(/keystores\[1\]: "bks" is not a keystore format; use pkcs12 or jks/);
        await valueOf(leaf.certPem);
        expect(byType(K8S.secret)).toEqual([]);
        expect(byType(PASSWORD_TYPE)).toEqual([]);
    });

    it("refuses env delivery with keystores: the stores are files", async () => {
        const { m } = await material({}, "env-service");
        expect(
            () =>
                new c.MtlsWorkload("env-service", {
                    serviceName: "env-service",
                    namespace: "shop",
                    image: "i",
                    material: m,
                    usage: "client",
                    delivery: "env",
                }),
        ).toThrow(
            /MtlsWorkload env-service: delivery: "env" cannot carry keystores pkcs12 \(a keystore is a binary file .*\); set delivery: files/,
        );
        expect(byType(K8S.deployment)).toEqual([]);
    });

    it("refuses a bad password version, or one without keystores, before creating anything", async () => {
        const leaf = newLeaf(newCa("ca-version"), { serviceName: "version" });
        expect(
            () =>
                new c.CertificateMaterial("v0", {
                    certificate: leaf,
                    namespace: "shop",
                    keystores: ["pkcs12"],
                    keystorePasswordVersion: 0,
                }),
        ).toThrow(/CertificateMaterial v0: keystorePasswordVersion: must be a whole number from 1 up .*got 0/);
        expect(
            () => new c.CertificateMaterial("v2", { certificate: leaf, namespace: "shop", keystorePasswordVersion: 2 }),
        ).toThrow(/CertificateMaterial v2: keystorePasswordVersion: only applies with keystores/);
        await valueOf(leaf.certPem);
        expect(byType(K8S.secret)).toEqual([]);
        expect(byType(PASSWORD_TYPE)).toEqual([]);
    });

    it("through mount(): the stores under the material's own volume name, the password by secretKeyRef to its Secret", async () => {
        const { m } = await material({ keystores: ["pkcs12", "jks"] }, "billing");
        const piece = m.mount("/certs");
        expect(piece.volume.name).toBe(materialVolumeName("billing"));
        expect(piece.volumeMount).toEqual({ name: materialVolumeName("billing"), mountPath: "/certs", readOnly: true });
        const secretItems = (await valueOf(pulumi.output(piece.volume))).projected!.sources![1].secret!.items!.map(
            (i) => i.key,
        );
        expect(secretItems).toEqual(["tls.key", "keystore.p12", "truststore.p12", "truststore.jks"]);
        const env = Object.fromEntries((await valueOf(pulumi.output(piece.env))).map((e) => [e.name, e]));
        expect(env.MTLS_KEYSTORE_FILE.value).toBe("/certs/keystore.p12");
        expect(env.MTLS_KEYSTORE_PASSWORD.value).toBeUndefined();
        expect(env.MTLS_KEYSTORE_PASSWORD.valueFrom).toEqual({
            secretKeyRef: { name: await valueOf(m.secretName), key: "keystore-password" },
        });
    });

    it("MtlsWorkload puts the stores and the password reference in the Deployment, next to a second material without collision", async () => {
        const { m } = await material({}, "java-app");
        const other = {
            m: new c.CertificateMaterial("java-app-client", {
                certificate: newLeaf(newCa("ca-java-client"), { serviceName: "java-app-client" }),
                namespace: "shop",
            }),
        };
        const w = new c.MtlsWorkload("java-app", {
            serviceName: "java-app",
            namespace: "shop",
            image: "i",
            material: m,
            port: 8443,
            pod: { volumes: [other.m.mount("/client").volume] },
            container: { volumeMounts: [other.m.mount("/client").volumeMount] },
        });
        await valueOf(w.deploymentName);
        const pod = named(K8S.deployment, "java-app-deployment").inputs.spec.template.spec;
        expect(pod.volumes.map((v: { name: string }) => v.name)).toEqual(["mtls-java-app", "mtls-java-app-client"]);
        expect(pod.volumes[0].projected.sources[1].secret.items.map((i: { key: string }) => i.key)).toEqual([
            "tls.key",
            "keystore.p12",
            "truststore.p12",
        ]);
        const env = Object.fromEntries(pod.containers[0].env.map((e: { name: string }) => [e.name, e]));
        expect(env.MTLS_KEYSTORE_PASSWORD.valueFrom.secretKeyRef).toEqual({
            name: await valueOf(m.secretName),
            key: "keystore-password",
        });
        expect(JSON.stringify(pod)).not.toContain(named(PASSWORD_TYPE, "java-app-keystore-password").state.result);
    });

    it("with secretType tls: a kubernetes.io/tls Secret holding tls.crt and tls.key, with the stores and the password as extra keys", async () => {
        const { leaf, m, secret, password } = await material({ secretType: "tls" }, "chart-java");
        expect(secret.inputs.type).toBe("kubernetes.io/tls");
        expect(Object.keys(secret.inputs.stringData).sort()).toEqual(["keystore-password", "tls.crt", "tls.key"]);
        expect(secret.inputs.stringData["tls.crt"]).toBe(await valueOf(leaf.chainPem));
        expect(Object.keys(secret.inputs.data).sort()).toEqual(["keystore.p12", "truststore.p12"]);
        const keystore = await readPkcs12(
            Buffer.from(secret.inputs.data["keystore.p12"], "base64"),
            password.state.result,
        );
        expect(keystore.certificates.map((cert) => cert.pem).join("")).toBe(await valueOf(leaf.chainPem));
        const [volume] = await valueOf(pulumi.output(m.volumes()));
        expect(volume.projected!.sources![1].secret!.items!.map((i) => i.key)).toEqual([
            "tls.key",
            "keystore.p12",
            "truststore.p12",
        ]);
    });
});

describe("MtlsWorkload", () => {
    async function workload(args: Partial<import("../components").MtlsWorkloadArgs>, name = "user-service") {
        const leaf = newLeaf(newCa(`ca-${name}`), { serviceName: name, usage: args.usage ?? "both" });
        const material = new c.CertificateMaterial(name, { certificate: leaf, namespace: "shop" });
        const w = new c.MtlsWorkload(name, {
            serviceName: name,
            namespace: "shop",
            image: "example/app:1",
            material,
            port: 8443,
            ...args,
        });
        await valueOf(w.deploymentName);
        if (w.service) await valueOf(w.service.urn);
        return { leaf, material, w, deployment: named(K8S.deployment, `${name}-deployment`).inputs };
    }

    it("with files: mounts the projected volume read-only and points MTLS_*_FILE at it", async () => {
        const { deployment, leaf } = await workload({
            delivery: "files",
            mountPath: "/var/run/mtls",
            allowFrom: ["order-service", "payment-service"],
        });
        const pod = deployment.spec.template.spec;
        const container = pod.containers[0];
        expect(container.volumeMounts).toEqual([
            { name: "mtls-user-service", mountPath: "/var/run/mtls", readOnly: true },
        ]);
        expect(pod.volumes[0].projected.sources[1].secret.items[0].mode).toBe(0o400);
        const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
        expect(env).toMatchObject({
            MTLS_CERT_FILE: "/var/run/mtls/tls.crt",
            MTLS_KEY_FILE: "/var/run/mtls/tls.key",
            MTLS_CA_FILE: "/var/run/mtls/ca.crt",
            MTLS_ALLOWED_CLIENTS: "order-service,payment-service",
            MTLS_SERVICE_NAME: "user-service",
            MTLS_PORT: "8443",
        });
        expect(container.env.some((e: any) => e.name === "MTLS_KEY")).toBe(false);
        expect(deployment.spec.template.metadata.annotations["mtls.pulumi.com/cert-sha256"]).toBe(
            await valueOf(leaf.fingerprintSha256),
        );
        expect(pod.serviceAccountName).toBe("user-service");
    });

    it("with env: reads the PEM from the ConfigMap and Secret and mounts nothing", async () => {
        const { deployment, material } = await workload(
            { delivery: "env", usage: "client", port: undefined },
            "order-service",
        );
        const container = deployment.spec.template.spec.containers[0];
        expect(container.volumeMounts).toEqual([]);
        expect(deployment.spec.template.spec.volumes).toEqual([]);
        const key = container.env.find((e: any) => e.name === "MTLS_KEY");
        expect(key.valueFrom.secretKeyRef).toEqual({ name: await valueOf(material.secretName), key: "tls.key" });
        expect(container.env.find((e: any) => e.name === "MTLS_CERT").valueFrom.configMapKeyRef.key).toBe("tls.crt");
        expect(container.ports).toEqual([]);
    });

    it("exposes servers through a Service named after them and gives clients none", async () => {
        const { w } = await workload({ usage: "server" });
        const svc = named(K8S.service, "user-service-service").inputs;
        expect(svc.metadata.name).toBe("user-service");
        expect(svc.spec.ports).toEqual([{ name: "mtls", port: 8443, targetPort: "mtls", protocol: "TCP" }]);
        expect(w.service).toBeDefined();
        const client = await workload({ usage: "client", port: undefined }, "order-service");
        expect(client.w.service).toBeUndefined();
        expect(byType(K8S.service).map((s) => s.name)).toEqual(["user-service-service"]);
    });

    it("refuses hot rollout with env delivery: env vars only change on restart", async () => {
        const leaf = newLeaf(newCa("ca-hot"), { serviceName: "hot" });
        const material = new c.CertificateMaterial("hot", { certificate: leaf, namespace: "shop", rollout: "hot" });
        expect(
            () =>
                new c.MtlsWorkload("hot", {
                    serviceName: "hot",
                    namespace: "shop",
                    image: "i",
                    material,
                    usage: "client",
                    delivery: "env",
                }),
        ).toThrow(/^MtlsWorkload hot: rollout: hot needs delivery: files/);
        await valueOf(material.configMapName);
        expect(named(K8S.configMap, "hot-certs").inputs.metadata.name).toBe("hot-mtls-certs");
        expect(named(K8S.secret, "hot-key").inputs.metadata.name).toBe("hot-mtls-key");
        expect(material.podAnnotations()).toEqual({});
    });

    it("meets Pod Security restricted: non-root ids, RuntimeDefault seccomp, no escalation, no capabilities, read-only root", async () => {
        const { deployment } = await workload({ runAs: { runAsUser: 1001, runAsGroup: 2002, fsGroup: 3003 } });
        const pod = deployment.spec.template.spec;
        expect(pod.securityContext).toEqual({
            runAsNonRoot: true,
            runAsUser: 1001,
            runAsGroup: 2002,
            fsGroup: 3003,
            seccompProfile: { type: "RuntimeDefault" },
        });
        expect(pod.containers[0].securityContext).toEqual({
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
        });
        const defaults = await workload({}, "order-service");
        expect(defaults.deployment.spec.template.spec.securityContext).toMatchObject({
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
        });
    });

    it("asks the kubernetes provider not to wait only when skipAwait is set", async () => {
        await workload({ skipAwait: true });
        expect(named(K8S.deployment, "user-service-deployment").inputs.metadata.annotations).toEqual({
            "pulumi.com/skipAwait": "true",
        });
        expect(named(K8S.service, "user-service-service").inputs.metadata.annotations).toEqual({
            "pulumi.com/skipAwait": "true",
        });
        const waiting = await workload({}, "order-service");
        expect(waiting.deployment.metadata.annotations).toBeUndefined();
    });

    it("takes callers as objects: common name and SPIFFE ID come from the caller's certificate or workload", async () => {
        const ca = newCa("ca-objects");
        const clientCert = newLeaf(ca, { serviceName: "order-service", usage: "client", trustDomain: "td.example" });
        const clientMaterial = new c.CertificateMaterial("order-service", {
            certificate: clientCert,
            namespace: "shop",
        });
        const client = new c.MtlsWorkload("order-service", {
            serviceName: "order-service",
            namespace: "shop",
            image: "i",
            material: clientMaterial,
            usage: "client",
        });
        const auditCert = newLeaf(ca, { serviceName: "audit-service", usage: "client", trustDomain: "td.example" });
        const serverCert = newLeaf(ca, { serviceName: "user-service", trustDomain: "td.example" });
        const material = new c.CertificateMaterial("user-service", { certificate: serverCert, namespace: "shop" });
        const server = new c.MtlsWorkload("user-service", {
            serviceName: "user-service",
            namespace: "shop",
            image: "i",
            material,
            port: 8443,
            allowFrom: [client, auditCert, "partner-gateway"],
        });
        await valueOf(client.deploymentName);
        await valueOf(server.deploymentName);
        await valueOf(auditCert.certPem);
        const env = Object.fromEntries(
            named(K8S.deployment, "user-service-deployment").inputs.spec.template.spec.containers[0].env.map(
                (e: any) => [e.name, e.value],
            ),
        );
        expect(env.MTLS_ALLOWED_CLIENTS).toBe("order-service,audit-service,partner-gateway");
        expect(env.MTLS_ALLOWED_SPIFFE_IDS).toBe(
            "spiffe://td.example/ns/shop/sa/order-service,spiffe://td.example/ns/shop/sa/audit-service",
        );
        expect(await valueOf(pulumi.output(client.identity.spiffeId))).toBe(
            "spiffe://td.example/ns/shop/sa/order-service",
        );
    });

    it("passes through container and pod settings a real service needs, keeping its own pieces", async () => {
        const { deployment } = await workload({
            container: {
                resources: { limits: { memory: "128Mi" } },
                readinessProbe: { tcpSocket: { port: 8443 } },
                env: [{ name: "EXTRA", value: "1" }],
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
            pod: {
                containers: [{ name: "sidecar", image: "example/sidecar:1" }],
                volumes: [{ name: "tmp", emptyDir: {} }],
                nodeSelector: { pool: "mtls" },
            },
        });
        const pod = deployment.spec.template.spec;
        const app = pod.containers[0];
        expect(pod.containers.map((x: any) => x.name)).toEqual(["app", "sidecar"]);
        expect(app).toMatchObject({
            image: "example/app:1",
            resources: { limits: { memory: "128Mi" } },
            readinessProbe: { tcpSocket: { port: 8443 } },
        });
        expect(app.env.map((e: any) => e.name).slice(-1)).toEqual(["EXTRA"]);
        expect(app.env.some((e: any) => e.name === "MTLS_CERT_FILE")).toBe(true);
        expect(app.volumeMounts.map((v: any) => v.name)).toEqual(["mtls-user-service", "tmp"]);
        expect(pod.volumes.map((v: any) => v.name)).toEqual(["mtls-user-service", "tmp"]);
        expect(pod.nodeSelector).toEqual({ pool: "mtls" });
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(pod.serviceAccountName).toBe("user-service");
    });

    it("refuses a server without a port before creating anything", async () => {
        const leaf = newLeaf(newCa("ca-noport"), { serviceName: "noport" });
        const material = new c.CertificateMaterial("noport", { certificate: leaf, namespace: "shop" });
        expect(
            () =>
                new c.MtlsWorkload("noport", {
                    serviceName: "noport",
                    namespace: "shop",
                    image: "i",
                    material,
                    usage: "server",
                }),
        ).toThrow(/^MtlsWorkload noport: port: is required for usage: server/);
        await valueOf(material.configMapName);
        expect(byType(K8S.deployment)).toEqual([]);
    });
});

describe("MtlsWorkload's NetworkPolicy", () => {
    async function server(args: Partial<import("../components").MtlsWorkloadArgs>, name = "user-service") {
        const leaf = newLeaf(newCa(`ca-np-${name}`), { serviceName: name, usage: args.usage ?? "both" });
        const material = new c.CertificateMaterial(name, { certificate: leaf, namespace: "shop" });
        const w = new c.MtlsWorkload(name, {
            serviceName: name,
            namespace: "shop",
            image: "example/app:1",
            material,
            port: 8443,
            ...args,
        });
        await valueOf(w.deploymentName);
        if (w.networkPolicy) await valueOf(w.networkPolicy.urn);
        return w;
    }

    it("isolates the server's pods and admits the given sources on its port, as a child of the workload", async () => {
        const w = await server({
            ingressFrom: [
                { podLabels: c.workloadLabels("order-service") },
                { podLabels: c.workloadLabels("report-service"), namespace: "reports" },
            ],
        });
        const policy = named(K8S.networkPolicy, "user-service-ingress").inputs;
        expect(policy.metadata).toMatchObject({
            name: "user-service-mtls",
            namespace: "shop",
            labels: c.workloadLabels("user-service"),
        });
        expect(policy.spec).toEqual(
            ingressPolicySpec({
                podLabels: c.workloadLabels("user-service"),
                port: 8443,
                sources: [
                    { podLabels: c.workloadLabels("order-service") },
                    { podLabels: c.workloadLabels("report-service"), namespace: "reports" },
                ],
            }),
        );
        // The pods it selects are the Deployment's.
        expect(policy.spec.podSelector.matchLabels).toEqual(
            named(K8S.deployment, "user-service-deployment").inputs.spec.template.metadata.labels,
        );
        expect(await valueOf(w.networkPolicy!.urn)).toContain(
            "mtls:index:MtlsWorkload$kubernetes:networking.k8s.io/v1:NetworkPolicy::user-service-ingress",
        );
    });

    it("admits no one with an empty list, and writes no policy without ingressFrom", async () => {
        await server({ ingressFrom: [] }, "ledger");
        expect(named(K8S.networkPolicy, "ledger-ingress").inputs.spec.ingress).toEqual([]);
        const open = await server({}, "open");
        expect(open.networkPolicy).toBeUndefined();
        expect(byType(K8S.networkPolicy).map((p) => p.name)).toEqual(["ledger-ingress"]);
    });

    it("refuses a source the API would refuse or that would admit a whole namespace, before creating anything", async () => {
        const leaf = newLeaf(newCa("ca-np-bad"), { serviceName: "bad" });
        const material = new c.CertificateMaterial("bad", { certificate: leaf, namespace: "shop" });
        expect(
            () =>
                new c.MtlsWorkload("bad", {
                    serviceName: "bad",
                    namespace: "shop",
                    image: "i",
                    material,
                    port: 8443,
                    ingressFrom: [{ cidr: "10.0.0.1/8" }, { podLabels: {}, namespace: "gateways" }],
                }),
        ).toThrow(
            /ingressFrom\[0\]\.cidr: "10\.0\.0\.1\/8" is not an address block[\s\S]*ingressFrom\[1\]\.podLabels: must be a map of at least one label/,
        );
        await valueOf(material.configMapName);
        expect(byType(K8S.networkPolicy)).toEqual([]);
        expect(byType(K8S.deployment)).toEqual([]);
    });

    it("refuses ingressFrom on a client", async () => {
        const leaf = newLeaf(newCa("ca-np-client"), { serviceName: "c", usage: "client" });
        const material = new c.CertificateMaterial("c", { certificate: leaf, namespace: "shop" });
        expect(
            () =>
                new c.MtlsWorkload("c", {
                    serviceName: "c",
                    namespace: "shop",
                    image: "i",
                    material,
                    usage: "client",
                    ingressFrom: [],
                }),
        ).toThrow(/MtlsWorkload c: ingressFrom: applies to servers; usage "client" accepts no connections/);
        await valueOf(material.configMapName);
    });
});

describe("IstioMesh and IstioServerPolicy", () => {
    it("makes the namespace's mutual TLS STRICT", async () => {
        const mesh = new c.IstioMesh("mesh", { namespace: "shop" });
        await valueOf(mesh.peerAuthentication.urn);
        const pa = named(K8S.peerAuthentication, "mesh-peer-authentication").inputs;
        expect(pa).toMatchObject({
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { namespace: "shop" },
            spec: { mtls: { mode: "STRICT" } },
        });
        expect(pa.spec.selector).toBeUndefined();
        expect(mesh.caSecret).toBeUndefined();
        expect(byType("kubernetes:core/v1:Secret")).toEqual([]);
    });

    it("hands istiod the intermediate as its plug-in CA, in a cacerts Secret whose data is secret", async () => {
        const ca = newCa("mesh-ca", { intermediate: true });
        const mesh = new c.IstioMesh("mesh", {
            namespace: "shop",
            pluginCa: {
                signingCertPem: ca.certPem,
                signingKeyPem: ca.privateKeyPem,
                rootCertPem: ca.rootCertPem,
                trustBundlePem: ca.trustBundlePem,
            },
        });
        await valueOf(mesh.caSecret!.urn);
        const secret = named("kubernetes:core/v1:Secret", "mesh-cacerts");
        const [intermediate, root, key] = await Promise.all([
            valueOf(ca.certPem),
            valueOf(ca.rootCertPem),
            valueOf(ca.privateKeyPem),
        ]);
        expect(secret.inputs.metadata).toMatchObject({ name: "cacerts", namespace: "istio-system" });
        expect(secret.inputs.type).toBe("Opaque");
        expect(secret.inputs.stringData).toEqual({
            "ca-cert.pem": intermediate,
            "ca-key.pem": key,
            "root-cert.pem": root,
            "cert-chain.pem": intermediate + root,
        });
        expect(secret.secretInputs).toContain("stringData");
        expect(signedBy(intermediate, root)).toBe(true);
        expect(parseCertificate(intermediate).isCa).toBe(true);
    });

    it("allows only the callers' principals on the server's port, as a child of its component", async () => {
        const policy = new c.IstioServerPolicy("user-service", {
            namespace: "shop",
            serviceName: "user-service",
            podLabels: c.workloadLabels("user-service"),
            port: 8443,
            allowedSpiffeIds: [
                "spiffe://td/ns/shop/sa/order-service",
                "spiffe://billing.internal/ns/billing/sa/invoicer",
            ],
        });
        expect(await valueOf(policy.authorizationPolicy.urn)).toContain(
            "mtls:index:IstioServerPolicy$kubernetes:security.istio.io/v1:AuthorizationPolicy::user-service-authorization",
        );
        const ap = named(K8S.authorizationPolicy, "user-service-authorization").inputs;
        expect(ap).toMatchObject({
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: "user-service-mtls", namespace: "shop" },
        });
        expect(ap.spec).toEqual({
            selector: { matchLabels: c.workloadLabels("user-service") },
            action: "ALLOW",
            rules: [
                {
                    from: [
                        {
                            source: {
                                principals: ["td/ns/shop/sa/order-service", "billing.internal/ns/billing/sa/invoicer"],
                            },
                        },
                    ],
                    to: [{ operation: { ports: ["8443"] } }],
                },
            ],
        });
    });
});
