/**
 * Stack policies: what only the whole stack shows. Its outputs, and workloads that mount a whole
 * Secret (no `items`) which another resource of the stack fills with `tls.key`.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { privateKeyKind } from "./privateKeys";
import { UNKNOWN, WORKLOAD_KINDS, isKnown, kubernetesType, plainProperties, podTemplate, record } from "./resources";
import {
    NO_CONTEXT,
    SecretRef,
    StackContext,
    TLS_KEY,
    materialReasons,
    restrictedFindings,
    writableKeyMounts,
} from "./workloads";

const STACK_TYPE = "pulumi:pulumi:Stack";

/** Every string inside `value` that holds a private key, with its path (`services.api.key`, `list[2]`). */
function keysInside(
    value: unknown,
    path: string,
    out: { path: string; kind: string }[] = [],
): { path: string; kind: string }[] {
    if (typeof value === "string") {
        const kind = privateKeyKind(value);
        if (kind) out.push({ path, kind });
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => {
            keysInside(v, `${path}[${i}]`, out);
        });
    } else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value))
            keysInside(v, /^[A-Za-z_$][\w$-]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, out);
    }
    return out;
}

export interface StackOutputsConfig {
    /** Top-level stack outputs that may hold a private key on purpose (a secret output another stack needs). */
    allowedOutputs?: string[];
}

export const noPrivateKeyInStackOutputs: StackValidationPolicy = {
    name: "no-private-key-in-stack-outputs",
    description: "No stack output holds a private key, at any depth.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: {
        properties: {
            allowedOutputs: {
                type: "array",
                items: { type: "string" },
                default: [],
                description:
                    "Top-level outputs allowed to hold a key, e.g. a CA key deliberately exported as a secret output.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const allowed = new Set(args.getConfig<StackOutputsConfig>().allowedOutputs ?? []);
        for (const stack of args.resources.filter((r) => r.type === STACK_TYPE && !r.parent)) {
            const outputs = record(plainProperties(stack.props));
            for (const [name, value] of Object.entries(outputs)) {
                if (allowed.has(name)) continue;
                for (const hit of keysInside(value, name)) {
                    reportViolation(
                        `stack output ${hit.path} holds a private key (${hit.kind} block). Anyone who can read the stack's ` +
                            "outputs, and every stack that references this one, gets it (a secret output only hides it from display). " +
                            `Export the certificate or a fingerprint instead; if a secret key output is a deliberate choice, list "${name}" ` +
                            "in this policy's allowedOutputs config.",
                        stack.urn,
                    );
                }
            }
        }
    },
};

/** Secrets of the stack that hold `tls.key` and whose name is known. */
export function secretsWithTlsKey(resources: PolicyResource[]): SecretRef[] {
    const out: SecretRef[] = [];
    for (const r of resources) {
        const kind = kubernetesType(r.type);
        if (kind?.kind !== "Secret" || kind.patch) continue;
        const props = record(plainProperties(r.props));
        const holds = [record(props.data), record(props.stringData)].some((d) => Object.hasOwn(d, TLS_KEY));
        const metadata = record(props.metadata);
        if (!holds || typeof metadata.name !== "string" || metadata.namespace === UNKNOWN) continue;
        out.push({
            name: metadata.name,
            namespace: isKnown(metadata.namespace) ? String(metadata.namespace) : undefined,
        });
    }
    return out;
}

export const tlsKeySecretMounts: StackValidationPolicy = {
    name: "tls-key-secret-mounts",
    description:
        `Workloads that mount a whole Secret of this stack holding ${TLS_KEY} mount it readOnly and meet Pod Security ` +
        '"restricted" (the resource policies see only mounts that name tls.key in items).',
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, reportViolation) => {
        const context: StackContext = { secretsWithTlsKey: secretsWithTlsKey(args.resources) };
        if (context.secretsWithTlsKey.length === 0) return;
        for (const r of args.resources) {
            const kind = kubernetesType(r.type);
            if (!kind || kind.patch || !WORKLOAD_KINDS.includes(kind.kind)) continue;
            const props = record(plainProperties(r.props));
            const pod = podTemplate(r.type, props);
            if (!pod) continue;
            const namespace = record(props.metadata).namespace;
            // Report only what the resource policies could not see on their own.
            const seen = new Set(writableKeyMounts(pod, namespace, NO_CONTEXT).map((f) => f.message));
            for (const f of writableKeyMounts(pod, namespace, context)) {
                if (!seen.has(f.message)) reportViolation(`${kind.kind} ${r.name}: ${f.message}`, r.urn);
            }
            if (materialReasons(pod, namespace, NO_CONTEXT).length > 0) continue;
            const reasons = materialReasons(pod, namespace, context);
            if (reasons.length === 0) continue;
            for (const f of restrictedFindings(pod)) {
                reportViolation(
                    `${kind.kind} ${r.name} carries mTLS material (${reasons[0]}) and must meet Pod Security "restricted": ${f.message}`,
                    r.urn,
                );
            }
        }
    },
};

export const stackPolicies: StackValidationPolicy[] = [noPrivateKeyInStackOutputs, tlsKeySecretMounts];
