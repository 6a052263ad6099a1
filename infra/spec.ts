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
    KeystoreFormat,
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
    keystoreDeliveryProblems,
    keystorePasswordVersionProblems,
    keystoreProblems,
    parseSpiffeId,
    spiffeId,
    SpiffeIdParts,
    ArgumentProblem,
    POD_SECURITY_LEVELS,
    PodSecurityLevel,
    caLifetimeProblems,
    rotationProblems,
    hoursProblem,
    certificateLifetimeProblems,
    deliveryProblems,
    servingProblems,
    CERT_MANAGER_ISSUER_KINDS,
    CertManagerIssuerKind,
    ISSUANCES,
    Issuance,
    certManagerCertificateProblems,
    certManagerDeliveryProblems,
    isIssuance,
} from "../components/rules";
import { DEFAULTS, defaultIntermediateValidityHours } from "../components/defaults";
import {
    INGRESS_SOURCE_FORMS,
    IngressSource,
    ingressSourceProblems,
    normalizeIngressSource,
} from "../components/ingressRules";
import { DEFAULT_ISTIO_NAMESPACE } from "../components/istioObjects";
import { DEFAULT_CLUSTER_RESOURCE_NAMESPACE } from "../components/certManagerObjects";

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
    /** Java keystores in the service's Secret: [] (none), [pkcs12] or [pkcs12, jks]. */
    keystores: KeystoreFormat[];
    /** Bumped to draw a new keystore password. */
    keystorePasswordVersion: number;
}

/**
 * One identity a service accepts calls from, resolved from an `allowFrom` entry. The
 * program turns these into the app's allowlists (`commonName` into MTLS_ALLOWED_CLIENTS,
 * `spiffeId` into MTLS_ALLOWED_SPIFFE_IDS); network and mesh policies are built from the
 * same list, so every caller is described by what those need.
 */
export interface CallerSpec {
    /** The CN of the caller's certificate: what the app's CN allowlist holds. */
    commonName: string;
    /** The caller's SPIFFE ID (its URI SAN); undefined for this stack's services when it has no trust domain. */
    spiffeId?: string;
    /**
     * The caller's namespace, for this stack's services and `{ namespace, service }` entries
     * (workloads of this trust domain, which a NetworkPolicy can select); undefined for a
     * caller named by `spiffeId`, which may run in another cluster.
     */
    namespace?: string;
    /** The caller's Service, ServiceAccount and `app.kubernetes.io/name`, when `namespace` is set. */
    service?: string;
    /** Whether the caller is a service of this stack. */
    inStack: boolean;
    /**
     * Where the NetworkPolicy admits a caller from another trust domain from (its
     * `networkPolicyFrom`), since no label selects it; undefined for every other caller, whose
     * pods are selected by `namespace` and `service`.
     */
    networkPolicyFrom?: IngressSource[];
}

export interface ServiceSpec extends CertificateDefaults {
    name: string;
    /** Who issues its certificate: the stack's `mtls:issuance`, unless the service sets its own. */
    issuance: Issuance;
    image: string;
    usage: Usage;
    delivery: Delivery;
    rollout: Rollout;
    mountPath: string;
    port?: number;
    /** Who may call this service, in the order `allowFrom` lists them; empty for a client. */
    callers: CallerSpec[];
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
    /** A NetworkPolicy per server that admits only its callers' pods on its port. */
    networkPolicy: boolean;
}

export const MESH_PROVIDERS = ["istio"] as const;
export type MeshProvider = (typeof MESH_PROVIDERS)[number];

/** The service mesh whose policies the stack writes (`mtls:mesh`). */
export interface MeshSpec {
    provider: MeshProvider;
    /** Hand the signing intermediate to istiod as its plug-in CA (Istio's `cacerts` Secret). */
    pluginCa: boolean;
    /** istiod's namespace, where `cacerts` goes; set only with `pluginCa`. */
    caNamespace?: string;
}

export { POD_SECURITY_LEVELS };
export type { PodSecurityLevel };

/** The non-root identity a workload's containers run as. */
export interface RunAsSpec {
    runAsUser: number;
    runAsGroup: number;
    /** The group the kubelet gives the mounted files, so that the non-root user can read `tls.key`. */
    fsGroup: number;
}

/** `mtls:issuance`: who issues the certificates, and how cert-manager is handed the CA. */
export interface IssuanceSpec {
    /** The issuance of every service that does not set its own. */
    provider: Issuance;
    /** What the CA becomes for cert-manager: a namespaced Issuer, or a ClusterIssuer. */
    issuerKind: CertManagerIssuerKind;
    /**
     * cert-manager's cluster resource namespace (its `--cluster-resource-namespace`), where a
     * ClusterIssuer's CA Secret must live; set only with `issuerKind: ClusterIssuer`.
     */
    clusterResourceNamespace?: string;
}

/**
 * `mtls:certificates.renewalClock`: where renewal decisions live. `stack`: one `RenewalSchedule`
 * for all of the stack's Pulumi-issued certificates. `certificate`: a `RenewalClock` per
 * certificate, as stacks deployed before 0.2 have them; switching a deployed stack between the
 * two issues every certificate anew once.
 */
export const RENEWAL_CLOCKS = ["stack", "certificate"] as const;
export type RenewalClockMode = (typeof RENEWAL_CLOCKS)[number];

export interface StackSpec {
    namespace: string;
    /** `mtls:certificates.renewalClock`. */
    renewalClock: RenewalClockMode;
    issuance: IssuanceSpec;
    trustDomain?: string;
    clusterDomain: string;
    ca: CaSpec;
    certificates: CertificateDefaults;
    services: ServiceSpec[];
    kubernetes: KubernetesSpec;
    /** Undefined unless `mtls:mesh` is set. */
    mesh?: MeshSpec;
}

/** Raw values by key without the `mtls:` prefix, as the config holds them (objects already parsed). */
export type RawStackConfig = Record<string, unknown>;

export const CONFIG_NAMESPACE = "mtls";
export const TOP_LEVEL_KEYS = [
    "namespace",
    "trustDomain",
    "clusterDomain",
    "ca",
    "certificates",
    "services",
    "kubernetes",
    "mesh",
    "issuance",
] as const;
const CA_KEYS = [
    "commonName",
    "keyAlgorithm",
    "validityHours",
    "intermediate",
    "intermediateValidityHours",
    "generation",
    "rotation",
    "exportPrivateKey",
];
const CERT_KEYS = ["keyAlgorithm", "validityHours", "renewBeforeHours", "keystores", "keystorePasswordVersion"];
const RUN_AS_KEYS = ["runAsUser", "runAsGroup", "fsGroup"];
const SERVICE_KEYS = [
    "name",
    "image",
    "port",
    "usage",
    "issuance",
    "delivery",
    "rollout",
    "mountPath",
    "allowFrom",
    "dnsNames",
    "ipAddresses",
    "replicas",
    ...CERT_KEYS,
    ...RUN_AS_KEYS,
];
const KUBERNETES_KEYS = [
    "renderDirectory",
    "context",
    "kubeconfig",
    "createNamespace",
    "podSecurity",
    "skipAwait",
    "networkPolicy",
    ...RUN_AS_KEYS,
];
const MESH_KEYS = ["provider", "pluginCa", "caNamespace"];
const ISSUANCE_KEYS = ["provider", "issuerKind", "clusterResourceNamespace"];

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

/** The defaults the components use too: one table for both doors. */
export { DEFAULTS };

/** Thrown with every problem found in the stack config, each naming its key path. */
export class StackConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `the stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "StackConfigError";
    }
}

const LABEL_RULE =
    "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
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
            if (!allowed.includes(key))
                this.add(`${path}.${key}`, `is not a known setting; use one of ${allowed.join(", ")}`);
        }
        return value as Record<string, unknown>;
    }

    hours(path: string, value: unknown, fallback: number): number {
        if (value === undefined) return fallback;
        const wrong = hoursProblem(value);
        if (wrong !== undefined) {
            this.add(path, wrong);
            return fallback;
        }
        return value as number;
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

    /** Problems found by the rules the components share, under `prefix`. */
    addAll(prefix: string, problems: readonly ArgumentProblem[]): void {
        for (const p of problems) this.add(`${prefix}.${p.argument}`, p.message);
    }

    /** A non-root user or group id. */
    id(path: string, value: unknown, fallback: number): number {
        if (value === undefined) return fallback;
        if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 2147483647) {
            this.add(
                path,
                `must be a non-root numeric id from 1 to 2147483647 (Pod Security "restricted" refuses root), got ${show(value)}`,
            );
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

    /** A keystores list under `prefix`, by the rule CertificateMaterial uses; `fallback` when not set or refused. */
    keystores(prefix: string, value: unknown, fallback: readonly KeystoreFormat[]): KeystoreFormat[] {
        if (value === undefined) return [...fallback];
        const problems = keystoreProblems(value);
        this.addAll(prefix, problems);
        return problems.length === 0 ? [...(value as KeystoreFormat[])] : [...fallback];
    }

    /** The keystore password's version under `prefix`, by the rule CertificateMaterial uses. */
    passwordVersion(
        prefix: string,
        value: unknown,
        keystores: readonly KeystoreFormat[] | undefined,
        fallback: number,
    ): number {
        const problems = keystorePasswordVersionProblems(value, keystores);
        this.addAll(prefix, problems);
        return value !== undefined && problems.length === 0 ? (value as number) : fallback;
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

/** An `allowFrom` entry as written, before it is resolved against the rest of the stack. */
type AllowFromEntry =
    | { form: "service"; service: string }
    | { form: "namespace"; namespace: string; service: string }
    | { form: "spiffe"; spiffeId: SpiffeIdParts; commonName?: string; networkPolicyFrom?: IngressSource[] };

const CALLER_KEYS = ["namespace", "service", "spiffeId", "commonName", "networkPolicyFrom"];
const CALLER_FORMS =
    "a service of mtls:services by name, { namespace, service } for a caller in another namespace, or { spiffeId, commonName } for a caller from another trust domain";
const SPIFFE_RULE =
    "use spiffe://<trust domain>/<path>, e.g. spiffe://billing.internal/ns/billing/sa/invoicer (trust domain: lower-case letters, digits, '.', '-', '_'; path: segments of letters, digits, '.', '-', '_', none empty, '.' or '..')";

/** A certificate CN that fits the comma-separated MTLS_ALLOWED_CLIENTS list: X.509 allows at most 64 characters. */
function isCallerCommonName(value: unknown): value is string {
    return (
        typeof value === "string" &&
        value.trim() !== "" &&
        value.length <= 64 &&
        !value.includes(",") &&
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
        !/[\u0000-\u001f\u007f]/.test(value)
    );
}

/** Checks the shape of one `allowFrom` entry; who it names is checked later, against the whole stack. */
function parseAllowFromEntry(c: Checker, path: string, item: unknown): AllowFromEntry | undefined {
    if (typeof item === "string") {
        if (isDns1123Label(item)) return { form: "service", service: item };
        c.add(
            path,
            `${show(item)} is not valid; name a service of mtls:services (${LABEL_RULE}), or write { namespace, service } or { spiffeId } for a caller outside this stack`,
        );
        return undefined;
    }
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
        c.add(path, `${show(item)} is not a caller; write ${CALLER_FORMS}`);
        return undefined;
    }
    const r = c.record(path, item, CALLER_KEYS) as Record<string, unknown>;
    const byNamespace = r.namespace !== undefined || r.service !== undefined;
    if (byNamespace && r.spiffeId !== undefined) {
        c.add(
            path,
            "sets both { namespace, service } and spiffeId; keep { namespace, service } for a caller in another namespace of this trust domain, or spiffeId for a caller from another trust domain",
        );
        return undefined;
    }
    if (byNamespace) {
        let ok = true;
        for (const key of ["namespace", "service"]) {
            if (r[key] === undefined) {
                c.add(
                    `${path}.${key}`,
                    `is required with ${key === "namespace" ? "service" : "namespace"}: write { namespace: <namespace>, service: <service> } (${LABEL_RULE})`,
                );
                ok = false;
            } else if (!isDns1123Label(r[key])) {
                c.add(`${path}.${key}`, `${show(r[key])} is not a DNS-1123 label; use ${LABEL_RULE}`);
                ok = false;
            }
        }
        if (r.commonName !== undefined) {
            c.add(
                `${path}.commonName`,
                "only applies with spiffeId; a { namespace, service } caller's CN is its service name, so remove commonName",
            );
            ok = false;
        }
        if (r.networkPolicyFrom !== undefined) {
            c.add(
                `${path}.networkPolicyFrom`,
                "only applies with spiffeId; the NetworkPolicy selects a { namespace, service } caller's pods by their labels, so remove networkPolicyFrom",
            );
            ok = false;
        }
        return ok ? { form: "namespace", namespace: r.namespace as string, service: r.service as string } : undefined;
    }
    if (r.spiffeId === undefined) {
        if (Object.keys(r).every((key) => CALLER_KEYS.includes(key)))
            c.add(path, `names no caller; write ${CALLER_FORMS}`);
        return undefined;
    }
    const parts = parseSpiffeId(r.spiffeId);
    if (!parts) c.add(`${path}.spiffeId`, `${show(r.spiffeId)} is not a SPIFFE ID; ${SPIFFE_RULE}`);
    if (r.commonName !== undefined && !isCallerCommonName(r.commonName)) {
        c.add(
            `${path}.commonName`,
            `${show(r.commonName)} is not a certificate CN this allowlist can hold; use 1 to 64 characters without ',' (MTLS_ALLOWED_CLIENTS is comma-separated) or control characters`,
        );
        return undefined;
    }
    const networkPolicyFrom =
        r.networkPolicyFrom === undefined
            ? undefined
            : parseNetworkPeers(c, `${path}.networkPolicyFrom`, r.networkPolicyFrom);
    if (networkPolicyFrom === null) return undefined;
    return parts
        ? { form: "spiffe", spiffeId: parts, commonName: r.commonName as string | undefined, networkPolicyFrom }
        : undefined;
}

/** The places a caller's connections come from, as written under `networkPolicyFrom`; null after a problem. */
function parseNetworkPeers(c: Checker, path: string, value: unknown): IngressSource[] | null {
    if (!Array.isArray(value) || value.length === 0) {
        c.add(path, `must be a non-empty list of ${INGRESS_SOURCE_FORMS}, got ${show(value)}`);
        return null;
    }
    const problems = value.flatMap((item, k) =>
        ingressSourceProblems(item).map((p) => ({ ...p, at: `${path}[${k}]` })),
    );
    for (const p of problems) c.add(p.field === undefined ? p.at : `${p.at}.${p.field}`, p.message);
    return problems.length > 0 ? null : value.map((item) => normalizeIngressSource(item as Record<string, unknown>));
}

/** What a stack knows about its own services when it resolves who may call them. */
interface StackIdentity {
    namespace: string;
    trustDomain?: string;
    /** Usage of each service of the stack, by name. */
    usages: Map<string, Usage>;
    /** Whether servers get NetworkPolicies (`mtls:kubernetes.networkPolicy`). */
    networkPolicy: boolean;
}

/**
 * Resolves one service's `allowFrom` into callers, refusing, by key path, every entry that
 * could never call, that names its caller in a second way, or that the CN allowlist could
 * not tell from a service the list leaves out.
 */
function resolveCallers(
    c: Checker,
    i: number,
    svc: ServiceSpec,
    entries: Array<AllowFromEntry | undefined>,
    stack: StackIdentity,
): CallerSpec[] {
    const path = `services[${i}].allowFrom`;
    if (svc.usage === "client" && entries.length > 0) {
        c.add(
            path,
            "is set on a service with usage: client, which accepts no connections, so nothing can call it; remove allowFrom, or set usage: both and a port if the service also serves",
        );
    }
    const known = [...stack.usages.keys()];
    const resolved: Array<CallerSpec | undefined> = entries.map((entry, j) => {
        if (!entry) return undefined;
        const at = `${path}[${j}]`;
        if (entry.form === "service") {
            const usage = stack.usages.get(entry.service);
            if (usage === undefined) {
                c.add(at, `${show(entry.service)} is not a service of this stack; use one of ${known.join(", ")}`);
                return undefined;
            }
            if (usage === "server") {
                c.add(
                    at,
                    `${show(entry.service)} has usage: server, so its certificate cannot authenticate a client and it can never call; set its usage to both, or remove it from allowFrom`,
                );
                return undefined;
            }
            return {
                commonName: entry.service,
                spiffeId:
                    stack.trustDomain === undefined
                        ? undefined
                        : spiffeId(stack.trustDomain, stack.namespace, entry.service),
                namespace: stack.namespace,
                service: entry.service,
                inStack: true,
            };
        }
        if (entry.form === "namespace") {
            if (entry.namespace === stack.namespace && stack.usages.has(entry.service)) {
                c.add(
                    at,
                    `{ namespace: ${entry.namespace}, service: ${entry.service} } is this stack's own ${entry.service}; write ${show(entry.service)}`,
                );
                return undefined;
            }
            if (stack.trustDomain === undefined) {
                c.add(
                    at,
                    `a caller outside this stack is known by its SPIFFE ID, and { namespace, service } derives it from mtls:trustDomain, which is not set; set mtls:trustDomain, or write { spiffeId, commonName } with the caller's own SPIFFE ID`,
                );
                return undefined;
            }
            return {
                commonName: entry.service,
                spiffeId: spiffeId(stack.trustDomain, entry.namespace, entry.service),
                namespace: entry.namespace,
                service: entry.service,
                inStack: false,
            };
        }
        const id = entry.spiffeId;
        if (id.trustDomain === stack.trustDomain && id.namespace !== undefined && id.serviceAccount !== undefined) {
            const own = id.namespace === stack.namespace && stack.usages.has(id.serviceAccount);
            c.add(
                `${at}.spiffeId`,
                own
                    ? `${show(id.id)} is this stack's own ${id.serviceAccount}; write ${show(id.serviceAccount)}`
                    : `${show(id.id)} is a workload of this trust domain; write { namespace: ${id.namespace}, service: ${id.serviceAccount} }`,
            );
            return undefined;
        }
        // Reported without dropping the caller, so that the graph's other checks still see it.
        if (stack.networkPolicy && entry.networkPolicyFrom === undefined && svc.usage !== "client") {
            c.add(
                `${at}.networkPolicyFrom`,
                `is required: ${show(id.id)} is from another trust domain and no label of this cluster selects its pods, so the NetworkPolicy (on by default) would drop its connections before the app sees them; write networkPolicyFrom: [{ cidr: <its addresses> }] or [{ namespace: <namespace>, podLabels: { ... } }] naming where its connections arrive from (e.g. an east-west gateway), or set mtls:kubernetes.networkPolicy: false`,
            );
        }
        if (!stack.networkPolicy && entry.networkPolicyFrom !== undefined) {
            c.add(
                `${at}.networkPolicyFrom`,
                "has no effect with mtls:kubernetes.networkPolicy: false (no NetworkPolicy is written); remove it, or turn network policies back on",
            );
        }
        const commonName = entry.commonName ?? id.serviceAccount;
        if (commonName === undefined) {
            c.add(
                `${at}.commonName`,
                `is required: the path of ${show(id.id)} is not /ns/<namespace>/sa/<service account>, so the caller's CN cannot be derived from it; give the CN its certificate carries`,
            );
            return undefined;
        }
        return {
            commonName,
            spiffeId: id.id,
            inStack: false,
            ...(entry.networkPolicyFrom ? { networkPolicyFrom: entry.networkPolicyFrom } : {}),
        };
    });

    const firstByIdentity = new Map<string, number>();
    const localNames = new Set(resolved.filter((caller) => caller?.inStack).map((caller) => caller?.service));
    resolved.forEach((caller, j) => {
        if (!caller) return;
        const identity = caller.spiffeId ?? caller.commonName;
        const first = firstByIdentity.get(identity);
        if (first !== undefined) {
            c.add(`${path}[${j}]`, `is the same caller as allowFrom[${first}] (${identity}); list each caller once`);
            return;
        }
        firstByIdentity.set(identity, j);
        const namesake = stack.usages.get(caller.commonName);
        if (!caller.inStack && namesake !== undefined && namesake !== "server" && !localNames.has(caller.commonName)) {
            const fix =
                entries[j]?.form === "spiffe"
                    ? "or set commonName to the CN the caller's certificate really carries"
                    : "or give one of the two services another name";
            c.add(
                `${path}[${j}]`,
                `presents CN ${show(caller.commonName)}, as this stack's ${caller.commonName} does, which allowFrom leaves out: the CN allowlist (MTLS_ALLOWED_CLIENTS) would admit both; allow ${show(caller.commonName)} too, ${fix}`,
            );
        }
    });
    return resolved.filter((caller): caller is CallerSpec => caller !== undefined);
}

function checkRenewWindow(c: Checker, path: string, cert: CertificateDefaults): void {
    c.addAll(path, certificateLifetimeProblems(cert.validityHours, cert.renewBeforeHours));
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
    c.addAll("ca", rotationProblems(r.generation ?? 1, r.rotation));
    if (isPositiveInteger(r.generation)) ca.generation = r.generation;
    if ((ROTATION_PHASES as readonly unknown[]).includes(r.rotation)) ca.rotation = r.rotation as RotationPhase;
    if (r.intermediateValidityHours !== undefined && !intermediate) {
        c.add(
            "ca.intermediateValidityHours",
            "is set but ca.intermediate is false; set ca.intermediate: true or remove it",
        );
    }
    if (intermediate) {
        ca.intermediateValidityHours = c.hours(
            "ca.intermediateValidityHours",
            r.intermediateValidityHours,
            defaultIntermediateValidityHours(validityHours),
        );
        c.addAll("ca", caLifetimeProblems(validityHours, ca.intermediateValidityHours));
    }
    return ca;
}

/** A service with its `allowFrom` entries as written, resolved once every service is known. */
interface ParsedService {
    spec: ServiceSpec;
    allowFrom: Array<AllowFromEntry | undefined>;
}

function parseAllowFrom(c: Checker, path: string, value: unknown): Array<AllowFromEntry | undefined> {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
        c.add(path, `must be a list of callers, got ${show(value)}; each one ${CALLER_FORMS}`);
        return [];
    }
    return value.map((item, j) => parseAllowFromEntry(c, `${path}[${j}]`, item));
}

function parseService(
    c: Checker,
    raw: unknown,
    i: number,
    defaults: CertificateDefaults,
    runAs: RunAsSpec,
    defaultIssuance: Issuance,
): ParsedService | undefined {
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
    if (r.image === undefined)
        c.add(`${path}.image`, "is required: the container image, e.g. example/user-service:1.0");

    let usage: Usage = DEFAULTS.certificate.usage;
    if (isUsage(r.usage)) usage = r.usage;
    else if (r.usage !== undefined)
        c.add(`${path}.usage`, `${show(r.usage)} is not a usage; use one of ${USAGES.join(", ")}`);

    let delivery: Delivery = DEFAULTS.workload.delivery;
    if (isDelivery(r.delivery)) delivery = r.delivery;
    else if (r.delivery !== undefined)
        c.add(`${path}.delivery`, `${show(r.delivery)} is not a delivery; use one of ${DELIVERIES.join(", ")}`);

    let issuance: Issuance = defaultIssuance;
    if (isIssuance(r.issuance)) issuance = r.issuance;
    else if (r.issuance !== undefined)
        c.add(`${path}.issuance`, `${show(r.issuance)} is not an issuance; use one of ${ISSUANCES.join(", ")}`);

    // cert-manager rewrites its Secret in place, so its services roll out hot unless told otherwise (and refused).
    let rollout: Rollout = issuance === "cert-manager" && delivery === "files" ? "hot" : DEFAULTS.workload.rollout;
    if (issuance === "cert-manager") c.addAll(path, certManagerDeliveryProblems(r.delivery, r.rollout));
    if (r.rollout !== undefined) {
        const problems = deliveryProblems(delivery, r.rollout, undefined);
        c.addAll(path, problems);
        if (problems.length === 0) rollout = r.rollout as Rollout;
    }

    let mountPath: string = DEFAULTS.workload.mountPath;
    if (r.mountPath !== undefined) {
        if (delivery !== "files")
            c.add(`${path}.mountPath`, `only applies to delivery: files; remove it or set delivery: files`);
        else if (!isAbsolutePosixPath(r.mountPath))
            c.add(`${path}.mountPath`, `${show(r.mountPath)} must be an absolute path without '..', e.g. /etc/mtls`);
        else mountPath = r.mountPath;
    }

    const portProblems = servingProblems(usage, r.port);
    c.addAll(path, portProblems);
    const port = portProblems.length === 0 ? (r.port as number | undefined) : undefined;

    const replicas = r.replicas === undefined ? DEFAULTS.workload.replicas : (r.replicas as number);
    if (r.replicas !== undefined && !(Number.isInteger(r.replicas) && (r.replicas as number) >= 0)) {
        c.add(`${path}.replicas`, `must be a whole number from 0 up, got ${show(r.replicas)}`);
    }

    const keystores = c.keystores(path, r.keystores, defaults.keystores);
    const cert: CertificateDefaults = {
        keyAlgorithm: c.keyAlgorithm(`${path}.keyAlgorithm`, r.keyAlgorithm, defaults.keyAlgorithm),
        validityHours: c.hours(`${path}.validityHours`, r.validityHours, defaults.validityHours),
        renewBeforeHours: c.hours(`${path}.renewBeforeHours`, r.renewBeforeHours, defaults.renewBeforeHours),
        keystores,
        keystorePasswordVersion: c.passwordVersion(
            path,
            r.keystorePasswordVersion,
            keystores,
            defaults.keystorePasswordVersion,
        ),
    };
    if (r.validityHours !== undefined || r.renewBeforeHours !== undefined) checkRenewWindow(c, path, cert);
    // Keystores asked for on the service itself are what to fix; inherited ones leave the delivery to change.
    c.addAll(path, keystoreDeliveryProblems(delivery, keystores, r.keystores === undefined ? "delivery" : "keystores"));
    if (issuance === "cert-manager") {
        // What cert-manager's own validation would refuse, unless the shared rules already said so at that key.
        for (const p of certManagerCertificateProblems(cert.keyAlgorithm, cert.validityHours, cert.renewBeforeHours)) {
            const key = `${CONFIG_NAMESPACE}:${path}.${p.argument}:`;
            if (
                !c.problems.some(
                    (q) => q.startsWith(key) || q.startsWith(`${CONFIG_NAMESPACE}:certificates.${p.argument}:`),
                )
            )
                c.add(`${path}.${p.argument}`, p.message);
        }
        if (keystores.length > 0) {
            c.add(
                r.keystores === undefined ? `${path}.issuance` : `${path}.keystores`,
                `cert-manager writes tls.crt and tls.key only, so keystores ${keystores.join(", ")} cannot be built for it; ` +
                    `use issuance: pulumi for this service, or set keystores: [] on it`,
            );
        }
    }

    const spec: ServiceSpec = {
        name: typeof name === "string" ? name : "",
        image: image ?? "",
        usage,
        issuance,
        delivery,
        rollout,
        mountPath,
        port,
        callers: [],
        dnsNames: c.stringList(
            `${path}.dnsNames`,
            r.dnsNames,
            isDnsName,
            "use a DNS name such as api.example.internal",
        ),
        ipAddresses: c.stringList(`${path}.ipAddresses`, r.ipAddresses, isIpAddress, "use an IPv4 or IPv6 address"),
        replicas,
        runAs: c.runAs(path, r, runAs),
        ...cert,
    };
    return { spec, allowFrom: parseAllowFrom(c, `${path}.allowFrom`, r.allowFrom) };
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
    if (namespace === undefined)
        c.add("namespace", `is required: the Kubernetes namespace of the services (${LABEL_RULE})`);
    else if (!isDns1123Label(namespace))
        c.add("namespace", `${show(namespace)} is not a DNS-1123 label; use ${LABEL_RULE}`);

    const trustDomain = raw.trustDomain;
    if (trustDomain !== undefined && !isTrustDomain(trustDomain)) {
        c.add(
            "trustDomain",
            `${show(trustDomain)} is not a SPIFFE trust domain; use lower-case letters, digits, '.', '-' and '_', e.g. dev.shop.internal`,
        );
    }
    const clusterDomain = raw.clusterDomain ?? DEFAULTS.clusterDomain;
    if (!isDnsName(clusterDomain))
        c.add("clusterDomain", `${show(clusterDomain)} is not a DNS name; the usual value is cluster.local`);

    const ca = parseCa(c, raw.ca, `${names.project} ${names.stack} root CA`);
    const certRaw = c.record("certificates", raw.certificates, [...CERT_KEYS, "renewalClock"]) ?? {};
    let renewalClock: RenewalClockMode = "stack";
    if ((RENEWAL_CLOCKS as readonly unknown[]).includes(certRaw.renewalClock))
        renewalClock = certRaw.renewalClock as RenewalClockMode;
    else if (certRaw.renewalClock !== undefined)
        c.add(
            "certificates.renewalClock",
            `${show(certRaw.renewalClock)} is not a renewal clock; use stack (one schedule for the stack) or certificate (one clock each, as stacks deployed before 0.2 have)`,
        );
    const certificates: CertificateDefaults = {
        keyAlgorithm: c.keyAlgorithm(
            "certificates.keyAlgorithm",
            certRaw.keyAlgorithm,
            DEFAULTS.certificate.keyAlgorithm,
        ),
        validityHours: c.hours("certificates.validityHours", certRaw.validityHours, DEFAULTS.certificate.validityHours),
        renewBeforeHours: c.hours(
            "certificates.renewBeforeHours",
            certRaw.renewBeforeHours,
            DEFAULTS.certificate.renewBeforeHours,
        ),
        keystores: c.keystores("certificates", certRaw.keystores, DEFAULTS.certificate.keystores),
        keystorePasswordVersion: c.passwordVersion(
            "certificates",
            certRaw.keystorePasswordVersion,
            undefined,
            DEFAULTS.certificate.keystorePasswordVersion,
        ),
    };
    checkRenewWindow(c, "certificates", certificates);

    const kubernetesRaw = c.record("kubernetes", raw.kubernetes, KUBERNETES_KEYS) ?? {};
    let podSecurity: PodSecurityLevel = DEFAULTS.kubernetes.podSecurity;
    if ((POD_SECURITY_LEVELS as readonly unknown[]).includes(kubernetesRaw.podSecurity))
        podSecurity = kubernetesRaw.podSecurity as PodSecurityLevel;
    else if (kubernetesRaw.podSecurity !== undefined) {
        c.add(
            "kubernetes.podSecurity",
            `${show(kubernetesRaw.podSecurity)} is not a Pod Security level; use one of ${POD_SECURITY_LEVELS.join(", ")}`,
        );
    }
    const kubernetes: KubernetesSpec = {
        renderDirectory: c.string("kubernetes.renderDirectory", kubernetesRaw.renderDirectory),
        context: c.string("kubernetes.context", kubernetesRaw.context),
        kubeconfig: c.string("kubernetes.kubeconfig", kubernetesRaw.kubeconfig),
        createNamespace: c.boolean("kubernetes.createNamespace", kubernetesRaw.createNamespace, true),
        podSecurity,
        skipAwait: c.boolean("kubernetes.skipAwait", kubernetesRaw.skipAwait, false),
        runAs: c.runAs("kubernetes", kubernetesRaw, DEFAULTS.workload.runAs),
        networkPolicy: c.boolean("kubernetes.networkPolicy", kubernetesRaw.networkPolicy, true),
    };
    if (kubernetes.renderDirectory !== undefined && kubernetes.context !== undefined) {
        c.add(
            "kubernetes",
            "sets both renderDirectory and context; keep renderDirectory to write manifests, or context to deploy to that cluster",
        );
    }
    if (kubernetes.kubeconfig !== undefined && kubernetes.context === undefined) {
        c.add(
            "kubernetes.kubeconfig",
            "only applies with kubernetes.context (the cluster to deploy to); set context or remove kubeconfig",
        );
    }

    const rawServices: unknown[] = Array.isArray(raw.services) ? raw.services : [];
    if (raw.services === undefined) c.add("services", "is required: list at least one service with name and image");
    else if (!Array.isArray(raw.services)) c.add("services", `must be a list of services, got ${show(raw.services)}`);
    else if (raw.services.length === 0) c.add("services", "is empty; list at least one service with name and image");
    const issuance = parseIssuance(c, raw.issuance);
    const parsed = rawServices.map((s, i) => parseService(c, s, i, certificates, kubernetes.runAs, issuance.provider));
    const certManagerUsed = parsed.some((p) => p?.spec.issuance === "cert-manager");
    if (!certManagerUsed && raw.issuance !== null && typeof raw.issuance === "object") {
        const r = raw.issuance as Record<string, unknown>;
        for (const key of ["issuerKind", "clusterResourceNamespace"]) {
            if (r[key] !== undefined)
                c.add(
                    `issuance.${key}`,
                    "only applies when a service is issued by cert-manager; set issuance.provider: cert-manager (or a service's issuance), or remove it",
                );
        }
    }

    const usages = new Map<string, Usage>();
    const firstIndex = new Map<string, number>();
    parsed.forEach((p, i) => {
        if (!p?.spec.name) return;
        const first = firstIndex.get(p.spec.name);
        if (first !== undefined)
            c.add(
                `services[${i}].name`,
                `${show(p.spec.name)} is already used by services[${first}]; service names must be unique`,
            );
        else {
            firstIndex.set(p.spec.name, i);
            usages.set(p.spec.name, p.spec.usage);
        }
    });
    const identity: StackIdentity = {
        namespace: namespace as string,
        trustDomain: isTrustDomain(trustDomain) ? trustDomain : undefined,
        usages,
        networkPolicy: kubernetes.networkPolicy,
    };
    const issuingHours = ca.intermediate ? (ca.intermediateValidityHours ?? 0) : ca.validityHours;
    const issuingKey = ca.intermediate ? "ca.intermediateValidityHours" : "ca.validityHours";
    parsed.forEach((p, i) => {
        if (!p) return;
        const svc = p.spec;
        svc.callers = resolveCallers(c, i, svc, p.allowFrom, identity);
        if (svc.validityHours > issuingHours && svc.validityHours !== certificates.validityHours) {
            c.add(
                `services[${i}].validityHours`,
                `a ${svc.validityHours}-hour certificate would outlive its CA (${issuingKey}: ${issuingHours}); lower it or raise ${issuingKey}`,
            );
        }
    });
    if (certificates.validityHours > issuingHours) {
        c.add(
            "certificates.validityHours",
            `${certificates.validityHours} hours would outlive the CA (${issuingKey}: ${issuingHours}); lower it or raise ${issuingKey}`,
        );
    }

    const mesh = parseMesh(c, raw.mesh, ca, identity.trustDomain);

    if (kubernetes.renderDirectory === undefined && kubernetes.context === undefined)
        kubernetes.renderDirectory = `out/${names.stack}`;

    if (c.problems.length > 0) throw new StackConfigError(c.problems);
    return {
        namespace: namespace as string,
        renewalClock,
        issuance,
        trustDomain: trustDomain as string | undefined,
        clusterDomain: clusterDomain as string,
        ca,
        certificates,
        services: parsed.flatMap((p) => (p ? [p.spec] : [])),
        kubernetes,
        ...(mesh ? { mesh } : {}),
    };
}

/** `mtls:mesh`: `istio`, or a map with `provider` and the plug-in CA settings. */
function parseMesh(c: Checker, raw: unknown, ca: CaSpec, trustDomain: string | undefined): MeshSpec | undefined {
    if (raw === undefined || raw === null) return undefined;
    const r = typeof raw === "string" ? { provider: raw } : c.record("mesh", raw, MESH_KEYS);
    if (!r) return undefined;
    const providerPath = typeof raw === "string" ? "mesh" : "mesh.provider";
    if (!(MESH_PROVIDERS as readonly unknown[]).includes(r.provider)) {
        c.add(
            providerPath,
            r.provider === undefined
                ? `is required: the mesh to write policies for; use one of ${MESH_PROVIDERS.join(", ")}`
                : `${show(r.provider)} is not a mesh this project writes policies for; use one of ${MESH_PROVIDERS.join(", ")}, or remove mtls:mesh`,
        );
        return undefined;
    }
    const pluginCa = c.boolean("mesh.pluginCa", r.pluginCa, false);
    const mesh: MeshSpec = { provider: r.provider as MeshProvider, pluginCa };
    if (r.caNamespace !== undefined) {
        if (!pluginCa)
            c.add(
                "mesh.caNamespace",
                "only applies with mesh.pluginCa: true (where the cacerts Secret goes); set pluginCa: true or remove caNamespace",
            );
        else if (!isDns1123Label(r.caNamespace))
            c.add("mesh.caNamespace", `${show(r.caNamespace)} is not a namespace name; use ${LABEL_RULE}`);
    }
    if (pluginCa) mesh.caNamespace = isDns1123Label(r.caNamespace) ? r.caNamespace : DEFAULT_ISTIO_NAMESPACE;
    if (pluginCa && !ca.intermediate) {
        c.add(
            "mesh.pluginCa",
            "needs mtls:ca.intermediate: true: istiod signs with the key in its cacerts Secret, and that must be an intermediate's, never the root's; set mtls:ca.intermediate: true, or remove pluginCa",
        );
    }
    if (trustDomain === undefined) {
        c.add(
            typeof raw === "string" ? "mesh" : "mesh.provider",
            "Istio's AuthorizationPolicy names callers <trust domain>/ns/<namespace>/sa/<service account>, and mtls:trustDomain is not set; set mtls:trustDomain to the mesh's trust domain, or remove mtls:mesh",
        );
    }
    return mesh;
}

/**
 * `mtls:issuance`: `pulumi` (default) or `cert-manager`, or a map with `provider` and how
 * cert-manager is handed the CA (`issuerKind`, `clusterResourceNamespace`).
 */
function parseIssuance(c: Checker, raw: unknown): IssuanceSpec {
    const spec: IssuanceSpec = { provider: "pulumi", issuerKind: "Issuer" };
    if (raw === undefined || raw === null) return spec;
    const r = typeof raw === "string" ? { provider: raw } : c.record("issuance", raw, ISSUANCE_KEYS);
    if (!r) return spec;
    const providerPath = typeof raw === "string" ? "issuance" : "issuance.provider";
    if (isIssuance(r.provider)) spec.provider = r.provider;
    else if (r.provider !== undefined || typeof raw === "string") {
        c.add(providerPath, `${show(r.provider)} is not an issuance; use one of ${ISSUANCES.join(", ")}`);
    }
    if (r.issuerKind !== undefined) {
        if ((CERT_MANAGER_ISSUER_KINDS as readonly unknown[]).includes(r.issuerKind))
            spec.issuerKind = r.issuerKind as CertManagerIssuerKind;
        else
            c.add(
                "issuance.issuerKind",
                `${show(r.issuerKind)} is not a cert-manager issuer kind; use one of ${CERT_MANAGER_ISSUER_KINDS.join(", ")}`,
            );
    }
    if (r.clusterResourceNamespace !== undefined) {
        if (spec.issuerKind !== "ClusterIssuer") {
            c.add(
                "issuance.clusterResourceNamespace",
                "only applies with issuerKind: ClusterIssuer (a namespaced Issuer reads its CA Secret from the stack's namespace); set issuerKind: ClusterIssuer or remove it",
            );
        } else if (!isDns1123Label(r.clusterResourceNamespace)) {
            c.add(
                "issuance.clusterResourceNamespace",
                `${show(r.clusterResourceNamespace)} is not a namespace name; use ${LABEL_RULE}`,
            );
        }
    }
    if (spec.issuerKind === "ClusterIssuer") {
        spec.clusterResourceNamespace = isDns1123Label(r.clusterResourceNamespace)
            ? r.clusterResourceNamespace
            : DEFAULT_CLUSTER_RESOURCE_NAMESPACE;
    }
    return spec;
}
