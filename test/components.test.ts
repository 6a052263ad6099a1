import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EKU, KEY_USAGE, parseCertificate, signedBy } from "./support/certs";
import { readPkcs12 } from "./support/pkcs12";
import { byType, named, resetRecorded, setupMocks, valueOf } from "./support/pulumiMocks";

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

function newLeaf(ca: import("../components").CertificateIssuer, args: Partial<import("../components").ServiceCertificateArgs> = {}) {
    return new c.ServiceCertificate(args.serviceName as string ?? "user-service", {
        issuer: ca,
        serviceName: "user-service",
        namespace: "shop",
        ...args,
    });
}

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
            valueOf(ca.rootCertPem), valueOf(ca.certPem), valueOf(leaf.certPem), valueOf(leaf.chainPem), valueOf(leaf.caBundlePem),
        ]);
        const inter = named(TLS.signed, "prod-ca-intermediate").inputs;
        expect(inter).toMatchObject({ isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 500 });
        expect(parseCertificate(intermediatePem).isCa).toBe(true);
        expect(signedBy(intermediatePem, rootPem)).toBe(true);
        expect(signedBy(leafPem, intermediatePem)).toBe(true);
        expect(signedBy(leafPem, rootPem)).toBe(false);
        expect(chainPem).toBe(leafPem + intermediatePem);
        expect(bundlePem).toBe(rootPem);
        expect(byType(TLS.key).filter((k) => k.name.startsWith("prod-ca")).map((k) => k.inputs.ecdsaCurve)).toEqual(["P384", "P384"]);
    });

    it("adds extra trusted certificates to the bundle without repeating the root", async () => {
        const old = newCa("old-ca");
        const ca = newCa("new-ca", { additionalTrustedCertPems: [old.rootCertPem] });
        const [bundle, rootPem, oldPem] = await Promise.all([valueOf(ca.trustBundlePem), valueOf(ca.rootCertPem), valueOf(old.rootCertPem)]);
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
        const expectedDns = ["user-service", "user-service.shop", "user-service.shop.svc", "user-service.shop.svc.cluster.local", "api.shop.example"];
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
            valueOf(leaf.certPem), valueOf(leaf.notAfter), valueOf(leaf.renewAt), valueOf(leaf.fingerprintSha256),
        ]);
        const cert = named(TLS.signed, "user-service-cert").inputs;
        expect(cert).toMatchObject({ validityPeriodHours: 100, earlyRenewalHours: 30 });
        const hoursLeft = (Date.parse(notAfter) - before) / 3_600_000;
        expect(hoursLeft).toBeGreaterThan(99);
        expect(hoursLeft).toBeLessThanOrEqual(100.01);
        expect(Date.parse(notAfter) - Date.parse(renewAt)).toBe(30 * 3_600_000);
        expect(fingerprint).toBe(parseCertificate(pem).node.fingerprint256.replace(/:/g, "").toLowerCase());
    });

    it("keeps the private key secret and the certificate plain", async () => {
        const leaf = newLeaf(newCa());
        expect(await pulumi.isSecret(leaf.privateKeyPem)).toBe(true);
        for (const plain of [leaf.certPem, leaf.chainPem, leaf.notAfter, leaf.fingerprintSha256, leaf.dnsNames]) {
            expect(await pulumi.isSecret(plain as pulumi.Output<unknown>)).toBe(false);
        }
    });

    it.each(["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"] as const)("issues a %s certificate", async (algorithm) => {
        const leaf = newLeaf(newCa(`ca-${algorithm}`), { serviceName: `svc-${algorithm.toLowerCase()}`, keyAlgorithm: algorithm });
        const node = parseCertificate(await valueOf(leaf.certPem)).node;
        const expectedType = algorithm.startsWith("RSA") ? "rsa" : algorithm === "ED25519" ? "ed25519" : "ec";
        expect(node.publicKey.asymmetricKeyType).toBe(expectedType);
        if (algorithm.startsWith("RSA")) expect(node.publicKey.asymmetricKeyDetails?.modulusLength).toBe(Number(algorithm.slice(4)));
    });

    it("passes a rotation trigger to the key and the certificate as Pulumi's replacement trigger", async () => {
        const leaf = newLeaf(newCa(), { rotationTrigger: "generation-2" });
        await valueOf(leaf.certPem);
        // Mocks do not echo resource options; the trigger's presence shows in the registered resource count instead.
        expect(byType(TLS.key).map((k) => k.name)).toContain("user-service-key");
    });
});

describe("CertificateMaterial", () => {
    async function material() {
        const leaf = newLeaf(newCa(), { trustDomain: "td" });
        const m = new c.CertificateMaterial("user-service", { certificate: leaf, namespace: "shop", labels: { app: "user-service" } });
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
        expect(m.volumeMounts("/certs")).toEqual([{ name: "mtls", mountPath: "/certs", readOnly: true }]);
        expect(m.fileEnv("/certs/").map((e) => `${e.name}=${e.value}`)).toEqual([
            "MTLS_CERT_FILE=/certs/tls.crt", "MTLS_KEY_FILE=/certs/tls.key", "MTLS_CA_FILE=/certs/ca.crt",
        ]);
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
    async function material(args: Partial<import("../components").CertificateMaterialArgs> = {}, name = "user-service") {
        const ca = newCa(`ca-${name}`, { intermediate: true });
        const leaf = newLeaf(ca, { serviceName: name });
        const m = new c.CertificateMaterial(name, { certificate: leaf, namespace: "shop", keystores: ["pkcs12"], ...args });
        await Promise.all([valueOf(m.configMapName), valueOf(m.secretName)]);
        return { leaf, m, secret: named(K8S.secret, `${name}-key`), password: named(PASSWORD_TYPE, `${name}-keystore-password`) };
    }

    it("adds keystore.p12 and truststore.p12 and the password to the Secret, all as secrets, and nothing to the ConfigMap", async () => {
        const { leaf, secret, password, m } = await material();
        expect(Object.keys(secret.inputs.stringData).sort()).toEqual(["keystore-password", "tls.key"]);
        expect(Object.keys(secret.inputs.data).sort()).toEqual(["keystore.p12", "truststore.p12"]);
        expect(secret.inputs.stringData["keystore-password"]).toBe(password.state.result);
        expect(secret.secretInputs).toEqual(expect.arrayContaining(["stringData", "data"]));
        expect(Object.keys(named(K8S.configMap, "user-service-certs").inputs.data).sort()).toEqual(["ca.crt", "tls.crt"]);
        const keystore = await readPkcs12(Buffer.from(secret.inputs.data["keystore.p12"], "base64"), password.state.result);
        expect(keystore.certificates.map((cert) => cert.pem).join("")).toBe(await valueOf(leaf.chainPem));
        const truststore = await readPkcs12(Buffer.from(secret.inputs.data["truststore.p12"], "base64"), password.state.result);
        expect(truststore.certificates.map((cert) => cert.pem).join("")).toBe(await valueOf(leaf.caBundlePem));
        expect(await pulumi.isSecret(m.keystorePassword!)).toBe(true);
    });

    it("draws the password from random.RandomPassword: 32 letters and digits, its version the keeper", async () => {
        const { password } = await material({ keystorePasswordVersion: 4 });
        expect(password.inputs).toMatchObject({ length: 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1, keepers: { version: "4" } });
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
        expect(volume.projected!.sources![1].secret!.items).toEqual(["tls.key", "keystore.p12", "truststore.p12", "truststore.jks"].map((f) => ({ key: f, path: f, mode: 0o400 })));
        const env = await valueOf(pulumi.output(m.fileEnv("/certs")));
        const byName = Object.fromEntries(env.map((e) => [e.name, e]));
        expect(byName.MTLS_KEYSTORE_FILE.value).toBe("/certs/keystore.p12");
        expect(byName.MTLS_TRUSTSTORE_FILE.value).toBe("/certs/truststore.p12");
        expect(byName.MTLS_TRUSTSTORE_JKS_FILE.value).toBe("/certs/truststore.jks");
        expect(byName.MTLS_KEYSTORE_TYPE.value).toBe("PKCS12");
        expect(byName.MTLS_KEYSTORE_PASSWORD).toEqual({ name: "MTLS_KEYSTORE_PASSWORD", valueFrom: { secretKeyRef: { name: await valueOf(m.secretName), key: "keystore-password" } } });
    });

    it("rolls the pods when the password version changes, also with hot rollout, by the version alone", async () => {
        const restart = await material({ keystorePasswordVersion: 2 });
        expect(await valueOf(pulumi.output(restart.m.podAnnotations()))).toMatchObject({ "mtls.pulumi.com/keystore-password-version": "2" });
        const hot = await material({ rollout: "hot" }, "hot-service");
        expect(await valueOf(pulumi.output(hot.m.podAnnotations()))).toEqual({ "mtls.pulumi.com/keystore-password-version": "1" });
        expect(JSON.stringify(await valueOf(pulumi.output(restart.m.podAnnotations())))).not.toContain(restart.password.state.result);
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
        expect(() => new c.CertificateMaterial("bad", { certificate: leaf, namespace: "shop", keystores: ["jks"] }))
            .toThrow(/CertificateMaterial bad: keystores: jks adds a JKS truststore .*write \[pkcs12, jks\]/);
        expect(() => new c.CertificateMaterial("bad2", { certificate: leaf, namespace: "shop", keystores: ["pkcs12", "bks" as never] }))
            .toThrow(/keystores\[1\]: "bks" is not a keystore format; use pkcs12 or jks/);
        await valueOf(leaf.certPem);
        expect(byType(K8S.secret)).toEqual([]);
        expect(byType(PASSWORD_TYPE)).toEqual([]);
    });

    it("refuses env delivery with keystores: the stores are files", async () => {
        const { m } = await material({}, "env-service");
        expect(() => new c.MtlsWorkload("env-service", { serviceName: "env-service", namespace: "shop", image: "i", material: m, usage: "client", delivery: "env" }))
            .toThrow(/MtlsWorkload env-service: delivery "env" cannot carry the material's keystores: keystores need delivery: files/);
    });
});

describe("MtlsWorkload", () => {
    async function workload(args: Partial<import("../components").MtlsWorkloadArgs>, name = "user-service") {
        const leaf = newLeaf(newCa(`ca-${name}`), { serviceName: name, usage: args.usage ?? "both" });
        const material = new c.CertificateMaterial(name, { certificate: leaf, namespace: "shop" });
        const w = new c.MtlsWorkload(name, { serviceName: name, namespace: "shop", image: "example/app:1", material, port: 8443, ...args });
        await valueOf(w.deploymentName);
        if (w.service) await valueOf(w.service.urn);
        return { leaf, material, w, deployment: named(K8S.deployment, `${name}-deployment`).inputs };
    }

    it("with files: mounts the projected volume read-only and points MTLS_*_FILE at it", async () => {
        const { deployment, leaf } = await workload({ delivery: "files", mountPath: "/var/run/mtls", allowFrom: ["order-service", "payment-service"] });
        const pod = deployment.spec.template.spec;
        const container = pod.containers[0];
        expect(container.volumeMounts).toEqual([{ name: "mtls", mountPath: "/var/run/mtls", readOnly: true }]);
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
        expect(deployment.spec.template.metadata.annotations["mtls.pulumi.com/cert-sha256"]).toBe(await valueOf(leaf.fingerprintSha256));
        expect(pod.serviceAccountName).toBe("user-service");
    });

    it("with env: reads the PEM from the ConfigMap and Secret and mounts nothing", async () => {
        const { deployment, material } = await workload({ delivery: "env", usage: "client", port: undefined }, "order-service");
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
        expect(() => new c.MtlsWorkload("hot", { serviceName: "hot", namespace: "shop", image: "i", material, usage: "client", delivery: "env" }))
            .toThrow(/rollout "hot" needs delivery "files"/);
        await valueOf(material.configMapName);
        expect(named(K8S.configMap, "hot-certs").inputs.metadata.name).toBe("hot-mtls-certs");
        expect(named(K8S.secret, "hot-key").inputs.metadata.name).toBe("hot-mtls-key");
        expect(material.podAnnotations()).toEqual({});
    });

    it("meets Pod Security restricted: non-root ids, RuntimeDefault seccomp, no escalation, no capabilities, read-only root", async () => {
        const { deployment } = await workload({ runAs: { runAsUser: 1001, runAsGroup: 2002, fsGroup: 3003 } });
        const pod = deployment.spec.template.spec;
        expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1001, runAsGroup: 2002, fsGroup: 3003, seccompProfile: { type: "RuntimeDefault" } });
        expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
        const defaults = await workload({}, "order-service");
        expect(defaults.deployment.spec.template.spec.securityContext).toMatchObject({ runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
    });

    it("asks the kubernetes provider not to wait only when skipAwait is set", async () => {
        await workload({ skipAwait: true });
        expect(named(K8S.deployment, "user-service-deployment").inputs.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
        expect(named(K8S.service, "user-service-service").inputs.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
        const waiting = await workload({}, "order-service");
        expect(waiting.deployment.metadata.annotations).toBeUndefined();
    });

    it("refuses a server without a port before creating anything", async () => {
        const leaf = newLeaf(newCa("ca-noport"), { serviceName: "noport" });
        const material = new c.CertificateMaterial("noport", { certificate: leaf, namespace: "shop" });
        expect(() => new c.MtlsWorkload("noport", { serviceName: "noport", namespace: "shop", image: "i", material, usage: "server" }))
            .toThrow(/usage "server" serves traffic and needs a port/);
        await valueOf(material.configMapName);
        expect(byType(K8S.deployment)).toEqual([]);
    });
});
