import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, CertificateIssuer } from "./certificateAuthority";
import { checked } from "./checks";
import { DEFAULTS } from "./defaults";
import { RotationLedger, RotationState, rotationPlan } from "./rotationLedger";
import { KeyAlgorithm, RotationPhase, rotationProblems } from "./rules";
import { joinPemCertificates } from "./x509";
import { COMPONENT_TYPES } from "./types";

export interface RotatingCertificateAuthorityArgs {
    /**
     * Common name of generation 1's root, e.g. `shop dev root CA`. Later generations append
     * ` G<n>`, so a peer's logs say which generation signed a leaf.
     */
    commonName: pulumi.Input<string>;
    /**
     * Organization in the subject of every CA certificate.
     * @default no organization
     */
    organization?: pulumi.Input<string>;
    /**
     * Key algorithm of every generation's root and intermediate.
     * @default "ECDSA-P256"
     */
    keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
    /**
     * Lifetime of each generation's root in hours.
     * @default 43800 (five years)
     */
    validityHours?: pulumi.Input<number>;
    /**
     * Sign leaves from an intermediate under each root. Fixed at construction.
     * @default false
     */
    intermediate?: boolean;
    /**
     * Lifetime of each intermediate in hours.
     * @default half of `validityHours`
     */
    intermediateValidityHours?: pulumi.Input<number>;
    /**
     * The CA generation in use: 1 for a CA that never rotated. A plain number, because it
     * decides which CA resources exist.
     * @default 1
     */
    generation?: number;
    /**
     * The rotation phase to apply, one `pulumi up` each: `introduce` (the next generation exists
     * and is trusted), `switch` (it signs), `retire` (the old one goes). Leave it out when steady.
     * The component's ledger refuses, at preview, a step that would break handshakes.
     * @default steady
     */
    rotation?: RotationPhase;
    /**
     * More certificates for the trust bundle, e.g. another stack's root.
     * @default none
     */
    additionalTrustedCertPems?: pulumi.Input<pulumi.Input<string>[]>;
}

/** One live CA generation and what it does in the current phase. */
export interface CaGeneration {
    generation: number;
    /** `signing` issues leaves now; `trusted` is only in the trust bundle (rotating in or out). */
    role: "signing" | "trusted";
    commonName: pulumi.Output<string>;
    authority: CertificateAuthority;
}

/**
 * A CA that rotates in phases. It owns one `CertificateAuthority` per live generation, the
 * ledger that remembers the last phase applied, the trust bundle that holds every trusted
 * generation, and the issuer of the phase: hand it to `ServiceCertificate` as `issuer`.
 */
export class RotatingCertificateAuthority extends pulumi.ComponentResource implements CertificateIssuer {
    /** The certificate that signs leaves in this phase. */
    public readonly certPem: pulumi.Output<string>;
    /** The signing key. Secret. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** Intermediates of the signing generation; empty without one. */
    public readonly chainPem: pulumi.Output<string>;
    /** Every trusted generation's root (and any additional certificates), one PEM. */
    public readonly trustBundlePem: pulumi.Output<string>;
    /** End of validity of the signing certificate, ISO 8601. */
    public readonly notAfter: pulumi.Output<string | undefined>;
    /** The signing generation's root certificate. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** End of validity of the signing generation's root, ISO 8601. */
    public readonly rootNotAfter: pulumi.Output<string | undefined>;
    /** Common name of the signing generation's root. */
    public readonly commonName: pulumi.Output<string>;
    /** The state applied: generation and phase. */
    public readonly rotation: RotationState;
    /** The generation that signs leaves in this phase. */
    public readonly signingGeneration: number;
    /** The live generations, oldest first. */
    public readonly generations: readonly CaGeneration[];

    constructor(name: string, args: RotatingCertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.rotatingCertificateAuthority, name, {}, opts);
        const check = checked(this, "RotatingCertificateAuthority", name);
        const rotation: RotationState = {
            generation: check<number>(args.generation ?? 1, (g) => rotationProblems(g, args.rotation)) as number,
            phase: args.rotation ?? "steady",
        };
        this.rotation = rotation;
        const plan = rotationPlan(rotation);
        // Stacks made before this component held the ledger and the CAs at the top level:
        // the alias keeps their URNs, so upgrading replaces nothing.
        const moved = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
        const ledger = new RotationLedger(`${name}-rotation`, rotation, moved);
        this.generations = plan.live.map((generation) => {
            const commonName = pulumi.output(args.commonName).apply((base) => generationCommonName(base, generation));
            const authority = new CertificateAuthority(
                generationResourceName(name, generation),
                {
                    commonName,
                    organization: args.organization,
                    keyAlgorithm: args.keyAlgorithm ?? DEFAULTS.ca.keyAlgorithm,
                    validityHours: args.validityHours ?? DEFAULTS.ca.validityHours,
                    intermediate: args.intermediate,
                    intermediateValidityHours: args.intermediateValidityHours,
                },
                { ...moved, dependsOn: [ledger] },
            );
            return { generation, role: generation === plan.signing ? "signing" : "trusted", commonName, authority };
        });
        const signing = this.generations.find((g) => g.role === "signing") as CaGeneration;
        this.signingGeneration = signing.generation;
        const trusted = this.generations.filter((g) => plan.trusted.includes(g.generation));

        this.certPem = signing.authority.certPem;
        this.privateKeyPem = signing.authority.privateKeyPem;
        this.chainPem = signing.authority.chainPem;
        this.notAfter = signing.authority.notAfter;
        this.rootCertPem = signing.authority.rootCertPem;
        this.rootNotAfter = signing.authority.rootNotAfter;
        this.commonName = signing.commonName;
        this.trustBundlePem = pulumi
            .all([pulumi.all(trusted.map((g) => g.authority.rootCertPem)), args.additionalTrustedCertPems ?? []])
            .apply(([roots, extra]) => joinPemCertificates([...roots, ...extra]));

        // The PEMs stay the generations' own: registered here they would be stored twice.
        this.registerOutputs({ notAfter: this.notAfter, rootNotAfter: this.rootNotAfter, commonName: this.commonName });
    }
}

/** Resource name of a CA generation: generation 1 keeps the plain name, so a CA that never rotated keeps its URNs. */
export function generationResourceName(name: string, generation: number): string {
    return generation === 1 ? name : `${name}-g${generation}`;
}

/** Common name of a CA generation: the configured name, suffixed from generation 2 on. */
export function generationCommonName(base: string, generation: number): string {
    return generation === 1 ? base : `${base} G${generation}`;
}
