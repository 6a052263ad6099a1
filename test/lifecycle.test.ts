import { describe, expect, it } from "vitest";
import { RenewalInputs, decideRenewal, readClock, renewalClockProvider } from "../components/renewalClock";
import { RotationState, rotationLedgerProvider, rotationPlan, rotationRefusal } from "../components/rotationLedger";

const HOUR = 3_600_000;
const t0 = new Date("2027-01-01T00:00:00Z");
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);
const leaf: RenewalInputs = { subject: "user-service", validityHours: 100, renewBeforeHours: 30 };

describe("readClock", () => {
    it("reads MTLS_NOW when set and the system clock otherwise", () => {
        expect(readClock({ MTLS_NOW: "2030-05-01T10:00:00Z" }).toISOString()).toBe("2030-05-01T10:00:00.000Z");
        expect(Math.abs(readClock({}).getTime() - Date.now())).toBeLessThan(1000);
    });

    it("names the variable and the format when MTLS_NOW is not a time", () => {
        expect(() => readClock({ MTLS_NOW: "tomorrow" })).toThrow(/MTLS_NOW="tomorrow" is not an ISO 8601 time/);
    });
});

describe("decideRenewal", () => {
    const issued = decideRenewal(undefined, leaf, t0);

    it("issues on the first run and schedules the renew window", () => {
        expect(issued).toMatchObject({
            renew: true,
            reason: "first issue",
            issuedAt: t0.toISOString(),
            renewAt: at(70).toISOString(),
        });
    });

    it("changes nothing outside the window", () => {
        const olds = { ...leaf, ...issued };
        for (const hours of [1, 35, 69.9]) {
            expect(decideRenewal(olds, leaf, at(hours))).toEqual({
                issuedAt: issued.issuedAt,
                renewAt: issued.renewAt,
                reason: "first issue",
                renew: false,
            });
        }
    });

    it("reissues inside the window and says how many days were left", () => {
        const olds = {
            ...leaf,
            validityHours: 2160,
            renewBeforeHours: 720,
            issuedAt: t0.toISOString(),
            reason: "first issue",
        };
        const inside = decideRenewal(olds, { ...leaf, validityHours: 2160, renewBeforeHours: 720 }, at(2160 - 12 * 24));
        expect(inside).toMatchObject({
            renew: true,
            reason: "inside renew window: 12 days left",
            issuedAt: at(2160 - 288).toISOString(),
        });
    });

    it("reissues an expired certificate", () => {
        expect(decideRenewal({ ...leaf, ...issued }, leaf, at(100 + 48)).reason).toBe("expired 2 days ago");
    });

    it("reissues when the validity changes", () => {
        expect(decideRenewal({ ...leaf, ...issued }, { ...leaf, validityHours: 200 }, at(1)).reason).toBe(
            "validity changed from 100 to 200 hours",
        );
    });

    it("refuses a renewal that would outlive the CA, naming the field", () => {
        const decision = decideRenewal(undefined, { ...leaf, issuerNotAfter: at(50).toISOString() }, t0);
        expect(decision.failure?.property).toBe("validityHours");
        expect(decision.failure?.reason).toMatch(
            /user-service: a certificate issued now for 100 hours would end .* after its CA/,
        );
        expect(
            decideRenewal(undefined, { ...leaf, issuerNotAfter: at(101).toISOString() }, t0).failure,
        ).toBeUndefined();
    });
});

describe("RenewalClock as the engine drives it (check, then diff)", () => {
    it("leaves the clock alone when only the CA's end or the renew window moves", async () => {
        const first = await run(undefined, leaf, t0);
        const moved = await run(
            first.inputs,
            { ...leaf, renewBeforeHours: 20, issuerNotAfter: at(5000).toISOString() },
            at(10),
        );
        expect(moved.diff.changes).toBe(false);
        expect(moved.inputs.renewAt).toBe(at(80).toISOString());
    });

    async function run(olds: any, news: RenewalInputs, now: Date) {
        process.env.MTLS_NOW = now.toISOString();
        try {
            const checked = await renewalClockProvider.check!(olds ?? {}, news);
            const diff = olds
                ? await renewalClockProvider.diff!("id", olds, checked.inputs)
                : { changes: true, replaces: [] };
            return { inputs: checked.inputs, failures: checked.failures, diff };
        } finally {
            delete process.env.MTLS_NOW;
        }
    }

    it("changes on the first run inside the window and on no other", async () => {
        const first = await run(undefined, leaf, t0);
        const outside = await run(first.inputs, leaf, at(50));
        expect(outside.diff.changes).toBe(false);
        const inside = await run(outside.inputs, leaf, at(80));
        expect(inside.diff).toEqual({ changes: true });
        expect(inside.inputs.issuedAt).toBe(at(80).toISOString());
        expect(inside.inputs.reason).toBe("inside renew window: 0 days left");
        const after = await run(inside.inputs, leaf, at(81));
        expect(after.diff.changes).toBe(false);
        expect(after.inputs.renewAt).toBe(at(80 + 70).toISOString());
    });

    it("reports a renewal past the CA's end as a check failure", async () => {
        const first = await run(undefined, { ...leaf, issuerNotAfter: at(120).toISOString() }, t0);
        expect(first.failures).toEqual([]);
        const due = await run(first.inputs, { ...leaf, issuerNotAfter: at(120).toISOString() }, at(75));
        expect(due.failures?.[0]).toMatchObject({ property: "validityHours" });
    });
});

describe("CA rotation", () => {
    const s = (generation: number, phase: RotationState["phase"]): RotationState => ({ generation, phase });

    it("plans which CAs live, sign and are trusted in each phase", () => {
        expect(rotationPlan(s(1, "steady"))).toEqual({ live: [1], signing: 1, trusted: [1] });
        expect(rotationPlan(s(1, "introduce"))).toEqual({ live: [1, 2], signing: 1, trusted: [1, 2] });
        expect(rotationPlan(s(1, "switch"))).toEqual({ live: [1, 2], signing: 2, trusted: [1, 2] });
        expect(rotationPlan(s(1, "retire"))).toEqual({ live: [2], signing: 2, trusted: [2] });
        expect(rotationPlan(s(1, "retire"))).toEqual(rotationPlan(s(2, "steady")));
    });

    it.each([
        [undefined, s(1, "steady")],
        [undefined, s(1, "introduce")],
        [s(1, "steady"), s(1, "introduce")],
        [s(1, "introduce"), s(1, "switch")],
        [s(1, "introduce"), s(1, "steady")],
        [s(1, "switch"), s(1, "retire")],
        [s(1, "switch"), s(1, "introduce")],
        [s(1, "retire"), s(2, "steady")],
        [s(1, "retire"), s(2, "introduce")],
        [s(2, "steady"), s(1, "retire")],
        [s(1, "switch"), s(1, "switch")],
    ])("allows %j → %j", (from, to) => {
        expect(rotationRefusal(from, to)).toBeUndefined();
    });

    it.each([
        [
            s(1, "introduce"),
            s(1, "retire"),
            /retire is refused: leaves issued by CA generation 1 may still be deployed .*apply rotation: switch first/,
        ],
        [s(1, "steady"), s(1, "retire"), /retire is refused/],
        [undefined, s(1, "retire"), /no rotation is under way/],
        [undefined, s(1, "switch"), /no rotation is under way/],
        [
            s(1, "steady"),
            s(1, "switch"),
            /cannot go from steady on generation 1 to switch .* the next step is introduce/,
        ],
        [s(1, "switch"), s(1, "steady"), /cannot go from switch/],
        [s(1, "steady"), s(2, "steady"), /cannot go from steady on generation 1 to steady on generation 2/],
    ])("refuses %j → %j", (from, to, message) => {
        expect(rotationRefusal(from, to)).toMatch(message);
    });

    it("turns a refusal into a check failure on the ledger, naming mtls:ca.rotation", async () => {
        const result = await rotationLedgerProvider.check!(
            { generation: 1, phase: "introduce" },
            { generation: 1, phase: "retire" },
        );
        expect(result.failures).toEqual([
            { property: "phase", reason: expect.stringMatching(/^mtls:ca\.rotation: retire is refused/) },
        ]);
        const ok = await rotationLedgerProvider.check!(
            { generation: 1, phase: "switch" },
            { generation: 1, phase: "retire" },
        );
        expect(ok.failures).toEqual([]);
    });
});
