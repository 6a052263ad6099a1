/**
 * Pure rules shared by the components and the stack program: key algorithms,
 * usages, identities and names. Nothing here touches Pulumi, so every rule is
 * tested with plain values.
 */

/** Key algorithms a certificate or CA may use. */
export const KEY_ALGORITHMS = [
    "ECDSA-P256",
    "ECDSA-P384",
    "RSA-2048",
    "RSA-3072",
    "RSA-4096",
    "ED25519",
] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** What a service certificate is for. */
export const USAGES = ["server", "client", "both"] as const;
export type Usage = (typeof USAGES)[number];

/** How a workload receives its material. */
export const DELIVERIES = ["files", "env"] as const;
export type Delivery = (typeof DELIVERIES)[number];

/**
 * How a service's material replaces itself: `restart` gives new material new object names so
 * the Deployment rolls; `hot` replaces fixed-name objects in place (files delivery only).
 */
export const ROLLOUTS = ["restart", "hot"] as const;
export type Rollout = (typeof ROLLOUTS)[number];

/**
 * CA rotation in declared phases, one `pulumi up` each:
 * - `introduce`: the next CA exists and every trust bundle holds both; leaves still come from the current CA.
 * - `switch`: leaves are reissued by the next CA; bundles still hold both.
 * - `retire`: the current CA leaves the bundles and is deleted; the next CA is the only one.
 * Without a phase the stack is steady on its current generation. The ledger
 * remembers the last phase applied and refuses a jump that would break
 * handshakes, at preview, before anything changes.
 */
export const ROTATION_PHASES = ["introduce", "switch", "retire"] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

/**
 * Java keystores a service may ask for: `pkcs12` gives `keystore.p12` (the key and its chain)
 * and `truststore.p12` (the CA bundle); `jks` adds `truststore.jks`, for readers that insist
 * on the JKS format. The key never goes into a JKS file: JKS protects keys with a proprietary
 * SHA-1 scheme, and every JDK since 8 opens a PKCS#12 keystore.
 */
export const KEYSTORE_FORMATS = ["pkcs12", "jks"] as const;
export type KeystoreFormat = (typeof KEYSTORE_FORMATS)[number];

export function isKeystoreFormat(value: unknown): value is KeystoreFormat {
    return typeof value === "string" && (KEYSTORE_FORMATS as readonly string[]).includes(value);
}

/** A problem with a keystores list: `index` names the entry, undefined the list as a whole. */
export interface KeystoreProblem {
    index?: number;
    message: string;
}

/**
 * Everything wrong with a `keystores` list, each with its fix; empty when it is fine.
 * The stack config contract and the components both call it.
 */
export function keystoreProblems(formats: readonly unknown[]): KeystoreProblem[] {
    const problems: KeystoreProblem[] = [];
    const seen = new Set<unknown>();
    formats.forEach((format, index) => {
        if (!isKeystoreFormat(format)) problems.push({ index, message: `${JSON.stringify(format)} is not a keystore format; use ${KEYSTORE_FORMATS.join(" or ")}` });
        else if (seen.has(format)) problems.push({ index, message: `${format} is listed twice; list each format once` });
        seen.add(format);
    });
    if (seen.has("jks") && !seen.has("pkcs12")) {
        problems.push({ message: "jks adds a JKS truststore next to the PKCS#12 keystore and truststore; write [pkcs12, jks]" });
    }
    return problems;
}

/** Why a delivery cannot carry keystores, or undefined when it can. */
export function keystoreDeliveryProblem(delivery: Delivery): string | undefined {
    return delivery === "files"
        ? undefined
        : "keystores need delivery: files (a keystore is a binary file the JVM opens by path, which an environment variable cannot hold)";
}

/** The default length of a keystore password: letters and digits only, about 190 bits. */
export const KEYSTORE_PASSWORD_LENGTH = 32;

/** Arguments for `tls.PrivateKey` that produce the given algorithm. */
export interface TlsKeySpec {
    algorithm: "RSA" | "ECDSA" | "ED25519";
    ecdsaCurve?: "P256" | "P384";
    rsaBits?: number;
}

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
    return typeof value === "string" && (KEY_ALGORITHMS as readonly string[]).includes(value);
}

export function isUsage(value: unknown): value is Usage {
    return typeof value === "string" && (USAGES as readonly string[]).includes(value);
}

export function isDelivery(value: unknown): value is Delivery {
    return typeof value === "string" && (DELIVERIES as readonly string[]).includes(value);
}

export function tlsKeySpec(algorithm: KeyAlgorithm): TlsKeySpec {
    switch (algorithm) {
        case "ECDSA-P256":
            return { algorithm: "ECDSA", ecdsaCurve: "P256" };
        case "ECDSA-P384":
            return { algorithm: "ECDSA", ecdsaCurve: "P384" };
        case "RSA-2048":
            return { algorithm: "RSA", rsaBits: 2048 };
        case "RSA-3072":
            return { algorithm: "RSA", rsaBits: 3072 };
        case "RSA-4096":
            return { algorithm: "RSA", rsaBits: 4096 };
        case "ED25519":
            return { algorithm: "ED25519" };
    }
    throw new Error(`unknown key algorithm ${String(algorithm)}; use one of ${KEY_ALGORITHMS.join(", ")}`);
}

/** Key usages of a CA certificate: it signs certificates and revocation lists, nothing else. */
export const CA_ALLOWED_USES: readonly string[] = ["cert_signing", "crl_signing"];

/**
 * Key usages and extended key usages of a leaf. Only RSA keys encrypt a key
 * exchange (key_encipherment); ECDSA and Ed25519 keys only sign.
 */
export function leafAllowedUses(usage: Usage, algorithm: KeyAlgorithm): string[] {
    const uses = ["digital_signature"];
    if (algorithm.startsWith("RSA-")) uses.push("key_encipherment");
    if (usage === "server" || usage === "both") uses.push("server_auth");
    if (usage === "client" || usage === "both") uses.push("client_auth");
    return uses;
}

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/** The DNS names a Kubernetes Service is reached by, shortest first. */
export function serviceDnsNames(service: string, namespace: string, clusterDomain: string = DEFAULT_CLUSTER_DOMAIN): string[] {
    return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`];
}

/** The SPIFFE ID of a service account, the workload identity peers authorise. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
    return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The parts of a SPIFFE ID; `namespace` and `serviceAccount` when the path is `/ns/<ns>/sa/<sa>`, as Kubernetes workloads' are. */
export interface SpiffeIdParts {
    id: string;
    trustDomain: string;
    path: string;
    namespace?: string;
    serviceAccount?: string;
}

const SPIFFE_SCHEME = "spiffe://";
const SPIFFE_PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Reads a workload's SPIFFE ID, or returns undefined when `value` is not one. The rules are
 * the SPIFFE ID standard's: lower-case `spiffe` scheme and trust domain, no port, user,
 * query or fragment, at most 2048 bytes; the path is required here (an ID without one names
 * a trust domain, not a workload), and its segments are letters, digits, '.', '-' and '_',
 * none empty, '.' or '..'.
 */
export function parseSpiffeId(value: unknown): SpiffeIdParts | undefined {
    // Every character allowed below is ASCII, so counting characters counts bytes.
    if (typeof value !== "string" || !value.startsWith(SPIFFE_SCHEME) || value.length > 2048) return undefined;
    const rest = value.slice(SPIFFE_SCHEME.length);
    const slash = rest.indexOf("/");
    if (slash < 0) return undefined;
    const trustDomain = rest.slice(0, slash);
    const path = rest.slice(slash);
    if (!isTrustDomain(trustDomain)) return undefined;
    const segments = path.slice(1).split("/");
    if (!segments.every((seg) => SPIFFE_PATH_SEGMENT.test(seg) && seg !== "." && seg !== "..")) return undefined;
    const parts: SpiffeIdParts = { id: value, trustDomain, path };
    if (segments.length === 4 && segments[0] === "ns" && segments[2] === "sa") {
        parts.namespace = segments[1];
        parts.serviceAccount = segments[3];
    }
    return parts;
}

/** Appends `extra` to `base`, dropping repeats while keeping the first position of each entry. */
export function uniqueInOrder(base: readonly string[], extra: readonly string[] = []): string[] {
    return [...new Set([...base, ...extra])];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A Kubernetes DNS-1123 label: namespaces, Services and ServiceAccounts are named with one. */
export function isDns1123Label(value: unknown): value is string {
    return typeof value === "string" && value.length <= 63 && DNS1123_LABEL.test(value);
}

/** A DNS name a certificate may carry: a DNS-1123 subdomain, optionally with a leading wildcard label. */
export function isDnsName(value: unknown): value is string {
    if (typeof value !== "string" || value.length === 0 || value.length > 253) return false;
    const rest = value.startsWith("*.") ? value.slice(2) : value;
    return DNS1123_SUBDOMAIN.test(rest) && rest.split(".").every((label) => label.length <= 63);
}

/** A SPIFFE trust domain: lower-case letters, digits, dots, dashes and underscores. */
export function isTrustDomain(value: unknown): value is string {
    return typeof value === "string" && value.length > 0 && value.length <= 255 && /^[a-z0-9._-]+$/.test(value);
}

export function isIpAddress(value: unknown): value is string {
    if (typeof value !== "string") return false;
    // Node's net.isIP would do, but this file stays free of Node modules so it runs anywhere.
    const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
    const v6 = /^[0-9a-fA-F:]+$/;
    return v4.test(value) || (value.includes(":") && v6.test(value) && value.split("::").length <= 2);
}

export function isEnvName(value: unknown): value is string {
    return typeof value === "string" && ENV_NAME.test(value);
}

/** Whether `value` is a positive whole number. */
export function isPositiveInteger(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value) && value > 0;
}

export function isAbsolutePosixPath(value: unknown): value is string {
    return typeof value === "string" && value.startsWith("/") && !value.split("/").includes("..");
}
