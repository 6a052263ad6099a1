/**
 * The graph of who may call whom, as a picture: this stack's services, the callers from
 * outside it, and one arrow per allowed call, labelled with the identity the caller
 * presents. Built from the checked spec, so the picture shows exactly what the program
 * puts in the allowlists. Pure, so the scripts load it without Pulumi.
 */
import { parseSpiffeId, spiffeId } from "../components/rules";
import type { CallerSpec, ServiceSpec, StackSpec } from "./spec";

export type GraphChange = "added" | "removed";

export interface GraphNode {
    /** Mermaid node id: a letter, then letters, digits and '_' (service names hold '-', which Mermaid reads as part of an arrow). */
    id: string;
    /** `service`: one of this stack's; `external`: a caller from outside it. */
    kind: "service" | "external";
    /** The lines of the node's label. */
    label: string[];
    /** What the node presents when it calls: its SPIFFE ID when it has one, else its CN. */
    identity: string;
    /** The CN of its certificate. */
    commonName: string;
    /** The group the node is drawn in: a namespace of this trust domain, or another trust domain. */
    group: string;
    /** Set on a node that only the previous graph had. */
    change?: "removed";
}

export interface GraphEdge {
    from: string;
    to: string;
    /** The identity the caller presents, as the allowlist holds it. */
    label: string;
    /** Set when comparing with a previous graph: the call is new, or no longer allowed. */
    change?: GraphChange;
}

export interface CallGraph {
    nodes: GraphNode[];
    edges: GraphEdge[];
}

/** What the arrow from a caller is labelled with: the SPIFFE ID it presents, or its CN when it has none. */
export function callerIdentity(caller: Pick<CallerSpec, "commonName" | "spiffeId">): string {
    return caller.spiffeId ?? caller.commonName;
}

/** A Mermaid id for a DNS-1123 name: the mapping '-' → '_' is one to one, since such names hold no '_'. */
export function mermaidId(prefix: string, name: string): string {
    return `${prefix}_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/** Where this stack is: its namespace, and its trust domain when it has one. */
export type StackPlace = Pick<StackSpec, "namespace" | "trustDomain">;

/** The box a caller is drawn in: its namespace when it runs in this trust domain, else its own trust domain. */
function groupOf(identity: string, namespace: string | undefined, stack: StackPlace): string {
    if (namespace !== undefined) return `namespace ${namespace}`;
    const id = parseSpiffeId(identity);
    if (id === undefined) return `namespace ${stack.namespace}`;
    if (id.trustDomain === stack.trustDomain && id.namespace !== undefined) return `namespace ${id.namespace}`;
    return `trust domain ${id.trustDomain}`;
}

function serviceLabel(svc: ServiceSpec): string[] {
    return [svc.name, svc.port === undefined ? svc.usage : `${svc.usage} · port ${svc.port}`];
}

function externalLabel(caller: CallerSpec): string[] {
    if (caller.service !== undefined && caller.namespace !== undefined)
        return [caller.service, `namespace ${caller.namespace}`];
    const id = parseSpiffeId(caller.spiffeId);
    return id ? [caller.commonName, id.path] : [caller.commonName];
}

/** The call graph of a checked stack: every service a node, every caller from outside one node, every allowed call one arrow. */
export function callGraph(spec: Pick<StackSpec, "namespace" | "trustDomain" | "services">): CallGraph {
    const nodes: GraphNode[] = spec.services.map((svc) => ({
        id: mermaidId("svc", svc.name),
        kind: "service",
        label: serviceLabel(svc),
        identity: spec.trustDomain === undefined ? svc.name : spiffeId(spec.trustDomain, spec.namespace, svc.name),
        commonName: svc.name,
        group: `namespace ${spec.namespace}`,
    }));
    const byIdentity = new Map(nodes.map((node) => [node.identity, node]));
    const edges: GraphEdge[] = [];
    spec.services.forEach((svc, i) => {
        for (const caller of svc.callers) {
            const identity = callerIdentity(caller);
            let from = byIdentity.get(identity);
            if (from === undefined) {
                from = {
                    id: `ext_${nodes.length - spec.services.length + 1}`,
                    kind: "external",
                    label: externalLabel(caller),
                    identity,
                    commonName: caller.commonName,
                    group: groupOf(identity, caller.namespace, spec),
                };
                byIdentity.set(identity, from);
                nodes.push(from);
            }
            edges.push({ from: from.id, to: nodes[i].id, label: identity });
        }
    });
    return { nodes, edges };
}

/** What one service's allowlists held before a change: MTLS_ALLOWED_CLIENTS and MTLS_ALLOWED_SPIFFE_IDS of its Deployment. */
export interface PreviousAllowlist {
    commonNames: string[];
    spiffeIds: string[];
}

/**
 * The identities a previous allowlist admitted. When every caller had a SPIFFE ID the two
 * lists are parallel and the IDs are the identities; when none had one, the CNs are. In a
 * stack without a trust domain that also admits callers by SPIFFE ID, the CN list holds
 * every caller and the ID list some: each ID accounts for one CN (the CN the current
 * graph gives that ID, else the service account of a `/ns/<ns>/sa/<sa>` ID), and the CNs
 * left over are callers without an ID.
 */
export function previousIdentities(
    previous: PreviousAllowlist,
    currentCnOf: (spiffeId: string) => string | undefined,
): string[] {
    const { commonNames, spiffeIds } = previous;
    if (spiffeIds.length === commonNames.length) return [...spiffeIds];
    if (spiffeIds.length === 0) return [...commonNames];
    const leftover = [...commonNames];
    for (const id of spiffeIds) {
        const cn = currentCnOf(id) ?? parseSpiffeId(id)?.serviceAccount;
        const at = cn === undefined ? -1 : leftover.indexOf(cn);
        if (at >= 0) leftover.splice(at, 1);
    }
    return [...spiffeIds, ...leftover];
}

/**
 * Marks the arrows a change adds and removes. `previous` holds, by service name, the
 * allowlists of each service whose Deployment the change touches (empty lists for a new
 * service); a service it does not name keeps its arrows. A service that only `previous`
 * names was removed: it is drawn as a removed node with its arrows removed.
 */
export function compareCallGraph(
    current: CallGraph,
    previous: Record<string, PreviousAllowlist>,
    stack: StackPlace,
): CallGraph {
    const nodes = current.nodes.map((node) => ({ ...node }));
    const edges: GraphEdge[] = current.edges.map((edge) => ({ ...edge }));
    const byIdentity = new Map(nodes.map((node) => [node.identity, node]));
    const cnOf = (id: string) => byIdentity.get(id)?.commonName;
    const removedCaller = (identity: string): GraphNode => {
        const known = byIdentity.get(identity);
        if (known) return known;
        const id = parseSpiffeId(identity);
        const commonName = id?.serviceAccount ?? identity;
        // Without a SPIFFE ID only this stack's own services are listed; with one, the ID says whether it was one of them.
        const own = id === undefined || (id.trustDomain === stack.trustDomain && id.namespace === stack.namespace);
        // A service that is still here but presented another identity before (the stack gained a trust domain).
        const same = own ? nodes.find((n) => n.id === mermaidId("svc", commonName)) : undefined;
        if (same) return same;
        const node: GraphNode = {
            id: own ? mermaidId("svc", commonName) : `gone_${nodes.filter((n) => n.id.startsWith("gone_")).length + 1}`,
            kind: own ? "service" : "external",
            label: [commonName, "removed"],
            identity,
            commonName,
            group: groupOf(identity, undefined, stack),
            change: "removed",
        };
        byIdentity.set(identity, node);
        nodes.push(node);
        return node;
    };
    for (const [service, allowlist] of Object.entries(previous)) {
        const targetId = mermaidId("svc", service);
        const identity =
            stack.trustDomain === undefined ? service : spiffeId(stack.trustDomain, stack.namespace, service);
        const target = nodes.find((n) => n.id === targetId) ?? removedCaller(identity);
        const before = new Set(previousIdentities(allowlist, cnOf));
        const after = new Set<string>();
        for (const edge of edges) {
            if (edge.to !== target.id || edge.change === "removed") continue;
            after.add(edge.label);
            if (!before.has(edge.label)) edge.change = "added";
        }
        for (const identity of before) {
            if (!after.has(identity))
                edges.push({ from: removedCaller(identity).id, to: target.id, label: identity, change: "removed" });
        }
    }
    return { nodes, edges };
}

/**
 * Text for a quoted Mermaid label. Mermaid reads entity codes in labels, so every
 * character that could end the string or start markup is written as one; a CN given in
 * the stack file is free text and may hold any of them.
 */
export function mermaidText(text: string): string {
    return text.replace(/[#"<>|`\\[\]{}()]/g, (ch) => `#${ch.charCodeAt(0)};`);
}

const ARROW: Record<GraphChange | "same", string> = { same: "-->", added: "==>", removed: "-.->" };
const CHANGE_PREFIX: Record<GraphChange | "same", string> = { same: "", added: "added: ", removed: "removed: " };
const CHANGE_STYLE: Record<GraphChange, string> = {
    added: "stroke:#1a7f37,stroke-width:3px",
    removed: "stroke:#cf222e,stroke-dasharray:5 4",
};

/**
 * A Mermaid flowchart of the graph: one box per group (a namespace, or another trust
 * domain), this stack's services as rectangles with usage and port, callers from outside
 * as rounded nodes, and one arrow per allowed call. An added call is a thick green arrow
 * marked "added:", a removed one a dashed red arrow marked "removed:", so the change
 * reads without colour too.
 */
export function renderMermaid(graph: CallGraph): string {
    const lines = ["flowchart LR"];
    const groups = [...new Set(graph.nodes.map((n) => n.group))];
    groups.forEach((group, g) => {
        lines.push(`    subgraph group_${g + 1}["${mermaidText(group)}"]`);
        for (const node of graph.nodes.filter((n) => n.group === group)) {
            const text = node.label.map(mermaidText).join("<br/>");
            lines.push(node.kind === "service" ? `        ${node.id}["${text}"]` : `        ${node.id}("${text}")`);
        }
        lines.push("    end");
    });
    graph.edges.forEach((edge) => {
        const change = edge.change ?? "same";
        lines.push(
            `    ${edge.from} ${ARROW[change]}|"${CHANGE_PREFIX[change]}${mermaidText(edge.label)}"| ${edge.to}`,
        );
    });
    const external = graph.nodes.filter((n) => n.kind === "external" && !n.change).map((n) => n.id);
    const removed = graph.nodes.filter((n) => n.change === "removed").map((n) => n.id);
    if (external.length > 0)
        lines.push("    classDef external stroke-dasharray:3 3", `    class ${external.join(",")} external`);
    if (removed.length > 0)
        lines.push(
            "    classDef removed stroke:#cf222e,stroke-dasharray:5 4,color:#cf222e",
            `    class ${removed.join(",")} removed`,
        );
    for (const change of ["added", "removed"] as const) {
        const indexes = graph.edges.flatMap((edge, i) => (edge.change === change ? [i] : []));
        if (indexes.length > 0) lines.push(`    linkStyle ${indexes.join(",")} ${CHANGE_STYLE[change]}`);
    }
    return `${lines.join("\n")}\n`;
}
