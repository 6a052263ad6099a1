/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1) semantics, evaluated over plain objects as
 * the API server returns them: which connections the policies allow, as a conforming network
 * plugin would enforce them. Written from the API's definition, independent of the code that
 * builds the policies, so the tests can check one against the other. Pure: no imports, so the
 * engine tier loads it too (scripts/typescript.mjs).
 *
 * - A pod is isolated for ingress when a policy of its namespace selects it with `Ingress` in
 *   its policyTypes; then a connection to it is allowed only if a rule of such a policy
 *   matches the source (`from`) and the port (`ports`). Likewise for egress at the source.
 * - Policies are additive: any one rule that matches allows the connection.
 * - In `from`/`to`, a peer with only `podSelector` selects pods of the policy's namespace; with
 *   `namespaceSelector` too, those pods in the selected namespaces; with only
 *   `namespaceSelector`, every pod of those namespaces; `ipBlock` matches the source address.
 * - A rule with no `from` (or an empty one) matches every source; no `ports` matches every port.
 */

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

export interface PolicyPeer {
    podSelector?: LabelSelector;
    namespaceSelector?: LabelSelector;
    ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
    protocol?: string;
    port?: number | string;
    endPort?: number;
}

export interface NetworkPolicyObject {
    metadata: { name?: string; namespace: string };
    spec: {
        podSelector: LabelSelector;
        policyTypes?: string[];
        ingress?: Array<{ from?: PolicyPeer[]; ports?: PolicyPort[] }>;
        egress?: Array<{ to?: PolicyPeer[]; ports?: PolicyPort[] }>;
    };
}

/** A pod as far as policies care: where it is, its labels, its named ports and its address. */
export interface Endpoint {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    /** Container ports by name, for policies that name a port. */
    namedPorts?: Record<string, { port: number; protocol: string }>;
    /** The pod's address, for ipBlock peers; a Pending pod has none. */
    ip?: string;
}

/** A source outside the cluster's pods: only ipBlock peers can match it. */
export interface ExternalSource {
    ip: string;
}

/** Namespace labels by namespace name (the API server adds kubernetes.io/metadata.name to each). */
export type NamespaceLabels = Record<string, Record<string, string>>;

export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
    if (selector === undefined) return true;
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[key] !== value) return false;
    }
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.hasOwn(labels, e.key);
        const values = e.values ?? [];
        if (e.operator === "In" && !(has && values.includes(labels[e.key]))) return false;
        if (e.operator === "NotIn" && has && values.includes(labels[e.key])) return false;
        if (e.operator === "Exists" && !has) return false;
        if (e.operator === "DoesNotExist" && has) return false;
    }
    return true;
}

function ipv4(text: string): number | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** IPv4 only: the tests give IPv4 addresses; anything else is reported rather than guessed. */
export function inCidr(ip: string, cidr: string): boolean {
    const [base, bitsText] = cidr.split("/");
    const address = ipv4(ip);
    const network = ipv4(base);
    if (address === undefined || network === undefined)
        throw new Error(`networkPolicyEval: only IPv4 is evaluated, got ${ip} in ${cidr}`);
    const size = 2 ** (32 - Number(bitsText));
    return Math.floor(address / size) === Math.floor(network / size);
}

function isPod(peer: Endpoint | ExternalSource): peer is Endpoint {
    return (peer as Endpoint).namespace !== undefined;
}

function peerMatches(
    peer: PolicyPeer,
    other: Endpoint | ExternalSource,
    policyNamespace: string,
    namespaces: NamespaceLabels,
): boolean {
    if (peer.ipBlock) {
        const ip = other.ip;
        if (ip === undefined || !inCidr(ip, peer.ipBlock.cidr)) return false;
        return !(peer.ipBlock.except ?? []).some((block) => inCidr(ip, block));
    }
    if (!isPod(other)) return false;
    if (peer.namespaceSelector) {
        const nsLabels = namespaces[other.namespace];
        if (nsLabels === undefined || !selectorMatches(peer.namespaceSelector, nsLabels)) return false;
        return peer.podSelector === undefined || selectorMatches(peer.podSelector, other.labels);
    }
    if (peer.podSelector) return other.namespace === policyNamespace && selectorMatches(peer.podSelector, other.labels);
    // A peer with none of the three fields is refused by the API server.
    return false;
}

function portMatches(
    ports: PolicyPort[] | undefined,
    target: Endpoint | ExternalSource,
    port: number,
    protocol: string,
): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
        if ((p.protocol ?? "TCP") !== protocol) return false;
        if (p.port === undefined) return true;
        if (typeof p.port === "number")
            return p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort;
        // A named port is resolved against the destination pod's own container ports.
        const named = isPod(target) ? target.namedPorts?.[p.port] : undefined;
        return named !== undefined && named.port === port && named.protocol === protocol;
    });
}

function types(policy: NetworkPolicyObject): string[] {
    if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) return policy.spec.policyTypes;
    return ["Ingress", ...(policy.spec.egress && policy.spec.egress.length > 0 ? ["Egress"] : [])];
}

/** The policies that select `pod` for one direction. */
export function policiesSelecting(
    policies: readonly NetworkPolicyObject[],
    pod: Endpoint,
    direction: "Ingress" | "Egress",
): NetworkPolicyObject[] {
    return policies.filter(
        (p) =>
            p.metadata.namespace === pod.namespace &&
            types(p).includes(direction) &&
            selectorMatches(p.spec.podSelector, pod.labels),
    );
}

export function isIsolated(
    policies: readonly NetworkPolicyObject[],
    pod: Endpoint,
    direction: "Ingress" | "Egress",
): boolean {
    return policiesSelecting(policies, pod, direction).length > 0;
}

/** Whether the policies let `source` open a connection to `target` on `port`. */
export function connectionAllowed(
    policies: readonly NetworkPolicyObject[],
    namespaces: NamespaceLabels,
    source: Endpoint | ExternalSource,
    target: Endpoint,
    port: number,
    protocol = "TCP",
): boolean {
    const ingress = policiesSelecting(policies, target, "Ingress");
    const admitted =
        ingress.length === 0 ||
        ingress.some((p) =>
            (p.spec.ingress ?? []).some(
                (rule) =>
                    (!rule.from ||
                        rule.from.length === 0 ||
                        rule.from.some((peer) => peerMatches(peer, source, p.metadata.namespace, namespaces))) &&
                    portMatches(rule.ports, target, port, protocol),
            ),
        );
    if (!admitted || !isPod(source)) return admitted;
    const egress = policiesSelecting(policies, source, "Egress");
    return (
        egress.length === 0 ||
        egress.some((p) =>
            (p.spec.egress ?? []).some(
                (rule) =>
                    (!rule.to ||
                        rule.to.length === 0 ||
                        rule.to.some((peer) => peerMatches(peer, target, p.metadata.namespace, namespaces))) &&
                    portMatches(rule.ports, target, port, protocol),
            ),
        )
    );
}

/** A pod object read from the API server, as an Endpoint. */
export function endpointOfPod(pod: {
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    spec?: { containers?: Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }> };
    status?: { podIP?: string };
}): Endpoint {
    const namedPorts: Record<string, { port: number; protocol: string }> = {};
    for (const container of pod.spec?.containers ?? []) {
        for (const p of container.ports ?? [])
            if (p.name) namedPorts[p.name] = { port: p.containerPort, protocol: p.protocol ?? "TCP" };
    }
    return {
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        labels: pod.metadata.labels ?? {},
        namedPorts,
        ...(pod.status?.podIP ? { ip: pod.status.podIP } : {}),
    };
}
