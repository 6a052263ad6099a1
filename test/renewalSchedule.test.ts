import { describe, expect, it } from "vitest";
import {
    ScheduleInputs,
    decideSchedule,
    renewalScheduleProvider,
    scheduleChanged,
} from "../components/renewalSchedule";

const HOUR = 3_600_000;
const t0 = new Date("2027-01-01T00:00:00Z");
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);
// Two certificates with different windows: "short" is due at 70 h, "long" at 170 h.
const asked: ScheduleInputs = {
    certificates: {
        short: { validityHours: 100, renewBeforeHours: 30 },
        long: { validityHours: 200, renewBeforeHours: 30 },
    },
};

async function run(olds: any, news: ScheduleInputs, now: Date) {
    process.env.MTLS_NOW = now.toISOString();
    try {
        const checked = await renewalScheduleProvider.check!(olds ?? {}, news);
        const diff = olds ? await renewalScheduleProvider.diff!("id", olds, checked.inputs) : { changes: true };
        return { inputs: checked.inputs, failures: checked.failures, diff };
    } finally {
        delete process.env.MTLS_NOW;
    }
}

describe("decideSchedule", () => {
    it("issues every entry on the first run, each with its own renew window", () => {
        const first = decideSchedule(undefined, asked, t0);
        expect(first.failures).toEqual([]);
        expect(first.certificates.short).toMatchObject({
            issuedAt: t0.toISOString(),
            renewAt: at(70).toISOString(),
            reason: "first issue",
        });
        expect(first.certificates.long.renewAt).toBe(at(170).toISOString());
    });

    it("moves only the entry that is due", () => {
        const first = decideSchedule(undefined, asked, t0);
        const later = decideSchedule({ ...asked, certificates: first.certificates }, asked, at(80));
        expect(later.certificates.short.issuedAt).toBe(at(80).toISOString());
        expect(later.certificates.short.reason).toBe("inside renew window: 0 days left");
        expect(later.certificates.long).toEqual(first.certificates.long);
    });

    it("issues an entry anew when its lifetime changes, and a new entry on its own", () => {
        const first = decideSchedule(undefined, asked, t0);
        const news: ScheduleInputs = {
            certificates: {
                short: { validityHours: 120, renewBeforeHours: 30 },
                long: asked.certificates.long,
                added: { validityHours: 100, renewBeforeHours: 30 },
            },
        };
        const next = decideSchedule({ certificates: first.certificates }, news, at(1));
        expect(next.certificates.short.reason).toBe("validity changed from 100 to 120 hours");
        expect(next.certificates.added).toMatchObject({ issuedAt: at(1).toISOString(), reason: "first issue" });
        expect(next.certificates.long.issuedAt).toBe(t0.toISOString());
    });

    it("refuses a renewal past the CA's end, naming the entry's field", () => {
        const first = decideSchedule(undefined, { ...asked, issuerNotAfter: at(150).toISOString() }, t0);
        expect(first.failures).toHaveLength(1);
        expect(first.failures[0].property).toBe("certificates.long.validityHours");
        expect(first.failures[0].reason).toMatch(/^long: a certificate issued now for 200 hours would end/);
    });
});

describe("RenewalSchedule as the engine drives it (check, then diff)", () => {
    it("changes on the first run inside a window and on no other", async () => {
        const first = await run(undefined, asked, t0);
        const outside = await run(first.inputs, asked, at(50));
        expect(outside.diff.changes).toBe(false);
        const inside = await run(outside.inputs, asked, at(80));
        expect(inside.diff.changes).toBe(true);
        expect(inside.inputs.certificates.short.issuedAt).toBe(at(80).toISOString());
        expect(inside.inputs.certificates.long.issuedAt).toBe(t0.toISOString());
        const after = await run(inside.inputs, asked, at(81));
        expect(after.diff.changes).toBe(false);
    });

    it("leaves the schedule alone when only the CA's end moves, and changes when an entry goes", async () => {
        const first = await run(undefined, asked, t0);
        const moved = await run(first.inputs, { ...asked, issuerNotAfter: at(9000).toISOString() }, at(10));
        expect(moved.diff.changes).toBe(false);
        const fewer = await run(first.inputs, { certificates: { short: asked.certificates.short } }, at(10));
        expect(fewer.diff.changes).toBe(true);
        expect(Object.keys(fewer.inputs.certificates)).toEqual(["short"]);
    });

    it("compares issue times only", () => {
        const e = { validityHours: 1, renewBeforeHours: 0, renewAt: "x", reason: "r" };
        expect(
            scheduleChanged(
                { certificates: { a: { ...e, issuedAt: "1" } } },
                { certificates: { a: { ...e, issuedAt: "1", reason: "other" } } },
            ),
        ).toBe(false);
        expect(
            scheduleChanged(
                { certificates: { a: { ...e, issuedAt: "1" } } },
                { certificates: { a: { ...e, issuedAt: "2" } } },
            ),
        ).toBe(true);
    });
});
