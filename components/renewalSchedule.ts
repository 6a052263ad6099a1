import * as pulumi from "@pulumi/pulumi";
import { decideRenewal, readClock } from "./renewalClock";

/**
 * One renewal clock for many certificates: the same decision as `RenewalClock` (renewal on a
 * plain `pulumi up`, no `--refresh`), kept for every certificate of a stack in one dynamic
 * resource instead of one each. Each certificate reads its own entry's `issuedAt` as its
 * replacement trigger, so a renewal replaces exactly the certificates whose entry moved, while
 * the stack's state holds one resource (and one serialized provider) for all of them.
 */

/** What a certificate asks of the schedule. */
export interface ScheduleEntry {
    /** Lifetime of the certificate in hours. */
    validityHours: number;
    /** How long before expiry the certificate is reissued. */
    renewBeforeHours: number;
}

/** An entry as `check` leaves it: the request plus when and why the current certificate was issued. */
export interface ScheduledEntry extends ScheduleEntry {
    issuedAt: string;
    renewAt: string;
    reason: string;
}

export interface ScheduleInputs {
    /** The signing CA's end of validity: a certificate issued now must not outlive it. */
    issuerNotAfter?: string;
    certificates: Record<string, ScheduleEntry | ScheduledEntry>;
}

/**
 * Decides every entry, from the previous inputs (if any) and the new ones. Pure: the time comes
 * in as `now`. A failure names the entry's field.
 */
export function decideSchedule(
    olds: Partial<ScheduleInputs> | undefined,
    news: ScheduleInputs,
    now: Date,
): { certificates: Record<string, ScheduledEntry>; failures: { property: string; reason: string }[] } {
    const certificates: Record<string, ScheduledEntry> = {};
    const failures: { property: string; reason: string }[] = [];
    for (const [key, entry] of Object.entries(news.certificates ?? {})) {
        const old = olds?.certificates?.[key] as Partial<ScheduledEntry> | undefined;
        const decision = decideRenewal(
            old,
            {
                subject: key,
                validityHours: entry.validityHours,
                renewBeforeHours: entry.renewBeforeHours,
                issuerNotAfter: news.issuerNotAfter,
            },
            now,
        );
        certificates[key] = {
            validityHours: entry.validityHours,
            renewBeforeHours: entry.renewBeforeHours,
            issuedAt: decision.issuedAt,
            renewAt: decision.renewAt,
            reason: decision.reason,
        };
        if (decision.failure)
            failures.push({
                property: `certificates.${key}.${decision.failure.property}`,
                reason: decision.failure.reason,
            });
    }
    return { certificates, failures };
}

/** Whether the schedule changes: an entry was issued anew, added or removed. A moved CA end alone is no change. */
export function scheduleChanged(olds: Partial<ScheduleInputs>, news: Partial<ScheduleInputs>): boolean {
    const before = (olds.certificates ?? {}) as Record<string, Partial<ScheduledEntry>>;
    const after = (news.certificates ?? {}) as Record<string, Partial<ScheduledEntry>>;
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) if (before[key]?.issuedAt !== after[key]?.issuedAt) return true;
    return false;
}

const scheduleProvider: pulumi.dynamic.ResourceProvider = {
    check(olds: any, news: any) {
        const decided = decideSchedule(olds, news, readClock());
        return Promise.resolve({ inputs: { ...news, certificates: decided.certificates }, failures: decided.failures });
    },
    diff(_id: string, olds: any, news: any) {
        return Promise.resolve({ changes: scheduleChanged(olds, news) });
    },
    create(inputs: any) {
        return Promise.resolve({ id: "renewal-schedule", outs: inputs });
    },
    update(_id: string, _olds: any, news: any) {
        return Promise.resolve({ outs: news });
    },
};

export interface RenewalScheduleArgs {
    /**
     * The certificates it keeps, by key (a `ServiceCertificate` looks up its own resource name):
     * lifetime and renew window in hours. The keys are plain strings, fixed when the program runs.
     */
    certificates: Record<string, { validityHours: pulumi.Input<number>; renewBeforeHours: pulumi.Input<number> }>;
    /**
     * End of validity of the signing CA; a renewal that would outlive it is refused.
     * @default no limit
     */
    issuerNotAfter?: pulumi.Input<string | undefined>;
}

/** When each of a stack's certificates was issued; an entry's `issuedAt` moves when its certificate is due. */
export class RenewalSchedule extends pulumi.dynamic.Resource {
    declare public readonly certificates: pulumi.Output<Record<string, ScheduledEntry>>;
    /** The keys it keeps, known when the program runs. */
    public readonly keys: readonly string[];

    constructor(name: string, args: RenewalScheduleArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            scheduleProvider,
            name,
            { issuerNotAfter: args.issuerNotAfter, certificates: args.certificates },
            opts,
            "mtls",
            "RenewalSchedule",
        );
        this.keys = Object.keys(args.certificates);
    }

    /** One certificate's entry; throws, naming the key, when the schedule does not keep it. */
    public entry(key: string): pulumi.Output<ScheduledEntry> {
        if (!this.keys.includes(key))
            throw new Error(
                `RenewalSchedule has no entry "${key}": add it to the schedule's certificates (it keeps ${this.keys.join(", ") || "none"})`,
            );
        return this.certificates.apply((all) => all?.[key]);
    }
}

/**
 * The provider, exported for tests that drive `check` and `diff` as the engine would.
 * @internal
 */
export const renewalScheduleProvider = scheduleProvider;
