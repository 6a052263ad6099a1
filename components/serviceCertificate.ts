import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CertificateIssuer, issuedNotAfter } from "./certificateAuthority";
import { DEFAULTS } from "./defaults";
import type { PeerIdentity } from "./identity";
import { checked, together } from "./checks";
import {
    KeyAlgorithm,
    Usage,
    certificateLifetimeProblems,
    keyAlgorithmProblems,
    leafAllowedUses,
    serviceDnsNames,
    spiffeId,
    uniqueInOrder,
    usageProblems,
} from "./rules";
import { RenewalClock, daysUntil } from "./renewalClock";
import type { RenewalSchedule } from "./renewalSchedule";
import { newTlsPrivateKey } from "./tlsKey";
import { joinPemCertificates, readCertificate } from "./x509";
import { PartScope, ownScope, partOptions } from "./scope";
import { COMPONENT_TYPES } from "./types";

/** The names a service certificate carries beyond its service name, whoever issues it. */
export interface CertificateNamesArgs {
    /**
     * SPIFFE trust domain; when set, the certificate carries
     * `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccountName>` as a URI SAN.
     * @default no URI SAN
     */
    trustDomain?: pulumi.Input<string>;
    /**
     * Service account in the SPIFFE ID.
     * @default the service name
     */
    serviceAccountName?: pulumi.Input<string>;
    /**
     * Cluster DNS domain of the derived names.
     * @default "cluster.local"
     */
    clusterDomain?: pulumi.Input<string>;
    /**
     * DNS names beyond the derived `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<clusterDomain>`.
     * @default none
     */
    dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * IP address SANs.
     * @default none
     */
    ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The DNS names (the Service's own, then the extra ones) and the SPIFFE URI a service's
 * certificate carries: the same for `ServiceCertificate` and `CertManagerCertificate`.
 */
export function certificateNames(
    args: CertificateNamesArgs & { serviceName: pulumi.Input<string>; namespace: pulumi.Input<string> },
) {
    const dnsNames = pulumi
        .all([args.serviceName, args.namespace, args.clusterDomain, args.dnsNames ?? []])
        .apply(([service, namespace, clusterDomain, extra]) =>
            uniqueInOrder(serviceDnsNames(service, namespace, clusterDomain), extra),
        );
    const uris = pulumi
        .all([args.trustDomain, args.namespace, args.serviceAccountName ?? args.serviceName])
        .apply(([trustDomain, namespace, account]) => (trustDomain ? [spiffeId(trustDomain, namespace, account)] : []));
    return { dnsNames, uris };
}

export interface ServiceCertificateArgs extends CertificateNamesArgs {
    /** The CA that signs this certificate. */
    issuer: CertificateIssuer;
    /** The service's name: the certificate's common name and the first DNS name. */
    serviceName: pulumi.Input<string>;
    /** The service's Kubernetes namespace, used in the derived DNS names and SPIFFE ID. */
    namespace: pulumi.Input<string>;
    /**
     * `server` (server_auth), `client` (client_auth) or `both`.
     * @default "both"
     */
    usage?: pulumi.Input<Usage>;
    /**
     * Key algorithm of the service's key.
     * @default "ECDSA-P256"
     */
    keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
    /**
     * Certificate lifetime in hours.
     * @default 2160 (90 days)
     */
    validityHours?: pulumi.Input<number>;
    /**
     * How long before expiry the certificate is due for renewal.
     * @default 720 (30 days)
     */
    renewBeforeHours?: pulumi.Input<number>;
    /**
     * Organization in the subject.
     * @default no organization
     */
    organization?: pulumi.Input<string>;
    /**
     * Any change of this value issues a new key and certificate (Pulumi's replacement trigger).
     * @default never forced
     */
    rotationTrigger?: pulumi.Input<string>;
    /**
     * Reissue key and certificate on the first `pulumi up` inside the renew window
     * (`notAfter - renewBeforeHours`), with no `--refresh`, through a `RenewalClock`.
     * Fixed at construction.
     * @default true
     */
    autoRenew?: boolean;
    /**
     * A stack-wide `RenewalSchedule` that keeps this certificate's renewal (under this
     * component's name, with the same `validityHours` and `renewBeforeHours`) instead of a
     * `RenewalClock` of its own: the same renewal at preview, one resource for all the stack's
     * certificates. Fixed at construction; ignored with `autoRenew: false`.
     * @default a RenewalClock of its own
     */
    renewal?: RenewalSchedule;
}

/** What a service certificate hands back, as `ServiceCertificate` and `MtlsService` both hold it. */
export interface ServiceCertificateParts {
    /** The leaf certificate alone. */
    readonly certPem: pulumi.Output<string>;
    /** The leaf followed by any intermediate: what the service presents. */
    readonly chainPem: pulumi.Output<string>;
    /** The CA certificates the service trusts its peers by. */
    readonly caBundlePem: pulumi.Output<string>;
    /** The service's private key. Secret. */
    readonly privateKeyPem: pulumi.Output<string>;
    /** Common name of the certificate. */
    readonly commonName: pulumi.Output<string>;
    /*
     * The fields below are read from the issued certificate. When the provider returned no
     * readable certificate (plain Pulumi mocks echo the inputs, which hold no `certPem`), they fall
     * back to the provider's own outputs where it has them (`validityEndTime`, the request's SANs)
     * and are otherwise undefined; they never fail the program.
     */
    /** End of validity, ISO 8601. */
    readonly notAfter: pulumi.Output<string | undefined>;
    /** When the certificate enters its renew window, ISO 8601; undefined without `notAfter`. */
    readonly renewAt: pulumi.Output<string | undefined>;
    /** SHA-256 of the certificate, lower-case hex; undefined without a readable certificate. */
    readonly fingerprintSha256: pulumi.Output<string | undefined>;
    /** DNS SANs as issued (else as the certificate request holds them). */
    readonly dnsNames: pulumi.Output<string[] | undefined>;
    /** URI SANs as issued (else as the certificate request holds them). */
    readonly uris: pulumi.Output<string[] | undefined>;
    /** Whole days until `notAfter`, as of this run's clock; undefined without `notAfter`. */
    readonly daysLeft: pulumi.Output<number | undefined>;
    /** Who holds this certificate, as peers see it: give it to a server's `allowFrom`. */
    readonly identity: PeerIdentity;
    /** Why the current certificate was issued (`first issue`, `inside renew window: 12 days left`, ...); empty without autoRenew. */
    readonly issueReason: pulumi.Output<string>;
}

/**
 * Declares a service's key, request, certificate and renewal under `scope`: the body of
 * `ServiceCertificate`, shared with `MtlsService`. Also returns the names as requested (known
 * before anything is issued), which the owning component registers as its outputs.
 * @internal
 */
export function declareServiceCertificate(
    scope: PartScope,
    name: string,
    args: ServiceCertificateArgs,
): ServiceCertificateParts & { requested: { dnsNames: pulumi.Output<string[]>; uris: pulumi.Output<string[]> } } {
    // Checked before any child exists when the values are plain, and before any child gets them when they are Outputs.
    const check = checked(scope.owner, "ServiceCertificate", name);
    const keyAlgorithm = check<KeyAlgorithm>(
        args.keyAlgorithm ?? DEFAULTS.certificate.keyAlgorithm,
        keyAlgorithmProblems,
    );
    const usage = check<Usage>(args.usage ?? DEFAULTS.certificate.usage, usageProblems);
    const lifetime = check(
        together<[number, number]>(
            args.validityHours ?? DEFAULTS.certificate.validityHours,
            args.renewBeforeHours ?? DEFAULTS.certificate.renewBeforeHours,
        ),
        ([validity, renewBefore]) => certificateLifetimeProblems(validity, renewBefore),
    );
    const validityHours = pulumi.output(lifetime).apply(([validity]) => validity);
    const renewBeforeHours = pulumi.output(lifetime).apply(([, renewBefore]) => renewBefore);
    const clock =
        args.autoRenew === false
            ? undefined
            : args.renewal
              ? scheduledClock(scope.owner, name, args.renewal, lifetime)
              : new RenewalClock(
                    `${name}-renewal`,
                    {
                        subject: args.serviceName,
                        validityHours,
                        renewBeforeHours,
                        issuerNotAfter: args.issuer.notAfter,
                    },
                    partOptions(scope),
                );
    // The key, request and certificate are replaced whenever the clock issues anew: one renewal, one new key.
    const triggers = [
        ...(clock ? [clock.issuedAt] : []),
        ...(args.rotationTrigger === undefined ? [] : [args.rotationTrigger]),
    ];
    const rotation: pulumi.CustomResourceOptions = triggers.length ? { replacementTrigger: pulumi.all(triggers) } : {};

    const { dnsNames, uris } = certificateNames(args);

    const key = newTlsPrivateKey(`${name}-key`, keyAlgorithm, partOptions(scope, rotation));
    const request = new tls.CertRequest(
        `${name}-csr`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: args.serviceName, organization: args.organization },
            dnsNames,
            uris,
            ipAddresses: args.ipAddresses ?? [],
        },
        partOptions(scope, rotation),
    );
    const cert = new tls.LocallySignedCert(
        `${name}-cert`,
        {
            certRequestPem: request.certRequestPem,
            caCertPem: args.issuer.certPem,
            caPrivateKeyPem: args.issuer.privateKeyPem,
            isCaCertificate: false,
            setSubjectKeyId: true,
            allowedUses: pulumi.all([usage, keyAlgorithm]).apply(([u, algorithm]) => leafAllowedUses(u, algorithm)),
            validityPeriodHours: validityHours,
            earlyRenewalHours: renewBeforeHours,
        },
        partOptions(scope, rotation),
    );

    const summary = cert.certPem.apply((pem) => readCertificate(pem));
    const certPem = cert.certPem;
    const chainPem = pulumi
        .all([cert.certPem, args.issuer.chainPem])
        .apply(([leaf, chain]) => joinPemCertificates([leaf, chain]));
    const caBundlePem = pulumi.output(args.issuer.trustBundlePem);
    const privateKeyPem = pulumi.secret(key.privateKeyPem);
    const commonName = pulumi
        .all([summary, request.subject, args.serviceName])
        .apply(([issued, asked, service]) => issued?.commonName ?? asked?.commonName ?? service);
    const notAfter = issuedNotAfter(cert.certPem, cert.validityEndTime);
    const renewAt = pulumi
        .all([notAfter, renewBeforeHours])
        .apply(([end, hours]) =>
            end === undefined ? undefined : new Date(Date.parse(end) - hours * 3_600_000).toISOString(),
        );
    const fingerprintSha256 = summary.apply((issued) => issued?.fingerprintSha256);
    const issuedDnsNames = pulumi
        .all([summary, request.dnsNames])
        .apply(([issued, asked]) => issued?.dnsNames ?? asked);
    const issuedUris = pulumi.all([summary, request.uris]).apply(([issued, asked]) => issued?.uris ?? asked);
    const daysLeft = notAfter.apply((end) => (end === undefined ? undefined : daysUntil(end)));
    const issueReason = clock ? clock.reason : pulumi.output("");
    const identity = { commonName: args.serviceName, spiffeId: uris.apply((u) => u[0]) };

    return {
        certPem,
        chainPem,
        caBundlePem,
        privateKeyPem,
        commonName,
        notAfter,
        renewAt,
        fingerprintSha256,
        dnsNames: issuedDnsNames,
        uris: issuedUris,
        daysLeft,
        identity,
        issueReason,
        requested: { dnsNames, uris },
    };
}

/** A service's key and a certificate for it, signed by the given issuer. */
export class ServiceCertificate extends pulumi.ComponentResource implements ServiceCertificateParts {
    // Each field is documented on ServiceCertificateParts.
    declare public readonly certPem: pulumi.Output<string>;
    declare public readonly chainPem: pulumi.Output<string>;
    declare public readonly caBundlePem: pulumi.Output<string>;
    declare public readonly privateKeyPem: pulumi.Output<string>;
    declare public readonly commonName: pulumi.Output<string>;
    declare public readonly notAfter: pulumi.Output<string | undefined>;
    declare public readonly renewAt: pulumi.Output<string | undefined>;
    declare public readonly fingerprintSha256: pulumi.Output<string | undefined>;
    declare public readonly dnsNames: pulumi.Output<string[] | undefined>;
    declare public readonly uris: pulumi.Output<string[] | undefined>;
    declare public readonly daysLeft: pulumi.Output<number | undefined>;
    declare public readonly identity: PeerIdentity;
    declare public readonly issueReason: pulumi.Output<string>;

    constructor(name: string, args: ServiceCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.serviceCertificate, name, {}, opts);
        const { requested, ...parts } = declareServiceCertificate(ownScope(this), name, args);
        Object.assign(this, parts);
        const { dnsNames, uris } = requested;
        // The certificate, chain, bundle and key are the tls resources' and the CA's own outputs,
        // in the state once; the component registers what it reads from them.
        // Only what is known before the children exist: the engine rewrites the whole state when a
        // component's outputs resolve, and outputs that wait for the certificate make that write
        // come at the end of the run, when the state is largest (bench: 22% of a first up's
        // checkpoint bytes at N=50). The issued values stay on the class and in the stack outputs.
        this.registerOutputs({ serviceName: args.serviceName, dnsNames, uris });
    }
}

/** Why a schedule's entry does not fit a certificate's lifetime; undefined when it does (or is not known yet). */
export function scheduleEntryProblem(
    entry: { validityHours?: number; renewBeforeHours?: number } | undefined,
    validityHours: number,
    renewBeforeHours: number,
): string | undefined {
    if (entry === undefined) return undefined;
    if (entry.validityHours === validityHours && entry.renewBeforeHours === renewBeforeHours) return undefined;
    return `the schedule's entry asks for ${entry.validityHours} h renewed ${entry.renewBeforeHours} h before the end, the certificate for ${validityHours} h and ${renewBeforeHours} h; give both the same values`;
}

/**
 * A certificate's entry in a stack-wide schedule, read the way its own clock would be. The
 * entry must ask for the certificate's own lifetime: a schedule that disagrees is refused.
 */
function scheduledClock(
    owner: pulumi.Resource,
    name: string,
    schedule: RenewalSchedule,
    lifetime: pulumi.Input<[number, number]>,
): { issuedAt: pulumi.Output<string>; reason: pulumi.Output<string> } {
    if (!schedule.keys.includes(name))
        throw new pulumi.ResourceError(
            `ServiceCertificate "${name}": renewal: the RenewalSchedule keeps no entry "${name}"; add { validityHours, renewBeforeHours } under that key to its certificates`,
            owner,
        );
    const entry = pulumi.all([schedule.entry(name), lifetime]).apply(([scheduled, [validity, renewBefore]]) => {
        const problem = scheduleEntryProblem(scheduled, validity, renewBefore);
        if (problem) throw new pulumi.ResourceError(`ServiceCertificate "${name}": renewal: ${problem}`, owner);
        return scheduled;
    });
    return {
        issuedAt: entry.apply((e) => e?.issuedAt as string),
        reason: entry.apply((e) => e?.reason ?? ""),
    };
}
