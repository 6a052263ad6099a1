/**
 * Manifests and key material for the policy pack's tests, made fresh at run time: no key is
 * stored in the repository, and every test that sees one also checks it never reaches a message.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { generateTlsKey, selfSignedCert } from "./tlsDouble";

export type PemForm =
    | "PRIVATE KEY"
    | "EC PRIVATE KEY"
    | "RSA PRIVATE KEY"
    | "ENCRYPTED PRIVATE KEY"
    | "OPENSSH PRIVATE KEY";

/** A private key in the given PEM form. The OpenSSH one only has the real armour: Node cannot write that format. */
export function privateKeyPem(form: PemForm): string {
    const ec = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    switch (form) {
        case "PRIVATE KEY":
            return ec().export({ format: "pem", type: "pkcs8" }).toString();
        case "EC PRIVATE KEY":
            return ec().export({ format: "pem", type: "sec1" }).toString();
        case "RSA PRIVATE KEY":
            return generateKeyPairSync("rsa", { modulusLength: 2048 })
                .privateKey.export({ format: "pem", type: "pkcs1" })
                .toString();
        case "ENCRYPTED PRIVATE KEY":
            return ec().export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "test" }).toString();
        case "OPENSSH PRIVATE KEY": {
            const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), randomBytes(300)])
                .toString("base64")
                .replace(/(.{70})/g, "$1\n");
            return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
        }
    }
}

export const PEM_FORMS: PemForm[] = [
    "PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
];

/** The base64 body of a PEM block: what must never appear in a policy message. */
export function keyBody(pem: string): string {
    return pem
        .split("\n")
        .filter((line) => line && !line.startsWith("-----"))
        .join("\n");
}

/** A self-signed CA certificate PEM (and nothing else), for the compliant ConfigMaps. */
export async function certificatePem(): Promise<string> {
    const key = generateTlsKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await selfSignedCert({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "policy test CA" },
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: 24,
    });
    return cert.certPem;
}

export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
export const SECRET = "kubernetes:core/v1:Secret";

/** A pod spec as MtlsWorkload writes it: restricted, material in one read-only projected volume. */
export function mtlsPodSpec(): Record<string, any> {
    return {
        securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [
            {
                name: "app",
                image: "example/app:1.0",
                securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                },
                env: [{ name: "MTLS_KEY_FILE", value: "/etc/mtls/tls.key" }],
                volumeMounts: [{ name: "mtls", mountPath: "/etc/mtls", readOnly: true }],
            },
        ],
        volumes: [
            {
                name: "mtls",
                projected: {
                    defaultMode: 0o444,
                    sources: [
                        {
                            configMap: {
                                name: "app-certs-1a2b3c4d",
                                items: [
                                    { key: "ca.crt", path: "ca.crt" },
                                    { key: "tls.crt", path: "tls.crt" },
                                ],
                            },
                        },
                        {
                            secret: {
                                name: "app-key-5e6f7a8b",
                                items: [{ key: "tls.key", path: "tls.key", mode: 0o400 }],
                            },
                        },
                    ],
                },
            },
        ],
    };
}

/** A pod spec with no security settings and no material: what the mTLS rules leave alone. */
export function plainPodSpec(): Record<string, any> {
    return { containers: [{ name: "web", image: "nginx:1.27", env: [{ name: "PORT", value: "8080" }] }] };
}

/** Wraps a pod spec (and pod annotations) in a workload of the given kind, where that kind keeps its pods. */
export function workload(
    kind: string,
    podSpec: Record<string, any>,
    podAnnotations: Record<string, string> = {},
): { type: string; props: Record<string, any> } {
    const template = { metadata: { labels: { app: "app" }, annotations: podAnnotations }, spec: podSpec };
    const metadata = { name: "app", namespace: "shop" };
    const group: Record<string, string> = {
        Pod: "core/v1",
        Deployment: "apps/v1",
        StatefulSet: "apps/v1",
        DaemonSet: "apps/v1",
        ReplicaSet: "apps/v1",
        Job: "batch/v1",
        CronJob: "batch/v1",
    };
    const type = `kubernetes:${group[kind]}:${kind}`;
    switch (kind) {
        case "Pod":
            return { type, props: { metadata: { ...metadata, annotations: podAnnotations }, spec: podSpec } };
        case "CronJob":
            return { type, props: { metadata, spec: { schedule: "@hourly", jobTemplate: { spec: { template } } } } };
        default:
            return { type, props: { metadata, spec: { selector: { matchLabels: { app: "app" } }, template } } };
    }
}

export const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"];
