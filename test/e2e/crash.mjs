#!/usr/bin/env node
// Crash safety of `npm run up` on the real engine: `node scripts/pulumi.mjs up` is SIGKILLed with
// its whole process tree (the wrapper, the launcher, the CLI, the language host, the program and
// the providers, which the CLI starts in process groups of their own) at a seeded random moment,
// in default and fast mode (PULUMI_SKIP_CHECKPOINTS), on rendered stacks and on stacks deployed
// to the test control plane (test/cluster). After each kill the wrapper's next `up` must say what
// happened and what it did, converge with no manual step, and leave: `up --expect-no-changes`
// passing, no pending operation, no object (API server, our label) or rendered file the state does
// not hold nor one it holds missing, no private key outside Secrets and the encrypted state, and
// the peers' handshake matrix passing. Then a kill inside the file backend's own write (an empty
// metadata sidecar, made on purpose) is repaired, and two concurrent `up`s: the second is refused.
//
//   npm run e2e:crash [-- --seed N] [-- --runs N] [-- --keep]
//   MTLS_NO_RECOVER=1 npm run e2e:crash -- --runs 4     the negative control: recovery off, checks fail
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, CONTEXT, KUBECONFIG, start, status, stop } from "../cluster/cluster.mjs";
import {
    kubeObject,
    objectKey,
    PART_OF,
    PROGRAM_KINDS,
    referencedObjects,
    renderPath,
} from "../../scripts/recover.mjs";
import {
    ROOT,
    layOut,
    listFiles,
    makeProject,
    readManifests,
    runPeers,
    runTier,
    section,
    serviceMaterial,
    writeStack,
} from "./lib.mjs";

const SERVICES = ["user-service", "order-service", "payment-service", "audit-service"];
const argValue = (args, name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32): the kill times of a run are reproducible from its seed. */
function random(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** The stack config of one of our stacks; `variant` changes two services' SANs, so an up has work to do. */
function config(target, namespace, variant) {
    const san = (svc) => (variant > 0 ? { dnsNames: [`${svc}-v${variant}.crash.example`] } : {});
    return {
        "mtls:namespace": namespace,
        "mtls:trustDomain": "crash.shop.internal",
        "mtls:ca": { commonName: `crash ${namespace} root CA`, validityHours: 8760 },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
        "mtls:services": [
            {
                name: "user-service",
                image: "example/user-service:1.0",
                port: 8443,
                allowFrom: ["order-service", "payment-service"],
                ...san("user-service"),
            },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
            { name: "payment-service", image: "example/payment-service:1.0", usage: "client", ...san("payment") },
            { name: "audit-service", image: "example/audit-service:1.0", usage: "client" },
        ],
        "mtls:kubernetes":
            target === "cluster"
                ? { context: CONTEXT, kubeconfig: KUBECONFIG, skipAwait: true }
                : { renderDirectory: `out/${namespace}` },
    };
}

/** Every pid below `root` (from /proc's parent links). */
function descendants(root) {
    const parents = new Map();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // Gone meanwhile.
        }
    }
    const found = [];
    const queue = [root];
    while (queue.length) {
        const pid = queue.shift();
        for (const [child, parent] of parents)
            if (parent === pid && !found.includes(child)) {
                found.push(child);
                queue.push(child);
            }
    }
    return found;
}

function alive(pid) {
    try {
        process.kill(pid, 0);
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
    } catch {
        return false;
    }
}

/**
 * SIGKILLs `pid` and everything below it at once: first every process is stopped (so none can
 * start another or notice the others dying), then all are killed.
 */
function killTree(pid) {
    const stopped = new Set([pid]);
    process.kill(pid, "SIGSTOP");
    for (let changed = true; changed; ) {
        changed = false;
        for (const child of descendants(pid)) {
            if (stopped.has(child)) continue;
            try {
                process.kill(child, "SIGSTOP");
            } catch {
                // Already gone.
            }
            stopped.add(child);
            changed = true;
        }
    }
    for (const p of stopped) {
        try {
            process.kill(p, "SIGKILL");
        } catch {
            // Already gone.
        }
    }
    return [...stopped];
}

await runTier("crash", async ({ work, checks, args }) => {
    const seed = Number(argValue(args, "--seed") ?? Math.floor(Math.random() * 2 ** 31));
    const perStack = Number(argValue(args, "--runs") ?? 12) / 4;
    const noRecover = process.env.MTLS_NO_RECOVER === "1";
    const rand = random(seed);
    console.log(
        `seed ${seed} (rerun with -- --seed ${seed})${noRecover ? "; MTLS_NO_RECOVER=1: recovery is OFF" : ""}`,
    );
    const t0 = Date.now();

    section("control plane");
    const wasRunning = (await status()).running;
    const cluster = await start({ quiet: true });
    console.log(`  Kubernetes v${cluster.version} at ${cluster.server}`);

    const project = makeProject(work, {});
    fs.cpSync(path.join(ROOT, "scripts"), path.join(project, "scripts"), { recursive: true });
    const wrapper = path.join(project, "scripts", "pulumi.mjs");
    const env = { ...process.env, MTLS_KUBECTL: path.join(BIN, "kubectl"), PULUMI_SKIP_UPDATE_CHECK: "true" };
    for (const key of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
        delete env[key];
    env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
    const outputs = [];
    const wrap = (argv) => {
        const r = spawnSync(process.execPath, [wrapper, ...argv], {
            cwd: project,
            env,
            encoding: "utf8",
            maxBuffer: 512 * 1024 * 1024,
        });
        outputs.push(r.stdout, r.stderr);
        return r;
    };
    // The CLI itself on the project's backend, without our wrapper and its recovery pass.
    const cli = (argv) =>
        spawnSync(process.execPath, [path.join(ROOT, "node_modules", "pulumi", "run.js"), ...argv], {
            cwd: project,
            env: {
                ...env,
                PULUMI_BACKEND_URL: `file://${path.join(project, ".pulumi-state")}`,
                PULUMI_CONFIG_PASSPHRASE_FILE: path.join(project, ".pulumi-state", "passphrase"),
            },
            encoding: "utf8",
        });
    const kubectl = (argv, allowFail = false) => {
        const r = spawnSync(path.join(BIN, "kubectl"), ["--kubeconfig", KUBECONFIG, "--context", CONTEXT, ...argv], {
            encoding: "utf8",
            maxBuffer: 256 * 1024 * 1024,
        });
        if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${argv.join(" ")}: ${r.stderr}`);
        return r;
    };
    const exportState = (stack) => {
        const r = wrap(["--", "stack", "export", "--stack", stack]);
        if (r.status !== 0) throw new Error(`pulumi stack export --stack ${stack} failed: ${r.stderr.trim()}`);
        return JSON.parse(r.stdout).deployment;
    };

    /** Objects on the API server (ours by label, and the namespace) against the state's. */
    function clusterDrift(namespace, deployment) {
        const referenced = referencedObjects(deployment);
        const held = new Set();
        for (const kind of PROGRAM_KINDS) {
            const r = kubectl(["get", kind, "-n", namespace, "-l", `${PART_OF}=mtls`, "-o", "json"]);
            for (const o of JSON.parse(r.stdout).items)
                held.add(objectKey({ kind: o.kind, namespace, name: o.metadata.name }));
        }
        if (kubectl(["get", "namespace", namespace], true).status === 0)
            held.add(objectKey({ kind: "Namespace", name: namespace }));
        const unlabelled = (deployment.resources ?? [])
            .filter((r) => kubeObject(r) && r.outputs?.metadata?.labels?.[PART_OF] !== "mtls")
            .map((r) => kubeObject(r).kind);
        return {
            orphans: [...held].filter((k) => !referenced.has(k)),
            missing: [...referenced].filter((k) => !held.has(k)),
            unlabelled: [...new Set(unlabelled)],
        };
    }

    /** Rendered files against the state's objects. */
    function renderDrift(dir, deployment) {
        const expected = new Set(
            (deployment.resources ?? [])
                .map(kubeObject)
                .filter(Boolean)
                .map((o) => renderPath(o, dir)),
        );
        const files = listFiles(dir);
        return {
            orphans: files.filter((f) => !expected.has(f)).map((f) => path.relative(dir, f)),
            missing: [...expected].filter((f) => !files.includes(f)).map((f) => path.relative(dir, f)),
            unlabelled: [],
        };
    }

    /** Files and objects that hold a private key but are neither a Secret nor the encrypted state. */
    function keyLeaks(namespace, renderDir, runOutput) {
        const leaks = [];
        for (const file of listFiles(project).filter(
            (f) => path.basename(f) !== "node_modules" && !f.includes(`${path.sep}node_modules${path.sep}`),
        )) {
            if (renderDir && file.startsWith(renderDir) && /-secret-/.test(path.basename(file))) continue;
            if (fs.readFileSync(file, "latin1").includes("PRIVATE KEY")) leaks.push(path.relative(project, file));
        }
        if (!renderDir) {
            const cms = JSON.parse(kubectl(["get", "configmaps", "-n", namespace, "-o", "json"], true).stdout || "{}");
            for (const cm of cms.items ?? [])
                if (JSON.stringify(cm).includes("PRIVATE KEY")) leaks.push(`ConfigMap ${cm.metadata.name}`);
        }
        if (runOutput.includes("PRIVATE KEY")) leaks.push("the runs' output");
        return leaks;
    }

    /** The peers' matrix over the material the stack delivers (rendered files or the API server's objects). */
    function handshakes(label, namespace, renderDir) {
        const objects = renderDir
            ? readManifests(renderDir)
            : ["configmaps", "secrets", "deployments"].flatMap(
                  (k) => JSON.parse(kubectl(["get", k, "-n", namespace, "-o", "json"]).stdout).items,
              );
        const dir = path.join(work, "material", label);
        const material = Object.fromEntries(
            SERVICES.map((s) => [s, layOut(serviceMaterial(objects, s), path.join(dir, s))]),
        );
        const result = runPeers(
            work,
            label,
            {
                server: {
                    name: "user-service",
                    dir: material["user-service"],
                    dnsName: `user-service.${namespace}.svc`,
                    allowedClients: ["order-service", "payment-service"],
                },
                clients: [
                    { label: "order-service", dir: material["order-service"], expect: "ok", expectCN: "order-service" },
                    {
                        label: "payment-service",
                        dir: material["payment-service"],
                        expect: "ok",
                        expectCN: "payment-service",
                    },
                    {
                        label: "audit-service (not in allowFrom)",
                        dir: material["audit-service"],
                        expect: "forbidden",
                        expectCN: "audit-service",
                    },
                    { label: "no client certificate", dir: null, expect: "refused" },
                ],
                builtins: false,
            },
            ["--tls", "1.3", "--peers", "openssl,node"],
        );
        fs.rmSync(dir, { recursive: true, force: true });
        return result;
    }

    const stacks = [
        { stack: "crash-rd", target: "rendered", mode: "default" },
        { stack: "crash-rf", target: "rendered", mode: "fast" },
        { stack: "crash-cd", target: "cluster", mode: "default" },
        { stack: "crash-cf", target: "cluster", mode: "fast" },
    ];
    const table = [];
    const estimate = { "rendered/default": 10, "rendered/fast": 8, "cluster/default": 12, "cluster/fast": 9 };
    try {
        for (let round = 0; round < perStack; round += 1) {
            for (const s of stacks) {
                const namespace = s.stack;
                const renderDir = s.target === "rendered" ? path.join(project, "out", namespace) : undefined;
                writeStack(project, s.stack, config(s.target, namespace, round));
                const label = `${s.stack} #${round + 1}`;
                section(
                    `${label}: ${s.mode} mode, ${s.target}, ${round === 0 ? "first up (empty stack)" : `SAN change v${round}`}`,
                );
                const fast = s.mode === "fast" ? ["--fast"] : [];
                const key = `${s.target}/${s.mode}`;
                outputs.length = 0;
                let killed = false;
                let killAfter = 0;
                let started = Date.now();
                // An up that ends before its kill has converged: change the SANs again and kill the next one sooner.
                for (let attempt = 0; attempt < 3 && !killed; attempt += 1) {
                    if (attempt > 0) writeStack(project, s.stack, config(s.target, namespace, round + 10 * attempt));
                    killAfter = Math.round((1 + rand() * (estimate[key] - 1)) * 10) / 10;
                    const child = spawn(
                        process.execPath,
                        [wrapper, "up", "--skip-preview", "--stack", s.stack, ...fast],
                        {
                            cwd: project,
                            env,
                            stdio: ["ignore", "pipe", "pipe"],
                        },
                    );
                    let killedOutput = "";
                    child.stdout.on("data", (d) => {
                        killedOutput += d;
                    });
                    child.stderr.on("data", (d) => {
                        killedOutput += d;
                    });
                    const exited = new Promise((resolve) =>
                        child.on("exit", (code, signal) => resolve({ code, signal })),
                    );
                    started = Date.now();
                    const raced = await Promise.race([exited, sleep(killAfter * 1000).then(() => undefined)]);
                    if (raced === undefined) {
                        const pids = killTree(child.pid);
                        killed = true;
                        await exited;
                        await sleep(300);
                        const survivors = pids.filter(alive);
                        console.log(
                            `  SIGKILL after ${killAfter}s: ${pids.length} processes (wrapper, launcher, CLI, language host, program, providers)`,
                        );
                        checks.ok(
                            survivors.length === 0,
                            `${label}: every process of the killed run is gone`,
                            survivors.join(","),
                        );
                    } else {
                        const took = (Date.now() - started) / 1000;
                        console.log(
                            `  the up finished (exit ${raced.code}, ${took.toFixed(1)}s) before the kill at ${killAfter}s: changing the SANs again and killing sooner`,
                        );
                        estimate[key] = Math.max(2, took * 0.85);
                    }
                    outputs.push(killedOutput);
                }

                const recoveryStarted = Date.now();
                const recovery = wrap(["up", "--skip-preview", "--stack", s.stack, ...fast]);
                const said = `${recovery.stdout}\n${recovery.stderr}`
                    .split("\n")
                    .filter((l) => l.startsWith("recovery:"));
                for (const line of said) console.log(`  | ${line}`);
                const converged = recovery.status === 0;
                if (converged) estimate[key] = Math.max(2, ((Date.now() - recoveryStarted) / 1000) * 0.85);
                checks.ok(
                    converged,
                    `${label}: the next \`up\` converges`,
                    (recovery.stdout + recovery.stderr).slice(-1500),
                );
                if (killed && !noRecover)
                    checks.ok(
                        said.some((l) => /was killed/.test(l)),
                        `${label}: the next \`up\` says the previous run was killed and what it did`,
                    );
                const again = wrap(["up", "--skip-preview", "--stack", s.stack, "--expect-no-changes"]);
                checks.ok(
                    again.status === 0,
                    `${label}: up --expect-no-changes holds`,
                    (again.stdout + again.stderr).slice(-1500),
                );
                const deployment = exportState(s.stack);
                const pendingLeft = (deployment.pending_operations ?? []).length;
                checks.ok(pendingLeft === 0, `${label}: no pending operation left in the state`, `${pendingLeft} left`);
                const drift = renderDir ? renderDrift(renderDir, deployment) : clusterDrift(namespace, deployment);
                checks.ok(
                    drift.orphans.length === 0 && drift.missing.length === 0,
                    `${label}: ${renderDir ? "the render directory" : "the API server"} holds exactly the state's objects`,
                    `orphans: ${drift.orphans.join(", ") || "none"}; missing: ${drift.missing.join(", ") || "none"}`,
                );
                if (!renderDir) {
                    // The recovery finds orphans by the label; the namespace alone it finds by name.
                    checks.ok(
                        drift.unlabelled.every((k) => k === "Namespace"),
                        `${label}: every kind the program creates carries ${PART_OF}=mtls but the Namespace (${drift.unlabelled.join(", ") || "none"} without)`,
                    );
                }
                const leaks = keyLeaks(namespace, renderDir, outputs.join("\n"));
                checks.ok(
                    leaks.length === 0,
                    `${label}: no private key outside Secrets and the encrypted state`,
                    leaks.join(", "),
                );
                const peers = converged
                    ? handshakes(`${s.stack}-${round}`, namespace, renderDir)
                    : { status: 1, passed: 0, failed: 0 };
                checks.ok(
                    peers.status === 0 && peers.failed === 0 && peers.passed > 0,
                    `${label}: the handshake matrix passes (${peers.passed} passed, ${peers.failed} failed)`,
                );
                table.push({
                    mode: s.mode,
                    target: s.target,
                    kill: killed ? `${killAfter}s` : `none (done < ${killAfter}s)`,
                    said: summarize(said),
                    converged: converged && again.status === 0 && drift.orphans.length + drift.missing.length === 0,
                    seconds: Math.round((Date.now() - started) / 1000),
                    manual: !(converged && again.status === 0 && pendingLeft === 0 && drift.orphans.length === 0),
                });
            }
        }

        section("a kill inside the file backend's write of the checkpoint");
        {
            // fileblob truncates a blob's .attrs sidecar and rewrites it in place before renaming
            // the blob's temporary file over it: a SIGKILL in between (seen once in CI, at random)
            // leaves the sidecar empty and the temporary file behind. Made here on purpose.
            const s = stacks[0];
            const stacksDir = path.join(project, ".pulumi-state", ".pulumi", "stacks", "mtls");
            const sidecar = path.join(stacksDir, `${s.stack}.json.attrs`);
            const temp = path.join(stacksDir, `${s.stack}.json.18a3f0c2b1d4e5f6.tmp`);
            checks.ok(fs.existsSync(sidecar), `the file backend keeps a sidecar beside ${s.stack}.json`);
            fs.writeFileSync(sidecar, "");
            fs.writeFileSync(temp, "{");
            const plain = cli(["stack", "export", "--stack", s.stack]);
            const plainSaid = (plain.stdout + plain.stderr).split("\n").find((l) => /error/.test(l)) ?? "";
            console.log(`  the CLI straight on that backend: ${plainSaid.trim()}`);
            checks.ok(
                plain.status !== 0 && /failed to load checkpoint: EOF/.test(plainSaid),
                "without recovery the CLI cannot read the stack (failed to load checkpoint: EOF)",
                (plain.stdout + plain.stderr).slice(-600),
            );
            const repaired = wrap(["up", "--skip-preview", "--stack", s.stack, "--expect-no-changes"]);
            const said = `${repaired.stdout}\n${repaired.stderr}`.split("\n").filter((l) => l.startsWith("recovery:"));
            for (const line of said) console.log(`  | ${line}`);
            checks.ok(
                repaired.status === 0,
                "the next `up` through our wrapper repairs the backend and finds no change to make",
                (repaired.stdout + repaired.stderr).slice(-1500),
            );
            if (!noRecover)
                checks.ok(
                    said.some((l) => /metadata sidecar .*is empty/.test(l)) &&
                        said.some((l) => /a temporary file of a write/.test(l)),
                    "it says it removed the empty sidecar and the temporary file",
                );
            checks.ok(!fs.existsSync(temp), "the temporary file is gone");
        }

        section("two concurrent `up`s on one stack");
        const s = stacks[0];
        writeStack(project, s.stack, config(s.target, s.stack, 9));
        const first = spawn(process.execPath, [wrapper, "up", "--skip-preview", "--stack", s.stack], {
            cwd: project,
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let firstOutput = "";
        first.stdout.on("data", (d) => {
            firstOutput += d;
        });
        first.stderr.on("data", (d) => {
            firstOutput += d;
        });
        const firstDone = new Promise((resolve) => first.on("exit", (code) => resolve(code)));
        const lockDir = path.join(project, ".pulumi-state", ".pulumi", "locks", "organization", "mtls", s.stack);
        for (let i = 0; i < 200 && !(fs.existsSync(lockDir) && fs.readdirSync(lockDir).length > 0); i += 1)
            await sleep(100);
        const second = wrap(["up", "--skip-preview", "--stack", s.stack]);
        console.log(`  second (our wrapper): ${second.stderr.trim().split("\n").pop()}`);
        checks.ok(
            second.status === 2 &&
                /^refused: another `pulumi up` of stack crash-rd is running \(pid \d+/m.test(second.stderr),
            "the second `up` through our wrapper is refused with one clear line (exit 2)",
            second.stderr.slice(-600),
        );
        const raw = cli(["up", "--yes", "--non-interactive", "--stack", s.stack]);
        const rawSaid = (raw.stdout + raw.stderr).split("\n").find((l) => /locked/.test(l)) ?? "";
        console.log(`  a second \`pulumi up\` straight to the CLI: ${rawSaid.trim()}`);
        checks.ok(
            raw.status !== 0 && /the stack is currently locked by 1 lock/.test(rawSaid),
            "the CLI itself refuses a second `up` by its lock too",
        );
        const firstCode = await firstDone;
        outputs.length = 0;
        outputs.push(firstOutput);
        checks.ok(firstCode === 0, "the first `up` finishes", firstOutput.slice(-1500));
        const after = wrap(["up", "--skip-preview", "--stack", s.stack, "--expect-no-changes"]);
        checks.ok(
            after.status === 0,
            "then up --expect-no-changes holds: nothing was lost",
            (after.stdout + after.stderr).slice(-800),
        );
        const deployment = exportState(s.stack);
        const renderDir = path.join(project, "out", s.stack);
        const drift = renderDrift(renderDir, deployment);
        checks.ok(
            drift.orphans.length === 0 &&
                drift.missing.length === 0 &&
                (deployment.pending_operations ?? []).length === 0,
            "the state holds every rendered object and nothing else is rendered",
            JSON.stringify(drift),
        );

        section("per-run table");
        console.log("  | # | mode | target | kill after | what recovery said | converged | manual step | run s |");
        console.log("  |---|---|---|---|---|---|---|---|");
        for (const [i, r] of table.entries())
            console.log(
                `  | ${i + 1} | ${r.mode} | ${r.target} | ${r.kill} | ${r.said} | ${r.converged ? "yes" : "no"} | ${r.manual ? "yes" : "no"} | ${r.seconds} |`,
            );
        const kills = table.filter((r) => !r.kill.startsWith("none")).length;
        console.log(
            `  ${kills} runs killed, ${table.length - kills} finished before their kill; ${((Date.now() - t0) / 1000).toFixed(0)}s`,
        );
        if (perStack * 4 >= 10) checks.ok(kills >= 10, `at least 10 runs were killed (${kills})`);

        section("clean up");
        for (const { stack } of stacks) {
            const r = wrap(["destroy", "--stack", stack]);
            checks.ok(r.status === 0, `destroy ${stack}`, (r.stdout + r.stderr).slice(-600));
        }
    } finally {
        if (!wasRunning) stop({ quiet: true });
    }
});

/** One cell of the table: what the recovery lines amount to. */
function summarize(lines) {
    if (lines.length === 0) return "nothing (no recovery needed)";
    const parts = [];
    if (lines.some((l) => /was killed/.test(l))) parts.push("killed run found");
    if (lines.some((l) => /removing its lock/.test(l))) parts.push("stale lock removed");
    if (lines.some((l) => /metadata sidecar/.test(l))) parts.push("broken backend sidecar removed");
    const pending = lines.find((l) => /operation\(s\) the killed run had started/.test(l));
    if (pending) parts.push(`${/(\d+) operation/.exec(pending)?.[1]} pending`);
    const deleted = lines.filter((l) => /^recovery: (deleted|removed) /.test(l)).length;
    if (deleted) parts.push(`${deleted} orphan(s) deleted`);
    if (lines.some((l) => /dropped the/.test(l))) parts.push("pending dropped");
    if (lines.some((l) => /nothing the killed run created/.test(l))) parts.push("no orphan");
    return parts.join(", ");
}
