/**
 * The type of every component this package registers, as the engine's state spells it. The
 * classes register under these, and the scripts that read a stack's state (the certificate
 * report, the upgrade test) look them up here. Pure: no Pulumi import, so a plain script loads it.
 */
export const COMPONENT_TYPES = {
    certificateAuthority: "mtls:index:CertificateAuthority",
    rotatingCertificateAuthority: "mtls:index:RotatingCertificateAuthority",
    serviceCertificate: "mtls:index:ServiceCertificate",
    certificateMaterial: "mtls:index:CertificateMaterial",
    mtlsWorkload: "mtls:index:MtlsWorkload",
    mtlsService: "mtls:index:MtlsService",
    workloadWiring: "mtls:index:WorkloadWiring",
    certManagerCertificate: "mtls:index:CertManagerCertificate",
    certManagerIssuer: "mtls:index:CertManagerIssuer",
    istioMesh: "mtls:index:IstioMesh",
    istioServerPolicy: "mtls:index:IstioServerPolicy",
} as const;

/** The types of the three components whose resources an `MtlsService` holds, by part. */
export const SEPARATE_COMPONENT_TYPES = {
    certificate: COMPONENT_TYPES.serviceCertificate,
    material: COMPONENT_TYPES.certificateMaterial,
    workload: COMPONENT_TYPES.mtlsWorkload,
} as const;
