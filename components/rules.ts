/**
 * Pure rules shared by the components and the stack config: key algorithms,
 * usages, identities, names, and the argument checks both run. Nothing here
 * touches Pulumi, so every rule is tested with plain values.
 */

import { DEFAULTS } from "./defaults";

/** Key algorithms a certificate or CA may use. */
export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"] as const;
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

/** Pod Security Standards levels a namespace can enforce. */
export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

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

/** The DNS names a Kubernetes Service is reached by, shortest first. */
export function serviceDnsNames(
    service: string,
    namespace: string,
    clusterDomain: string = DEFAULTS.clusterDomain,
): string[] {
    return [
        service,
        `${service}.${namespace}`,
        `${service}.${namespace}.svc`,
        `${service}.${namespace}.svc.${clusterDomain}`,
    ];
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

/** Whether `value` is a positive whole number. */
export function isPositiveInteger(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value) && value > 0;
}

export function isAbsolutePosixPath(value: unknown): value is string {
    return typeof value === "string" && value.startsWith("/") && !value.split("/").includes("..");
}

/**
 * One problem with an argument: the argument's name as the component takes it, and what is
 * wrong with it including the fix. The stack config prefixes the key path; a component
 * prefixes its own name.
 */
export interface ArgumentProblem {
    argument: string;
    message: string;
}

/** What is wrong with a number of hours, or undefined when it is a whole number above 0. */
export function hoursProblem(value: unknown): string | undefined {
    return isPositiveInteger(value)
        ? undefined
        : `must be a whole number of hours greater than 0, got ${JSON.stringify(value)}`;
}

/** The problem of each argument whose value is not a whole number of hours. */
function hoursProblems(values: Record<string, unknown>): ArgumentProblem[] {
    return Object.entries(values).flatMap(([argument, value]) => {
        const message = hoursProblem(value);
        return message === undefined ? [] : [{ argument, message }];
    });
}

/** A certificate's lifetime and renew window. */
export function certificateLifetimeProblems(validityHours: unknown, renewBeforeHours: unknown): ArgumentProblem[] {
    const problems = hoursProblems({ validityHours, renewBeforeHours });
    if (problems.length === 0 && (renewBeforeHours as number) >= (validityHours as number)) {
        problems.push({
            argument: "renewBeforeHours",
            message: `${renewBeforeHours} must be less than validityHours (${validityHours}), or the certificate is due for renewal as soon as it is issued`,
        });
    }
    return problems;
}

/** A CA's lifetimes: an intermediate cannot outlive its root. */
export function caLifetimeProblems(validityHours: unknown, intermediateValidityHours?: unknown): ArgumentProblem[] {
    const problems = hoursProblems({ validityHours });
    if (intermediateValidityHours !== undefined) {
        const wrong = hoursProblem(intermediateValidityHours);
        if (wrong !== undefined) {
            problems.push({ argument: "intermediateValidityHours", message: wrong });
        } else if (isPositiveInteger(validityHours) && (intermediateValidityHours as number) > validityHours) {
            problems.push({
                argument: "intermediateValidityHours",
                message: `${intermediateValidityHours} exceeds validityHours (${validityHours}); an intermediate cannot outlive its root`,
            });
        }
    }
    return problems;
}

/** A CA rotation state: the generation in use and the phase being applied (none when steady). */
export function rotationProblems(generation: unknown, rotation: unknown): ArgumentProblem[] {
    const problems: ArgumentProblem[] = [];
    if (!isPositiveInteger(generation)) {
        problems.push({
            argument: "generation",
            message: `must be a whole number from 1 up (the CA generation in use), got ${JSON.stringify(generation)}`,
        });
    }
    if (rotation !== undefined && !(ROTATION_PHASES as readonly unknown[]).includes(rotation)) {
        problems.push({
            argument: "rotation",
            message: `${JSON.stringify(rotation)} is not a rotation phase; use one of ${ROTATION_PHASES.join(", ")}, or remove it when no rotation is under way`,
        });
    }
    return problems;
}

export function keyAlgorithmProblems(keyAlgorithm: unknown): ArgumentProblem[] {
    return isKeyAlgorithm(keyAlgorithm)
        ? []
        : [
              {
                  argument: "keyAlgorithm",
                  message: `${JSON.stringify(keyAlgorithm)} is not a supported key algorithm; use one of ${KEY_ALGORITHMS.join(", ")}`,
              },
          ];
}

export function usageProblems(usage: unknown): ArgumentProblem[] {
    return isUsage(usage)
        ? []
        : [{ argument: "usage", message: `${JSON.stringify(usage)} is not a usage; use one of ${USAGES.join(", ")}` }];
}

/** A workload that accepts connections needs a port. */
export function servingProblems(usage: Usage, port: unknown): ArgumentProblem[] {
    if (port === undefined) {
        return usage === "client"
            ? []
            : [
                  {
                      argument: "port",
                      message: `is required for usage: ${usage} (the service accepts connections); give a port from 1 to 65535 or set usage: client`,
                  },
              ];
    }
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
        return [
            { argument: "port", message: `${JSON.stringify(port)} is not a port; use a whole number from 1 to 65535` },
        ];
    }
    return [];
}

/** How material reaches the pods: env vars only change when a pod restarts. */
export function deliveryProblems(delivery: unknown, rollout: unknown, mountPath: unknown): ArgumentProblem[] {
    const problems: ArgumentProblem[] = [];
    if (!isDelivery(delivery))
        problems.push({
            argument: "delivery",
            message: `${JSON.stringify(delivery)} is not a delivery; use one of ${DELIVERIES.join(", ")}`,
        });
    if (!(ROLLOUTS as readonly unknown[]).includes(rollout)) {
        problems.push({
            argument: "rollout",
            message: `${JSON.stringify(rollout)} is not a rollout; use one of ${ROLLOUTS.join(", ")}`,
        });
    } else if (rollout === "hot" && delivery === "env") {
        problems.push({
            argument: "rollout",
            message:
                "hot needs delivery: files (environment variables only change when a pod restarts); use rollout: restart or delivery: files",
        });
    }
    if (mountPath !== undefined && !isAbsolutePosixPath(mountPath)) {
        problems.push({
            argument: "mountPath",
            message: `${JSON.stringify(mountPath)} must be an absolute path without '..', e.g. /etc/mtls`,
        });
    }
    return problems;
}

/** The message a component raises for its problems: its kind and name, then each argument. */
export function describeProblems(component: string, name: string, problems: readonly ArgumentProblem[]): string {
    const lines = problems.map((p) => `${p.argument}: ${p.message}`);
    return `${component} ${name}: ${lines.length === 1 ? lines[0] : `\n  - ${lines.join("\n  - ")}`}`;
}

/**
 * Everything wrong with a `keystores` list, each with its fix: `keystores[i]` names an entry,
 * `keystores` the list as a whole. The stack config and CertificateMaterial both call it.
 */
export function keystoreProblems(formats: unknown): ArgumentProblem[] {
    if (!Array.isArray(formats)) {
        return [
            {
                argument: "keystores",
                message: `must be a list of keystore formats, got ${JSON.stringify(formats)}; write [pkcs12] or [pkcs12, jks], or [] for none`,
            },
        ];
    }
    const problems: ArgumentProblem[] = [];
    const seen = new Set<unknown>();
    formats.forEach((format, index) => {
        const argument = `keystores[${index}]`;
        if (!isKeystoreFormat(format))
            problems.push({
                argument,
                message: `${JSON.stringify(format)} is not a keystore format; use ${KEYSTORE_FORMATS.join(" or ")}`,
            });
        else if (seen.has(format))
            problems.push({ argument, message: `${format} is listed twice; list each format once` });
        seen.add(format);
    });
    if (seen.has("jks") && !seen.has("pkcs12")) {
        problems.push({
            argument: "keystores",
            message: "jks adds a JKS truststore next to the PKCS#12 keystore and truststore; write [pkcs12, jks]",
        });
    }
    return problems;
}

/**
 * Who issues a service's certificate: `pulumi` signs it at `pulumi up` (the tls provider);
 * `cert-manager` hands the stack's CA to cert-manager, which issues and renews in the cluster.
 */
export const ISSUANCES = ["pulumi", "cert-manager"] as const;
export type Issuance = (typeof ISSUANCES)[number];

/** The cert-manager issuer kinds the stack's CA can be published as. */
export const CERT_MANAGER_ISSUER_KINDS = ["Issuer", "ClusterIssuer"] as const;
export type CertManagerIssuerKind = (typeof CERT_MANAGER_ISSUER_KINDS)[number];

export function isIssuance(value: unknown): value is Issuance {
    return typeof value === "string" && (ISSUANCES as readonly string[]).includes(value);
}

/** A Certificate's `spec.privateKey`, as cert-manager's v1 API names key algorithms. */
export interface CertManagerPrivateKey {
    algorithm: "RSA" | "ECDSA" | "Ed25519";
    /** Bits for RSA, the curve's size for ECDSA; cert-manager ignores it for Ed25519. */
    size?: number;
}

/**
 * The key algorithms cert-manager v1.21 issues (its Certificate validation): RSA 2048 to
 * 8192 bits, ECDSA on P-256, P-384 and P-521, and Ed25519. Each of ours maps to one of them.
 */
const CERT_MANAGER_KEYS: Record<KeyAlgorithm, CertManagerPrivateKey> = {
    "ECDSA-P256": { algorithm: "ECDSA", size: 256 },
    "ECDSA-P384": { algorithm: "ECDSA", size: 384 },
    "RSA-2048": { algorithm: "RSA", size: 2048 },
    "RSA-3072": { algorithm: "RSA", size: 3072 },
    "RSA-4096": { algorithm: "RSA", size: 4096 },
    ED25519: { algorithm: "Ed25519" },
};

/** Whether cert-manager's own validation accepts a `privateKey` (the rules of its Certificate webhook). */
export function certManagerAcceptsKey(key: CertManagerPrivateKey): boolean {
    if (key.algorithm === "RSA")
        return key.size === undefined || (Number.isInteger(key.size) && key.size >= 2048 && key.size <= 8192);
    if (key.algorithm === "ECDSA") return key.size === undefined || [256, 384, 521].includes(key.size);
    return key.algorithm === "Ed25519";
}

/** The Certificate `privateKey` for one of our key algorithms, or undefined when cert-manager has none. */
export function certManagerPrivateKey(algorithm: KeyAlgorithm): CertManagerPrivateKey | undefined {
    const key = CERT_MANAGER_KEYS[algorithm];
    return key !== undefined && certManagerAcceptsKey(key) ? key : undefined;
}

/** cert-manager's names for the usages a leaf gets (`leafAllowedUses` in the tls provider's words). */
const CERT_MANAGER_USAGES: Record<string, string> = {
    digital_signature: "digital signature",
    key_encipherment: "key encipherment",
    server_auth: "server auth",
    client_auth: "client auth",
};

/** A Certificate's `spec.usages`: the same key usages and EKUs as the Pulumi path's leaf. */
export function certManagerUsages(usage: Usage, algorithm: KeyAlgorithm): string[] {
    return leafAllowedUses(usage, algorithm).map((use) => CERT_MANAGER_USAGES[use]);
}

/** Whole hours as a Go duration string, the form of a Certificate's `duration` and `renewBefore`. */
export function goDurationHours(hours: number): string {
    return `${hours}h`;
}

/** cert-manager refuses a Certificate whose `duration` is under an hour (`MinimumCertificateDuration`). */
export const CERT_MANAGER_MIN_DURATION_HOURS = 1;
/** ... and a `renewBefore` under five minutes (`MinimumRenewBefore`). */
export const CERT_MANAGER_MIN_RENEW_BEFORE_MINUTES = 5;

/**
 * What cert-manager's validation would refuse in a Certificate built from these values, in our
 * argument names: the key algorithm, a `duration` under its minimum, and a `renewBefore` under
 * its minimum or not shorter than `duration`.
 */
export function certManagerCertificateProblems(
    keyAlgorithm: unknown,
    validityHours: unknown,
    renewBeforeHours: unknown,
): ArgumentProblem[] {
    const problems: ArgumentProblem[] = [];
    if (isKeyAlgorithm(keyAlgorithm) && certManagerPrivateKey(keyAlgorithm) === undefined) {
        const supported = KEY_ALGORITHMS.filter((a) => certManagerPrivateKey(a) !== undefined);
        problems.push({
            argument: "keyAlgorithm",
            message: `${keyAlgorithm} is not a key algorithm cert-manager issues; use one of ${supported.join(", ")}, or issuance: pulumi`,
        });
    }
    if (typeof validityHours === "number" && validityHours < CERT_MANAGER_MIN_DURATION_HOURS) {
        problems.push({
            argument: "validityHours",
            message: `${validityHours} is under cert-manager's minimum duration of ${CERT_MANAGER_MIN_DURATION_HOURS}h; use at least ${CERT_MANAGER_MIN_DURATION_HOURS}`,
        });
    }
    if (typeof renewBeforeHours === "number") {
        if (renewBeforeHours * 60 < CERT_MANAGER_MIN_RENEW_BEFORE_MINUTES) {
            problems.push({
                argument: "renewBeforeHours",
                message: `${renewBeforeHours} is under cert-manager's minimum renewBefore of ${CERT_MANAGER_MIN_RENEW_BEFORE_MINUTES} minutes`,
            });
        } else if (typeof validityHours === "number" && renewBeforeHours >= validityHours) {
            problems.push({
                argument: "renewBeforeHours",
                message: `cert-manager refuses a renewBefore (${renewBeforeHours}h) that is not shorter than the duration (${validityHours}h); lower renewBeforeHours below validityHours`,
            });
        }
    }
    return problems;
}

const KEYSTORES_ARE_FILES =
    "a keystore is a binary file the JVM opens by path, which an environment variable cannot hold";

/**
 * Keystores only reach a pod as files. `blame` is the argument the fix belongs to: `delivery`
 * when the keystores come from elsewhere (the material, a stack-wide default), `keystores` when
 * they were asked for next to the delivery.
 */
export function keystoreDeliveryProblems(
    delivery: unknown,
    keystores: readonly unknown[],
    blame: "delivery" | "keystores" = "delivery",
): ArgumentProblem[] {
    if (keystores.length === 0 || delivery === "files") return [];
    if (blame === "keystores") {
        return [
            {
                argument: "keystores",
                message: `keystores need delivery: files (${KEYSTORES_ARE_FILES}); set delivery: files or remove keystores`,
            },
        ];
    }
    return [
        {
            argument: "delivery",
            message: `${JSON.stringify(delivery)} cannot carry keystores ${keystores.join(", ")} (${KEYSTORES_ARE_FILES}); set delivery: files, or ask for no keystores`,
        },
    ];
}

/**
 * The keystore password's version: a whole number from 1 up, and only meaningful with keystores
 * (`keystores` undefined where the list is not known yet, as for a stack-wide default).
 */
export function keystorePasswordVersionProblems(
    version: unknown,
    keystores: readonly unknown[] | undefined,
): ArgumentProblem[] {
    if (version === undefined) return [];
    if (!isPositiveInteger(version)) {
        return [
            {
                argument: "keystorePasswordVersion",
                message: `must be a whole number from 1 up (raise it to draw a new keystore password), got ${JSON.stringify(version)}`,
            },
        ];
    }
    if (keystores !== undefined && keystores.length === 0) {
        return [
            {
                argument: "keystorePasswordVersion",
                message: "only applies with keystores; set keystores: [pkcs12] or remove keystorePasswordVersion",
            },
        ];
    }
    return [];
}

/**
 * How a cert-manager service receives its material. cert-manager renews in the cluster and
 * rewrites the same Secret in place, without restarting any pod: files follow (the kubelet
 * refreshes mounted Secrets), environment variables never do, and only an app that reloads its
 * files uses the renewed certificate. That is `rollout: hot`, the only rollout this path has.
 */
export function certManagerDeliveryProblems(delivery: unknown, rollout: unknown): ArgumentProblem[] {
    const problems: ArgumentProblem[] = [];
    if (delivery === "env") {
        problems.push({
            argument: "delivery",
            message:
                "env cannot follow cert-manager's renewals: it rewrites the Secret in place and restarts no pod, while environment variables are read once at container start; use delivery: files, or issuance: pulumi",
        });
    }
    if (rollout === "restart") {
        problems.push({
            argument: "rollout",
            message:
                "restart cannot work with cert-manager: it renews in the cluster without a pulumi up, so nothing restarts the pods and an app that reads its files once keeps the old certificate until it expires; use rollout: hot (the app reloads tls.crt, tls.key and ca.crt when they change), or issuance: pulumi",
        });
    }
    return problems;
}
