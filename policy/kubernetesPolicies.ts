/**
 * Resource policies for Kubernetes objects: where private keys may not appear, where `tls.key`
 * may live, how it is mounted, and the pod security of workloads that carry mTLS material.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { privateKeyKind } from "./privateKeys";
import {
    KubernetesType,
    WORKLOAD_KINDS,
    containers,
    kubernetesType,
    list,
    plainProperties,
    podTemplate,
    record,
    shown,
} from "./resources";
import { TLS_KEY, materialReasons, restrictedFindings, writableKeyMounts } from "./workloads";

type KubernetesCheck = (kind: KubernetesType, props: Record<string, any>, args: ResourceValidationArgs) => string[];

/** A validation that runs `check` on Kubernetes resources only and reports each message it returns. */
function kubernetesValidation(check: KubernetesCheck) {
    return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
        const kind = kubernetesType(args.type);
        if (!kind) return;
        for (const message of check(kind, record(plainProperties(args.props)), args)) reportViolation(message);
    };
}

/** Messages for every string in `entries` that holds a private key; `describe` names the field. */
function keysIn(entries: Record<string, unknown>, describe: (key: string) => string, fix: string): string[] {
    const out: string[] = [];
    for (const [key, value] of Object.entries(entries)) {
        if (typeof value !== "string") continue;
        const kind = privateKeyKind(value);
        if (kind) out.push(`${describe(key)} holds a private key (${kind} block). ${fix}`);
    }
    return out;
}

const quoted = (key: string) => JSON.stringify(key);

export const noPrivateKeyInConfigMap: ResourceValidationPolicy = {
    name: "no-private-key-in-configmap",
    description: "ConfigMaps hold no private key: not in data, not base64-encoded in binaryData.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: kubernetesValidation((kind, props) => {
        if (kind.kind !== "ConfigMap") return [];
        const fix =
            "ConfigMaps are not secret: anyone who may read ConfigMaps in the namespace sees it. " +
            "Put the key in a Secret and hand it to the pod from there (a secret volume, or env valueFrom.secretKeyRef).";
        return [
            ...keysIn(record(props.data), (key) => `ConfigMap data[${quoted(key)}]`, fix),
            ...keysIn(record(props.binaryData), (key) => `ConfigMap binaryData[${quoted(key)}]`, fix),
        ];
    }),
};

export const noPrivateKeyInAnnotations: ResourceValidationPolicy = {
    name: "no-private-key-in-annotations",
    description: "No annotation of any Kubernetes object, or of the pods a workload creates, holds a private key.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: kubernetesValidation((kind, props, args) => {
        const fix =
            "Annotations are stored and shown in plain text (kubectl describe, every controller); " +
            "keep the key in a Secret and annotate with a fingerprint at most.";
        const places: [string, unknown][] = [["metadata.annotations", record(props.metadata).annotations]];
        if (kind.kind === "CronJob") {
            places.push([
                "spec.jobTemplate.metadata.annotations",
                record(record(record(props.spec).jobTemplate).metadata).annotations,
            ]);
        }
        const pod = podTemplate(args.type, props);
        if (pod?.path) places.push([`${pod.path}.metadata.annotations`, pod.metadata.annotations]);
        return places.flatMap(([path, annotations]) =>
            keysIn(record(annotations), (key) => `${path}[${quoted(key)}]`, fix),
        );
    }),
};

export const noPrivateKeyInEnv: ResourceValidationPolicy = {
    name: "no-private-key-in-env",
    description: "No container or init container of a workload has a private key as a plain env value.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: kubernetesValidation((_kind, props, args) => {
        const pod = podTemplate(args.type, props);
        if (!pod) return [];
        const out: string[] = [];
        for (const { path, container } of containers(pod)) {
            list(container.env).forEach((env, i) => {
                const e = record(env);
                const value = e.value;
                const kind = typeof value === "string" ? privateKeyKind(value) : undefined;
                if (!kind) return;
                out.push(
                    `${path}.env[${i}] (${shown(e.name)}).value holds a private key (${kind} block). ` +
                        "A plain env value is part of the workload's spec, readable by anyone who may read the workload; " +
                        `read it from a Secret instead: valueFrom.secretKeyRef { name: <secret>, key: "${TLS_KEY}" }, or mount the Secret as a file.`,
                );
            });
        }
        return out;
    }),
};

export const tlsKeyOnlyInSecrets: ResourceValidationPolicy = {
    name: "tls-key-only-in-secrets",
    description: `An entry named ${TLS_KEY} exists only in a Secret.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: kubernetesValidation((kind, props) => {
        if (kind.kind === "Secret") return [];
        const out: string[] = [];
        for (const field of ["data", "binaryData", "stringData"]) {
            if (Object.hasOwn(record(props[field]), TLS_KEY)) {
                out.push(
                    `${kind.kind} ${field}[${quoted(TLS_KEY)}]: a ${TLS_KEY} belongs in a Secret (type kubernetes.io/tls or Opaque), ` +
                        `not in a ${kind.kind}; move the entry to a Secret and mount it read-only.`,
                );
            }
        }
        return out;
    }),
};

/** Pod-level rules apply to workloads as declared, not to server-side-apply patches that leave fields to others. */
function workloadPod(kind: KubernetesType, type: string, props: Record<string, any>) {
    return kind.patch || !WORKLOAD_KINDS.includes(kind.kind) ? undefined : podTemplate(type, props);
}

export const tlsKeyMountReadOnly: ResourceValidationPolicy = {
    name: "tls-key-mount-read-only",
    description: `Every mount of a volume that holds ${TLS_KEY} from a Secret (a secret volume or a projected secret source) is readOnly.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: kubernetesValidation((kind, props, args) => {
        const pod = workloadPod(kind, args.type, props);
        return pod ? writableKeyMounts(pod, record(props.metadata).namespace).map((f) => f.message) : [];
    }),
};

export const mtlsWorkloadsRestricted: ResourceValidationPolicy = {
    name: "mtls-workloads-restricted",
    description:
        `Workloads that carry mTLS material (a Secret's ${TLS_KEY} mounted or referenced, or the ` +
        'mtls.pulumi.com/cert-sha256 pod annotation) meet Pod Security "restricted".',
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: kubernetesValidation((kind, props, args) => {
        const pod = workloadPod(kind, args.type, props);
        if (!pod) return [];
        const reasons = materialReasons(pod, record(props.metadata).namespace);
        if (reasons.length === 0) return [];
        const why = `${kind.kind} carries mTLS material (${reasons[0]}) and must meet Pod Security "restricted": `;
        return restrictedFindings(pod).map((f) => why + f.message);
    }),
};

export const kubernetesPolicies: ResourceValidationPolicy[] = [
    noPrivateKeyInConfigMap,
    noPrivateKeyInAnnotations,
    noPrivateKeyInEnv,
    tlsKeyOnlyInSecrets,
    tlsKeyMountReadOnly,
    mtlsWorkloadsRestricted,
];
