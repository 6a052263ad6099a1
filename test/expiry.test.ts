import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { findExpiring, inCluster, parseDuration } from "../scripts/expiry.mjs";
import { isoSecond } from "../scripts/time.mjs";

const outputs = {
    rootNotAfter: "2031-01-01T00:00:00.000Z",
    cas: {
        "generation-1": {
            commonName: "shop prod root CA",
            notAfter: "2027-02-10T00:00:00.000Z",
            renewAt: "2026-08-01T00:00:00.000Z",
        },
    },
    services: {
        "user-service": { notAfter: "2027-01-20T00:00:00.000Z", renewAt: "2026-12-21T00:00:00.000Z" },
        "order-service": { notAfter: "2027-06-01T00:00:00.000Z", renewAt: "2027-05-01T00:00:00.000Z" },
    },
};
const now = new Date("2027-01-01T00:00:00Z");

describe("one time format for the scripts' output", () => {
    it("writes every ISO 8601 input as UTC to the second, cutting the fraction as X.509 does", () => {
        expect(isoSecond("2026-12-23T07:14:22.018343376Z")).toBe("2026-12-23T07:14:22Z");
        expect(isoSecond("2026-12-23T07:14:22.999Z")).toBe("2026-12-23T07:14:22Z");
        expect(isoSecond("2026-12-02T11:30:00+02:00")).toBe("2026-12-02T09:30:00Z");
        expect(isoSecond("2026-12-02T09:30:00Z")).toBe("2026-12-02T09:30:00Z");
    });

    it("leaves what is not a time alone", () => {
        expect(isoSecond("issued on apply")).toBe("issued on apply");
        expect(isoSecond("2026")).toBe("2026");
        expect(isoSecond(undefined)).toBeUndefined();
    });
});

describe("expiry", () => {
    it("parses hours, days and weeks and names the accepted forms otherwise", () => {
        expect(parseDuration("30d")).toBe(30 * 86_400_000);
        expect(parseDuration("720h")).toBe(720 * 3_600_000);
        expect(parseDuration("2w")).toBe(14 * 86_400_000);
        expect(() => parseDuration("a month")).toThrow(
            /--within "a month" is not a duration; use a number followed by h, d or w/,
        );
    });

    it("lists certificates and CAs inside the threshold, soonest first", () => {
        expect(findExpiring(outputs, now, parseDuration("30d")).map((i: any) => [i.kind, i.name, i.daysLeft])).toEqual([
            ["certificate", "user-service", 19],
        ]);
        expect(findExpiring(outputs, now, parseDuration("60d")).map((i: any) => i.name)).toEqual([
            "user-service",
            "generation-1 (shop prod root CA)",
        ]);
        expect(findExpiring(outputs, new Date("2027-01-25T00:00:00Z"), 0)[0]).toMatchObject({
            name: "user-service",
            daysLeft: -5,
        });
    });

    it("exits 1 listing what expires, 0 when nothing does, 2 on bad usage", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "expiry-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputs));
        const run = (...args: string[]) =>
            spawnSync(process.execPath, ["scripts/expiry.mjs", "--from", file, ...args], {
                encoding: "utf8",
                env: { ...process.env, MTLS_NOW: now.toISOString() },
            });
        const hit = run("--within", "30d");
        expect(hit.status).toBe(1);
        expect(hit.stdout).toMatch(
            /1 ending within 30d:\n\s+certificate\s+user-service\s+notAfter 2027-01-20T00:00:00Z\s+\(19 days left\)/,
        );
        const json = run("--within", "60d", "--json");
        expect(JSON.parse(json.stdout).expiring).toHaveLength(2);
        expect(JSON.parse(json.stdout).expiring.map((i: any) => [i.notAfter, i.renewAt])).toEqual([
            ["2027-01-20T00:00:00Z", "2026-12-21T00:00:00Z"],
            ["2027-02-10T00:00:00Z", "2026-08-01T00:00:00Z"],
        ]);
        expect(run("--within", "7d").status).toBe(0);
        const bad = run("--within", "soon");
        expect(bad.status).toBe(2);
        expect(bad.stderr).toMatch(/is not a duration/);
    });

    it("says what it knows of a certificate cert-manager renews in the cluster, and never counts it as expiring", () => {
        const mixed = {
            ...outputs,
            services: {
                ...outputs.services,
                ledger: {
                    issuance: "cert-manager",
                    issueReason: "issued in cluster: renews 720 h before its end",
                    certificate: "shop/ledger",
                    secretName: "ledger-mtls-tls",
                },
            },
        };
        expect(findExpiring(mixed, now, parseDuration("3650d")).map((i: any) => i.name)).not.toContain("ledger");
        expect(inCluster(mixed)).toEqual([
            {
                kind: "certificate",
                name: "ledger",
                issuance: "cert-manager",
                note: "issued in cluster: renews 720 h before its end",
                certificate: "shop/ledger",
                secretName: "ledger-mtls-tls",
            },
        ]);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "expiry-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify(mixed));
        const run = spawnSync(process.execPath, ["scripts/expiry.mjs", "--from", file, "--within", "7d"], {
            encoding: "utf8",
            env: { ...process.env, MTLS_NOW: now.toISOString() },
        });
        expect(run.status).toBe(0);
        expect(run.stdout).toMatch(
            /certificate\s+ledger\s+issued in cluster: renews 720 h before its end \(kubectl get certificate -n shop ledger\)\n/,
        );
        expect(run.stdout).toMatch(/nothing that the stack issues ends within 7d/);
    });
});
