/**
 * Who may open a connection to a server's mTLS port, as Kubernetes NetworkPolicy
 * (networking.k8s.io/v1) expresses it. Pure: no Pulumi, no Node modules, so the config
 * contract and the scripts use the same rules the components do.
 */

/** The labels every workload of this project carries, and that selects its pods. */
export function workloadLabels(service: string): Record<string, string> {
    return { "app.kubernetes.io/name": service, "app.kubernetes.io/part-of": "mtls" };
}

/** The label the API server puts on every namespace, holding its name (Kubernetes 1.21 and later). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * One place connections to a server may come from.
 * - `podLabels`: the pods with these labels, in `namespace` (the server's own when left out).
 * - `cidr`: an address block, for callers no label can select (another cluster, a gateway's node).
 */
export type IngressSource =
    | { podLabels: Record<string, string>; namespace?: string }
    | { cidr: string; except?: string[] };

/** A NetworkPolicy peer as the API takes it. */
export interface NetworkPolicyPeer {
    podSelector?: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchLabels: Record<string, string> };
    ipBlock?: { cidr: string; except?: string[] };
}

/** The spec of a NetworkPolicy as the API takes it, for what this project emits. */
export interface IngressPolicySpec {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: ["Ingress"];
    ingress: Array<{ from: NetworkPolicyPeer[]; ports: Array<{ protocol: "TCP"; port: number }> }>;
}

export function networkPolicyPeer(source: IngressSource): NetworkPolicyPeer {
    if ("cidr" in source) {
        return {
            ipBlock: {
                cidr: source.cidr,
                ...(source.except && source.except.length > 0 ? { except: [...source.except] } : {}),
            },
        };
    }
    const pods = { podSelector: { matchLabels: { ...source.podLabels } } };
    // Without a namespaceSelector a podSelector only selects pods of the policy's own namespace.
    return source.namespace === undefined
        ? pods
        : { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: source.namespace } }, ...pods };
}

/**
 * The NetworkPolicy spec that isolates a server's pods for ingress and admits only `sources`,
 * only on `port` over TCP. With no source there is no rule at all: an ingress rule whose
 * `from` is empty would admit everyone, so an empty list must yield an empty `ingress`.
 */
export function ingressPolicySpec(input: {
    podLabels: Record<string, string>;
    port: number;
    sources: readonly IngressSource[];
}): IngressPolicySpec {
    if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) {
        throw new Error(`ingressPolicySpec: port ${input.port} is not a port from 1 to 65535`);
    }
    if (Object.keys(input.podLabels).length === 0) {
        // An empty podSelector selects every pod of the namespace: never what one server's policy means.
        throw new Error("ingressPolicySpec: podLabels is empty; give the labels that select the server's pods");
    }
    return {
        podSelector: { matchLabels: { ...input.podLabels } },
        policyTypes: ["Ingress"],
        ingress:
            input.sources.length === 0
                ? []
                : [{ from: input.sources.map(networkPolicyPeer), ports: [{ protocol: "TCP", port: input.port }] }],
    };
}

/** An address block as numbers: the family's bit width, the network address and the prefix length. */
export interface ParsedCidr {
    bits: 32 | 128;
    address: bigint;
    prefix: number;
}

function parseIPv4(text: string): bigint | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseIPv6(text: string): bigint | undefined {
    if (!/^[0-9a-fA-F:]+$/.test(text) || text.split("::").length > 2) return undefined;
    const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
    const groups = (s: string) => (s === "" ? [] : s.split(":"));
    const left = groups(head);
    const right = tail === undefined ? [] : groups(tail);
    const missing = 8 - left.length - right.length;
    if ((tail === undefined && missing !== 0) || (tail !== undefined && missing < 1)) return undefined;
    const all = [...left, ...Array(tail === undefined ? 0 : missing).fill("0"), ...right];
    if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/**
 * Parses `a.b.c.d/n` or an IPv6 block; undefined unless it is a block whose host bits are all
 * zero (the form the API server keeps without rewriting it).
 */
export function parseCidr(value: unknown): ParsedCidr | undefined {
    if (typeof value !== "string") return undefined;
    const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(value);
    if (!match) return undefined;
    const v4 = parseIPv4(match[1]);
    const bits = v4 !== undefined ? 32 : 128;
    const address = v4 ?? (match[1].includes(":") ? parseIPv6(match[1]) : undefined);
    const prefix = Number(match[2]);
    if (address === undefined || prefix > bits) return undefined;
    const hostMask = (1n << BigInt(bits - prefix)) - 1n;
    if ((address & hostMask) !== 0n) return undefined;
    return { bits, address, prefix };
}

/** Whether block `inner` lies inside `outer` and is smaller than it (what the API requires of `except`). */
export function isStrictSubBlock(inner: ParsedCidr, outer: ParsedCidr): boolean {
    if (inner.bits !== outer.bits || inner.prefix <= outer.prefix) return false;
    const shift = BigInt(outer.bits - outer.prefix);
    return inner.address >> shift === outer.address >> shift;
}

/** Whether address `ip` (IPv4 or IPv6 text) lies in `block`. */
export function cidrContains(block: ParsedCidr, ip: string): boolean {
    const address = block.bits === 32 ? parseIPv4(ip) : parseIPv6(ip);
    if (address === undefined) return false;
    const shift = BigInt(block.bits - block.prefix);
    return address >> shift === block.address >> shift;
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label key the API accepts: `[prefix/]name`, prefix a DNS subdomain of at most 253 characters. */
export function isLabelKey(value: unknown): value is string {
    if (typeof value !== "string") return false;
    const slash = value.lastIndexOf("/");
    const prefix = slash < 0 ? undefined : value.slice(0, slash);
    const name = slash < 0 ? value : value.slice(slash + 1);
    if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
    return LABEL_NAME.test(name);
}

/** A label value the API accepts: empty, or at most 63 letters, digits, '-', '_', '.' starting and ending alphanumeric. */
export function isLabelValue(value: unknown): value is string {
    return typeof value === "string" && (value === "" || LABEL_NAME.test(value));
}

/** How an ingress source is written, for messages. */
export const INGRESS_SOURCE_FORMS =
    "{ cidr: <address block>, except: [<blocks inside it>] } or { namespace: <namespace>, podLabels: { <key>: <value> } }";
const SOURCE_KEYS = ["cidr", "except", "namespace", "podLabels"];
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** One problem with an ingress source; `field` is relative to the source, undefined for the source as a whole. */
export interface IngressSourceProblem {
    field?: string;
    message: string;
}

/**
 * What is wrong with one ingress source, as the API would refuse it or as it would admit more
 * than meant: used by the config contract (`networkPolicyFrom`) and by `MtlsWorkload`
 * (`ingressFrom`) alike.
 */
export function ingressSourceProblems(item: unknown): IngressSourceProblem[] {
    const show = (v: unknown) => JSON.stringify(v);
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
        return [{ message: `${show(item)} is not a place connections come from; write ${INGRESS_SOURCE_FORMS}` }];
    }
    const r = item as Record<string, unknown>;
    const problems: IngressSourceProblem[] = Object.keys(r)
        .filter((k) => !SOURCE_KEYS.includes(k))
        .map((k) => ({ field: k, message: `is not a known setting; use one of ${SOURCE_KEYS.join(", ")}` }));
    const byAddress = r.cidr !== undefined || r.except !== undefined;
    const byLabels = r.namespace !== undefined || r.podLabels !== undefined;
    if (byAddress === byLabels) {
        return [
            ...problems,
            {
                message: byAddress
                    ? "sets both an address block and pod labels; a NetworkPolicy peer is one or the other, so write two entries"
                    : `names no peer; write ${INGRESS_SOURCE_FORMS}`,
            },
        ];
    }
    if (byAddress) {
        const block = parseCidr(r.cidr);
        if (r.cidr === undefined)
            problems.push({
                field: "cidr",
                message: "is required with except: the block the exceptions are carved from",
            });
        else if (!block)
            problems.push({
                field: "cidr",
                message: `${show(r.cidr)} is not an address block; write <address>/<prefix length> with the host bits zero, e.g. 192.0.2.0/24 or 2001:db8::/32`,
            });
        if (r.except !== undefined) {
            if (!Array.isArray(r.except))
                problems.push({
                    field: "except",
                    message: `must be a list of address blocks inside cidr, got ${show(r.except)}`,
                });
            else
                r.except.forEach((e, m) => {
                    const inner = parseCidr(e);
                    if (!inner)
                        problems.push({
                            field: `except[${m}]`,
                            message: `${show(e)} is not an address block; write <address>/<prefix length> with the host bits zero`,
                        });
                    else if (block && !isStrictSubBlock(inner, block))
                        problems.push({
                            field: `except[${m}]`,
                            message: `${show(e)} is not inside ${r.cidr} and smaller than it, as the API requires; remove it or fix the block`,
                        });
                });
        }
        return problems;
    }
    if (r.namespace !== undefined && !(typeof r.namespace === "string" && NAMESPACE_NAME.test(r.namespace))) {
        problems.push({
            field: "namespace",
            message: `${show(r.namespace)} is not a namespace name; use lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
        });
    }
    const labels = r.podLabels;
    if (
        labels === undefined ||
        labels === null ||
        typeof labels !== "object" ||
        Array.isArray(labels) ||
        Object.keys(labels).length === 0
    ) {
        problems.push({
            field: "podLabels",
            message: `must be a map of at least one label of the pods the connections come from (e.g. { istio: eastwestgateway }), got ${show(labels)}; an empty selector would admit every pod of the namespace`,
        });
        return problems;
    }
    for (const [key, v] of Object.entries(labels)) {
        if (!isLabelKey(key))
            problems.push({
                field: "podLabels",
                message: `${show(key)} is not a label key; use [<DNS subdomain>/]<name>, the name at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit`,
            });
        else if (!isLabelValue(v))
            problems.push({
                field: `podLabels.${key}`,
                message: `${show(v)} is not a label value; use at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit`,
            });
    }
    return problems;
}

/** A source `ingressSourceProblems` accepts, with nothing but its own fields. */
export function normalizeIngressSource(item: Record<string, unknown>): IngressSource {
    if (item.cidr !== undefined) {
        const except = Array.isArray(item.except) ? (item.except as string[]) : [];
        return { cidr: item.cidr as string, ...(except.length > 0 ? { except: [...except] } : {}) };
    }
    return {
        podLabels: { ...(item.podLabels as Record<string, string>) },
        ...(item.namespace !== undefined ? { namespace: item.namespace as string } : {}),
    };
}
