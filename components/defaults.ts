/**
 * Every default of the components and of the stack config, in one table. Pure:
 * no Pulumi import, so the config contract loads it on its own.
 */
import type { Delivery, KeyAlgorithm, KeystoreFormat, PodSecurityLevel, Rollout, Usage } from "./rules";

export const DEFAULTS = {
    clusterDomain: "cluster.local",
    ca: {
        keyAlgorithm: "ECDSA-P256" as KeyAlgorithm,
        /** Five years. */
        validityHours: 43800,
        intermediate: false,
    },
    certificate: {
        keyAlgorithm: "ECDSA-P256" as KeyAlgorithm,
        /** 90 days. */
        validityHours: 2160,
        /** 30 days. */
        renewBeforeHours: 720,
        usage: "both" as Usage,
        /** No Java keystores unless asked. */
        keystores: [] as readonly KeystoreFormat[],
        keystorePasswordVersion: 1,
    },
    workload: {
        delivery: "files" as Delivery,
        rollout: "restart" as Rollout,
        mountPath: "/etc/mtls",
        replicas: 1,
        /** The `nonroot` user and group of distroless images. */
        runAs: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
    },
    kubernetes: {
        createNamespace: true,
        podSecurity: "restricted" as PodSecurityLevel,
        skipAwait: false,
    },
} as const;

/** The intermediate lives half as long as its root unless told otherwise. */
export function defaultIntermediateValidityHours(rootValidityHours: number): number {
    return Math.floor(rootValidityHours / 2);
}
