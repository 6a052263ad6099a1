import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CertificateMaterial } from "./certificateMaterial";
import { DEFAULT_MOUNT_PATH } from "./certificateMaterial";
import { Delivery, Usage, keystoreDeliveryProblem } from "./policy";

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
    /** The service's material. */
    material: CertificateMaterial;
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
     * Common names of the clients this service accepts (the app enforces it from `MTLS_ALLOWED_CLIENTS`).
     * @default none
     */
    allowFrom?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * SPIFFE IDs of the same clients, for those that have one, in the same order: one for
     * each client when every client has one (always when the stack sets a trust domain).
     * @default none
     */
    allowFromSpiffeIds?: pulumi.Input<pulumi.Input<string>[]>;
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
    runAs?: WorkloadIdentity;
    /**
     * Do not wait for the Deployment and Service to become ready (the kubernetes provider's
     * `pulumi.com/skipAwait` annotation): for clusters without nodes, such as a test control plane.
     * @default false
     */
    skipAwait?: boolean;
}

/** Numeric ids a workload runs as. */
export interface WorkloadIdentity {
    runAsUser: pulumi.Input<number>;
    runAsGroup: pulumi.Input<number>;
    fsGroup: pulumi.Input<number>;
}

export const DEFAULT_RUN_AS = { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 } as const;

/** The kubernetes provider's annotation that turns off its readiness wait for one object. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** Pod and container security contexts that Pod Security "restricted" admits. */
export function restrictedSecurityContexts(runAs: WorkloadIdentity = DEFAULT_RUN_AS): {
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

/** A Deployment (and for servers a Service) that presents its certificate and trusts its CA. */
export class MtlsWorkload extends pulumi.ComponentResource {
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service?: k8s.core.v1.Service;
    /** Name of the Deployment. */
    public readonly deploymentName: pulumi.Output<string>;

    constructor(name: string, args: MtlsWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mtls:index:MtlsWorkload", name, {}, opts);
        const usage = args.usage ?? "both";
        const delivery = args.delivery ?? "files";
        const mountPath = args.mountPath ?? DEFAULT_MOUNT_PATH;
        const labels = args.labels ?? { "app.kubernetes.io/name": args.serviceName, "app.kubernetes.io/part-of": "mtls" };
        const serves = usage !== "client";
        if (args.material.rollout === "hot" && delivery !== "files") {
            throw new pulumi.ResourceError(`MtlsWorkload ${name}: rollout "hot" needs delivery "files"; environment variables only change when a pod restarts`, this);
        }
        const keystoreDelivery = args.material.keystores.length > 0 ? keystoreDeliveryProblem(delivery) : undefined;
        if (keystoreDelivery) {
            throw new pulumi.ResourceError(`MtlsWorkload ${name}: delivery "${delivery}" cannot carry the material's keystores: ${keystoreDelivery}`, this);
        }
        if (serves && args.port === undefined) {
            throw new pulumi.ResourceError(`MtlsWorkload ${name}: usage "${usage}" serves traffic and needs a port`, this);
        }
        const metadata = {
            name: args.serviceName,
            namespace: args.namespace,
            labels,
            ...(args.skipAwait ? { annotations: { [SKIP_AWAIT_ANNOTATION]: "true" } } : {}),
        };
        const security = restrictedSecurityContexts(args.runAs);
        const joined = (values: pulumi.Input<pulumi.Input<string>[]> | undefined) =>
            pulumi.output(values ?? []).apply((v) => v.join(","));

        this.serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
            metadata: { name: args.serviceName, namespace: args.namespace, labels },
        }, { parent: this });

        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: IDENTITY_ENV.serviceName, value: args.serviceName },
            { name: IDENTITY_ENV.allowedClients, value: joined(args.allowFrom) },
            { name: IDENTITY_ENV.allowedSpiffeIds, value: joined(args.allowFromSpiffeIds) },
            ...(serves && args.port !== undefined ? [{ name: IDENTITY_ENV.port, value: pulumi.output(args.port).apply(String) }] : []),
            ...(delivery === "files" ? args.material.fileEnv(mountPath) : args.material.env()),
        ];
        this.deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, {
            metadata,
            spec: {
                replicas: args.replicas ?? 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels, annotations: args.material.podAnnotations() },
                    spec: {
                        serviceAccountName: this.serviceAccount.metadata.name,
                        // The pod's API token is not needed to speak mTLS.
                        automountServiceAccountToken: false,
                        securityContext: security.pod,
                        containers: [{
                            name: "app",
                            image: args.image,
                            securityContext: security.container,
                            env,
                            ports: serves && args.port !== undefined ? [{ name: "mtls", containerPort: args.port, protocol: "TCP" }] : [],
                            volumeMounts: delivery === "files" ? args.material.volumeMounts(mountPath) : [],
                        }],
                        volumes: delivery === "files" ? args.material.volumes() : [],
                    },
                },
            },
        }, { parent: this });
        this.deploymentName = this.deployment.metadata.name;

        if (serves && args.port !== undefined) {
            this.service = new k8s.core.v1.Service(`${name}-service`, {
                metadata,
                spec: {
                    selector: labels,
                    ports: [{ name: "mtls", port: args.port, targetPort: "mtls", protocol: "TCP" }],
                },
            }, { parent: this });
        }
        this.registerOutputs({ deploymentName: this.deploymentName });
    }
}
