#!/usr/bin/env node
// Lists every certificate and CA of a stack that ends within a threshold, for a
// scheduled CI job: exit 1 when anything is listed, 0 when nothing is, 2 on bad usage.
//
//   npm run expiry -- --stack prod --within 30d [--json]
//   npm run expiry -- --from outputs.json --within 720h
//
// The stack's outputs come from `pulumi stack output --json` (no secrets are read).
// MTLS_NOW (ISO 8601) replaces the clock, as everywhere in this project.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { argument, pulumiCapture } from "./cli.mjs";
import { isoSecond } from "./time.mjs";

const DAY = 86_400_000;

/** @typedef {import("./cli.mjs").StackOutputs} StackOutputs */
/**
 * A certificate or CA that ends within the threshold.
 * @typedef {object} ExpiringItem
 * @property {"certificate" | "ca"} kind
 * @property {string} name the service, or the CA generation with its CN
 * @property {string} notAfter
 * @property {string} [renewAt]
 * @property {number} daysLeft whole days from now to notAfter, negative once it has passed
 */

/**
 * Parses `30d`, `720h` or `2w` into milliseconds; throws with the accepted forms.
 * @param {string | undefined} text
 * @returns {number}
 */
export function parseDuration(text) {
    const match = /^(\d+)(h|d|w)$/.exec(String(text ?? "").trim());
    if (!match)
        throw new Error(
            `--within ${JSON.stringify(text)} is not a duration; use a number followed by h, d or w, e.g. 30d`,
        );
    return Number(match[1]) * { h: 3_600_000, d: DAY, w: 7 * DAY }[/** @type {"h" | "d" | "w"} */ (match[2])];
}

/**
 * Every certificate and CA in the stack outputs whose notAfter is within `withinMs` of `now`, soonest first; times as ISO 8601 to the second.
 * @param {StackOutputs} outputs
 * @param {Date} now
 * @param {number} withinMs
 * @returns {ExpiringItem[]}
 */
export function findExpiring(outputs, now, withinMs) {
    /** @type {Omit<ExpiringItem, "daysLeft">[]} */
    const items = [];
    for (const [name, svc] of Object.entries(outputs.services ?? {})) {
        // cert-manager's certificates are issued in the cluster: the stack does not know their dates (see inCluster).
        // No end either when no certificate was readable (a stack run under plain mocks).
        if (svc.issuance === "cert-manager" || svc.notAfter === undefined) continue;
        items.push({ kind: "certificate", name, notAfter: svc.notAfter, renewAt: svc.renewAt });
    }
    for (const [name, ca] of Object.entries(outputs.cas ?? {})) {
        items.push({ kind: "ca", name: `${name} (${ca.commonName})`, notAfter: ca.notAfter, renewAt: ca.renewAt });
    }
    const rootEnd = outputs.rootNotAfter ?? outputs.caNotAfter; // caNotAfter: the 0.1 name
    if (items.length === 0 && rootEnd) items.push({ kind: "ca", name: "root", notAfter: rootEnd });
    return items
        .map((item) => ({
            ...item,
            notAfter: isoSecond(item.notAfter),
            renewAt: isoSecond(item.renewAt),
            daysLeft: Math.floor((Date.parse(item.notAfter) - now.getTime()) / DAY),
        }))
        .filter((item) => Date.parse(item.notAfter) - now.getTime() <= withinMs)
        .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
}

/**
 * The certificates cert-manager issues and renews in the cluster: the stack knows their renew
 * window, not their dates, so they are listed with what it knows and where to look.
 * @param {import("./cli.mjs").StackOutputs} outputs
 * @returns {{ kind: "certificate", name: string, issuance: "cert-manager", note?: string, certificate?: string, secretName?: string }[]}
 */
export function inCluster(outputs) {
    return Object.entries(outputs.services ?? {})
        .filter(([, svc]) => svc.issuance === "cert-manager")
        .map(([name, svc]) => ({
            kind: "certificate",
            name,
            issuance: "cert-manager",
            note: svc.issueReason,
            certificate: svc.certificate,
            secretName: svc.secretName,
        }));
}

/** @returns {Date} the clock, or MTLS_NOW when set */
function now() {
    const fixed = process.env.MTLS_NOW;
    if (!fixed) return new Date();
    const parsed = Date.parse(fixed);
    if (Number.isNaN(parsed)) throw new Error(`MTLS_NOW=${JSON.stringify(fixed)} is not an ISO 8601 time`);
    return new Date(parsed);
}

/**
 * @param {string[]} args
 * @returns {StackOutputs} foreign JSON: a file, or what `pulumi stack output --json` printed
 */
function readOutputs(args) {
    const from = argument(args, "--from");
    if (from) return JSON.parse(fs.readFileSync(from, "utf8"));
    const stack = argument(args, "--stack");
    if (!stack) throw new Error("give --stack <name> (reads `pulumi stack output --json`) or --from <outputs.json>");
    const result = pulumiCapture(["stack", "output", "--json", "--stack", stack]);
    if (result.status !== 0) throw new Error(`pulumi stack output failed for stack ${stack}:\n${result.stderr}`);
    return JSON.parse(result.stdout);
}

/**
 * @param {string[]} args
 * @returns {number} the exit code
 */
function main(args) {
    let within;
    let outputs;
    try {
        within = parseDuration(argument(args, "--within") ?? "30d");
        outputs = readOutputs(args);
    } catch (err) {
        console.error(`expiry: ${/** @type {Error} */ (err).message}`);
        return 2;
    }
    const expiring = findExpiring(outputs, now(), within);
    const cluster = inCluster(outputs);
    if (args.includes("--json")) {
        console.log(
            JSON.stringify({ within: argument(args, "--within") ?? "30d", expiring, inCluster: cluster }, null, 2),
        );
        return expiring.length === 0 ? 0 : 1;
    }
    for (const item of cluster) {
        const [namespace, name] = String(item.certificate ?? "").split("/");
        console.log(
            `  ${item.kind.padEnd(11)} ${item.name.padEnd(40)} ${item.note} (kubectl get certificate -n ${namespace} ${name})`,
        );
    }
    if (expiring.length === 0) {
        console.log(
            `nothing ${cluster.length ? "that the stack issues " : ""}ends within ${argument(args, "--within") ?? "30d"}`,
        );
    } else {
        console.log(`${expiring.length} ending within ${argument(args, "--within") ?? "30d"}:`);
        for (const item of expiring) {
            const when = item.daysLeft < 0 ? `expired ${-item.daysLeft} days ago` : `${item.daysLeft} days left`;
            console.log(`  ${item.kind.padEnd(11)} ${item.name.padEnd(40)} notAfter ${item.notAfter}  (${when})`);
        }
    }
    return expiring.length === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    process.exitCode = main(process.argv.slice(2));
}
