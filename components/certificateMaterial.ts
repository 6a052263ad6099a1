import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "node:crypto";
import { checked } from "./checks";
import { DEFAULTS } from "./defaults";
import type { PeerIdentity } from "./identity";
import { KEYSTORE_FILES, PKCS12_STORE_TYPE, buildKeystoreFiles } from "./keystores";
import {
    KEYSTORE_PASSWORD_LENGTH,
    KeystoreFormat,
    Rollout,
    keystorePasswordVersionProblems,
    keystoreProblems,
} from "./rules";
import type { ServiceCertificate } from "./serviceCertificate";
import type { MaterialMount, WorkloadMaterial } from "./workloadMaterial";
import { PartScope, ownScope, partOptions } from "./scope";
import { COMPONENT_TYPES } from "./types";

export type { MaterialMount } from "./workloadMaterial";

/** File names inside the ConfigMap, the Secret and the mounted directory. */
export const MATERIAL_KEYS = { ca: "ca.crt", cert: "tls.crt", key: "tls.key" } as const;

/** Environment variables a workload reads its material from. */
export const MTLS_ENV = {
    /** PEM chain (leaf first), with `delivery: env`. */
    cert: "MTLS_CERT",
    /** PEM private key, with `delivery: env`. */
    key: "MTLS_KEY",
    /** PEM CA bundle, with `delivery: env`. */
    ca: "MTLS_CA",
    /** Path of the chain file, with `delivery: files`. */
    certFile: "MTLS_CERT_FILE",
    /** Path of the key file, with `delivery: files`. */
    keyFile: "MTLS_KEY_FILE",
    /** Path of the CA bundle file, with `delivery: files`. */
    caFile: "MTLS_CA_FILE",
    /** Path of `keystore.p12` (the key and its chain), with keystores. */
    keystoreFile: "MTLS_KEYSTORE_FILE",
    /** Path of `truststore.p12` (the CA bundle), with keystores. */
    truststoreFile: "MTLS_TRUSTSTORE_FILE",
    /** `PKCS12`: the `KeyStore` type of both files, with keystores. */
    keystoreType: "MTLS_KEYSTORE_TYPE",
    /** The password of both stores and of the key entry, from the Secret through `secretKeyRef`, with keystores. */
    keystorePassword: "MTLS_KEYSTORE_PASSWORD",
    /** Path of `truststore.jks`, with keystores `[pkcs12, jks]`. */
    truststoreJksFile: "MTLS_TRUSTSTORE_JKS_FILE",
} as const;

/** Pod-template annotations that change exactly when the material does, so a Deployment rolls on rotation. */
export const ANNOTATIONS = {
    certSha256: "mtls.pulumi.com/cert-sha256",
    caBundleSha256: "mtls.pulumi.com/ca-bundle-sha256",
    /** The keystore password's version (never the password): a new password rolls the pods, also with `hot`. */
    keystorePasswordVersion: "mtls.pulumi.com/keystore-password-version",
} as const;

/** File modes: the key readable by its owner only, certificates by anyone. */
export const KEY_FILE_MODE = 0o400;
export const CERT_FILE_MODE = 0o444;

export const DEFAULT_MOUNT_PATH = DEFAULTS.workload.mountPath;

/** Secret types the key can be published as. */
export const SECRET_TYPES = ["opaque", "tls"] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

/**
 * The pod volume name of a material: its own, so two materials in one pod never collide, and a
 * DNS-1123 label of at most 63 characters (long names keep a hash of the whole).
 */
export function materialVolumeName(name: string): string {
    const full = `mtls-${name}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .replace(/-+$/, "");
    if (full.length <= 63) return full;
    return `${full.slice(0, 54).replace(/-+$/, "")}-${createHash("sha256").update(full).digest("hex").slice(0, 8)}`;
}

/** SHA-256 of a CA bundle, lower-case hex; undefined when there is no bundle (a mock that returned no PEM). */
export function sha256OfBundle(pem: string | undefined): string | undefined {
    return typeof pem === "string" && pem !== "" ? createHash("sha256").update(pem).digest("hex") : undefined;
}

export interface CertificateMaterialArgs {
    /** The certificate whose chain, CA bundle and key are published. */
    certificate: Pick<ServiceCertificate, "chainPem" | "caBundlePem" | "privateKeyPem" | "fingerprintSha256"> &
        Partial<Pick<ServiceCertificate, "identity">>;
    /** Namespace of the ConfigMap and the Secret: the service's own. */
    namespace: pulumi.Input<string>;
    /**
     * Labels on both objects.
     * @default none
     */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * `restart`: auto-named objects, so new material means new objects and the pods that use
     * them roll. `hot`: fixed names (`<name>-mtls-certs`, `<name>-mtls-key`) whose content is
     * replaced in place, for apps that watch their mounted files; the pods keep running and
     * the kubelet refreshes the files. Fixed at construction.
     * @default "restart"
     */
    rollout?: Rollout;
    /**
     * `opaque`: the Secret holds `tls.key` alone. `tls`: a `kubernetes.io/tls` Secret holding
     * `tls.crt` (the chain) and `tls.key`, for charts and controllers that take an
     * `existingSecret` of that type. The ConfigMap is there either way. Keystores, when asked
     * for, are extra keys of either type (the API server requires `tls.crt` and `tls.key` in a
     * `kubernetes.io/tls` Secret and accepts other keys next to them). Fixed at construction.
     * @default "opaque"
     */
    secretType?: SecretType;
    /**
     * Java keystores in the Secret next to `tls.key`: `pkcs12` adds `keystore.p12` (the key
     * and the chain, leaf first) and `truststore.p12` (the CA bundle); `jks` (with `pkcs12`)
     * adds `truststore.jks`. With any, the Secret also holds `keystore-password`, drawn by a
     * `random.RandomPassword`. The key entry's alias is this component's name. The stores are
     * rebuilt exactly when the key, the chain, the bundle or the password changes, and are
     * byte-identical otherwise. Fixed at construction: it decides which resources exist.
     * @default [] (no keystores)
     */
    keystores?: readonly KeystoreFormat[];
    /**
     * The keystore password's version: changing it draws a new password (it is the
     * RandomPassword's keeper), so every store is rebuilt and the pods roll.
     * @default 1
     */
    keystorePasswordVersion?: pulumi.Input<number>;
}

/** The objects and settings of a service's material, as `KubernetesMaterial` and `CertificateMaterial` both hold them. */
export interface MaterialObjects {
    readonly configMap: k8s.core.v1.ConfigMap;
    readonly secret: k8s.core.v1.Secret;
    /** Generated name of the ConfigMap. */
    readonly configMapName: pulumi.Output<string>;
    /** Generated name of the Secret. */
    readonly secretName: pulumi.Output<string>;
    /** How new material reaches the pods. */
    readonly rollout: Rollout;
    /** The identity of the certificate it publishes, when the certificate has one. */
    readonly identity?: PeerIdentity;
    /** Name of the pod volume this material's pieces use. */
    readonly volumeName: string;
    /** The keystore formats in the Secret; empty without keystores. */
    readonly keystores: readonly KeystoreFormat[];
    /** The password of the stores, with keystores. Secret. */
    readonly keystorePassword?: pulumi.Output<string>;
}

/**
 * The ConfigMap and Secret of a service's material, declared under `scope`, and the pod-spec
 * pieces that read them: the body of `CertificateMaterial`, shared with `MtlsService`.
 */
export class KubernetesMaterial implements WorkloadMaterial, MaterialObjects {
    // Each public field is documented on MaterialObjects. The private ones are `#` fields, so
    // `Object.assign` hands only the public ones to `CertificateMaterial`.
    public readonly configMap: k8s.core.v1.ConfigMap;
    public readonly secret: k8s.core.v1.Secret;
    public readonly configMapName: pulumi.Output<string>;
    public readonly secretName: pulumi.Output<string>;
    public readonly rollout: Rollout;
    public readonly identity?: PeerIdentity;
    public readonly volumeName: string;
    public readonly keystores: readonly KeystoreFormat[];
    public readonly keystorePassword?: pulumi.Output<string>;
    readonly #fingerprint: pulumi.Output<string | undefined>;
    readonly #caBundleSha256: pulumi.Output<string | undefined>;
    readonly #passwordVersion?: pulumi.Output<string>;

    /** @internal */
    constructor(scope: PartScope, name: string, args: CertificateMaterialArgs) {
        const check = checked(scope.owner, "CertificateMaterial", name);
        const keystores = args.keystores ?? DEFAULTS.certificate.keystores;
        // Plain values, so a refusal stops the program here, before any child exists.
        check<readonly KeystoreFormat[]>(keystores, keystoreProblems);
        const passwordVersion = check<number | undefined>(args.keystorePasswordVersion, (v) =>
            keystorePasswordVersionProblems(v, keystores),
        );
        this.rollout = args.rollout ?? "restart";
        this.keystores = [...keystores];
        const hot = this.rollout === "hot";
        const metadata = (suffix: string) => ({
            namespace: args.namespace,
            labels: args.labels,
            ...(hot ? { name: `${name}-mtls-${suffix}` } : {}),
        });
        // A fixed name cannot be created before the old object is gone.
        const inPlace = hot ? { deleteBeforeReplace: true } : {};
        this.configMap = new k8s.core.v1.ConfigMap(
            `${name}-certs`,
            {
                metadata: metadata("certs"),
                data: {
                    [MATERIAL_KEYS.ca]: args.certificate.caBundlePem,
                    [MATERIAL_KEYS.cert]: args.certificate.chainPem,
                },
            },
            partOptions(scope, inPlace),
        );
        let keystoreData: pulumi.Output<Record<string, string>> | undefined;
        let passwordData: Record<string, pulumi.Output<string>> = {};
        if (this.keystores.length > 0) {
            this.#passwordVersion = pulumi
                .output(passwordVersion)
                .apply((version) => String(version ?? DEFAULTS.certificate.keystorePasswordVersion));
            const password = new random.RandomPassword(
                `${name}-keystore-password`,
                {
                    length: KEYSTORE_PASSWORD_LENGTH,
                    // Letters and digits only: the password passes through env vars, shells and Spring placeholders unharmed.
                    special: false,
                    minLower: 1,
                    minUpper: 1,
                    minNumeric: 1,
                    keepers: { version: this.#passwordVersion },
                },
                partOptions(scope),
            );
            this.keystorePassword = pulumi.secret(password.result);
            passwordData = { [KEYSTORE_FILES.password]: this.keystorePassword };
            const formats = this.keystores;
            keystoreData = pulumi.secret(
                pulumi
                    .all([
                        args.certificate.privateKeyPem,
                        args.certificate.chainPem,
                        args.certificate.caBundlePem,
                        password.result,
                    ])
                    .apply(async ([privateKeyPem, chainPem, caBundlePem, secret]) => {
                        const files = await buildKeystoreFiles({
                            formats,
                            alias: name,
                            privateKeyPem,
                            chainPem,
                            caBundlePem,
                            password: secret,
                        });
                        return Object.fromEntries(
                            Object.entries(files).map(([file, bytes]) => [file, bytes.toString("base64")]),
                        );
                    }),
            );
        }
        const tlsType = args.secretType === "tls";
        this.secret = new k8s.core.v1.Secret(
            `${name}-key`,
            {
                metadata: metadata("key"),
                type: tlsType ? "kubernetes.io/tls" : "Opaque",
                stringData: {
                    ...(tlsType ? { [MATERIAL_KEYS.cert]: args.certificate.chainPem } : {}),
                    [MATERIAL_KEYS.key]: pulumi.secret(args.certificate.privateKeyPem),
                    ...passwordData,
                },
                ...(keystoreData ? { data: keystoreData } : {}),
            },
            partOptions(scope, inPlace),
        );
        this.volumeName = materialVolumeName(name);
        this.identity = args.certificate.identity;
        this.configMapName = this.configMap.metadata.name;
        this.secretName = this.secret.metadata.name;
        this.#fingerprint = pulumi.output(args.certificate.fingerprintSha256);
        this.#caBundleSha256 = pulumi.output(args.certificate.caBundlePem).apply((pem) => sha256OfBundle(pem));
    }

    /** File names of the stores in the Secret and the mounted directory; empty without keystores. */
    public keystoreFiles(): string[] {
        if (this.keystores.length === 0) return [];
        return [
            KEYSTORE_FILES.keystore,
            KEYSTORE_FILES.truststore,
            ...(this.keystores.includes("jks") ? [KEYSTORE_FILES.truststoreJks] : []),
        ];
    }

    /** One projected volume holding `ca.crt` and `tls.crt` (0444), and `tls.key` and any keystores (0400). */
    public volumes(): k8s.types.input.core.v1.Volume[] {
        return [
            {
                name: this.volumeName,
                projected: {
                    defaultMode: CERT_FILE_MODE,
                    sources: [
                        {
                            configMap: {
                                name: this.configMapName,
                                items: [
                                    { key: MATERIAL_KEYS.ca, path: MATERIAL_KEYS.ca, mode: CERT_FILE_MODE },
                                    { key: MATERIAL_KEYS.cert, path: MATERIAL_KEYS.cert, mode: CERT_FILE_MODE },
                                ],
                            },
                        },
                        {
                            secret: {
                                name: this.secretName,
                                items: [MATERIAL_KEYS.key, ...this.keystoreFiles()].map((file) => ({
                                    key: file,
                                    path: file,
                                    mode: KEY_FILE_MODE,
                                })),
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

    /**
     * The volume, its read-only mount at `dir` and the variables of `fileEnv(dir)` (with keystores,
     * the store paths and the password by `secretKeyRef`), in one piece, so a pod with two
     * materials (say, its own and a client identity) gets two volumes that never collide.
     */
    public mount(dir: string = DEFAULT_MOUNT_PATH): MaterialMount {
        return { volume: this.volumes()[0], volumeMount: this.volumeMounts(dir)[0], env: this.fileEnv(dir) };
    }

    /**
     * `MTLS_*_FILE` variables holding the paths of the files mounted at `dir`; with keystores
     * also `MTLS_KEYSTORE_TYPE` and `MTLS_KEYSTORE_PASSWORD`, the latter by `secretKeyRef` only.
     */
    public fileEnv(dir: string = DEFAULT_MOUNT_PATH): k8s.types.input.core.v1.EnvVar[] {
        const at = (file: string) => `${dir.replace(/\/+$/, "")}/${file}`;
        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: MTLS_ENV.certFile, value: at(MATERIAL_KEYS.cert) },
            { name: MTLS_ENV.keyFile, value: at(MATERIAL_KEYS.key) },
            { name: MTLS_ENV.caFile, value: at(MATERIAL_KEYS.ca) },
        ];
        if (this.keystores.length === 0) return env;
        env.push(
            { name: MTLS_ENV.keystoreFile, value: at(KEYSTORE_FILES.keystore) },
            { name: MTLS_ENV.truststoreFile, value: at(KEYSTORE_FILES.truststore) },
            { name: MTLS_ENV.keystoreType, value: PKCS12_STORE_TYPE },
            {
                name: MTLS_ENV.keystorePassword,
                valueFrom: { secretKeyRef: { name: this.secretName, key: KEYSTORE_FILES.password } },
            },
        );
        if (this.keystores.includes("jks"))
            env.push({ name: MTLS_ENV.truststoreJksFile, value: at(KEYSTORE_FILES.truststoreJks) });
        return env;
    }

    /** `MTLS_CERT`, `MTLS_KEY` and `MTLS_CA` read from the ConfigMap and the Secret. */
    public env(): k8s.types.input.core.v1.EnvVar[] {
        return [
            {
                name: MTLS_ENV.cert,
                valueFrom: { configMapKeyRef: { name: this.configMapName, key: MATERIAL_KEYS.cert } },
            },
            { name: MTLS_ENV.key, valueFrom: { secretKeyRef: { name: this.secretName, key: MATERIAL_KEYS.key } } },
            { name: MTLS_ENV.ca, valueFrom: { configMapKeyRef: { name: this.configMapName, key: MATERIAL_KEYS.ca } } },
        ];
    }

    /**
     * Pod-template annotations carrying the certificate and CA-bundle fingerprints (never key
     * material), so that new material rolls the pods; none with `hot`, where the pods stay.
     * With keystores also the password's version, in both modes: the app reads the password
     * from an environment variable, which only a restart renews.
     */
    public podAnnotations(): Record<string, pulumi.Output<string>> {
        const password: Record<string, pulumi.Output<string>> = this.#passwordVersion
            ? { [ANNOTATIONS.keystorePasswordVersion]: this.#passwordVersion }
            : {};
        if (this.rollout === "hot") return password;
        // Undefined only when no certificate was readable (plain mocks); the SDK then leaves the key out.
        return {
            [ANNOTATIONS.certSha256]: this.#fingerprint as pulumi.Output<string>,
            [ANNOTATIONS.caBundleSha256]: this.#caBundleSha256 as pulumi.Output<string>,
            ...password,
        };
    }
}

/**
 * A service's material in Kubernetes: a ConfigMap with `ca.crt` and `tls.crt`
 * and a Secret with `tls.key` (and, on request, Java keystores and their
 * password), both auto-named so that new material gets new objects and the
 * Deployments that use them roll. It hands back ready pod-spec pieces.
 */
export class CertificateMaterial extends pulumi.ComponentResource implements WorkloadMaterial, MaterialObjects {
    // Each field is documented on MaterialObjects.
    declare public readonly configMap: k8s.core.v1.ConfigMap;
    declare public readonly secret: k8s.core.v1.Secret;
    declare public readonly configMapName: pulumi.Output<string>;
    declare public readonly secretName: pulumi.Output<string>;
    declare public readonly rollout: Rollout;
    declare public readonly identity?: PeerIdentity;
    declare public readonly volumeName: string;
    declare public readonly keystores: readonly KeystoreFormat[];
    declare public readonly keystorePassword?: pulumi.Output<string>;
    readonly #material: KubernetesMaterial;

    constructor(name: string, args: CertificateMaterialArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.certificateMaterial, name, {}, opts);
        this.#material = new KubernetesMaterial(ownScope(this), name, args);
        Object.assign(this, this.#material);
        // The password is the RandomPassword's own output, in the state once.
        // The objects' names resolve only once they are created; registering them would make the
        // engine rewrite the state late in the run (see ServiceCertificate). They stay on the class.
        this.registerOutputs({});
    }

    /** File names of the stores in the Secret and the mounted directory; empty without keystores. */
    public keystoreFiles(): string[] {
        return this.#material.keystoreFiles();
    }

    /** One projected volume holding `ca.crt` and `tls.crt` (0444), and `tls.key` and any keystores (0400). */
    public volumes(): k8s.types.input.core.v1.Volume[] {
        return this.#material.volumes();
    }

    /** A read-only mount of the material at `dir`. */
    public volumeMounts(dir: string = DEFAULT_MOUNT_PATH): k8s.types.input.core.v1.VolumeMount[] {
        return this.#material.volumeMounts(dir);
    }

    /** The volume, its read-only mount at `dir` and the variables of `fileEnv(dir)`, in one piece. */
    public mount(dir: string = DEFAULT_MOUNT_PATH): MaterialMount {
        return this.#material.mount(dir);
    }

    /** `MTLS_*_FILE` variables holding the paths of the files mounted at `dir` (see `KubernetesMaterial`). */
    public fileEnv(dir: string = DEFAULT_MOUNT_PATH): k8s.types.input.core.v1.EnvVar[] {
        return this.#material.fileEnv(dir);
    }

    /** `MTLS_CERT`, `MTLS_KEY` and `MTLS_CA` read from the ConfigMap and the Secret. */
    public env(): k8s.types.input.core.v1.EnvVar[] {
        return this.#material.env();
    }

    /** Pod-template annotations carrying the certificate and CA-bundle fingerprints (never key material). */
    public podAnnotations(): Record<string, pulumi.Output<string>> {
        return this.#material.podAnnotations();
    }
}
