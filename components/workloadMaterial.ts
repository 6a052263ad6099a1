import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PeerIdentity } from "./identity";
import type { KeystoreFormat, Rollout } from "./rules";

/** What a container needs to read one material as files: the volume, its mount, and the variables naming the files. */
export interface MaterialMount {
    volume: k8s.types.input.core.v1.Volume;
    volumeMount: k8s.types.input.core.v1.VolumeMount;
    env: k8s.types.input.core.v1.EnvVar[];
}

/**
 * A service's certificate, key and trust bundle as pod-spec pieces: what `MtlsWorkload` wires
 * into its Deployment. `CertificateMaterial` (issued by Pulumi) and `CertManagerCertificate`
 * (issued by cert-manager in the cluster) both hand back the same file names (`tls.crt`,
 * `tls.key`, `ca.crt`) and the same variables, so the application cannot tell them apart.
 */
export interface WorkloadMaterial {
    /** How new material reaches the pods. */
    readonly rollout: Rollout;
    /** The identity of the certificate, when it has one. */
    readonly identity?: PeerIdentity;
    /** Name of the pod volume the pieces use. */
    readonly volumeName: string;
    /** Keystore formats among the files; none when absent (cert-manager writes no keystores). */
    readonly keystores?: readonly KeystoreFormat[];
    /** The volume, its read-only mount at `dir` and the `MTLS_*_FILE` variables. */
    mount(dir?: string): MaterialMount;
    /** `MTLS_CERT`, `MTLS_KEY` and `MTLS_CA`, read from the objects that hold them. */
    env(): k8s.types.input.core.v1.EnvVar[];
    /** Pod-template annotations that change when the material does (none with `hot`). */
    podAnnotations(): Record<string, pulumi.Output<string>>;
}
