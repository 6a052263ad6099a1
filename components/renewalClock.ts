import * as pulumi from "@pulumi/pulumi";

/**
 * Renewal that happens on a plain `pulumi up`, with no `--refresh`: a small
 * dynamic resource records when its certificate was issued, and its `check`
 * (run at every preview and update) decides whether the certificate is inside
 * its renew window. When it is, `issuedAt` moves to now and the clock is
 * updated in place (an update keeps the reason; a replacement would re-run
 * `check` without the old inputs and lose it). The key, request and certificate
 * carry `issuedAt` as their replacement trigger, so they are replaced with it.
 *
 * The clock is read in one place, `readClock`: `MTLS_NOW` (ISO 8601) when set,
 * for tests, else the system time. The engine passes its environment to the
 * dynamic provider's process, so one variable moves the whole run.
 */

export interface RenewalInputs {
    /** Whose certificate this is, for messages. */
    subject: string;
    validityHours: number;
    renewBeforeHours: number;
    /** The signing CA's end of validity: a leaf issued now must not outlive it. */
    issuerNotAfter?: string;
    /** Set by `check`: when the current certificate was issued. */
    issuedAt?: string;
    /** Set by `check`: when the current certificate enters its renew window. */
    renewAt?: string;
    /** Set by `check`: why the current certificate was issued. */
    reason?: string;
}

export interface RenewalDecision {
    issuedAt: string;
    renewAt: string;
    reason: string;
    /** Whether this run issues a new certificate. */
    renew: boolean;
    /** A problem that must stop the run, naming the field. */
    failure?: { property: string; reason: string };
}

const HOUR = 3_600_000;

/** The current time, from `MTLS_NOW` when set (tests), else the system clock. */
export function readClock(env: Record<string, string | undefined> = process.env): Date {
    const fixed = env.MTLS_NOW;
    if (fixed === undefined || fixed === "") return new Date();
    const parsed = Date.parse(fixed);
    if (Number.isNaN(parsed))
        throw new Error(`MTLS_NOW=${JSON.stringify(fixed)} is not an ISO 8601 time, e.g. 2027-01-31T12:00:00Z`);
    return new Date(parsed);
}

/** Whole days from this run's clock until `iso` (negative once it has passed). */
export function daysUntil(iso: string, now: Date = readClock()): number {
    return Math.floor((Date.parse(iso) - now.getTime()) / 86_400_000);
}

/**
 * Decides, from the previous inputs (if any) and the new ones, whether the
 * certificate is issued now. Pure: the time comes in as `now`.
 */
export function decideRenewal(
    olds: Partial<RenewalInputs> | undefined,
    news: RenewalInputs,
    now: Date,
): RenewalDecision {
    const days = (ms: number) => Math.floor(ms / (24 * HOUR));
    const issueNow = (reason: string): RenewalDecision => ({
        issuedAt: now.toISOString(),
        renewAt: new Date(now.getTime() + (news.validityHours - news.renewBeforeHours) * HOUR).toISOString(),
        reason,
        renew: true,
    });
    let decision: RenewalDecision;
    if (!olds?.issuedAt) {
        decision = issueNow("first issue");
    } else {
        const issuedAt = Date.parse(olds.issuedAt);
        const renewAt = issuedAt + (news.validityHours - news.renewBeforeHours) * HOUR;
        const notAfter = issuedAt + news.validityHours * HOUR;
        if (olds.validityHours !== undefined && olds.validityHours !== news.validityHours) {
            decision = issueNow(`validity changed from ${olds.validityHours} to ${news.validityHours} hours`);
        } else if (now.getTime() >= notAfter) {
            decision = issueNow(`expired ${days(now.getTime() - notAfter)} days ago`);
        } else if (now.getTime() >= renewAt) {
            decision = issueNow(`inside renew window: ${days(notAfter - now.getTime())} days left`);
        } else {
            decision = {
                issuedAt: olds.issuedAt,
                renewAt: new Date(renewAt).toISOString(),
                reason: olds.reason ?? "first issue",
                renew: false,
            };
        }
    }
    if (decision.renew && news.issuerNotAfter) {
        const leafEnd = now.getTime() + news.validityHours * HOUR;
        if (leafEnd > Date.parse(news.issuerNotAfter)) {
            decision.failure = {
                property: "validityHours",
                reason: `${news.subject}: a certificate issued now for ${news.validityHours} hours would end ${new Date(leafEnd).toISOString()}, after its CA (${news.issuerNotAfter}); rotate the CA (mtls:ca.rotation) or lower validityHours`,
            };
        }
    }
    return decision;
}

const renewalProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: any, news: any) {
        const decision = decideRenewal(olds, news, readClock());
        const inputs = { ...news, issuedAt: decision.issuedAt, renewAt: decision.renewAt, reason: decision.reason };
        return { inputs, failures: decision.failure ? [decision.failure] : [] };
    },
    async diff(_id: string, olds: any, news: any) {
        // Only a new issue is a change. A moved CA end or renew window alone leaves the clock as it is,
        // so a preview never shows a key replacement that the update would not make.
        return { changes: olds.issuedAt !== news.issuedAt };
    },
    async create(inputs: any) {
        return { id: `${inputs.subject}@${inputs.issuedAt}`, outs: inputs };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
};

export interface RenewalClockArgs {
    /** Whose certificate this is, for messages. */
    subject: pulumi.Input<string>;
    /** Lifetime of the certificate in hours. */
    validityHours: pulumi.Input<number>;
    /** How long before expiry the certificate is reissued. */
    renewBeforeHours: pulumi.Input<number>;
    /**
     * End of validity of the signing CA; a renewal that would outlive it is refused.
     * @default no limit
     */
    issuerNotAfter?: pulumi.Input<string | undefined>;
}

/** Remembers when a certificate was issued; its `issuedAt` moves when the certificate is due for renewal. */
export class RenewalClock extends pulumi.dynamic.Resource {
    declare public readonly issuedAt: pulumi.Output<string>;
    declare public readonly renewAt: pulumi.Output<string>;
    declare public readonly reason: pulumi.Output<string>;

    constructor(name: string, args: RenewalClockArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            renewalProvider,
            name,
            { ...args, issuedAt: undefined, renewAt: undefined, reason: undefined },
            opts,
            "mtls",
            "RenewalClock",
        );
    }
}

/**
 * The provider, exported for tests that drive `check` and `diff` as the engine would.
 * @internal
 */
export const renewalClockProvider = renewalProvider;
