import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { WorkloadMaterial } from "./workloadMaterial";
import { PartScope, ownScope, partOptions } from "./scope";
import { DEFAULTS } from "./defaults";
import { checked } from "./checks";
import { Caller, PeerIdentity, callerIdentities } from "./identity";
import { IngressSource, ingressPolicySpec, ingressSourceProblems } from "./ingressRules";
import {
    Delivery,
    Usage,
    deliveryProblems,
    describeProblems,
    keystoreDeliveryProblems,
    servingProblems,
    usageProblems,
} from "./rules";
import { COMPONENT_TYPES } from "./types";

/** Environment variables describing who the workload is and whom it accepts. */
export const IDENTITY_ENV = {
    /** The service's own name (its certificate CN). */
    serviceName: "MTLS_SERVICE_NAME",
    /** Comma-separated CNs of the clients the app should accept; empty means no client is allowed. */
    allowedClients: "MTLS_ALLOWED_CLIENTS",
    /** Comma-separated SPIFFE IDs of the same clients, for those that have one. */
    allowedSpiffeIds: "MTLS_ALLOWED_SPIFFE_IDS",
    /** The port the app serves mTLS on. */
    port: "MTLS_PORT",
} as const;

export interface MtlsWorkloadArgs {
    /** Service name: the Deployment, Service and ServiceAccount are named after it, so its DNS names match the certificate. */
    serviceName: pulumi.Input<string>;
    /** Namespace of every object. */
    namespace: pulumi.Input<string>;
    /** Container image. */
    image: pulumi.Input<string>;
    /** The service's material: a `CertificateMaterial` (issued by Pulumi) or a `CertManagerCertificate` (issued in the cluster). */
    material: WorkloadMaterial;
    /**
     * `server` and `both` get a Service on `port`; `client` gets none.
     * @default "both"
     */
    usage?: Usage;
    /**
     * mTLS port the container listens on; required for `server` and `both`.
     * @default none
     */
    port?: pulumi.Input<number>;
    /**
     * `files`: the material mounted read-only at `mountPath`; `env`: the PEM text in environment
     * variables (not with keystores: those are files).
     * @default "files"
     */
    delivery?: Delivery;
    /**
     * Directory of the mounted material, with `files`.
     * @default "/etc/mtls"
     */
    mountPath?: string;
    /**
     * The clients this service accepts: objects that carry an identity (`ServiceCertificate`,
     * `CertificateMaterial`, `MtlsWorkload`), whose common name and SPIFFE ID come from the object,
     * or plain common names for callers outside this program. The app enforces them from
     * `MTLS_ALLOWED_CLIENTS` and `MTLS_ALLOWED_SPIFFE_IDS`.
     * @default none
     */
    allowFrom?: readonly Caller[] | pulumi.Input<pulumi.Input<string>[]>;
    /**
     * SPIFFE IDs of the same clients, for those that have one, in the same order: one for
     * each client when every client has one (always when the stack sets a trust domain).
     * @default none
     */
    allowFromSpiffeIds?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Where connections to the mTLS port may come from, by pod labels (and namespace) or
     * address block. When set on a server, a NetworkPolicy selects its pods, isolates them for
     * ingress and admits these sources on `port` only, so every other connection to the pods
     * is dropped by the cluster's network plugin (one that enforces NetworkPolicy). An empty
     * list admits no one. Egress is left alone. Only for `server` and `both`.
     * @default no NetworkPolicy
     */
    ingressFrom?: pulumi.Input<IngressSource[]>;
    /**
     * Replica count.
     * @default 1
     */
    replicas?: pulumi.Input<number>;
    /**
     * Labels on every object and the pod selector.
     * @default `app.kubernetes.io/name: <serviceName>`, `app.kubernetes.io/part-of: mtls`
     */
    labels?: Record<string, pulumi.Input<string>>;
    /**
     * The non-root user, group and fsGroup of the pod. The pod and its container meet Pod
     * Security "restricted" (non-root, RuntimeDefault seccomp, no privilege escalation, every
     * capability dropped, read-only root filesystem). The kubelet gives the mounted files the
     * `fsGroup` and adds group read to them, so `tls.key` is 0440 root:`fsGroup` in the pod.
     * @default 65532 for all three (the `nonroot` user of distroless images)
     */
    runAs?: RunAsIds;
    /**
     * Do not wait for the Deployment and Service to become ready (the kubernetes provider's
     * `pulumi.com/skipAwait` annotation): for clusters without nodes, such as a test control plane.
     * @default false
     */
    skipAwait?: boolean;
    /**
     * More settings of the app container, merged over what the workload sets: `resources`,
     * probes, `command`, `args`, extra `env` (appended after ours) and `volumeMounts` (after the
     * material's). `name`, `image` and the material's own pieces stay the workload's.
     * @default none
     */
    container?: Omit<k8s.types.input.core.v1.Container, "name" | "image">;
    /**
     * More pod settings: extra `containers` (sidecars), `initContainers`, `volumes` (after the
     * material's), and anything else of a pod spec (`nodeSelector`, `tolerations`, ...). A
     * `securityContext` given here replaces the restricted default, so keep it restricted.
     * @default none
     */
    pod?: Omit<k8s.types.input.core.v1.PodSpec, "containers"> & {
        containers?: pulumi.Input<k8s.types.input.core.v1.Container>[];
    };
}

/** Numeric ids a workload runs as. */
export interface RunAsIds {
    runAsUser: pulumi.Input<number>;
    runAsGroup: pulumi.Input<number>;
    fsGroup: pulumi.Input<number>;
}

export const DEFAULT_RUN_AS = { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 } as const;

/** The kubernetes provider's annotation that turns off its readiness wait for one object. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** Pod and container security contexts that Pod Security "restricted" admits. */
export function restrictedSecurityContexts(runAs: RunAsIds = DEFAULT_RUN_AS): {
    pod: k8s.types.input.core.v1.PodSecurityContext;
    container: k8s.types.input.core.v1.SecurityContext;
} {
    return {
        pod: {
            runAsNonRoot: true,
            runAsUser: runAs.runAsUser,
            runAsGroup: runAs.runAsGroup,
            fsGroup: runAs.fsGroup,
            seccompProfile: { type: "RuntimeDefault" },
        },
        container: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
        },
    };
}

/** The objects of a workload, as `MtlsWorkload` and `MtlsService` both hold them. */
export interface MtlsWorkloadParts {
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service?: k8s.core.v1.Service;
    /** The server's ingress policy, when `ingressFrom` is set. */
    readonly networkPolicy?: k8s.networking.v1.NetworkPolicy;
    /** Name of the Deployment. */
    readonly deploymentName: pulumi.Output<string>;
    /** Who this workload is to its peers: give the workload itself to another workload's `allowFrom`. */
    readonly identity: PeerIdentity;
}

/**
 * Declares a workload's ServiceAccount, Deployment, Service and NetworkPolicy under `scope`:
 * the body of `MtlsWorkload`, shared with `MtlsService`.
 * @internal
 */
export function declareWorkload(scope: PartScope, name: string, args: MtlsWorkloadArgs): MtlsWorkloadParts {
    const usage = args.usage ?? DEFAULTS.certificate.usage;
    const delivery = args.delivery ?? DEFAULTS.workload.delivery;
    const mountPath = args.mountPath ?? DEFAULTS.workload.mountPath;
    const labels = args.labels ?? {
        "app.kubernetes.io/name": args.serviceName,
        "app.kubernetes.io/part-of": "mtls",
    };
    const serves = usage !== "client";
    const problems = [
        ...usageProblems(usage),
        ...deliveryProblems(delivery, args.material.rollout, args.mountPath),
        ...keystoreDeliveryProblems(delivery, args.material.keystores ?? []),
        ...(pulumi.Output.isInstance(args.port) ? [] : servingProblems(usage, args.port)),
        ...(!serves && args.ingressFrom !== undefined
            ? [
                  {
                      argument: "ingressFrom",
                      message: 'applies to servers; usage "client" accepts no connections, so remove ingressFrom',
                  },
              ]
            : []),
    ];
    if (problems.length > 0)
        throw new pulumi.ResourceError(describeProblems("MtlsWorkload", name, problems), scope.owner);
    const ingressFrom =
        args.ingressFrom === undefined
            ? undefined
            : checked(
                  scope.owner,
                  "MtlsWorkload",
                  name,
              )(args.ingressFrom, (sources) =>
                  (Array.isArray(sources) ? sources : [sources]).flatMap((source, k) =>
                      ingressSourceProblems(source).map((p) => ({
                          argument: `ingressFrom[${k}]${p.field === undefined ? "" : `.${p.field}`}`,
                          message: p.message,
                      })),
                  ),
              );
    const metadata = {
        name: args.serviceName,
        namespace: args.namespace,
        labels,
        ...(args.skipAwait ? { annotations: { [SKIP_AWAIT_ANNOTATION]: "true" } } : {}),
    };
    const security = restrictedSecurityContexts(args.runAs);
    const files = delivery === "files" ? args.material.mount(mountPath) : undefined;
    const callers = callerIdentities(args.allowFrom);
    const joined = (values: pulumi.Input<pulumi.Input<string>[]> | undefined) =>
        pulumi.output(values ?? []).apply((v) => v.join(","));

    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-sa`,
        {
            metadata: { name: args.serviceName, namespace: args.namespace, labels },
        },
        partOptions(scope),
    );

    const env: k8s.types.input.core.v1.EnvVar[] = [
        { name: IDENTITY_ENV.serviceName, value: args.serviceName },
        { name: IDENTITY_ENV.allowedClients, value: joined(callers.commonNames) },
        {
            name: IDENTITY_ENV.allowedSpiffeIds,
            value: joined(
                pulumi
                    .all([callers.spiffeIds, args.allowFromSpiffeIds ?? []])
                    .apply(([a, b]) => [...new Set([...a, ...b])]),
            ),
        },
        ...(serves && args.port !== undefined
            ? [{ name: IDENTITY_ENV.port, value: pulumi.output(args.port).apply(String) }]
            : []),
        ...(files ? files.env : args.material.env()),
    ];
    const deployment = new k8s.apps.v1.Deployment(
        `${name}-deployment`,
        {
            metadata,
            spec: {
                replicas: args.replicas ?? 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels, annotations: args.material.podAnnotations() },
                    spec: {
                        // The pod's API token is not needed to speak mTLS.
                        automountServiceAccountToken: false,
                        securityContext: security.pod,
                        ...args.pod,
                        serviceAccountName: serviceAccount.metadata.name,
                        containers: [
                            {
                                securityContext: security.container,
                                ...args.container,
                                name: "app",
                                image: args.image,
                                env: [
                                    ...env,
                                    ...((args.container?.env as k8s.types.input.core.v1.EnvVar[] | undefined) ?? []),
                                ],
                                ports:
                                    serves && args.port !== undefined
                                        ? [{ name: "mtls", containerPort: args.port, protocol: "TCP" }]
                                        : [],
                                volumeMounts: [
                                    ...(files ? [files.volumeMount] : []),
                                    ...((args.container?.volumeMounts as
                                        | k8s.types.input.core.v1.VolumeMount[]
                                        | undefined) ?? []),
                                ],
                            },
                            ...(args.pod?.containers ?? []),
                        ],
                        volumes: [
                            ...(files ? [files.volume] : []),
                            ...((args.pod?.volumes as k8s.types.input.core.v1.Volume[] | undefined) ?? []),
                        ],
                    },
                },
            },
        },
        partOptions(scope),
    );
    const deploymentName = deployment.metadata.name;
    const identity = args.material.identity ?? { commonName: args.serviceName };

    let service: k8s.core.v1.Service | undefined;
    if (serves && args.port !== undefined) {
        service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata,
                spec: {
                    selector: labels,
                    ports: [{ name: "mtls", port: args.port, targetPort: "mtls", protocol: "TCP" }],
                },
            },
            partOptions(scope),
        );
    }
    let networkPolicy: k8s.networking.v1.NetworkPolicy | undefined;
    if (serves && args.port !== undefined && ingressFrom !== undefined) {
        networkPolicy = new k8s.networking.v1.NetworkPolicy(
            `${name}-ingress`,
            {
                metadata: { name: pulumi.interpolate`${args.serviceName}-mtls`, namespace: args.namespace, labels },
                spec: pulumi
                    .output({ labels, port: args.port, sources: ingressFrom })
                    .apply(({ labels: podLabels, port, sources }) => ingressPolicySpec({ podLabels, port, sources })),
            },
            partOptions(scope),
        );
    }
    return { serviceAccount, deployment, service, networkPolicy, deploymentName, identity };
}

/** A Deployment (and for servers a Service) that presents its certificate and trusts its CA. */
export class MtlsWorkload extends pulumi.ComponentResource implements MtlsWorkloadParts {
    declare public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    declare public readonly deployment: k8s.apps.v1.Deployment;
    declare public readonly service?: k8s.core.v1.Service;
    /** The server's ingress policy, when `ingressFrom` is set. */
    declare public readonly networkPolicy?: k8s.networking.v1.NetworkPolicy;
    /** Name of the Deployment. */
    declare public readonly deploymentName: pulumi.Output<string>;
    /** Who this workload is to its peers: give the workload itself to another workload's `allowFrom`. */
    declare public readonly identity: PeerIdentity;

    constructor(name: string, args: MtlsWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.mtlsWorkload, name, {}, opts);
        Object.assign(this, declareWorkload(ownScope(this), name, args));
        // As in CertificateMaterial: the Deployment's name stays on the class, not in a late write.
        this.registerOutputs({});
    }
}
