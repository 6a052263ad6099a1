/**
 * Every default of the components and of the stack config, in one table. Pure:
 * no Pulumi import, so the config contract can load it on its own.
 */

export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** What a service certificate is for. */
export const USAGES = ["server", "client", "both"] as const;
export type Usage = (typeof USAGES)[number];

/** How a workload receives its material. */
export const DELIVERIES = ["files", "env"] as const;
export type Delivery = (typeof DELIVERIES)[number];

/** How new material reaches running pods. */
export const ROLLOUTS = ["restart", "hot"] as const;
export type Rollout = (typeof ROLLOUTS)[number];

/** Phases of a CA rotation. */
export const ROTATION_PHASES = ["introduce", "switch", "retire"] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

/** Pod Security Standards levels. */
export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

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
        /** 90 days, as cert-manager's default. */
        validityHours: 2160,
        /** 30 days. */
        renewBeforeHours: 720,
        usage: "both" as Usage,
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
