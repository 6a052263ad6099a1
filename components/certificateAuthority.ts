import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { checked, together } from "./checks";
import { DEFAULTS, defaultIntermediateValidityHours } from "./defaults";
import { CA_ALLOWED_USES, KeyAlgorithm, caLifetimeProblems, keyAlgorithmProblems } from "./rules";
import { newTlsPrivateKey } from "./tlsKey";
import { isoTime, joinPemCertificates, readCertificate } from "./x509";
import { COMPONENT_TYPES } from "./types";

/**
 * Anything that can sign service certificates: a `CertificateAuthority` of
 * this stack, or the CA of another stack read through a `StackReference`.
 */
export interface CertificateIssuer {
    /** The certificate that signs leaves (the intermediate when there is one). */
    certPem: pulumi.Input<string>;
    /** The signing key. Keep it a secret output. */
    privateKeyPem: pulumi.Input<string>;
    /** Certificates between the signing certificate and the root, signing certificate first; empty for a root. */
    chainPem: pulumi.Input<string>;
    /** The certificates peers trust: the root, plus any root that is being rotated in or out. */
    trustBundlePem: pulumi.Input<string>;
    /** End of validity of the signing certificate, ISO 8601; leaves may not outlive it. Undefined: no limit. */
    notAfter?: pulumi.Input<string | undefined>;
}

export interface CertificateAuthorityArgs {
    /** Common name of the root certificate, e.g. `shop dev root CA`. */
    commonName: pulumi.Input<string>;
    /**
     * Organization in the subject of every CA certificate.
     * @default no organization
     */
    organization?: pulumi.Input<string>;
    /**
     * Key algorithm of the root and the intermediate.
     * @default "ECDSA-P256"
     */
    keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
    /**
     * Lifetime of the root certificate in hours.
     * @default 43800 (five years)
     */
    validityHours?: pulumi.Input<number>;
    /**
     * Issue leaves from an intermediate signed by the root, so the root key signs
     * once and can be kept out of day-to-day use. Fixed at construction: it decides
     * which resources exist.
     * @default false
     */
    intermediate?: boolean;
    /**
     * Lifetime of the intermediate in hours; it must not exceed the root's.
     * @default half of `validityHours`
     */
    intermediateValidityHours?: pulumi.Input<number>;
    /**
     * More certificates for the trust bundle, e.g. a root being rotated in or out.
     * @default none
     */
    additionalTrustedCertPems?: pulumi.Input<pulumi.Input<string>[]>;
}

/** A root CA, optionally with an intermediate that signs the leaves. */
export class CertificateAuthority extends pulumi.ComponentResource implements CertificateIssuer {
    /** The root certificate. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** The certificate that signs leaves: the intermediate if there is one, else the root. */
    public readonly certPem: pulumi.Output<string>;
    /** The intermediate when there is one, else an empty string. */
    public readonly chainPem: pulumi.Output<string>;
    /** What servers and clients trust: the root and any additional trusted certificates. */
    public readonly trustBundlePem: pulumi.Output<string>;
    /** The key that signs leaves. Secret. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /**
     * End of validity of the signing certificate, ISO 8601, read from the certificate (else the
     * provider's `validityEndTime`); undefined when the provider returned neither, as plain mocks do.
     */
    public readonly notAfter: pulumi.Output<string | undefined>;
    /** End of validity of the root, ISO 8601; undefined as `notAfter` is. */
    public readonly rootNotAfter: pulumi.Output<string | undefined>;

    constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.certificateAuthority, name, {}, opts);
        const check = checked(this, "CertificateAuthority", name);
        const keyAlgorithm = check<KeyAlgorithm>(args.keyAlgorithm ?? DEFAULTS.ca.keyAlgorithm, keyAlgorithmProblems);
        const lifetimes = check(
            together<[number, number | undefined]>(
                args.validityHours ?? DEFAULTS.ca.validityHours,
                args.intermediate ? args.intermediateValidityHours : undefined,
            ),
            ([root, intermediate]) => caLifetimeProblems(root, intermediate),
        );
        const rootValidity = pulumi.output(lifetimes).apply(([root]) => root);
        const subject = (commonName: pulumi.Input<string>) => ({ commonName, organization: args.organization });
        // A component's own dependsOn does not hold back its children (the SDK sends it for the
        // component alone), so each key and certificate carries it: a CA that must wait for
        // something (the rotation ledger's check) creates nothing before it.
        const child: pulumi.CustomResourceOptions = {
            parent: this,
            ...(opts?.dependsOn === undefined ? {} : { dependsOn: opts.dependsOn }),
        };

        const rootKey = newTlsPrivateKey(`${name}-root-key`, keyAlgorithm, child);
        const root = new tls.SelfSignedCert(
            `${name}-root`,
            {
                privateKeyPem: rootKey.privateKeyPem,
                subject: subject(args.commonName),
                isCaCertificate: true,
                setSubjectKeyId: true,
                allowedUses: [...CA_ALLOWED_USES],
                validityPeriodHours: rootValidity,
            },
            child,
        );

        let signing: {
            certPem: pulumi.Output<string>;
            keyPem: pulumi.Output<string>;
            validityEndTime: pulumi.Output<string>;
        };
        if (args.intermediate) {
            const intermediateKey = newTlsPrivateKey(`${name}-intermediate-key`, keyAlgorithm, child);
            const request = new tls.CertRequest(
                `${name}-intermediate-csr`,
                {
                    privateKeyPem: intermediateKey.privateKeyPem,
                    subject: subject(pulumi.interpolate`${args.commonName} intermediate`),
                },
                child,
            );
            const intermediate = new tls.LocallySignedCert(
                `${name}-intermediate`,
                {
                    certRequestPem: request.certRequestPem,
                    caCertPem: root.certPem,
                    caPrivateKeyPem: rootKey.privateKeyPem,
                    isCaCertificate: true,
                    // No path-length constraint: the tls provider reads maxPathLength 0 as "unlimited"
                    // (Go's MaxPathLen 0 without MaxPathLenZero), so pathlen:0 cannot be expressed.
                    setSubjectKeyId: true,
                    allowedUses: [...CA_ALLOWED_USES],
                    validityPeriodHours: pulumi
                        .output(lifetimes)
                        .apply(([root, hours]) => hours ?? defaultIntermediateValidityHours(root)),
                },
                child,
            );
            signing = {
                certPem: intermediate.certPem,
                keyPem: intermediateKey.privateKeyPem,
                validityEndTime: intermediate.validityEndTime,
            };
            this.chainPem = intermediate.certPem;
        } else {
            signing = { certPem: root.certPem, keyPem: rootKey.privateKeyPem, validityEndTime: root.validityEndTime };
            this.chainPem = pulumi.output("");
        }

        this.rootCertPem = root.certPem;
        this.certPem = signing.certPem;
        this.privateKeyPem = pulumi.secret(signing.keyPem);
        this.trustBundlePem = pulumi
            .all([root.certPem, args.additionalTrustedCertPems ?? []])
            .apply(([rootPem, extra]) => joinPemCertificates([rootPem, ...extra]));
        this.notAfter = issuedNotAfter(signing.certPem, signing.validityEndTime);
        this.rootNotAfter = issuedNotAfter(root.certPem, root.validityEndTime);

        // The PEMs are the tls resources' own outputs, already in the state once; registering them
        // again would store every certificate (and the key) twice.
        this.registerOutputs({ notAfter: this.notAfter, rootNotAfter: this.rootNotAfter });
    }
}

/** The end of validity as the certificate says, else as the provider's `validityEndTime` says, else undefined. */
export function issuedNotAfter(
    certPem: pulumi.Input<string>,
    validityEndTime: pulumi.Input<string>,
): pulumi.Output<string | undefined> {
    return pulumi.all([certPem, validityEndTime]).apply(([pem, end]) => readCertificate(pem)?.notAfter ?? isoTime(end));
}
