/**
 * The stack config contract: what a user writes under `mtls:*` in
 * `stacks/Pulumi.<stack>.yaml`, checked as a whole before anything is created.
 * Pure: no Pulumi import, so every rule is tested with plain values.
 */
import {
    DELIVERIES,
    Delivery,
    KEY_ALGORITHMS,
    KeyAlgorithm,
    ROLLOUTS,
    ROTATION_PHASES,
    Rollout,
    RotationPhase,
    USAGES,
    Usage,
    isAbsolutePosixPath,
    isDelivery,
    isDns1123Label,
    isDnsName,
    isIpAddress,
    isKeyAlgorithm,
    isPositiveInteger,
    isTrustDomain,
    isUsage,
} from "../components/policy";

export interface CaSpec {
    commonName: string;
    keyAlgorithm: KeyAlgorithm;
    validityHours: number;
    intermediate: boolean;
    /** Lifetime of the intermediate; set only when `intermediate` is. */
    intermediateValidityHours?: number;
    /** The current CA generation; 1 for a stack that never rotated. */
    generation: number;
    /** The rotation phase to apply, or undefined when steady. */
    rotation?: RotationPhase;
    /** Export the signing key as a secret stack output, for consumer stacks that issue their own leaves. */
    exportPrivateKey: boolean;
}

export interface CertificateDefaults {
    keyAlgorithm: KeyAlgorithm;
    validityHours: number;
    renewBeforeHours: number;
}

export interface ServiceSpec extends CertificateDefaults {
    name: string;
    image: string;
    usage: Usage;
    delivery: Delivery;
    rollout: Rollout;
    mountPath: string;
    port?: number;
    allowFrom: string[];
    dnsNames: string[];
    ipAddresses: string[];
    replicas: number;
    runAs: RunAsSpec;
}

export interface KubernetesSpec {
    /** Directory the manifests are written to, when no context is set. */
    renderDirectory?: string;
    /** kubeconfig context to deploy to instead of rendering. */
    context?: string;
    /** kubeconfig file holding `context`, relative to the project root; default: KUBECONFIG or ~/.kube/config. */
    kubeconfig?: string;
    createNamespace: boolean;
    /** Pod Security level the created namespace enforces. */
    podSecurity: PodSecurityLevel;
    /** Do not wait for Deployments and Services to become ready (`pulumi.com/skipAwait`). */
    skipAwait: boolean;
    /** The user, group and fsGroup every workload runs as, unless a service sets its own. */
    runAs: RunAsSpec;
}

export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** The non-root identity a workload's containers run as. */
export interface RunAsSpec {
    runAsUser: number;
    runAsGroup: number;
    /** The group the kubelet gives the mounted files, so that the non-root user can read `tls.key`. */
    fsGroup: number;
}

export interface StackSpec {
    namespace: string;
    trustDomain?: string;
    clusterDomain: string;
    ca: CaSpec;
    certificates: CertificateDefaults;
    services: ServiceSpec[];
    kubernetes: KubernetesSpec;
}

/** Raw values by key without the `mtls:` prefix, as the config holds them (objects already parsed). */
export type RawStackConfig = Record<string, unknown>;

export const CONFIG_NAMESPACE = "mtls";
export const TOP_LEVEL_KEYS = ["namespace", "trustDomain", "clusterDomain", "ca", "certificates", "services", "kubernetes"] as const;
const CA_KEYS = ["commonName", "keyAlgorithm", "validityHours", "intermediate", "intermediateValidityHours", "generation", "rotation", "exportPrivateKey"];
const CERT_KEYS = ["keyAlgorithm", "validityHours", "renewBeforeHours"];
const RUN_AS_KEYS = ["runAsUser", "runAsGroup", "fsGroup"];
const SERVICE_KEYS = ["name", "image", "port", "usage", "delivery", "rollout", "mountPath", "allowFrom", "dnsNames", "ipAddresses", "replicas", ...CERT_KEYS, ...RUN_AS_KEYS];
const KUBERNETES_KEYS = ["renderDirectory", "context", "kubeconfig", "createNamespace", "podSecurity", "skipAwait", ...RUN_AS_KEYS];

/** Keys whose values are plain strings even when they look like JSON (a namespace named `123`). */
const STRING_KEYS = new Set(["namespace", "trustDomain", "clusterDomain"]);

/**
 * Collects every `mtls:*` value from config as the engine hands it over (every
 * value a string). Structured values arrive as JSON text; they are parsed here so
 * that a typo anywhere is reported with its key path instead of a parse error.
 * Pure, so the scripts that read a stack file reuse it outside the engine.
 */
export function rawStackConfigFromEngine(all: Record<string, string>): RawStackConfig {
    const raw: RawStackConfig = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        if (STRING_KEYS.has(key)) {
            raw[key] = text;
            continue;
        }
        try {
            raw[key] = JSON.parse(text);
        } catch {
            raw[key] = text;
        }
    }
    return raw;
}

export const DEFAULTS = {
    clusterDomain: "cluster.local",
    ca: { keyAlgorithm: "ECDSA-P256" as KeyAlgorithm, validityHours: 43800, intermediate: false },
    certificates: { keyAlgorithm: "ECDSA-P256" as KeyAlgorithm, validityHours: 2160, renewBeforeHours: 720 },
    usage: "both" as Usage,
    delivery: "files" as Delivery,
    mountPath: "/etc/mtls",
    replicas: 1,
    podSecurity: "restricted" as PodSecurityLevel,
    /** The `nonroot` user and group of distroless images. */
    runAs: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 } as RunAsSpec,
};

/** Thrown with every problem found in the stack config, each naming its key path. */
export class StackConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`the stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "StackConfigError";
    }
}

const LABEL_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
const show = (value: unknown) => JSON.stringify(value);

class Checker {
    readonly problems: string[] = [];

    add(path: string, message: string): void {
        this.problems.push(`${CONFIG_NAMESPACE}:${path}: ${message}`);
    }

    record(path: string, value: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
        if (value === undefined || value === null) return undefined;
        if (typeof value !== "object" || Array.isArray(value)) {
            this.add(path, `must be a map of settings, got ${show(value)}`);
            return undefined;
        }
        for (const key of Object.keys(value)) {
            if (!allowed.includes(key)) this.add(`${path}.${key}`, `is not a known setting; use one of ${allowed.join(", ")}`);
        }
        return value as Record<string, unknown>;
    }

    hours(path: string, value: unknown, fallback: number): number {
        if (value === undefined) return fallback;
        if (!isPositiveInteger(value)) {
            this.add(path, `must be a whole number of hours greater than 0, got ${show(value)}`);
            return fallback;
        }
        return value;
    }

    keyAlgorithm(path: string, value: unknown, fallback: KeyAlgorithm): KeyAlgorithm {
        if (value === undefined) return fallback;
        if (!isKeyAlgorithm(value)) {
            this.add(path, `${show(value)} is not a supported key algorithm; use one of ${KEY_ALGORITHMS.join(", ")}`);
            return fallback;
        }
        return value;
    }

    boolean(path: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined) return fallback;
        if (typeof value !== "boolean") {
            this.add(path, `must be true or false, got ${show(value)}`);
            return fallback;
        }
        return value;
    }

    /** A non-root user or group id. */
    id(path: string, value: unknown, fallback: number): number {
        if (value === undefined) return fallback;
        if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 2147483647) {
            this.add(path, `must be a non-root numeric id from 1 to 2147483647 (Pod Security "restricted" refuses root), got ${show(value)}`);
            return fallback;
        }
        return value as number;
    }

    runAs(path: string, r: Record<string, unknown>, fallback: RunAsSpec): RunAsSpec {
        const prefix = path === "" ? "" : `${path}.`;
        return {
            runAsUser: this.id(`${prefix}runAsUser`, r.runAsUser, fallback.runAsUser),
            runAsGroup: this.id(`${prefix}runAsGroup`, r.runAsGroup, fallback.runAsGroup),
            fsGroup: this.id(`${prefix}fsGroup`, r.fsGroup, fallback.fsGroup),
        };
    }

    string(path: string, value: unknown): string | undefined {
        if (value === undefined) return undefined;
        if (typeof value !== "string" || value.trim() === "") {
            this.add(path, `must be a non-empty string, got ${show(value)}`);
            return undefined;
        }
        return value;
    }

    stringList(path: string, value: unknown, check: (v: unknown) => boolean, rule: string): string[] {
        if (value === undefined) return [];
        if (!Array.isArray(value)) {
            this.add(path, `must be a list, got ${show(value)}`);
            return [];
        }
        value.forEach((item, i) => {
            if (!check(item)) this.add(`${path}[${i}]`, `${show(item)} is not valid; ${rule}`);
        });
        return value.filter((item): item is string => check(item));
    }
}

function checkRenewWindow(c: Checker, path: string, cert: CertificateDefaults): void {
    if (cert.renewBeforeHours >= cert.validityHours) {
        c.add(`${path}.renewBeforeHours`, `${cert.renewBeforeHours} must be less than validityHours (${cert.validityHours}), or the certificate is due for renewal as soon as it is issued`);
    }
}

function parseCa(c: Checker, raw: unknown, fallbackName: string): CaSpec {
    const r = c.record("ca", raw, CA_KEYS) ?? {};
    const validityHours = c.hours("ca.validityHours", r.validityHours, DEFAULTS.ca.validityHours);
    const intermediate = c.boolean("ca.intermediate", r.intermediate, DEFAULTS.ca.intermediate);
    const ca: CaSpec = {
        commonName: c.string("ca.commonName", r.commonName) ?? fallbackName,
        keyAlgorithm: c.keyAlgorithm("ca.keyAlgorithm", r.keyAlgorithm, DEFAULTS.ca.keyAlgorithm),
        validityHours,
        intermediate,
        generation: 1,
        exportPrivateKey: c.boolean("ca.exportPrivateKey", r.exportPrivateKey, false),
    };
    if (r.generation !== undefined) {
        if (isPositiveInteger(r.generation)) ca.generation = r.generation;
        else c.add("ca.generation", `must be a whole number from 1 up (the CA generation in use), got ${show(r.generation)}`);
    }
    if (r.rotation !== undefined) {
        if ((ROTATION_PHASES as readonly unknown[]).includes(r.rotation)) ca.rotation = r.rotation as RotationPhase;
        else c.add("ca.rotation", `${show(r.rotation)} is not a rotation phase; use one of ${ROTATION_PHASES.join(", ")}, or remove it when no rotation is under way`);
    }
    if (r.intermediateValidityHours !== undefined && !intermediate) {
        c.add("ca.intermediateValidityHours", "is set but ca.intermediate is false; set ca.intermediate: true or remove it");
    }
    if (intermediate) {
        ca.intermediateValidityHours = c.hours("ca.intermediateValidityHours", r.intermediateValidityHours, Math.floor(validityHours / 2));
        if (ca.intermediateValidityHours > validityHours) {
            c.add("ca.intermediateValidityHours", `${ca.intermediateValidityHours} exceeds ca.validityHours (${validityHours}); an intermediate cannot outlive its root`);
        }
    }
    return ca;
}

function parseService(c: Checker, raw: unknown, i: number, defaults: CertificateDefaults, runAs: RunAsSpec): ServiceSpec | undefined {
    const path = `services[${i}]`;
    const r = c.record(path, raw, SERVICE_KEYS);
    if (!r) {
        if (raw === undefined || raw === null) c.add(path, "is empty; give at least name and image");
        return undefined;
    }
    const name = r.name;
    if (name === undefined) c.add(`${path}.name`, `is required: ${LABEL_RULE}`);
    else if (!isDns1123Label(name)) c.add(`${path}.name`, `${show(name)} is not a DNS-1123 label; use ${LABEL_RULE}`);
    const image = c.string(`${path}.image`, r.image);
    if (r.image === undefined) c.add(`${path}.image`, "is required: the container image, e.g. example/user-service:1.0");

    let usage = DEFAULTS.usage;
    if (isUsage(r.usage)) usage = r.usage;
    else if (r.usage !== undefined) c.add(`${path}.usage`, `${show(r.usage)} is not a usage; use one of ${USAGES.join(", ")}`);

    let delivery = DEFAULTS.delivery;
    if (isDelivery(r.delivery)) delivery = r.delivery;
    else if (r.delivery !== undefined) c.add(`${path}.delivery`, `${show(r.delivery)} is not a delivery; use one of ${DELIVERIES.join(", ")}`);

    let rollout: Rollout = "restart";
    if (r.rollout !== undefined) {
        if (!(ROLLOUTS as readonly unknown[]).includes(r.rollout)) c.add(`${path}.rollout`, `${show(r.rollout)} is not a rollout; use one of ${ROLLOUTS.join(", ")}`);
        else if (r.rollout === "hot" && delivery !== "files") c.add(`${path}.rollout`, "hot needs delivery: files (environment variables only change when a pod restarts); use rollout: restart or delivery: files");
        else rollout = r.rollout as Rollout;
    }

    let mountPath = DEFAULTS.mountPath;
    if (r.mountPath !== undefined) {
        if (delivery !== "files") c.add(`${path}.mountPath`, `only applies to delivery: files; remove it or set delivery: files`);
        else if (!isAbsolutePosixPath(r.mountPath)) c.add(`${path}.mountPath`, `${show(r.mountPath)} must be an absolute path without '..', e.g. /etc/mtls`);
        else mountPath = r.mountPath;
    }

    let port: number | undefined;
    if (r.port !== undefined) {
        if (!Number.isInteger(r.port) || (r.port as number) < 1 || (r.port as number) > 65535) {
            c.add(`${path}.port`, `${show(r.port)} is not a port; use a whole number from 1 to 65535`);
        } else port = r.port as number;
    } else if (usage !== "client") {
        c.add(`${path}.port`, `is required for usage: ${usage} (the service accepts connections); give a port from 1 to 65535 or set usage: client`);
    }

    const replicas = r.replicas === undefined ? DEFAULTS.replicas : (r.replicas as number);
    if (r.replicas !== undefined && !(Number.isInteger(r.replicas) && (r.replicas as number) >= 0)) {
        c.add(`${path}.replicas`, `must be a whole number from 0 up, got ${show(r.replicas)}`);
    }

    const cert: CertificateDefaults = {
        keyAlgorithm: c.keyAlgorithm(`${path}.keyAlgorithm`, r.keyAlgorithm, defaults.keyAlgorithm),
        validityHours: c.hours(`${path}.validityHours`, r.validityHours, defaults.validityHours),
        renewBeforeHours: c.hours(`${path}.renewBeforeHours`, r.renewBeforeHours, defaults.renewBeforeHours),
    };
    if (r.validityHours !== undefined || r.renewBeforeHours !== undefined) checkRenewWindow(c, path, cert);

    return {
        name: typeof name === "string" ? name : "",
        image: image ?? "",
        usage,
        delivery,
        rollout,
        mountPath,
        port,
        allowFrom: c.stringList(`${path}.allowFrom`, r.allowFrom, isDns1123Label, `name a service of mtls:services (${LABEL_RULE})`),
        dnsNames: c.stringList(`${path}.dnsNames`, r.dnsNames, isDnsName, "use a DNS name such as api.example.internal"),
        ipAddresses: c.stringList(`${path}.ipAddresses`, r.ipAddresses, isIpAddress, "use an IPv4 or IPv6 address"),
        replicas,
        runAs: c.runAs(path, r, runAs),
        ...cert,
    };
}

/**
 * Checks the whole stack config and returns the typed spec, or throws one
 * `StackConfigError` listing every problem with its key path.
 */
export function parseStackConfig(raw: RawStackConfig, names: { project: string; stack: string }): StackSpec {
    const c = new Checker();
    for (const key of Object.keys(raw)) {
        if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
            c.add(key, `is not a known setting; use one of ${TOP_LEVEL_KEYS.join(", ")}`);
        }
    }

    const namespace = raw.namespace;
    if (namespace === undefined) c.add("namespace", `is required: the Kubernetes namespace of the services (${LABEL_RULE})`);
    else if (!isDns1123Label(namespace)) c.add("namespace", `${show(namespace)} is not a DNS-1123 label; use ${LABEL_RULE}`);

    const trustDomain = raw.trustDomain;
    if (trustDomain !== undefined && !isTrustDomain(trustDomain)) {
        c.add("trustDomain", `${show(trustDomain)} is not a SPIFFE trust domain; use lower-case letters, digits, '.', '-' and '_', e.g. dev.shop.internal`);
    }
    const clusterDomain = raw.clusterDomain ?? DEFAULTS.clusterDomain;
    if (!isDnsName(clusterDomain)) c.add("clusterDomain", `${show(clusterDomain)} is not a DNS name; the usual value is cluster.local`);

    const ca = parseCa(c, raw.ca, `${names.project} ${names.stack} root CA`);
    const certRaw = c.record("certificates", raw.certificates, CERT_KEYS) ?? {};
    const certificates: CertificateDefaults = {
        keyAlgorithm: c.keyAlgorithm("certificates.keyAlgorithm", certRaw.keyAlgorithm, DEFAULTS.certificates.keyAlgorithm),
        validityHours: c.hours("certificates.validityHours", certRaw.validityHours, DEFAULTS.certificates.validityHours),
        renewBeforeHours: c.hours("certificates.renewBeforeHours", certRaw.renewBeforeHours, DEFAULTS.certificates.renewBeforeHours),
    };
    checkRenewWindow(c, "certificates", certificates);

    const kubernetesRaw = c.record("kubernetes", raw.kubernetes, KUBERNETES_KEYS) ?? {};
    let podSecurity = DEFAULTS.podSecurity;
    if ((POD_SECURITY_LEVELS as readonly unknown[]).includes(kubernetesRaw.podSecurity)) podSecurity = kubernetesRaw.podSecurity as PodSecurityLevel;
    else if (kubernetesRaw.podSecurity !== undefined) {
        c.add("kubernetes.podSecurity", `${show(kubernetesRaw.podSecurity)} is not a Pod Security level; use one of ${POD_SECURITY_LEVELS.join(", ")}`);
    }
    const kubernetes: KubernetesSpec = {
        renderDirectory: c.string("kubernetes.renderDirectory", kubernetesRaw.renderDirectory),
        context: c.string("kubernetes.context", kubernetesRaw.context),
        kubeconfig: c.string("kubernetes.kubeconfig", kubernetesRaw.kubeconfig),
        createNamespace: c.boolean("kubernetes.createNamespace", kubernetesRaw.createNamespace, true),
        podSecurity,
        skipAwait: c.boolean("kubernetes.skipAwait", kubernetesRaw.skipAwait, false),
        runAs: c.runAs("kubernetes", kubernetesRaw, DEFAULTS.runAs),
    };
    if (kubernetes.renderDirectory !== undefined && kubernetes.context !== undefined) {
        c.add("kubernetes", "sets both renderDirectory and context; keep renderDirectory to write manifests, or context to deploy to that cluster");
    }
    if (kubernetes.kubeconfig !== undefined && kubernetes.context === undefined) {
        c.add("kubernetes.kubeconfig", "only applies with kubernetes.context (the cluster to deploy to); set context or remove kubeconfig");
    }

    const rawServices: unknown[] = Array.isArray(raw.services) ? raw.services : [];
    if (raw.services === undefined) c.add("services", "is required: list at least one service with name and image");
    else if (!Array.isArray(raw.services)) c.add("services", `must be a list of services, got ${show(raw.services)}`);
    else if (raw.services.length === 0) c.add("services", "is empty; list at least one service with name and image");
    const parsed = rawServices.map((s, i) => parseService(c, s, i, certificates, kubernetes.runAs));

    const firstIndex = new Map<string, number>();
    parsed.forEach((svc, i) => {
        if (!svc?.name) return;
        const first = firstIndex.get(svc.name);
        if (first !== undefined) c.add(`services[${i}].name`, `${show(svc.name)} is already used by services[${first}]; service names must be unique`);
        else firstIndex.set(svc.name, i);
    });
    const known = [...firstIndex.keys()];
    const issuingHours = ca.intermediate ? ca.intermediateValidityHours ?? 0 : ca.validityHours;
    const issuingKey = ca.intermediate ? "ca.intermediateValidityHours" : "ca.validityHours";
    parsed.forEach((svc, i) => {
        if (!svc) return;
        svc.allowFrom.forEach((caller, j) => {
            if (!known.includes(caller)) {
                c.add(`services[${i}].allowFrom[${j}]`, `${show(caller)} is not a service of this stack; use one of ${known.join(", ")}`);
            }
        });
        if (svc.validityHours > issuingHours && svc.validityHours !== certificates.validityHours) {
            c.add(`services[${i}].validityHours`, `a ${svc.validityHours}-hour certificate would outlive its CA (${issuingKey}: ${issuingHours}); lower it or raise ${issuingKey}`);
        }
    });
    if (certificates.validityHours > issuingHours) {
        c.add("certificates.validityHours", `${certificates.validityHours} hours would outlive the CA (${issuingKey}: ${issuingHours}); lower it or raise ${issuingKey}`);
    }

    if (kubernetes.renderDirectory === undefined && kubernetes.context === undefined) kubernetes.renderDirectory = `out/${names.stack}`;

    if (c.problems.length > 0) throw new StackConfigError(c.problems);
    return {
        namespace: namespace as string,
        trustDomain: trustDomain as string | undefined,
        clusterDomain: clusterDomain as string,
        ca,
        certificates,
        services: parsed.filter((svc): svc is ServiceSpec => svc !== undefined),
        kubernetes,
    };
}
