import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    CERT_FILE_MODE,
    DEFAULT_MOUNT_PATH,
    KEY_FILE_MODE,
    MATERIAL_KEYS,
    MTLS_ENV,
    materialVolumeName,
} from "./certificateMaterial";
import {
    CERT_MANAGER_API_VERSION,
    CERT_MANAGER_SECRET_KEYS,
    IssuerRef,
    certificateSecretName,
    certificateSpec,
} from "./certManagerObjects";
import { checked, together } from "./checks";
import { DEFAULTS } from "./defaults";
import type { PeerIdentity } from "./identity";
import {
    KeyAlgorithm,
    Rollout,
    Usage,
    certManagerCertificateProblems,
    certificateLifetimeProblems,
    keyAlgorithmProblems,
    usageProblems,
} from "./rules";
import { CertificateNamesArgs, certificateNames } from "./serviceCertificate";
import type { MaterialMount, WorkloadMaterial } from "./workloadMaterial";
import { COMPONENT_TYPES } from "./types";

export interface CertManagerCertificateArgs extends CertificateNamesArgs {
    /** The issuer and trust bundle cert-manager and trust-manager were handed (a `CertManagerIssuer`). */
    issuer: {
        issuerRef: pulumi.Input<IssuerRef>;
        trustBundleConfigMapName: pulumi.Input<string>;
        /** The trust bundle's PEM, which `caBundlePem` hands on. */
        trustBundlePem: pulumi.Input<string>;
    };
    /** The service's name: the certificate's common name, its first DNS name and the Certificate's name. */
    serviceName: pulumi.Input<string>;
    /** The service's namespace: the Certificate's and its Secret's, and part of the DNS names and SPIFFE ID. */
    namespace: pulumi.Input<string>;
    /**
     * `server` (server auth), `client` (client auth) or `both`.
     * @default "both"
     */
    usage?: pulumi.Input<Usage>;
    /**
     * Key algorithm of the key cert-manager generates.
     * @default "ECDSA-P256"
     */
    keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
    /**
     * Certificate lifetime in hours (the Certificate's `duration`).
     * @default 2160 (90 days)
     */
    validityHours?: pulumi.Input<number>;
    /**
     * How long before its end cert-manager renews it (`renewBefore`).
     * @default 720 (30 days)
     */
    renewBeforeHours?: pulumi.Input<number>;
    /**
     * The Secret cert-manager writes `tls.crt`, `tls.key` and `ca.crt` into.
     * @default `<serviceName>-mtls-tls`
     */
    secretName?: pulumi.Input<string>;
    /**
     * Labels on the Certificate and, through its `secretTemplate`, on the Secret.
     * @default none
     */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A service certificate that cert-manager issues and renews in the cluster: a cert-manager
 * `Certificate` with the same CN, DNS names, SPIFFE URI, usages, key algorithm, duration and
 * renew window as `ServiceCertificate`. Its pod-spec pieces are `CertificateMaterial`'s: the
 * same files and variables, with `tls.crt` and `tls.key` from cert-manager's Secret and
 * `ca.crt` from trust-manager's ConfigMap. cert-manager rewrites that Secret in place at every
 * renewal, so the rollout is always `hot`: the pods stay and the kubelet refreshes the files.
 */
export class CertManagerCertificate extends pulumi.ComponentResource implements WorkloadMaterial {
    public readonly certificate: k8s.apiextensions.CustomResource;
    /** The Secret cert-manager writes. */
    public readonly secretName: pulumi.Output<string>;
    /** The ConfigMap trust-manager writes the trust bundle to. */
    public readonly trustBundleConfigMapName: pulumi.Output<string>;
    public readonly commonName: pulumi.Output<string>;
    public readonly dnsNames: pulumi.Output<string[]>;
    public readonly uris: pulumi.Output<string[]>;
    public readonly validityHours: pulumi.Output<number>;
    public readonly renewBeforeHours: pulumi.Output<number>;
    /** The trust bundle as PEM. */
    public readonly caBundlePem: pulumi.Output<string>;
    public readonly rollout: Rollout = "hot";
    public readonly identity: PeerIdentity;
    public readonly volumeName: string;

    constructor(name: string, args: CertManagerCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.certManagerCertificate, name, {}, opts);
        const check = checked(this, "CertManagerCertificate", name);
        const keyAlgorithm = check<KeyAlgorithm>(
            args.keyAlgorithm ?? DEFAULTS.certificate.keyAlgorithm,
            keyAlgorithmProblems,
        );
        const usage = check<Usage>(args.usage ?? DEFAULTS.certificate.usage, usageProblems);
        const settings = check(
            together<[KeyAlgorithm, number, number]>(
                keyAlgorithm,
                args.validityHours ?? DEFAULTS.certificate.validityHours,
                args.renewBeforeHours ?? DEFAULTS.certificate.renewBeforeHours,
            ),
            ([algorithm, validity, renewBefore]) => {
                const shared = certificateLifetimeProblems(validity, renewBefore);
                return shared.length > 0 ? shared : certManagerCertificateProblems(algorithm, validity, renewBefore);
            },
        );
        this.validityHours = pulumi.output(settings).apply(([, validity]) => validity);
        this.renewBeforeHours = pulumi.output(settings).apply(([, , renewBefore]) => renewBefore);

        const sans = certificateNames(args);
        this.dnsNames = sans.dnsNames;
        this.uris = sans.uris;
        this.commonName = pulumi.output(args.serviceName);
        this.secretName = pulumi.output(
            args.secretName ?? pulumi.output(args.serviceName).apply(certificateSecretName),
        );
        this.trustBundleConfigMapName = pulumi.output(args.issuer.trustBundleConfigMapName);
        this.caBundlePem = pulumi.output(args.issuer.trustBundlePem);

        const names = pulumi.all([
            this.secretName,
            this.commonName,
            this.dnsNames,
            this.uris,
            pulumi.output(args.ipAddresses ?? []),
        ]);
        const rest = pulumi.all([
            pulumi.output(usage),
            pulumi.output(settings),
            pulumi.output(args.issuer.issuerRef),
            pulumi.output(args.labels ?? {}),
        ]);
        const spec = pulumi
            .all([names, rest])
            .apply(
                ([
                    [secretName, commonName, dnsNames, uris, ipAddresses],
                    [u, [algorithm, validity, renewBefore], issuerRef, labels],
                ]) =>
                    certificateSpec({
                        secretName,
                        commonName,
                        dnsNames,
                        uris,
                        ipAddresses,
                        usage: u,
                        keyAlgorithm: algorithm,
                        validityHours: validity,
                        renewBeforeHours: renewBefore,
                        issuerRef: issuerRef as IssuerRef,
                        labels: labels as Record<string, string>,
                    }),
            );
        this.certificate = new k8s.apiextensions.CustomResource(
            `${name}-certificate`,
            {
                apiVersion: CERT_MANAGER_API_VERSION,
                kind: "Certificate",
                metadata: { name: args.serviceName, namespace: args.namespace, labels: args.labels },
                spec,
            },
            { parent: this },
        );

        this.volumeName = materialVolumeName(name);
        this.identity = { commonName: args.serviceName, spiffeId: this.uris.apply((u) => u[0]) };
        this.registerOutputs({
            secretName: this.secretName,
            trustBundleConfigMapName: this.trustBundleConfigMapName,
            commonName: this.commonName,
            dnsNames: this.dnsNames,
            uris: this.uris,
            validityHours: this.validityHours,
            renewBeforeHours: this.renewBeforeHours,
        });
    }

    /**
     * One projected volume with the same files as `CertificateMaterial`'s: `tls.crt` (0444) and
     * `tls.key` (0400) from cert-manager's Secret, `ca.crt` (0444) from trust-manager's ConfigMap.
     */
    public volumes(): k8s.types.input.core.v1.Volume[] {
        return [
            {
                name: this.volumeName,
                projected: {
                    defaultMode: CERT_FILE_MODE,
                    sources: [
                        {
                            configMap: {
                                name: this.trustBundleConfigMapName,
                                items: [{ key: MATERIAL_KEYS.ca, path: MATERIAL_KEYS.ca, mode: CERT_FILE_MODE }],
                            },
                        },
                        {
                            secret: {
                                name: this.secretName,
                                items: [
                                    {
                                        key: CERT_MANAGER_SECRET_KEYS.cert,
                                        path: MATERIAL_KEYS.cert,
                                        mode: CERT_FILE_MODE,
                                    },
                                    { key: CERT_MANAGER_SECRET_KEYS.key, path: MATERIAL_KEYS.key, mode: KEY_FILE_MODE },
                                ],
                            },
                        },
                    ],
                },
            },
        ];
    }

    /** A read-only mount of the material at `dir`. */
    public volumeMounts(dir: string = DEFAULT_MOUNT_PATH): k8s.types.input.core.v1.VolumeMount[] {
        return [{ name: this.volumeName, mountPath: dir, readOnly: true }];
    }

    public mount(dir: string = DEFAULT_MOUNT_PATH): MaterialMount {
        return { volume: this.volumes()[0], volumeMount: this.volumeMounts(dir)[0], env: this.fileEnv(dir) };
    }

    /** `MTLS_*_FILE` variables holding the paths of the files mounted at `dir`. */
    public fileEnv(dir: string = DEFAULT_MOUNT_PATH): k8s.types.input.core.v1.EnvVar[] {
        const at = (file: string) => `${dir.replace(/\/+$/, "")}/${file}`;
        return [
            { name: MTLS_ENV.certFile, value: at(MATERIAL_KEYS.cert) },
            { name: MTLS_ENV.keyFile, value: at(MATERIAL_KEYS.key) },
            { name: MTLS_ENV.caFile, value: at(MATERIAL_KEYS.ca) },
        ];
    }

    /**
     * `MTLS_CERT`, `MTLS_KEY` and `MTLS_CA` from the Secret and the ConfigMap. Environment
     * variables are read at container start and never follow cert-manager's renewals, so
     * `MtlsWorkload` refuses `delivery: env` with this material (its rollout is `hot`).
     */
    public env(): k8s.types.input.core.v1.EnvVar[] {
        return [
            {
                name: MTLS_ENV.cert,
                valueFrom: { secretKeyRef: { name: this.secretName, key: CERT_MANAGER_SECRET_KEYS.cert } },
            },
            {
                name: MTLS_ENV.key,
                valueFrom: { secretKeyRef: { name: this.secretName, key: CERT_MANAGER_SECRET_KEYS.key } },
            },
            {
                name: MTLS_ENV.ca,
                valueFrom: { configMapKeyRef: { name: this.trustBundleConfigMapName, key: MATERIAL_KEYS.ca } },
            },
        ];
    }

    /** None: the pods stay while cert-manager and trust-manager replace the files in place. */
    public podAnnotations(): Record<string, pulumi.Output<string>> {
        return {};
    }
}
