/**
 * What a workload's pods do with TLS material: which volumes carry a `tls.key`, whether the pods
 * carry material at all, and the Pod Security "restricted" checks such pods must pass. Pure
 * functions over plain manifests, so the resource and the stack policies share them.
 */
import { PodTemplate, UNKNOWN, containers, fieldPath, isKnown, list, record, shown } from "./resources";

/** The Secret key that holds a private key, as in a `kubernetes.io/tls` Secret. */
export const TLS_KEY = "tls.key";

/** The pod annotation with which this project's workloads carry their certificate's fingerprint. */
export const CERT_FINGERPRINT_ANNOTATION = "mtls.pulumi.com/cert-sha256";

/** A Secret known to hold `tls.key`, by namespace and name (namespace undefined: the provider's default). */
export interface SecretRef {
    namespace?: string;
    name: string;
}

/** What a check knows beyond the workload itself: Secrets elsewhere in the stack that hold `tls.key`. */
export interface StackContext {
    secretsWithTlsKey: SecretRef[];
}

export const NO_CONTEXT: StackContext = { secretsWithTlsKey: [] };

export interface KeyVolume {
    name: string;
    /** Field path of the volume. */
    path: string;
    secretName: string;
}

/** A problem found in a manifest: always names the field and the fix. */
export interface Finding {
    message: string;
}

function secretHoldsKey(secretName: unknown, namespace: unknown, items: unknown, context: StackContext): boolean {
    if (list(items).some((item) => record(item).key === TLS_KEY)) return true;
    // Without items the whole Secret is mounted: it carries tls.key when the stack's Secret of that name does.
    if (items !== undefined && items !== null) return false;
    if (typeof secretName !== "string") return false;
    const ns = typeof namespace === "string" ? namespace : undefined;
    return context.secretsWithTlsKey.some((s) => s.name === secretName && s.namespace === ns);
}

/** The pod's volumes that put a `tls.key` from a Secret on disk. */
export function keyVolumes(pod: PodTemplate, namespace: unknown, context: StackContext = NO_CONTEXT): KeyVolume[] {
    const out: KeyVolume[] = [];
    list(pod.spec.volumes).forEach((volume, i) => {
        const v = record(volume);
        const path = `${fieldPath(pod.path, "spec")}.volumes[${i}]`;
        const secret = record(v.secret);
        if (v.secret !== undefined && secretHoldsKey(secret.secretName, namespace, secret.items, context)) {
            out.push({ name: shown(v.name), path, secretName: shown(secret.secretName) });
            return;
        }
        for (const source of list(record(v.projected).sources)) {
            const s = record(record(source).secret);
            if (record(source).secret !== undefined && secretHoldsKey(s.name, namespace, s.items, context)) {
                out.push({ name: shown(v.name), path, secretName: shown(s.name) });
                return;
            }
        }
    });
    return out;
}

/**
 * Why the pods carry mTLS material (empty when they do not): a volume with `tls.key`, an env
 * variable read from a Secret's `tls.key`, or this project's certificate fingerprint annotation.
 */
export function materialReasons(pod: PodTemplate, namespace: unknown, context: StackContext = NO_CONTEXT): string[] {
    const reasons = keyVolumes(pod, namespace, context).map(
        (v) => `volume "${v.name}" holds ${TLS_KEY} from Secret "${v.secretName}"`,
    );
    for (const { path, container } of containers(pod)) {
        list(container.env).forEach((env, i) => {
            const ref = record(record(record(env).valueFrom).secretKeyRef);
            if (ref.key === TLS_KEY)
                reasons.push(`${path}.env[${i}] reads ${TLS_KEY} from Secret "${shown(ref.name)}"`);
        });
    }
    if (record(pod.metadata.annotations)[CERT_FINGERPRINT_ANNOTATION] !== undefined) {
        reasons.push(`the pod template carries the ${CERT_FINGERPRINT_ANNOTATION} annotation`);
    }
    return reasons;
}

/** Mounts of key volumes that are not read-only. */
export function writableKeyMounts(pod: PodTemplate, namespace: unknown, context: StackContext = NO_CONTEXT): Finding[] {
    const volumes = new Map(keyVolumes(pod, namespace, context).map((v) => [v.name, v]));
    const findings: Finding[] = [];
    for (const { path, container } of containers(pod)) {
        list(container.volumeMounts).forEach((mount, i) => {
            const m = record(mount);
            const volume = volumes.get(m.name);
            if (!volume || m.readOnly === true || m.readOnly === UNKNOWN) return;
            findings.push({
                message:
                    `${path}.volumeMounts[${i}] mounts volume "${volume.name}", which holds ${TLS_KEY} from Secret ` +
                    `"${volume.secretName}", with readOnly ${m.readOnly === undefined ? "unset" : shown(m.readOnly)}; ` +
                    `set readOnly: true on this mount so the container cannot write where its key lives.`,
            });
        });
    }
    return findings;
}

const ALLOWED_SECCOMP = ["RuntimeDefault", "Localhost"];

/** `value[key]`, unknown when `value` itself is unknown. */
function get(value: unknown, key: string): unknown {
    return value === UNKNOWN ? UNKNOWN : record(value)[key];
}

/**
 * Pod Security "restricted" (and the "baseline" rules it includes) for the fields this pack checks:
 * non-root, seccomp, no privilege escalation, capabilities, privileged, host namespaces, hostPath.
 * A value unknown during preview is not judged; the engine checks again with known values on update.
 */
export function restrictedFindings(pod: PodTemplate): Finding[] {
    const findings: Finding[] = [];
    const add = (message: string) => findings.push({ message });
    const specPath = fieldPath(pod.path, "spec");
    const podContext = pod.spec.securityContext;
    const podContextPath = `${specPath}.securityContext`;

    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (pod.spec[field] === true)
            add(
                `${specPath}.${field} is true; remove it (or set it to false): restricted pods share no host namespace.`,
            );
    }
    list(pod.spec.volumes).forEach((volume, i) => {
        if (get(volume, "hostPath") !== undefined) {
            add(
                `${specPath}.volumes[${i}] ("${shown(get(volume, "name"))}") is a hostPath volume; use a Secret, ConfigMap, projected or emptyDir volume instead: restricted pods do not mount host paths.`,
            );
        }
    });
    if (get(podContext, "runAsUser") === 0) add(`${podContextPath}.runAsUser is 0 (root); set a non-zero user id.`);
    const podSeccomp = get(get(podContext, "seccompProfile"), "type");
    if (isKnown(podSeccomp) && !ALLOWED_SECCOMP.includes(podSeccomp as string)) {
        add(
            `${podContextPath}.seccompProfile.type is "${shown(podSeccomp)}"; set it to RuntimeDefault (or Localhost with a profile).`,
        );
    }

    for (const { path, container } of containers(pod)) {
        const sc = container.securityContext;
        const scPath = `${path}.securityContext`;
        if (sc === UNKNOWN) continue;

        const ownNonRoot = get(sc, "runAsNonRoot");
        const nonRoot = ownNonRoot !== undefined ? ownNonRoot : get(podContext, "runAsNonRoot");
        if (nonRoot !== true && nonRoot !== UNKNOWN) {
            add(
                ownNonRoot === false
                    ? `${scPath}.runAsNonRoot is false; set it to true (or remove it and set ${podContextPath}.runAsNonRoot: true).`
                    : `${path} may run as root: set ${podContextPath}.runAsNonRoot: true (or securityContext.runAsNonRoot: true on every container).`,
            );
        }
        if (get(sc, "runAsUser") === 0) add(`${scPath}.runAsUser is 0 (root); set a non-zero user id.`);

        const ownSeccomp = get(get(sc, "seccompProfile"), "type");
        if (isKnown(ownSeccomp) && !ALLOWED_SECCOMP.includes(ownSeccomp as string)) {
            add(
                `${scPath}.seccompProfile.type is "${shown(ownSeccomp)}"; set it to RuntimeDefault (or Localhost with a profile).`,
            );
        } else if (ownSeccomp === undefined && podSeccomp === undefined) {
            add(
                `${path} has no seccomp profile: set ${podContextPath}.seccompProfile.type: RuntimeDefault (or the same on every container).`,
            );
        }

        const escalation = get(sc, "allowPrivilegeEscalation");
        if (escalation !== false && escalation !== UNKNOWN) {
            add(
                `${scPath}.allowPrivilegeEscalation is ${escalation === undefined ? "unset" : shown(escalation)}; set it to false.`,
            );
        }
        if (get(sc, "privileged") === true)
            add(`${scPath}.privileged is true; remove it: restricted containers are never privileged.`);

        const capabilities = get(sc, "capabilities");
        const drop = get(capabilities, "drop");
        if (drop !== UNKNOWN && !list(drop).includes("ALL")) {
            add(
                `${scPath}.capabilities.drop does not include "ALL"; set capabilities.drop: ["ALL"] (and add back NET_BIND_SERVICE only if the container binds a port below 1024).`,
            );
        }
        for (const cap of list(get(capabilities, "add"))) {
            if (isKnown(cap) && cap !== "NET_BIND_SERVICE") {
                add(
                    `${scPath}.capabilities.add has "${shown(cap)}"; restricted containers may add only NET_BIND_SERVICE.`,
                );
            }
        }
    }
    return findings;
}
