/**
 * Reading resources as the policy engine hands them over: plain data, unknown values left out,
 * Kubernetes type tokens parsed, and the pod spec found wherever a workload kind keeps it.
 */

/** Marks a value that the engine cannot know yet (during preview, an output of another resource). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/**
 * A plain copy of resource properties. @pulumi/policy wraps them in a proxy that throws when an
 * unknown value is read; here each unknown becomes `UNKNOWN`, so one unknown field does not stop
 * the whole check (the engine would then report only "can't run policy during preview").
 */
export function plainProperties(props: unknown): any {
    return copy(props);
}

function copy(value: unknown): any {
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) out.push(read(value, i));
        return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = read(value as Record<string, unknown>, key);
    return out;
}

function read(container: any, key: string | number): unknown {
    try {
        return copy(container[key]);
    } catch (err) {
        if (isUnknownValueError(err)) return UNKNOWN;
        throw err;
    }
}

/** @pulumi/policy's UnknownValueError, recognised by shape: the package's typings do not export it. */
function isUnknownValueError(err: unknown): boolean {
    return err instanceof Error && "unknownTypeSentinel" in err;
}

export function isKnown<T>(value: T | Unknown | undefined): value is T {
    return value !== UNKNOWN && value !== undefined && value !== null;
}

/** A value for a message: unknown values and absent ones are said so, never shown as "undefined". */
export function shown(value: unknown): string {
    if (value === UNKNOWN) return "<unknown until update>";
    if (value === undefined || value === null) return "<unset>";
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** The record at `value`, or an empty one when it is absent or unknown. */
export function record(value: unknown): Record<string, any> {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, any>) : {};
}

/** The array at `value`, or an empty one when it is absent or unknown. */
export function list(value: unknown): any[] {
    return Array.isArray(value) ? value : [];
}

// ---------------------------------------------------------------------------------------------
// Kubernetes type tokens: kubernetes:<group>/<version>:<Kind>, e.g. kubernetes:apps/v1:Deployment

export interface KubernetesType {
    group: string;
    version: string;
    kind: string;
    /** A server-side-apply patch resource (`DeploymentPatch`): its fields are optional by design. */
    patch: boolean;
}

export function kubernetesType(token: string): KubernetesType | undefined {
    const match = /^kubernetes:([^/:]+)\/([^/:]+):([A-Za-z0-9]+)$/.exec(token);
    if (!match) return undefined;
    const [, group, version, name] = match;
    const patch = name.endsWith("Patch");
    return { group, version, kind: patch ? name.slice(0, -"Patch".length) : name, patch };
}

/** Where each workload kind keeps its pod template: metadata and spec of the pods it runs. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
    Pod: [],
    Deployment: ["spec", "template"],
    StatefulSet: ["spec", "template"],
    DaemonSet: ["spec", "template"],
    ReplicaSet: ["spec", "template"],
    ReplicationController: ["spec", "template"],
    Job: ["spec", "template"],
    CronJob: ["spec", "jobTemplate", "spec", "template"],
    PodTemplate: ["template"],
};

export const WORKLOAD_KINDS = Object.keys(POD_TEMPLATE_PATHS);

/** A workload's pods as its manifest describes them, with a JSON-path-like prefix for messages. */
export interface PodTemplate {
    kind: string;
    /** Path of the pod template in the resource's inputs, e.g. `spec.template`; empty for a Pod. */
    path: string;
    metadata: Record<string, any>;
    spec: Record<string, any>;
}

/** The pod template of a workload resource, or undefined for any other type. */
export function podTemplate(type: string, props: Record<string, any>): PodTemplate | undefined {
    const parsed = kubernetesType(type);
    if (!parsed) return undefined;
    const steps = POD_TEMPLATE_PATHS[parsed.kind];
    if (!steps) return undefined;
    let node: unknown = props;
    for (const step of steps) node = record(node)[step];
    const template = record(node);
    return {
        kind: parsed.kind,
        path: steps.join("."),
        metadata: record(template.metadata),
        spec: record(template.spec),
    };
}

/** `prefix.field`, or `field` when there is no prefix. */
export function fieldPath(prefix: string, field: string): string {
    return prefix ? `${prefix}.${field}` : field;
}

/** Every container of a pod spec (init and ephemeral ones too), with its field path. */
export function containers(pod: PodTemplate): { path: string; container: Record<string, any> }[] {
    const out: { path: string; container: Record<string, any> }[] = [];
    for (const group of ["initContainers", "containers", "ephemeralContainers"]) {
        list(pod.spec[group]).forEach((container, i) => {
            const name = typeof container?.name === "string" ? ` (${container.name})` : "";
            out.push({ path: `${fieldPath(pod.path, "spec")}.${group}[${i}]${name}`, container: record(container) });
        });
    }
    return out;
}
