/**
 * Resource policies for the tls provider: leaf lifetimes, key strength, and CA-only key usages.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, isKnown, list, plainProperties, record, shown } from "./resources";

export const TLS_TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

const CERTIFICATE_TYPES: string[] = [TLS_TYPES.selfSignedCert, TLS_TYPES.locallySignedCert];

/** 90 days: what the project issues its leaves for, and what public CAs allow at most. */
export const DEFAULT_MAX_LEAF_VALIDITY_HOURS = 2160;

/** Key usages that let a certificate's key sign other certificates or revocation lists. */
export const CA_USAGES = ["cert_signing", "crl_signing"] as const;

export const MIN_RSA_BITS = 2048;

function shortType(type: string): string {
    return type.split(":").pop() ?? type;
}

function certificateValidation(check: (props: Record<string, any>, args: ResourceValidationArgs) => string[]) {
    return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
        if (!CERTIFICATE_TYPES.includes(args.type)) return;
        for (const message of check(record(plainProperties(args.props)), args)) reportViolation(message);
    };
}

const days = (hours: number) => `${Math.round((hours / 24) * 10) / 10} days`;

export interface LeafValidityConfig {
    /** Longest validityPeriodHours a leaf certificate may have. */
    maxValidityHours?: number;
}

export const leafCertificateMaxValidity: ResourceValidationPolicy = {
    name: "leaf-certificate-max-validity",
    description:
        "A tls SelfSignedCert or LocallySignedCert that is not a CA is valid for at most maxValidityHours (default 2160, 90 days).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: {
        properties: {
            maxValidityHours: {
                type: "integer",
                minimum: 1,
                default: DEFAULT_MAX_LEAF_VALIDITY_HOURS,
                description: "Longest validityPeriodHours a leaf certificate may have.",
            },
        },
    },
    validateResource: certificateValidation((props, args) => {
        if (props.isCaCertificate === true || props.isCaCertificate === UNKNOWN) return [];
        const hours = props.validityPeriodHours;
        const max = args.getConfig<LeafValidityConfig>().maxValidityHours ?? DEFAULT_MAX_LEAF_VALIDITY_HOURS;
        if (typeof hours !== "number" || hours <= max) return [];
        return [
            `${shortType(args.type)} validityPeriodHours is ${hours} (${days(hours)}) on a leaf certificate; at most ${max} ` +
                `(${days(max)}) is allowed. Issue it for ${max} hours or less and renew before it ends (earlyRenewalHours, or ` +
                "ServiceCertificate's renewBeforeHours), or raise maxValidityHours in this policy's config.",
        ];
    }),
};

export const privateKeyStrength: ResourceValidationPolicy = {
    name: "private-key-strength",
    description: `A tls PrivateKey is not RSA under ${MIN_RSA_BITS} bits and not ECDSA P224 (the provider's default curve when ecdsaCurve is unset).`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, reportViolation) => {
        if (args.type !== TLS_TYPES.privateKey) return;
        const props = record(plainProperties(args.props));
        if (props.algorithm === "RSA") {
            // The provider's default is 2048 bits.
            const bits = props.rsaBits ?? MIN_RSA_BITS;
            if (typeof bits === "number" && bits < MIN_RSA_BITS) {
                reportViolation(
                    `PrivateKey rsaBits is ${bits}; RSA keys need at least ${MIN_RSA_BITS} bits: set rsaBits: ${MIN_RSA_BITS} or more (3072 for use beyond 2030), or use ECDSA P256.`,
                );
            }
        }
        if (props.algorithm === "ECDSA") {
            const curve = props.ecdsaCurve;
            if (curve === undefined || curve === null || curve === "P224") {
                const which =
                    curve === "P224"
                        ? "ecdsaCurve is P224"
                        : "ecdsaCurve is unset, and the tls provider then makes a P224 key";
                reportViolation(
                    `PrivateKey ${which}, a curve too weak for new keys and refused by most TLS stacks; set ecdsaCurve: "P256" (or "P384").`,
                );
            }
        }
    },
};

export const caUsagesOnlyOnCa: ResourceValidationPolicy = {
    name: "ca-usages-only-on-ca",
    description: `allowedUses ${CA_USAGES.join(" and ")} appear only on certificates with isCaCertificate: true.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: certificateValidation((props, args) => {
        if (props.isCaCertificate === true || props.isCaCertificate === UNKNOWN) return [];
        const uses = list(props.allowedUses).filter(isKnown);
        const caUses = CA_USAGES.filter((use) => uses.includes(use));
        if (caUses.length === 0) return [];
        return [
            `${shortType(args.type)} allowedUses has ${caUses.join(" and ")} but isCaCertificate is ${shown(props.isCaCertificate)}: ` +
                "only a CA signs certificates and revocation lists. Remove them from a leaf's allowedUses " +
                "(a leaf needs digital_signature plus server_auth and/or client_auth), or set isCaCertificate: true if this is a CA.",
        ];
    }),
};

export const tlsPolicies: ResourceValidationPolicy[] = [
    leafCertificateMaxValidity,
    privateKeyStrength,
    caUsagesOnlyOnCa,
];
