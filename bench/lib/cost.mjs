// Engine cost of the project against its floor (bench/floor: the same tls and Kubernetes
// resources declared bare), on the real engine, in the same run: first up, no-change preview,
// no-change up, destroy, state bytes. And the fast mode (no intermediate checkpoints) against
// the seed's openssl flow.
import fs from "node:fs";
import path from "node:path";
import { Pulumi, ROOT, makeProject } from "../../test/e2e/lib.mjs";
import { seedIssue } from "./issuance.mjs";
import { benchStackConfig } from "./spec.mjs";

export const FLOOR_SOURCE = "bench/floor";

/**
 * The floor's kinds: their empty component layers per service, and whether they add the least
 * rotation ledger and renewal schedule (`guards`, see bench/floor/index.ts).
 */
export const FLOOR_KINDS = {
    floor: { layers: 0 },
    layer: { layers: 1 },
    layers: { layers: 3 },
    guards: { layers: 1, guards: true },
};

/** The stack config of the floor program for N services, rendering into `render`. */
export function floorStackConfig(n, render, { layers = 0, guards = false } = {}) {
    return {
        "floor:layers": layers,
        "floor:guards": guards,
        "floor:services": n,
        "floor:namespace": "bench",
        "floor:trustDomain": "bench.internal",
        "floor:renderDirectory": render,
    };
}

/** The checkpoint file of a stack in a file backend (the whole state, as the engine writes it). */
function stateFile(stateDir, stack) {
    const stacks = path.join(stateDir, ".pulumi", "stacks");
    const found = fs
        .readdirSync(stacks, { recursive: true })
        .map(String)
        .filter((f) => path.basename(f) === `${stack}.json`);
    if (found.length !== 1) throw new Error(`expected one state file for ${stack} under ${stacks}, found ${found}`);
    return path.join(stacks, found[0]);
}

/** A fresh copy of the program `kind` for N services in `work`, with its own file backend and stack. */
function freshStack(work, kind, n, source, suffix) {
    const dir = path.join(work, `${kind}-${n}${suffix ? `-${suffix}` : ""}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const render = path.join(dir, "render");
    const floor = kind in FLOOR_KINDS;
    const stacks = { bench: floor ? floorStackConfig(n, render, FLOOR_KINDS[kind]) : benchStackConfig(n, render) };
    const project = makeProject(dir, stacks, { source: source ?? (floor ? FLOOR_SOURCE : ".") });
    const pulumi = new Pulumi(project, dir);
    pulumi.run(["stack", "init", "bench"]);
    return { dir, pulumi };
}

/**
 * What the engine writes on a first `up` of `kind` at N services: with PULUMI_RETAIN_CHECKPOINTS
 * the file backend keeps every checkpoint it writes as a file of its own, so their count and bytes
 * are the run's checkpoint traffic. The count is the same every run; the bytes move by a few per cent
 * with the order the steps finish in (each write holds what has finished by then). Not timed.
 */
export function checkpointWrites(work, kind, n, { source } = {}) {
    const { dir, pulumi } = freshStack(work, kind, n, source, "writes");
    pulumi.run(["up", "--yes", "--skip-preview", "--stack", "bench"], { env: { PULUMI_RETAIN_CHECKPOINTS: "true" } });
    const stacks = path.join(dir, "state", ".pulumi", "stacks");
    const kept = fs
        .readdirSync(stacks, { recursive: true })
        .map(String)
        .filter((f) => /(^|\/)bench\.json\.\d+$/.test(f));
    let bytes = 0;
    for (const f of kept) bytes += fs.statSync(path.join(stacks, f)).size;
    fs.rmSync(dir, { recursive: true, force: true });
    return { kind, n, writes: kept.length, bytesWritten: bytes };
}

/**
 * One program at N services through its whole life: first `up`, no-change `preview`,
 * no-change `up`, `destroy`. `kind` is `project` or one of FLOOR_KINDS: `floor`, `layers` (the
 * floor with the three component layers per service the project had before MtlsService, empty),
 * `layer` (one empty component per service, the project's layout now) or `guards` (`layer` plus
 * the least rotation ledger and renewal schedule). With `fast`, `up` and `destroy`
 * run with PULUMI_SKIP_CHECKPOINTS=true (the state is written once, at the end).
 */
export function lifeCycle(work, kind, n, { source, fast = false, destroy = true, noChange = true } = {}) {
    const { dir, pulumi } = freshStack(work, kind, n, source, fast ? "fast" : "");
    const env = fast ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {};
    const s = ["--stack", "bench"];
    const up = pulumi.run(["up", "--yes", "--skip-preview", ...s], { env });
    const file = stateFile(path.join(dir, "state"), "bench");
    const stateBytes = fs.statSync(file).size;
    const resources = JSON.parse(fs.readFileSync(file, "utf8")).checkpoint.latest.resources;
    const out = {
        kind,
        n,
        fast,
        firstUpSeconds: up.seconds,
        stateBytes,
        resources: resources.length,
        resourcesByType: countBy(resources.map((r) => r.type)),
        stateBytesByType: sumBy(
            resources,
            (r) => r.type,
            (r) => JSON.stringify(r).length,
        ),
    };
    if (noChange) {
        out.previewSeconds = pulumi.run(["preview", "--expect-no-changes", ...s]).seconds;
        out.noChangeUpSeconds = pulumi.run(["up", "--yes", "--skip-preview", "--expect-no-changes", ...s]).seconds;
    }
    if (destroy) out.destroySeconds = pulumi.run(["destroy", "--yes", "--skip-preview", ...s], { env }).seconds;
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
}

function countBy(keys) {
    const out = {};
    for (const k of keys) out[k] = (out[k] ?? 0) + 1;
    return out;
}

function sumBy(items, key, value) {
    const out = {};
    for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + value(item);
    return out;
}

/** The seed's openssl flow for N services (bench/lib/issuance.mjs), in its own dir. */
export function seedFlow(work, n) {
    const dir = path.join(work, `seed-${n}`);
    const r = seedIssue(dir, n);
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
}

export const COST_MEASURES = ["firstUpSeconds", "previewSeconds", "noChangeUpSeconds", "destroySeconds", "stateBytes"];

export { ROOT };
