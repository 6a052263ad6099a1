// The package's public surface. Everything a stack needs is named here; the modules behind it
// hold more (rule functions, builders, provider hooks) for this project's own program and tests,
// and those are not part of the package's contract.

// Certificate authorities and issuers
export { CertificateAuthority } from "./certificateAuthority";
export type { CertificateAuthorityArgs, CertificateIssuer } from "./certificateAuthority";
export { RotatingCertificateAuthority } from "./rotatingCertificateAuthority";
export type { CaGeneration, RotatingCertificateAuthorityArgs } from "./rotatingCertificateAuthority";
export { issuerFromStack } from "./stackIssuer";
export { rotationPlan } from "./rotationLedger";
export type { RotationState } from "./rotationLedger";

// Service certificates, their Kubernetes material and workloads
export { ServiceCertificate } from "./serviceCertificate";
export type { ServiceCertificateArgs, ServiceCertificateParts } from "./serviceCertificate";
export { RenewalSchedule } from "./renewalSchedule";
export type { RenewalScheduleArgs, ScheduledEntry } from "./renewalSchedule";
export { CertificateMaterial, DEFAULT_MOUNT_PATH, MATERIAL_KEYS, MTLS_ENV, SECRET_TYPES } from "./certificateMaterial";
export type {
    CertificateMaterialArgs,
    KubernetesMaterial,
    MaterialMount,
    MaterialObjects,
    SecretType,
} from "./certificateMaterial";
export { KEYSTORE_FILES, PKCS12_STORE_TYPE } from "./keystores";
export type { WorkloadMaterial } from "./workloadMaterial";
export { IDENTITY_ENV, MtlsWorkload } from "./mtlsWorkload";
export type { MtlsWorkloadArgs, MtlsWorkloadParts, RunAsIds } from "./mtlsWorkload";
export { MtlsService } from "./mtlsService";
export { COMPONENT_TYPES } from "./types";
export type { MtlsServiceArgs } from "./mtlsService";
export type { Caller, PeerIdentity } from "./identity";
export { WorkloadWiring } from "./workloadWiring";
export type { WorkloadWiringArgs } from "./workloadWiring";
export type { WorkloadSelector } from "./workloadSelector";
export { workloadLabels } from "./ingressRules";
export type { IngressSource } from "./ingressRules";

// Issued in the cluster: cert-manager and trust-manager
export { CertManagerIssuer } from "./certManagerIssuer";
export type { CertManagerIssuerArgs } from "./certManagerIssuer";
export { CertManagerCertificate } from "./certManagerCertificate";
export type { CertManagerCertificateArgs } from "./certManagerCertificate";
export type { IssuerRef } from "./certManagerObjects";

// Istio
export { IstioMesh } from "./istioMesh";
export type { IstioMeshArgs, IstioPluginCa } from "./istioMesh";
export { IstioServerPolicy } from "./istioServerPolicy";
export type { IstioServerPolicyArgs } from "./istioServerPolicy";

// Vocabulary and defaults
export {
    CERT_MANAGER_ISSUER_KINDS,
    DELIVERIES,
    ISSUANCES,
    KEYSTORE_FORMATS,
    KEY_ALGORITHMS,
    POD_SECURITY_LEVELS,
    ROLLOUTS,
    ROTATION_PHASES,
    USAGES,
    serviceDnsNames,
    spiffeId,
} from "./rules";
export type {
    CertManagerIssuerKind,
    Delivery,
    Issuance,
    KeyAlgorithm,
    KeystoreFormat,
    PodSecurityLevel,
    Rollout,
    RotationPhase,
    Usage,
} from "./rules";
export { DEFAULTS } from "./defaults";
