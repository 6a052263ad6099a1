/**
 * Pure pieces of wiring material into workloads declared elsewhere: which Kubernetes types are
 * workloads and where their pod template lives, whether a selector picks an object, and the
 * pod template with the material added. No Pulumi import: tested on plain objects.
 */

/** Workload type tokens of the kubernetes provider, with the path of their pod template in `spec`. */
export const WORKLOAD_TEMPLATE_PATHS: Record<string, readonly string[]> = {
    "kubernetes:apps/v1:Deployment": ["template"],
    "kubernetes:apps/v1:StatefulSet": ["template"],
    "kubernetes:apps/v1:DaemonSet": ["template"],
    "kubernetes:apps/v1:ReplicaSet": ["template"],
    "kubernetes:batch/v1:Job": ["template"],
    "kubernetes:batch/v1:CronJob": ["jobTemplate", "spec", "template"],
};

/** How to pick the workloads: every field given must hold (by the workload's own metadata). */
export interface WorkloadSelector {
    /** `metadata.name` of the workload. */
    name?: string;
    /** `metadata.namespace` of the workload; objects without one are taken to be in it. */
    namespace?: string;
    /** Labels the workload's `metadata.labels` must all carry with these values. */
    labels?: Record<string, string>;
    /** Annotations the workload's `metadata.annotations` must all carry with these values. */
    annotations?: Record<string, string>;
    /** Kinds to consider (`Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `CronJob`). @default all of them */
    kinds?: string[];
}

/** The kind of a workload type token (`Deployment`), or undefined when the type is no workload. */
export function workloadKind(type: string): string | undefined {
    return WORKLOAD_TEMPLATE_PATHS[type] === undefined ? undefined : type.split(":").pop();
}

/** The selector as one line for messages: `labels app=api, kinds Deployment`. */
export function describeSelector(selector: WorkloadSelector): string {
    const parts: string[] = [];
    if (selector.name !== undefined) parts.push(`name ${selector.name}`);
    if (selector.namespace !== undefined) parts.push(`namespace ${selector.namespace}`);
    const pairs = (m: Record<string, string>) =>
        Object.entries(m)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
    if (selector.labels) parts.push(`labels ${pairs(selector.labels)}`);
    if (selector.annotations) parts.push(`annotations ${pairs(selector.annotations)}`);
    if (selector.kinds) parts.push(`kinds ${selector.kinds.join(",")}`);
    return `{ ${parts.join("; ")} }`;
}

/** Problems with a selector itself: it must say something, and say it in Kubernetes' terms. */
export function workloadSelectorProblems(
    selector: WorkloadSelector | undefined,
): { argument: string; message: string }[] {
    if (selector === undefined || typeof selector !== "object")
        return [
            {
                argument: "selector",
                message: "is required: give a name, labels or annotations of the workloads to wire",
            },
        ];
    const problems: { argument: string; message: string }[] = [];
    const unknown = Object.keys(selector).filter(
        (k) => !["name", "namespace", "labels", "annotations", "kinds"].includes(k),
    );
    for (const key of unknown)
        problems.push({
            argument: `selector.${key}`,
            message: "is not a selector field; use name, namespace, labels, annotations or kinds",
        });
    if (selector.name === undefined && !selector.labels && !selector.annotations) {
        problems.push({
            argument: "selector",
            message:
                "selects by namespace or kind alone, which picks every workload there; add name, labels or annotations",
        });
    }
    for (const field of ["labels", "annotations"] as const) {
        const map = selector[field];
        if (map !== undefined && (typeof map !== "object" || Object.keys(map).length === 0)) {
            problems.push({ argument: `selector.${field}`, message: "must map at least one key to a value" });
        }
    }
    const kinds = [...new Set(Object.keys(WORKLOAD_TEMPLATE_PATHS).map((t) => t.split(":").pop() as string))];
    for (const [k, kind] of (selector.kinds ?? []).entries()) {
        if (!kinds.includes(kind))
            problems.push({
                argument: `selector.kinds[${k}]`,
                message: `${JSON.stringify(kind)} is not a workload kind; use one of ${kinds.join(", ")}`,
            });
    }
    return problems;
}

type Plain = Record<string, any>;

/** Whether the object of this type and these props is a workload the selector picks. */
export function selectsWorkload(selector: WorkloadSelector, type: string, props: Plain | undefined): boolean {
    const kind = workloadKind(type);
    if (kind === undefined || (selector.kinds && !selector.kinds.includes(kind))) return false;
    const metadata: Plain = props?.metadata ?? {};
    if (selector.name !== undefined && metadata.name !== selector.name) return false;
    if (
        selector.namespace !== undefined &&
        metadata.namespace !== undefined &&
        metadata.namespace !== selector.namespace
    )
        return false;
    const holds = (want: Record<string, string> | undefined, have: Plain | undefined) =>
        want === undefined || Object.entries(want).every(([k, v]) => have?.[k] === v);
    return holds(selector.labels, metadata.labels) && holds(selector.annotations, metadata.annotations);
}

/** What the material adds to each selected container and to the pod. */
export interface PodWiring {
    volumes: Plain[];
    volumeMounts: Plain[];
    env: Plain[];
    annotations: Record<string, unknown>;
}

/** The pod template of a workload's props. */
export function podTemplateOf(type: string, props: Plain): Plain | undefined {
    let node: any = props.spec;
    for (const key of WORKLOAD_TEMPLATE_PATHS[type] ?? []) node = node?.[key];
    return node && typeof node === "object" ? node : undefined;
}

/** The service account a pod runs as: its `serviceAccountName`, else Kubernetes' `default`. */
export function podServiceAccount(template: Plain): string {
    const spec = template.spec ?? {};
    return spec.serviceAccountName ?? spec.serviceAccount ?? "default";
}

/**
 * Why the wiring cannot go into this pod template: a selected container that already mounts
 * something at one of the material's mount paths, or already sets one of its variables, or a
 * volume of the material's name. Such a workload is refused, not merged: two mounts at one path
 * shadow each other, and which file the app reads would depend on the kubelet.
 */
export function podWiringConflicts(
    template: Plain,
    wiring: PodWiring,
    containers: readonly string[] | undefined,
): string[] {
    const spec = template.spec ?? {};
    const conflicts: string[] = [];
    const volumeNames = new Set((spec.volumes ?? []).map((v: Plain) => v.name));
    for (const volume of wiring.volumes)
        if (volumeNames.has(volume.name)) conflicts.push(`the pod already has a volume named ${volume.name}`);
    const selected = (spec.containers ?? []).filter(
        (c: Plain) => containers === undefined || containers.includes(c.name),
    );
    if (selected.length === 0)
        conflicts.push(`no container ${containers ? `named ${containers.join(" or ")}` : "at all"} in the pod`);
    for (const container of selected) {
        for (const mount of wiring.volumeMounts) {
            const taken = (container.volumeMounts ?? []).find((m: Plain) => m.mountPath === mount.mountPath);
            if (taken)
                conflicts.push(
                    `container ${container.name} already mounts volume ${taken.name} at ${mount.mountPath}; give the wiring another mountPath, or remove that mount`,
                );
        }
        const names = new Set((container.env ?? []).map((e: Plain) => e.name));
        for (const variable of wiring.env)
            if (names.has(variable.name)) conflicts.push(`container ${container.name} already sets ${variable.name}`);
    }
    return conflicts;
}

/** The pod template with the wiring added to the pod and to each selected container. */
export function wirePodTemplate(template: Plain, wiring: PodWiring, containers: readonly string[] | undefined): Plain {
    const spec = template.spec ?? {};
    return {
        ...template,
        metadata: {
            ...(template.metadata ?? {}),
            annotations: { ...(template.metadata?.annotations ?? {}), ...wiring.annotations },
        },
        spec: {
            ...spec,
            volumes: [...(spec.volumes ?? []), ...wiring.volumes],
            containers: (spec.containers ?? []).map((c: Plain) =>
                containers !== undefined && !containers.includes(c.name)
                    ? c
                    : {
                          ...c,
                          volumeMounts: [...(c.volumeMounts ?? []), ...wiring.volumeMounts],
                          env: [...(c.env ?? []), ...wiring.env],
                      },
            ),
        },
    };
}

/** The props with their pod template replaced. */
export function withPodTemplate(type: string, props: Plain, template: Plain): Plain {
    const path = WORKLOAD_TEMPLATE_PATHS[type] ?? [];
    const set = (node: Plain | undefined, keys: readonly string[]): Plain =>
        keys.length === 0 ? template : { ...(node ?? {}), [keys[0]]: set(node?.[keys[0]], keys.slice(1)) };
    return { ...props, spec: set(props.spec, path) };
}
