#!/usr/bin/env node
// The project's benchmark: one run, four measurements, a table with ratios and a JSON file.
//
//   npm run bench                  full run (about 15–20 minutes on 2 cores), writes bench/results/latest.json
//   npm run bench -- --quick       smoke run (under a minute), writes bench/results/quick.json
//   npm run bench -- --only cost   the engine cost against the bare-resource floor (bench/floor) alone
//
// Options: --only speed,construction,handshake,issuance,cost   run some sections only
//          --cost-sizes 50x2,200x1    N and runs of the cost section (default: that)
//          --cost-fast-sizes 50x2,200x1  the same comparison in fast mode (every up and destroy
//                                     without intermediate checkpoints); 0 skips it
//          --cost-writes-n 50         N of one more, untimed first up per program that counts the
//                                     checkpoints the engine writes and their bytes; 0 skips it
//          --fast-n 100               N of the fast-mode comparison with the seed's openssl flow
//          --floor-variants layers,layer,guards  which of the floor's variants run (default: all three)
//          --layers-max-n 50          sizes up to this also run the floor's variants: empty component layers
//                                     (three per service, as the project had before MtlsService, and one, as it has),
//                                     and one layer plus the least rotation ledger and renewal schedule ("guards")
//          --fast-n 0                 skips the fast-mode comparison
//          --material engine|double   where the project's handshake material comes from
//                                     (default: engine for the full run, double for --quick)
//          --out <file>               where the JSON goes
//          --budget-min <minutes>     the second N=100 issuance run only starts if the run
//                                     is expected to end within this (default 20)
//
// Everything that holds a private key (CA and service keys, Pulumi state, rendered
// Secrets) lives in one temp dir outside the repo, removed at the end. The JSON holds
// sizes, counts and times only; it is checked for key material before it is written.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { engineStatus } from "../test/e2e/lib.mjs";
import { buildProject, snapshotProject } from "./lib/build.mjs";
import { runHandshakes } from "./lib/handshake.mjs";
import { COST_MEASURES, checkpointWrites, lifeCycle, seedFlow } from "./lib/cost.mjs";
import { pulumiIssue, seedIssue } from "./lib/issuance.mjs";
import { describeMachine, gitState, loadavg, pulumiCliPath } from "./lib/machine.mjs";
import { KEY_ALGORITHMS, doubleMaterial, engineMaterial, pemCertificateSizes, seedMaterial } from "./lib/material.mjs";
import { SPEED_ALGORITHMS, opensslSpeed } from "./lib/speed.mjs";
import { fmtSpread, ratio, round, summarize } from "./lib/stats.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
    const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i < 0) return fallback;
    return argv[i].includes("=") ? argv[i].split("=").slice(1).join("=") : argv[i + 1];
};
const QUICK = flag("--quick");
/**
 * The floor's variants run beside it up to --layers-max-n (bench/lib/cost.mjs FLOOR_KINDS), with
 * their table headings: three empty layers per service, one, and one plus the least guards.
 */
const VARIANT_HEADINGS = {
    layers: "floor+3 layers ÷ floor",
    layer: "floor+1 layer ÷ floor",
    guards: "floor+1 layer+guards ÷ floor",
};
const FLOOR_VARIANTS = option("--floor-variants", Object.keys(VARIANT_HEADINGS).join(","))
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
for (const v of FLOOR_VARIANTS)
    if (!(v in VARIANT_HEADINGS)) {
        console.error(`bench: unknown floor variant ${v}; use ${Object.keys(VARIANT_HEADINGS).join(", ")}`);
        process.exit(2);
    }
const SECTIONS = ["speed", "construction", "handshake", "issuance", "cost"];
const only = option("--only", SECTIONS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
for (const s of only)
    if (!SECTIONS.includes(s)) {
        console.error(`bench: unknown section ${s}; use ${SECTIONS.join(", ")}`);
        process.exit(2);
    }
const MATERIAL = option("--material", QUICK ? "double" : "engine");
if (!["engine", "double"].includes(MATERIAL)) {
    console.error("bench: --material is engine or double");
    process.exit(2);
}
const OUT = path.resolve(option("--out", path.join(HERE, "results", QUICK ? "quick.json" : "latest.json")));
const BUDGET_MIN = Number(option("--budget-min", "20"));
const parseSizes = (text, flag = "--cost-sizes") =>
    (text === "0" ? [] : text.split(",")).map((part) => {
        const [n, runs = "1"] = part.split("x");
        if (!(Number(n) > 0 && Number(runs) > 0)) {
            console.error(`bench: ${flag} takes N[xRUNS],... e.g. 50x2,200x1 (or 0 for none), not ${text}`);
            process.exit(2);
        }
        return { n: Number(n), runs: Number(runs) };
    });

const PROFILE = QUICK
    ? {
          construction: {
              sizes: [
                  { n: 10, runs: 1 },
                  { n: 100, runs: 1 },
              ],
          },
          speed: { algs: ["ecdsap256", "rsa2048", "rsa4096"], seconds: 1, runs: 1 },
          handshake: {
              algorithms: ["ECDSA-P256"],
              runs: 1,
              timeLimitMs: 700,
              maxFull: 2000,
              maxResumed: 4000,
              warmupCount: 20,
              warmupMs: 500,
          },
          issuance: { sizes: [{ n: 2, runs: 1 }] },
          cost: {
              sizes: parseSizes(option("--cost-sizes", "3x1")),
              fastSizes: parseSizes(option("--cost-fast-sizes", "3x1"), "--cost-fast-sizes"),
              writesN: Number(option("--cost-writes-n", "3")),
              fastN: Number(option("--fast-n", "3")),
              layersMaxN: Number(option("--layers-max-n", "3")),
          },
      }
    : {
          construction: {
              sizes: [
                  { n: 10, runs: 5 },
                  { n: 100, runs: 5 },
                  { n: 1000, runs: 3 },
              ],
          },
          speed: { algs: Object.keys(SPEED_ALGORITHMS), seconds: 1, runs: 3 },
          handshake: {
              algorithms: KEY_ALGORITHMS,
              runs: 3,
              timeLimitMs: 2500,
              maxFull: 5000,
              maxResumed: 10000,
              warmupCount: 50,
              warmupMs: 1500,
          },
          issuance: {
              sizes: [
                  { n: 10, runs: 3 },
                  { n: 100, runs: 2, gated: true },
              ],
          },
          cost: {
              sizes: parseSizes(option("--cost-sizes", "50x2,200x1")),
              fastSizes: parseSizes(option("--cost-fast-sizes", "50x2,200x1"), "--cost-fast-sizes"),
              writesN: Number(option("--cost-writes-n", "50")),
              fastN: Number(option("--fast-n", "100")),
              layersMaxN: Number(option("--layers-max-n", "50")),
          },
      };

// ---------------------------------------------------------------- setup
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
const log = (msg) => console.log(`[${elapsed().toFixed(0).padStart(4)} s] ${msg}`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "mtls-bench-"));
fs.chmodSync(work, 0o700);
let cleaned = false;
function cleanup() {
    if (cleaned) return;
    cleaned = true;
    fs.rmSync(work, { recursive: true, force: true });
}
process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
});
process.on("SIGTERM", () => {
    cleanup();
    process.exit(143);
});

const engine = engineStatus();
const results = {
    schema: "mtls-bench/1",
    mode: QUICK ? "quick" : "full",
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    sections: only,
    startedAt: new Date(started).toISOString(),
    machine: describeMachine(ROOT, pulumiCliPath(ROOT)),
    engine: {
        cliVersion: engine.cliVersion,
        ready: engine.ready,
        standInProviders: engine.standIns,
        note: "Engine numbers are from the real Pulumi engine with the project's stand-in providers (engine/standin-providers) for tls, random and kubernetes, not Pulumi's released providers.",
    },
    load: { start: loadavg() },
    caveats: [],
};
const tmpOut = `${OUT}.tmp`;
function saveProgress() {
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(tmpOut, JSON.stringify(results, null, 2));
}

// ---------------------------------------------------------------- sections
function sectionSpeed() {
    const p = PROFILE.speed;
    log(`openssl speed ${p.algs.join(" ")}, ${p.seconds} s each, ${p.runs} run(s)`);
    const runs = [];
    for (let i = 0; i < p.runs; i++) {
        const r = opensslSpeed(p.algs, p.seconds);
        runs.push(r);
        log(`  run ${i + 1}: ${r.seconds.toFixed(0)} s`);
    }
    const byAlg = {};
    for (const alg of Object.keys(runs[0].results)) {
        byAlg[alg] = {
            signPerSec: summarize(runs.map((r) => r.results[alg]?.signPerSec)),
            verifyPerSec: summarize(runs.map((r) => r.results[alg]?.verifyPerSec)),
        };
    }
    results.speed = {
        method: "openssl speed -mr (one process, one core); RSA sign = private-key operation (PKCS#1 v1.5; TLS 1.3 uses PSS, same private-key cost)",
        command: runs[0].command,
        runs: p.runs,
        results: byAlg,
    };
}

function sectionConstruction(build) {
    const p = PROFILE.construction;
    log(
        `construction under mocks: ${p.sizes.map((s) => `${s.n} services × ${s.runs}`).join(", ")}, one fresh process per run`,
    );
    const runs = Object.fromEntries(p.sizes.map((s) => [s.n, []]));
    const maxRuns = Math.max(...p.sizes.map((s) => s.runs));
    // Interleaved (10, 100, 1000, 10, 100, ...) so a burst of load from elsewhere spreads over sizes.
    for (let rep = 0; rep < maxRuns; rep++) {
        for (const { n, runs: wanted } of p.sizes) {
            if (rep >= wanted) continue;
            const render = path.join(work, "construct-render");
            const r = spawnSync(process.execPath, [path.join(HERE, "construct.cjs"), build, String(n), render], {
                encoding: "utf8",
                timeout: 600_000,
                maxBuffer: 16 * 1024 * 1024,
            });
            if (r.status !== 0)
                throw new Error(`construct ${n} failed (${r.status ?? r.signal}): ${r.stderr.slice(-3000)}`);
            const one = JSON.parse(r.stdout.trim().split("\n").pop());
            if (one.lateRegistrations !== 0)
                throw new Error(`construct ${n}: ${one.lateRegistrations} registrations after the timed part`);
            if (one.outputServices !== n)
                throw new Error(`construct ${n}: outputs list ${one.outputServices} services`);
            runs[n].push(one);
            log(
                `  ${String(n).padStart(4)} services: ${one.wallMs.toFixed(0)} ms, peak RSS ${one.peakRssMiB.toFixed(0)} MiB, ${one.resources.total} resources`,
            );
        }
    }
    const sizes = {};
    for (const { n } of p.sizes) {
        const list = runs[n];
        sizes[n] = {
            runs: list.length,
            wallMs: summarize(list.map((r) => r.wallMs)),
            syncMs: summarize(list.map((r) => r.syncMs)),
            importMs: summarize(list.map((r) => r.importMs)),
            peakRssMiB: summarize(list.map((r) => r.peakRssMiB)),
            rssBeforeMiB: summarize(list.map((r) => r.rssBeforeMiB)),
            processCpuMs: summarize(list.map((r) => r.processCpuMs)),
            resources: list[0].resources.total,
            customResources: list[0].resources.custom,
            componentResources: list[0].resources.components,
            resourcesByType: list[0].resources.byType,
            resourcesPerService: list[0].resources.total / n,
            msPerService: summarize(list.map((r) => r.wallMs / n)),
        };
    }
    const ns = p.sizes.map((s) => s.n);
    const growth = {};
    for (let i = 1; i < ns.length; i++) {
        growth[`t(${ns[i]})/t(${ns[i - 1]})`] = {
            ...ratio(sizes[ns[i]].wallMs, sizes[ns[i - 1]].wallMs),
            linearWouldBe: ns[i] / ns[i - 1],
        };
    }
    const [a, b] = ns.slice(-2);
    results.construction = {
        method:
            "infra/program.ts deployStack() (compiled) under pulumi.runtime.setMocks, spec of N generated services parsed by parseStackConfig; " +
            "every tls resource answered with one fixed pre-issued certificate set (ECDSA-P256, made before the clock starts), so no cryptography is timed; " +
            "other resources get their inputs back. Wall time from deployStack() until every registration is answered and every stack output has resolved. " +
            "One fresh Node process per run (peak RSS = the kernel's maxRSS of that process, including the ~140 MiB of loaded modules, see rssBeforeMiB).",
        spec: "each service: usage both (default), port 8443, files delivery, allowFrom the previous service; namespace bench, trustDomain bench.internal, ECDSA-P256 CA and leaves",
        sizes,
        growth,
        marginalResourcesPerService: (sizes[b].resources - sizes[a].resources) / (b - a),
        fixedResources: sizes[b].resources - ((sizes[b].resources - sizes[a].resources) / (b - a)) * b,
    };
}

/** Signature operations of one full TLS 1.3 mutual handshake, per side, priced by openssl speed. */
function signatureFloor(material) {
    const speed = results.speed?.results;
    if (!speed) return null;
    const perOp = (alg, op) => {
        const s = speed[alg]?.[op];
        return s?.median ? 1000 / s.median : null;
    };
    // Each side: one CertificateVerify signature with its leaf key, one verification of the
    // peer's CertificateVerify (peer leaf key), one verification of the peer leaf's signature (CA key).
    const leaf = material.algorithm ?? "RSA-2048";
    const ca = material.algorithm ?? "RSA-4096";
    const parts = [perOp(leaf, "signPerSec"), perOp(leaf, "verifyPerSec"), perOp(ca, "verifyPerSec")];
    if (parts.some((x) => x === null)) return null;
    return {
        ops: `sign ${leaf} + verify ${leaf} + verify ${ca}`,
        msPerSide: parts.reduce((x, y) => x + y, 0),
    };
}

async function sectionHandshake(build) {
    const p = PROFILE.handshake;
    const matWork = path.join(work, "handshake");
    fs.mkdirSync(matWork, { recursive: true, mode: 0o700 });
    log(
        `handshake material: seed scripts (openssl), project ${p.algorithms.join(", ")} from ${MATERIAL === "engine" ? "pulumi up on the real engine (stand-in providers)" : "the tls test double under mocks"}`,
    );
    const seed = seedMaterial(path.join(matWork, "seed"));
    const project =
        MATERIAL === "engine"
            ? engineMaterial(path.join(matWork, "engine"), p.algorithms, snapshot.project, log)
            : doubleMaterial(path.join(matWork, "double"), build, p.algorithms, log);
    const materials = [...p.algorithms.map((a) => ({ key: a, ...project.materials[a] })), { key: "seed", ...seed }];

    const configured = {};
    for (const m of materials) {
        configured[m.key] = {
            serverCertFileDer: pemCertificateSizes(m.server.cert),
            clientCertFileDer: pemCertificateSizes(m.client.cert),
            caFileDer: pemCertificateSizes(m.server.ca),
        };
    }

    log(
        `handshakes: ${materials.length} materials × full/resumed × ${p.runs} run(s), ≤ ${p.timeLimitMs} ms each (≤ ${p.maxFull} full / ${p.maxResumed} resumed), interleaved`,
    );
    const raw = Object.fromEntries(materials.map((m) => [m.key, { full: [], resumed: [] }]));
    const chainInfo = {};
    for (let rep = 0; rep < p.runs; rep++) {
        for (const m of materials) {
            for (const mode of ["full", "resumed"]) {
                const r = await runHandshakes(m, {
                    mode,
                    timeLimitMs: p.timeLimitMs,
                    maxCount: mode === "full" ? p.maxFull : p.maxResumed,
                    warmupCount: p.warmupCount,
                    warmupMs: p.warmupMs,
                    measureChain: rep === 0,
                });
                if (r.failures > 0)
                    throw new Error(`${m.label} ${mode}: ${r.failures} failed handshakes (${r.firstError})`);
                if (r.server.authorized !== r.server.served)
                    throw new Error(
                        `${m.label} ${mode}: server authorized ${r.server.authorized} of ${r.server.served}`,
                    );
                if (mode === "full" && (r.reusedCount !== 0 || r.server.resumed !== 0))
                    throw new Error(`${m.label}: a full-handshake run resumed a session`);
                if (mode === "resumed" && r.reusedCount !== r.handshakes)
                    throw new Error(
                        `${m.label}: ${r.handshakes - r.reusedCount} resumed-mode handshakes were not resumed`,
                    );
                raw[m.key][mode].push(r);
                if (rep === 0) {
                    chainInfo[m.key] ??= {};
                    if (r.chain) chainInfo[m.key].chain = r.chain;
                    if (r.wire) chainInfo[m.key][`wire${mode === "full" ? "Full" : "Resumed"}`] = r.wire;
                }
                log(
                    `  ${m.label.padEnd(34)} ${mode.padEnd(7)} ${r.perSecond.toFixed(0).padStart(5)}/s  server ${r.serverCpuMsPerHandshake.toFixed(2)} ms CPU, client ${r.clientCpuMsPerHandshake.toFixed(2)} ms CPU`,
                );
            }
        }
    }

    const byMaterial = {};
    for (const m of materials) {
        const entry = { label: m.label, source: m.source, servername: m.servername };
        for (const mode of ["full", "resumed"]) {
            const list = raw[m.key][mode];
            entry[mode] = {
                runs: list.length,
                perSecond: summarize(list.map((r) => r.perSecond)),
                handshakesPerRun: list.map((r) => r.handshakes),
                stoppedBy: list.map((r) => r.stoppedBy),
                latencyMedianMs: summarize(list.map((r) => r.latencyMs?.median)),
                serverCpuMsPerHandshake: summarize(list.map((r) => r.serverCpuMsPerHandshake)),
                clientCpuMsPerHandshake: summarize(list.map((r) => r.clientCpuMsPerHandshake)),
                negotiated: list[0].negotiated,
            };
        }
        entry.configuredCertificatesDer = configured[m.key];
        entry.certificatesSent = chainInfo[m.key]?.chain;
        entry.wireFull = chainInfo[m.key]?.wireFull;
        entry.wireResumed = chainInfo[m.key]?.wireResumed;
        entry.signatureFloor = signatureFloor(m);
        byMaterial[m.key] = entry;
    }
    results.handshake = {
        method:
            "Node tls on 127.0.0.1; server and client in two separate Node processes (own event loops; not pinned to cores); " +
            "one connection in flight; a handshake = TCP connect + mutual-TLS handshake + the server's 1-byte reply sent after it verified the client certificate + close; " +
            "full: no session offered, server tickets off (SSL_OP_NO_TICKET) and no session cache; resumed: TLS 1.3 session tickets (psk_dhe_ke, fresh X25519, no certificates); " +
            "warm-up first, then a bounded loop (count and time limit); materials interleaved across runs. CPU ms per handshake = process CPU time / handshakes on each side.",
        projectMaterial:
            MATERIAL === "engine"
                ? "pulumi up on the real Pulumi engine with the project's stand-in providers, per key algorithm (CA and leaves of that algorithm, no intermediate), manifests rendered to a temp dir and laid out as the Deployments mount them (tls.crt = leaf + chain, ca.crt, tls.key); each stack destroyed after"
                : "the program under Pulumi mocks with the tls test double (test/support/tlsDouble.ts) issuing real certificates from the components' arguments; files as the ConfigMap and Secret hold them",
        seedMaterial:
            "the seed's setup_ca.sh and issue_cert.sh, read at run time from its document in ../shared/seeds, run with bash: RSA-4096 CA (req -x509 -sha256 -days 3650), RSA-2048 leaves (CSR, x509 -req -sha256 -days 365 -extensions v3_ext)",
        materialIssueTimings: project.timings,
        timeLimitMs: p.timeLimitMs,
        maxFull: p.maxFull,
        maxResumed: p.maxResumed,
        warmup: { count: p.warmupCount, maxMs: p.warmupMs },
        materials: byMaterial,
    };
}

function sectionIssuance() {
    const p = PROFILE.issuance;
    const out = {};
    for (const { n, runs, gated } of p.sizes) {
        const list = [];
        let lastRepSeconds = 0;
        for (let rep = 0; rep < runs; rep++) {
            if (gated && rep > 0 && elapsed() + lastRepSeconds * 1.1 > BUDGET_MIN * 60) {
                log(
                    `  N=${n}: run ${rep + 1} skipped: it would end after the ${BUDGET_MIN}-minute budget (last run took ${lastRepSeconds.toFixed(0)} s)`,
                );
                results.caveats.push(
                    `issuance N=${n}: ${rep} run(s) instead of ${runs}; another would have passed the ${BUDGET_MIN}-minute budget`,
                );
                break;
            }
            const repStart = elapsed();
            const seedDir = path.join(work, `issue-seed-${n}-${rep}`);
            const seed = seedIssue(seedDir, n);
            fs.rmSync(seedDir, { recursive: true, force: true });
            log(
                `  N=${n} run ${rep + 1}: seed openssl flow ${seed.totalSeconds.toFixed(1)} s (CA ${seed.caSeconds.toFixed(1)} s)`,
            );
            const pulumiDir = path.join(work, `issue-pulumi-${n}-${rep}`);
            fs.mkdirSync(pulumiDir, { recursive: true, mode: 0o700 });
            const up = pulumiIssue(pulumiDir, n, snapshot.project);
            fs.rmSync(pulumiDir, { recursive: true, force: true });
            log(
                `  N=${n} run ${rep + 1}: pulumi up ${up.upSeconds.toFixed(1)} s (${up.upResources.join(", ")}), no-change up ${up.noChangeUpSeconds.toFixed(1)} s, destroy ${up.destroySeconds.toFixed(1)} s`,
            );
            list.push({ seed, pulumi: up });
            lastRepSeconds = elapsed() - repStart;
            saveProgress();
        }
        const seedTotal = summarize(list.map((r) => r.seed.totalSeconds));
        const upTotal = summarize(list.map((r) => r.pulumi.upSeconds));
        out[n] = {
            runs: list.length,
            seedOpensslSeconds: seedTotal,
            seedCaSeconds: summarize(list.map((r) => r.seed.caSeconds)),
            seedPerCertSeconds: summarize(list.map((r) => r.seed.totalSeconds / n)),
            pulumiUpSeconds: upTotal,
            pulumiUpPerCertSeconds: summarize(list.map((r) => r.pulumi.upSeconds / n)),
            noChangeUpSeconds: summarize(list.map((r) => r.pulumi.noChangeUpSeconds)),
            destroySeconds: summarize(list.map((r) => r.pulumi.destroySeconds)),
            upOverOpenssl: ratio(upTotal, seedTotal),
            upResources: list[0].pulumi.upResources,
            noChangeResources: list[0].pulumi.noChangeResources,
            renderedObjects: list[0].pulumi.renderedObjects,
        };
    }
    results.issuance = {
        method:
            "seed: bash setup_ca.sh once + bash issue_cert.sh <svc> per service (read at run time from the seed document in ../shared/seeds), one temp dir per run. " +
            "project: a temp copy of the project (e2e/lib.mjs makeProject), file backend, `pulumi up --yes --skip-preview` (CA, per service key, CSR, certificate, renewal clock, ConfigMap, Secret, ServiceAccount, Deployment, Service, rendered to a temp dir), " +
            "then the same command with --expect-no-changes (the no-change up), then `pulumi destroy --yes --skip-preview`. Seed and project runs alternate. " +
            "Times include process start-up (bash + openssl per command; the pulumi launcher, CLI, TypeScript program and plugins per run).",
        note: "Not like for like: the seed issues RSA key files only; pulumi up also keeps state and renders every Kubernetes object. Both are what each approach needs to issue N certificates.",
        sizes: out,
    };
}

/**
 * The project against the floor (and, up to layersMaxN, the floor with empty layers) at each size,
 * alternating their order per repetition. With `fast`, every `up` and `destroy` runs without
 * intermediate checkpoints, as `npm run up -- --fast` does.
 */
function costSizes(floorSource, sizeList, fast) {
    const p = PROFILE.cost;
    const sizes = {};
    for (const { n, runs } of sizeList) {
        const kinds = ["project", "floor", ...(n <= p.layersMaxN ? FLOOR_VARIANTS : [])];
        const list = Object.fromEntries(kinds.map((k) => [k, []]));
        for (let rep = 0; rep < runs; rep++) {
            // Alternate the order, so a drift in load spreads over all of them.
            const order = rep % 2 === 0 ? kinds : [...kinds].reverse();
            for (const kind of order) {
                const r = lifeCycle(work, kind, n, {
                    source: kind === "project" ? snapshot.project : floorSource,
                    fast,
                });
                list[kind].push(r);
                log(
                    `  N=${n}${fast ? " fast" : ""} run ${rep + 1} ${kind.padEnd(7)}: up ${r.firstUpSeconds.toFixed(1)} s, preview ${r.previewSeconds.toFixed(1)} s, no-change up ${r.noChangeUpSeconds.toFixed(1)} s, destroy ${r.destroySeconds.toFixed(1)} s, state ${(r.stateBytes / 1024).toFixed(0)} KiB, ${r.resources} resources`,
                );
                saveProgress();
            }
        }
        const measures = {};
        for (const m of COST_MEASURES) {
            const project = summarize(list.project.map((r) => r[m]));
            const floor = summarize(list.floor.map((r) => r[m]));
            // Ratios of the runs paired in one repetition, then their spread.
            const paired = summarize(list.project.map((r, i) => r[m] / list.floor[i][m]));
            measures[m] = { project, floor, ratio: paired };
            for (const kind of FLOOR_VARIANTS)
                if (list[kind]) {
                    measures[m][kind] = summarize(list[kind].map((r) => r[m]));
                    measures[m][`${kind}Ratio`] = summarize(list[kind].map((r, i) => r[m] / list.floor[i][m]));
                }
        }
        sizes[n] = {
            runs,
            measures,
            resources: {
                project: list.project[0].resources,
                floor: list.floor[0].resources,
                ...Object.fromEntries(
                    FLOOR_VARIANTS.filter((kind) => list[kind]).map((kind) => [kind, list[kind][0].resources]),
                ),
            },
            resourcesByType: { project: list.project[0].resourcesByType, floor: list.floor[0].resourcesByType },
            stateBytesByType: { project: list.project[0].stateBytesByType, floor: list.floor[0].stateBytesByType },
            raw: list,
        };
    }
    return sizes;
}

function sectionCost(floorSource) {
    const p = PROFILE.cost;
    const sizes = costSizes(floorSource, p.sizes, false);
    const fastSizes = p.fastSizes.length > 0 ? costSizes(floorSource, p.fastSizes, true) : undefined;
    // Checkpoint traffic of one first up per program, untimed (every checkpoint kept on disk).
    let writes;
    if (p.writesN > 0) {
        writes = { n: p.writesN, byKind: {} };
        for (const kind of ["project", "floor", "layers", "layer"]) {
            const w = checkpointWrites(work, kind, p.writesN, {
                source: kind === "project" ? snapshot.project : floorSource,
            });
            writes.byKind[kind] = { writes: w.writes, bytesWritten: w.bytesWritten };
            log(
                `  N=${p.writesN} ${kind.padEnd(7)}: first up wrote ${w.writes} checkpoints, ${(w.bytesWritten / 1e6).toFixed(1)} MB`,
            );
            saveProgress();
        }
        for (const w of Object.values(writes.byKind))
            w.bytesOverFloor = w.bytesWritten / writes.byKind.floor.bytesWritten;
    }
    /** @type {undefined | Record<string, number>} */
    let fast;
    if (p.fastN > 0) {
        log(
            `  fast mode at N=${p.fastN}: seed openssl flow, project first up default and with PULUMI_SKIP_CHECKPOINTS`,
        );
        const seed = seedFlow(work, p.fastN);
        const normal = lifeCycle(work, "project", p.fastN, { source: snapshot.project, noChange: false });
        const quick = lifeCycle(work, "project", p.fastN, { source: snapshot.project, noChange: false, fast: true });
        log(
            `  N=${p.fastN}: seed ${seed.totalSeconds.toFixed(1)} s, first up ${normal.firstUpSeconds.toFixed(1)} s, fast first up ${quick.firstUpSeconds.toFixed(1)} s; destroy ${normal.destroySeconds.toFixed(1)} s, fast destroy ${quick.destroySeconds.toFixed(1)} s`,
        );
        fast = {
            n: p.fastN,
            seedOpensslSeconds: seed.totalSeconds,
            firstUpSeconds: normal.firstUpSeconds,
            fastFirstUpSeconds: quick.firstUpSeconds,
            destroySeconds: normal.destroySeconds,
            fastDestroySeconds: quick.destroySeconds,
            firstUpOverSeed: normal.firstUpSeconds / seed.totalSeconds,
            fastFirstUpOverSeed: quick.firstUpSeconds / seed.totalSeconds,
        };
    }
    results.cost = {
        method:
            "project: the program on a snapshot of the repo, floor: bench/floor (the same tls and Kubernetes resources for the same N services, no component, no dynamic resource). " +
            "Each in a fresh temp copy with its own file backend, rendering to a temp dir: stack init, `up --yes --skip-preview`, state file size, `preview --expect-no-changes`, " +
            "`up --yes --skip-preview --expect-no-changes`, `destroy --yes --skip-preview`. Project and floor alternate within a repetition; a ratio is project ÷ floor of one repetition, " +
            "and its min and max are over repetitions. layers: the floor with three empty components per service (the project before MtlsService), layer: with one (the project now, one MtlsService per service). guards: layer plus the two dynamic resources of the project's safety at their least (a ledger the CA waits for, one renewal schedule whose entries are the certificates' replacement triggers; bench/floor/index.ts). fast: the same first up with PULUMI_SKIP_CHECKPOINTS=true. fastSizes: the same comparison with every up and destroy under PULUMI_SKIP_CHECKPOINTS=true (previews write no checkpoint either way). writes: one more first up per program with PULUMI_RETAIN_CHECKPOINTS=true, untimed: how many checkpoints the file backend wrote and their bytes.",
        sizes,
        ...(fastSizes ? { fastSizes } : {}),
        ...(writes ? { writes } : {}),
        ...(fast ? { fast } : {}),
    };
}

// ---------------------------------------------------------------- ratios and table
function headline() {
    const h = {};
    const hs = results.handshake?.materials;
    if (hs?.["ECDSA-P256"] && hs.seed) {
        const p = hs["ECDSA-P256"];
        const s = hs.seed;
        h.fullHandshakesPerSecond_projectP256_over_seedRsa = ratio(p.full.perSecond, s.full.perSecond);
        h.resumedHandshakesPerSecond_projectP256_over_seedRsa = ratio(p.resumed.perSecond, s.resumed.perSecond);
        h.serverCpuPerFullHandshake_seedRsa_over_projectP256 = ratio(
            s.full.serverCpuMsPerHandshake,
            p.full.serverCpuMsPerHandshake,
        );
        h.clientCpuPerFullHandshake_seedRsa_over_projectP256 = ratio(
            s.full.clientCpuMsPerHandshake,
            p.full.clientCpuMsPerHandshake,
        );
        if (p.certificatesSent && s.certificatesSent) {
            h.certificateBytesSentPerHandshake = {
                projectP256: p.certificatesSent.totalDerBytes,
                seedRsa: s.certificatesSent.totalDerBytes,
                seedOverProject: s.certificatesSent.totalDerBytes / p.certificatesSent.totalDerBytes,
            };
            const configured = (e) =>
                sumDer(e.configuredCertificatesDer.serverCertFileDer) +
                sumDer(e.configuredCertificatesDer.clientCertFileDer);
            h.certFileBytesBothSides = {
                projectP256: configured(p),
                seedRsa: configured(s),
                seedOverProject: configured(s) / configured(p),
            };
        }
    }
    for (const [n, s] of Object.entries(results.issuance?.sizes ?? {})) {
        h[`issuance_N${n}_pulumiUp_over_seedOpenssl`] = s.upOverOpenssl;
    }
    const g = results.construction?.growth;
    if (g?.["t(1000)/t(100)"]) h["construction_t(1000)/t(100)"] = g["t(1000)/t(100)"];
    return h;
}

function table(rows, header) {
    const all = [header, ...rows].map((r) => r.map((c) => String(c ?? "")));
    const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    const line = (r) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   ")}`;
    return [line(all[0]), `  ${widths.map((w) => "-".repeat(w)).join("   ")}`, ...all.slice(1).map(line)].join("\n");
}

const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const sumDer = (list) => (list ?? []).reduce((a, b) => a + b, 0);
const fr = (r, fmt = f2) => (r ? `${fmt(r.median)}× (${fmt(r.min)}–${fmt(r.max)})` : "n/a");

function printReport() {
    const m = results.machine;
    const out = [];
    out.push(
        "",
        `mtls benchmark (${results.mode}) — ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.openssl}, ${m.go ?? "no go"}`,
    );
    const dirty = m.git.uncommittedOutsideBench ?? [];
    out.push(
        `commit ${m.git.commit?.slice(0, 12)}${dirty.length ? ` + uncommitted ${dirty.join(", ")}` : ""}; load avg ${results.load.start.one} at start, ${results.load.end?.one} at end; ${f0(results.durationSeconds)} s`,
    );
    out.push("values: median (min–max) over the runs shown");

    if (results.construction) {
        const c = results.construction;
        out.push(
            "",
            "1. Program construction under mocks (tls resources answered with one fixed pre-issued certificate: no crypto timed)",
        );
        out.push(
            table(
                Object.entries(c.sizes).map(([n, s]) => [
                    n,
                    s.runs,
                    fmtSpread(s.wallMs, f0),
                    fmtSpread(s.msPerService, f2),
                    fmtSpread(s.peakRssMiB, f0),
                    s.resources,
                    f1(s.resourcesPerService),
                ]),
                ["services", "runs", "wall ms", "ms/service", "peak RSS MiB", "resources", "res/service"],
            ),
        );
        for (const [k, g] of Object.entries(c.growth))
            out.push(`  growth ${k} = ${fr(g)}  (linear ≈ ${g.linearWouldBe})`);
        const big = c.sizes[Object.keys(c.sizes).pop()];
        out.push(
            `  resources: ${f1(c.marginalResourcesPerService)} per added service + ${f0(c.fixedResources)} fixed, components included (largest size: ${big.customResources} custom + ${big.componentResources} component resources)`,
        );
    }
    if (results.speed) {
        out.push("", "2a. openssl speed (one core): the raw signature floor");
        out.push(
            table(
                Object.entries(results.speed.results).map(([alg, s]) => [
                    alg,
                    fmtSpread(s.signPerSec, f0),
                    fmtSpread(s.verifyPerSec, f0),
                ]),
                ["algorithm", "sign/s", "verify/s"],
            ),
        );
    }
    if (results.handshake) {
        const h = results.handshake.materials;
        out.push(
            "",
            `2b. Mutual-TLS handshakes, Node tls, loopback, server and client in separate processes, one at a time (${results.handshake.projectMaterial.startsWith("pulumi up") ? "project material from pulumi up on the engine" : "project material from the tls test double"})`,
        );
        out.push(
            table(
                Object.values(h).map((e) => [
                    e.label,
                    fmtSpread(e.full.perSecond, f0),
                    fmtSpread(e.resumed.perSecond, f0),
                    fmtSpread(e.full.serverCpuMsPerHandshake, f2),
                    fmtSpread(e.full.clientCpuMsPerHandshake, f2),
                    e.signatureFloor ? f2(e.signatureFloor.msPerSide) : "n/a",
                    e.certificatesSent
                        ? `${e.certificatesSent.totalDerBytes} (${e.certificatesSent.serverSends.length}+${e.certificatesSent.clientSends.length} certs)`
                        : "n/a",
                    sumDer(e.configuredCertificatesDer.serverCertFileDer) +
                        sumDer(e.configuredCertificatesDer.clientCertFileDer),
                    e.wireFull?.["TLSv1.3"]
                        ? e.wireFull["TLSv1.3"].clientToServer + e.wireFull["TLSv1.3"].serverToClient
                        : "n/a",
                ]),
                [
                    "material",
                    "full hs/s",
                    "resumed hs/s",
                    "server CPU ms/full",
                    "client CPU ms/full",
                    "sig floor ms/side",
                    "cert DER bytes sent",
                    "tls.crt DER bytes",
                    "TLS1.3 bytes/full",
                ],
            ),
        );
        const neg = Object.values(h)[0]?.full.negotiated;
        if (neg)
            out.push(
                `  negotiated: ${neg.protocol}, ${neg.cipher}, ${neg.ephemeralKey?.name}; resumed = TLS 1.3 session tickets`,
            );
        out.push(
            "  cert DER bytes sent: both sides, read from the TLS 1.2 Certificate messages (Node/OpenSSL adds the root from ca.crt when the cert file holds only the leaf);",
        );
        out.push(
            "  tls.crt DER bytes: the certificates in both sides' cert files (server + client), what a peer that does not complete the chain sends;",
        );
        out.push(
            "  sig floor: one sign + two verifies per side per full handshake, priced by openssl speed; TLS1.3 bytes/full: all TLS records both ways of one connection",
        );
    }
    if (results.issuance) {
        out.push(
            "",
            "3. Issuance of N service certificates: seed openssl scripts vs pulumi up (real engine, stand-in providers)",
        );
        out.push(
            table(
                Object.entries(results.issuance.sizes).map(([n, s]) => [
                    n,
                    s.runs,
                    fmtSpread(s.seedOpensslSeconds, f1),
                    fmtSpread(s.pulumiUpSeconds, f1),
                    fr(s.upOverOpenssl),
                    fmtSpread(s.seedPerCertSeconds, f2),
                    fmtSpread(s.pulumiUpPerCertSeconds, f2),
                    fmtSpread(s.noChangeUpSeconds, f1),
                    fmtSpread(s.destroySeconds, f1),
                ]),
                [
                    "N",
                    "runs",
                    "openssl s",
                    "pulumi up s",
                    "up ÷ openssl",
                    "openssl s/cert",
                    "up s/cert",
                    "no-change up s",
                    "destroy s",
                ],
            ),
        );
    }
    if (results.cost) {
        out.push(
            "",
            "4. Engine cost against the floor (bench/floor: the same resources, bare), project ÷ floor per repetition",
        );
        const label = {
            firstUpSeconds: "first up s",
            previewSeconds: "no-change preview s",
            noChangeUpSeconds: "no-change up s",
            destroySeconds: "destroy s",
            stateBytes: "state KiB",
        };
        const rows = [];
        const groups = [
            ["default", results.cost.sizes],
            ["fast", results.cost.fastSizes ?? {}],
        ];
        for (const [mode, sizes] of groups)
            for (const [n, s] of Object.entries(sizes)) {
                for (const m of COST_MEASURES) {
                    const scale = m === "stateBytes" ? (x) => (x / 1024).toFixed(0) : f1;
                    const e = s.measures[m];
                    rows.push([
                        n,
                        mode,
                        s.runs,
                        label[m],
                        fmtSpread(e.project, scale),
                        fmtSpread(e.floor, scale),
                        fmtSpread(e.ratio, f2),
                        ...FLOOR_VARIANTS.map((kind) => (e[kind] ? fmtSpread(e[`${kind}Ratio`], f2) : "")),
                    ]);
                }
                rows.push([
                    n,
                    mode,
                    s.runs,
                    "resources",
                    s.resources.project,
                    s.resources.floor,
                    f2(s.resources.project / s.resources.floor),
                    ...FLOOR_VARIANTS.map((kind) =>
                        s.resources[kind] ? f2(s.resources[kind] / s.resources.floor) : "",
                    ),
                ]);
            }
        if (rows.length > 0)
            out.push(
                table(rows, [
                    "N",
                    "mode",
                    "runs",
                    "measure",
                    "project",
                    "floor",
                    "project ÷ floor",
                    ...FLOOR_VARIANTS.map((v) => VARIANT_HEADINGS[v]),
                ]),
            );
        const w = results.cost.writes;
        if (w)
            for (const [kind, k] of Object.entries(w.byKind))
                out.push(
                    `  N=${w.n} ${kind.padEnd(7)}: first up wrote ${k.writes} checkpoints, ${f1(k.bytesWritten / 1e6)} MB (${f2(k.bytesOverFloor)}× the floor)`,
                );
        const f = results.cost.fast;
        if (f)
            out.push(
                `  N=${f.n}: seed openssl flow ${f1(f.seedOpensslSeconds)} s; first up ${f1(f.firstUpSeconds)} s (${f2(f.firstUpOverSeed)}× the seed), fast first up ${f1(f.fastFirstUpSeconds)} s (${f2(f.fastFirstUpOverSeed)}× the seed); destroy ${f1(f.destroySeconds)} s, fast ${f1(f.fastDestroySeconds)} s`,
            );
    }
    const hl = results.headline;
    out.push("", "Headline ratios");
    if (hl.fullHandshakesPerSecond_projectP256_over_seedRsa) {
        out.push(
            `  full handshakes/s, project ECDSA-P256 ÷ seed RSA:     ${fr(hl.fullHandshakesPerSecond_projectP256_over_seedRsa)}`,
        );
        out.push(
            `  resumed handshakes/s, project ÷ seed:                 ${fr(hl.resumedHandshakesPerSecond_projectP256_over_seedRsa)}`,
        );
        out.push(
            `  server CPU per full handshake, seed ÷ project:        ${fr(hl.serverCpuPerFullHandshake_seedRsa_over_projectP256)}`,
        );
    }
    if (hl.certificateBytesSentPerHandshake) {
        const c = hl.certificateBytesSentPerHandshake;
        out.push(
            `  certificate bytes per handshake, seed ÷ project:      ${f2(c.seedOverProject)}× (${c.seedRsa} vs ${c.projectP256} bytes, leaf + root each side)`,
        );
        const d = hl.certFileBytesBothSides;
        out.push(
            `  leaf-only (tls.crt) bytes, seed ÷ project:            ${f2(d.seedOverProject)}× (${d.seedRsa} vs ${d.projectP256} bytes)`,
        );
    }
    for (const [k, v] of Object.entries(hl)) {
        const m2 = /^issuance_N(\d+)_/.exec(k);
        if (m2)
            out.push(
                `  pulumi up ÷ openssl flow, N=${m2[1]} (= per cert):${" ".repeat(Math.max(1, 7 - m2[1].length))}${fr(v)}`,
            );
    }
    if (hl["construction_t(1000)/t(100)"])
        out.push(`  construction t(1000)/t(100) (linear ≈ 10):           ${fr(hl["construction_t(1000)/t(100)"])}`);
    for (const c of results.caveats) out.push(`  caveat: ${c}`);
    console.log(out.join("\n"));
}

function assertNoKeyMaterial(text) {
    if (/PRIVATE KEY|BEGIN [A-Z ]*KEY|-----BEGIN/.test(text))
        throw new Error("bench: the results JSON would contain PEM material; not writing it");
}

// ---------------------------------------------------------------- main
let exitCode = 0;
let snapshot;
try {
    log(
        `mtls bench (${results.mode}): sections ${only.join(", ")}; temp dir ${work}; load avg ${results.load.start.one}`,
    );
    if (
        (only.includes("issuance") || only.includes("cost") || (only.includes("handshake") && MATERIAL === "engine")) &&
        !engine.ready
    ) {
        throw new Error(
            `the engine is not built (missing ${engine.missing.join("; ")}); run npm run engine:build, or use --only / --material double`,
        );
    }
    if (engine.standIns.length)
        log(
            `NOTE: provider plugins ${engine.standIns.join(", ")} are the project's stand-ins: engine numbers are "real Pulumi engine with the project's stand-in providers"`,
        );
    snapshot = snapshotProject(ROOT, path.join(work, "snapshot"));
    results.code = {
        note: "every section runs one snapshot of the program (Pulumi.yaml, package.json, tsconfig.json, components/, infra/, test/support/) copied at the start",
        atStart: results.machine.git,
    };
    const w = results.machine.git.uncommittedOutsideBench ?? [];
    log(
        `code: commit ${results.machine.git.commit?.slice(0, 12)}${w.length ? `, uncommitted: ${w.join(", ")}` : ", no uncommitted changes outside bench/"}`,
    );
    const build = buildProject(snapshot, path.join(work, "build"), ROOT);
    log(
        `compiled ${build.files} TypeScript files of the snapshot (transpile only, TypeScript ${build.typescript}) in ${build.ms.toFixed(0)} ms`,
    );
    results.load.sections = {};
    const section = async (name, fn) => {
        if (!only.includes(name)) return;
        const t0 = elapsed();
        results.load.sections[name] = { before: loadavg() };
        await fn();
        results.load.sections[name].after = loadavg();
        results.load.sections[name].seconds = elapsed() - t0;
        saveProgress();
    };
    await section("speed", () => sectionSpeed());
    await section("construction", () => sectionConstruction(build.outDir));
    await section("handshake", () => sectionHandshake(build.outDir));
    await section("issuance", () => sectionIssuance());
    await section("cost", () => {
        const floorSource = path.join(work, "floor-snapshot");
        fs.cpSync(path.join(HERE, "floor"), floorSource, { recursive: true });
        sectionCost(floorSource);
    });

    results.load.end = loadavg();
    results.code.atEnd = gitState(ROOT);
    results.finishedAt = new Date().toISOString();
    results.durationSeconds = elapsed();
    if (Math.max(results.load.start.one, results.load.end.one) > 1.5) {
        results.caveats.push(
            `load average reached ${Math.max(results.load.start.one, results.load.end.one)} on ${results.machine.cores} cores (start/end samples): something else was running; see load.sections`,
        );
    }
    results.caveats.push(
        "engine numbers: real Pulumi engine with the project's stand-in providers (engine/standin-providers), not Pulumi's released tls/random/kubernetes providers",
        "construction: the mocks answer every tls resource with one fixed pre-issued certificate, so key generation and signing are not in those times",
        "handshakes: Node's tls on loopback, one connection at a time, each side in its own process on a 2-core machine; absolute rates are Node's, the ratios are the point",
    );
    results.headline = headline();
    const text = JSON.stringify(results, (_k, v) => (typeof v === "number" ? round(v, 4) : v), 2);
    assertNoKeyMaterial(text);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, `${text}\n`);
    fs.rmSync(tmpOut, { force: true });
    printReport();
    console.log(`\nresults: ${path.relative(process.cwd(), OUT) || OUT}`);
} catch (err) {
    console.error(`bench failed after ${elapsed().toFixed(0)} s: ${err?.stack ?? err}`);
    exitCode = 1;
} finally {
    cleanup();
}
process.exit(exitCode);
