// Recovery after a killed `pulumi up`/`destroy`, run by scripts/pulumi.mjs before each
// up, preview, destroy and refresh of a stack on a file backend:
//
//   1. our run marker (<backend>/.mtls-runs/<project>/<stack>.json, no secrets): taken with O_EXCL
//      for the length of a command; one left behind by a dead process means that run was killed,
//      one held by a live process means a concurrent run, which is refused;
//   2. the CLI's own lock (<backend>/.pulumi/locks/.../<stack>/<uuid>.json): a dead pid on this
//      host is removed, a live one refuses the run;
//   3. pending operations in the state (what the engine had started and not recorded as done):
//      named, and dropped from the state with `pulumi stack export` / `stack import`, after
//      whatever a pending create made is deleted, so the next run creates it again;
//   4. orphans: Kubernetes objects (or rendered files) the killed run created and the state does
//      not hold. With checkpoints those are the pending creates; without (fast mode,
//      PULUMI_SKIP_CHECKPOINTS) everything created since the killed run started;
//   5. the file backend's own leftovers: gocloud.dev's fileblob writes each blob to a temporary
//      file and renames it (atomic), but truncates and rewrites the blob's `.attrs` sidecar in
//      place before the rename. A kill in that window leaves an empty sidecar, and every later
//      command fails with `failed to load checkpoint: EOF`. The sidecar holds only metadata (content
//      type, MD5, never checked on read) and a missing one reads as defaults, so a broken one is
//      removed; so are the temporary files a killed write left.
//
// The pure parts (verdicts, what the state references, what is orphaned) are exported and tested
// in test/recover.test.ts; the rest reads the disk, kubectl and the CLI.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

/** The label every object of this project carries (components/ingressRules.ts workloadLabels). */
export const PART_OF = "app.kubernetes.io/part-of";

/** The namespaced kinds the program creates, as `kubectl get` names them (besides those found in the state). */
export const PROGRAM_KINDS = [
    "configmaps",
    "secrets",
    "serviceaccounts",
    "services",
    "deployments.apps",
    "networkpolicies.networking.k8s.io",
];

/**
 * Our marker of a run in progress (never a secret).
 * @typedef {object} RunMarker
 * @property {number} pid the wrapper's pid
 * @property {string} host
 * @property {string} command `up`, `destroy`, ...
 * @property {"default" | "fast"} mode fast: PULUMI_SKIP_CHECKPOINTS, no intermediate checkpoint
 * @property {string} started ISO time
 */
/**
 * The CLI's lock file (pkg/backend/diy/lock.go lockContent).
 * @typedef {object} CliLock
 * @property {number} pid the CLI's pid
 * @property {string} username
 * @property {string} hostname
 * @property {string} timestamp
 */
/**
 * A Kubernetes object named by the state, a pending operation or the API server.
 * @typedef {object} KubeObject
 * @property {string} apiVersion
 * @property {string} kind
 * @property {string} [namespace] absent for cluster-scoped kinds
 * @property {string} name
 */
/**
 * A state resource as `pulumi stack export` writes it (foreign JSON: only the fields read here).
 * @typedef {object} StateResource
 * @property {string} urn
 * @property {string} type
 * @property {string} [id]
 * @property {boolean} [custom]
 * @property {any} [inputs]
 * @property {any} [outputs]
 */
/**
 * @typedef {object} PendingOperation
 * @property {StateResource} resource
 * @property {string} type `creating`, `updating`, `deleting`, `reading`, `importing`
 */
/**
 * The `deployment` of `pulumi stack export` (foreign JSON).
 * @typedef {object} Deployment
 * @property {StateResource[]} [resources]
 * @property {PendingOperation[]} [pending_operations]
 */

/**
 * Takes our `--fast` flag out of the arguments: the CLI never sees it.
 * @param {string[]} args
 * @returns {{ fast: boolean, args: string[] }}
 */
export function takeFast(args) {
    return { fast: args.includes("--fast"), args: args.filter((a) => a !== "--fast") };
}

/**
 * Whether a process is alive: `kill -0` answers and it is not a zombie; with `command`, its command
 * line must also contain it (a pid reused by another program is not the run that wrote the file).
 * @param {number} pid
 * @param {string} [command]
 * @returns {boolean}
 */
export function processAlive(pid, command) {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
        process.kill(pid, 0);
    } catch (err) {
        return /** @type {NodeJS.ErrnoException} */ (err).code === "EPERM";
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
        if (command && !fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(command)) return false;
    } catch {
        // No /proc (not Linux): trust kill -0.
    }
    return true;
}

/**
 * What to do about a marker or CLI lock found before a run: `stale` (its process is dead: the run
 * was killed), `live` (a run is in progress here) or `foreign` (another host's: cannot tell).
 * @param {{ pid: number, host: string }} owner
 * @param {{ host: string, alive: (pid: number) => boolean }} here
 * @returns {"stale" | "live" | "foreign"}
 */
export function verdict(owner, here) {
    if (owner.host !== here.host) return "foreign";
    return here.alive(owner.pid) ? "live" : "stale";
}

/**
 * The apiVersion and kind of a kubernetes type token: `kubernetes:apps/v1:Deployment` → apps/v1
 * Deployment, `kubernetes:core/v1:ConfigMap` → v1 ConfigMap; undefined for anything else (the
 * provider, the yaml/helm components).
 * @param {string} type
 * @returns {{ apiVersion: string, kind: string } | undefined}
 */
export function kubeType(type) {
    const m = /^kubernetes:([^:]+)\/([^/:]+):([A-Za-z0-9]+)$/.exec(type);
    if (!m || m[1] === "yaml" || m[1] === "helm.sh" || m[1] === "kustomize") return undefined;
    return { apiVersion: m[1] === "core" ? m[2] : `${m[1]}/${m[2]}`, kind: m[3] };
}

/**
 * The object a state resource stands for: from its outputs' metadata, else its id (`ns/name` or
 * `name`), else (a pending create has no id yet) its checked inputs, which carry the auto-name.
 * @param {StateResource} resource
 * @returns {KubeObject | undefined}
 */
export function kubeObject(resource) {
    const type = kubeType(resource.type);
    if (!type) return undefined;
    const meta = plainObject(resource.outputs?.metadata) ?? plainObject(resource.inputs?.metadata);
    let name = typeof meta?.name === "string" ? meta.name : undefined;
    let namespace = typeof meta?.namespace === "string" ? meta.namespace : undefined;
    if (!name && resource.id) {
        const parts = resource.id.split("/");
        name = parts.pop();
        namespace = parts.pop() ?? namespace;
    }
    if (!name) return undefined;
    return { ...type, name, ...(namespace ? { namespace } : {}) };
}

/**
 * @param {unknown} value
 * @returns {Record<string, unknown> | undefined} the value when it is a plain object (not an encrypted secret)
 */
function plainObject(value) {
    if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
    const record = /** @type {Record<string, unknown>} */ (value);
    return "ciphertext" in record ? undefined : record;
}

/**
 * @param {KubeObject} o
 * @returns {string} `Kind namespace/name` (or `Kind name`), the key objects are compared by
 */
export function objectKey(o) {
    return `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}

/**
 * Every Kubernetes object the state holds (keys of objectKey).
 * @param {Deployment} deployment
 * @returns {Set<string>}
 */
export function referencedObjects(deployment) {
    /** @type {Set<string>} */
    const keys = new Set();
    for (const resource of deployment.resources ?? []) {
        const o = kubeObject(resource);
        if (o) keys.add(objectKey(o));
    }
    return keys;
}

/**
 * The kinds of the state's Kubernetes objects that do not carry `app.kubernetes.io/part-of: mtls`
 * (an orphan of such a kind cannot be found by the label).
 * @param {Deployment} deployment
 * @returns {string[]}
 */
export function unlabelledKinds(deployment) {
    /** @type {Set<string>} */
    const kinds = new Set();
    for (const resource of deployment.resources ?? []) {
        const o = kubeObject(resource);
        if (!o) continue;
        const labels = plainObject(plainObject(resource.outputs?.metadata)?.labels);
        if (labels?.[PART_OF] !== "mtls") kinds.add(o.kind);
    }
    return [...kinds].sort();
}

/**
 * Where Pulumi's kubernetes provider renders an object under `renderYamlToDirectory`
 * (provider/pkg/provider renderPathForResource): `0-crd/` for CRDs, `1-manifest/` otherwise, named
 * `<apiVersion with / and : as _>-<kind>-<namespace or default>-<name>.yaml`.
 * @param {KubeObject} o
 * @param {string} dir the render directory
 * @returns {string}
 */
export function renderPath(o, dir) {
    const file = `${o.apiVersion.replace(/[/:]/g, "_")}-${o.kind.toLowerCase()}-${o.namespace || "default"}-${o.name}.yaml`;
    return path.join(dir, o.kind === "CustomResourceDefinition" ? "0-crd" : "1-manifest", file);
}

/**
 * The last segment of a URN: the resource's name.
 * @param {string} urn
 * @returns {string}
 */
export function urnName(urn) {
    return urn.split("::").pop() ?? urn;
}

/**
 * One line per pending operation: what the killed run was doing to which resource.
 * @param {PendingOperation[]} pending
 * @returns {string[]}
 */
export function describePending(pending) {
    return pending.map(({ resource, type }) => {
        const o = kubeObject(resource);
        return `${type} ${resource.type} ${urnName(resource.urn)}${o ? ` (${objectKey(o)})` : ""}`;
    });
}

/**
 * What a killed run left behind and the state does not hold: every candidate that a pending create
 * names, and (`since` set: we know when the killed run started) every candidate created since then.
 * The rest of the unreferenced candidates are older than the killed run and left alone.
 * @template T
 * @param {{ item: T, key: string, created: number }[]} candidates `created` in ms since the epoch
 * @param {{ referenced: Set<string>, pendingCreates: Set<string>, since?: number }} known
 * @returns {{ remove: T[], leave: T[] }}
 */
export function orphans(candidates, { referenced, pendingCreates, since }) {
    /** @type {T[]} */
    const remove = [];
    /** @type {T[]} */
    const leave = [];
    for (const { item, key, created } of candidates) {
        if (referenced.has(key)) continue;
        // Timestamps have one-second resolution on the API server: allow for it.
        if (pendingCreates.has(key) || (since !== undefined && created >= since - 2000)) remove.push(item);
        else leave.push(item);
    }
    return { remove, leave };
}

/**
 * The deployment without its pending operations (the engine keeps pending creates forever
 * otherwise: pkg/backend/snapshot.go propagates them "because these must require user intervention").
 * @param {any} exported the whole `pulumi stack export` document
 * @returns {any}
 */
export function withoutPending(exported) {
    return { ...exported, deployment: { ...exported.deployment, pending_operations: [] } };
}

/**
 * Where a file backend lives, or undefined for any other backend (recovery needs the files).
 * @param {string} url PULUMI_BACKEND_URL
 * @returns {string | undefined}
 */
export function fileBackendDir(url) {
    if (!url.startsWith("file://")) return undefined;
    const rest = url.slice("file://".length).replace(/\?.*$/, "");
    return rest.startsWith("~") ? path.join(os.homedir(), rest.slice(1)) : rest;
}

// ------------------------------------------------------------------------------------------ I/O

/**
 * @typedef {object} RecoverOptions
 * @property {string} root the project root
 * @property {string} backendDir the file backend's directory
 * @property {string} project the Pulumi project name
 * @property {string} stack
 * @property {string} command the Pulumi command about to run
 * @property {"default" | "fast"} mode
 * @property {(args: string[]) => import("node:child_process").SpawnSyncReturns<string>} pulumi the CLI, output captured
 * @property {{ renderDirectory?: string, context?: string, kubeconfig?: string, namespace?: string }} target the stack's Kubernetes target (stack config)
 * @property {(line: string) => void} [log]
 * @property {string} [liveCommand] what a live marker's command line contains (default `pulumi.mjs`)
 */

/**
 * The recovery pass. Returns the marker file now held for this run (remove it when the command
 * ends), or a refusal (exit 2) when another run holds the stack.
 * @param {RecoverOptions} options
 * @returns {{ marker: string } | { refusal: string }}
 */
export function recover(options) {
    const { backendDir, project, stack, command, mode } = options;
    const log = options.log ?? ((line) => console.error(`recovery: ${line}`));
    const host = os.hostname();
    const marker = path.join(backendDir, ".mtls-runs", project, `${stack}.json`);
    fs.mkdirSync(path.dirname(marker), { recursive: true, mode: 0o700 });

    /** @type {RunMarker | undefined} */
    let killed;
    /** @type {RunMarker} */
    const mine = { pid: process.pid, host, command, mode, started: new Date().toISOString() };
    for (let attempt = 0; ; attempt += 1) {
        try {
            fs.writeFileSync(marker, `${JSON.stringify(mine)}\n`, { flag: "wx", mode: 0o600 });
            break;
        } catch (err) {
            if (/** @type {NodeJS.ErrnoException} */ (err).code !== "EEXIST" || attempt > 3) throw err;
        }
        /** @type {RunMarker} */
        let previous;
        try {
            previous = JSON.parse(fs.readFileSync(marker, "utf8"));
        } catch {
            // Half-written by a run killed at that instant, or removed meanwhile: try again.
            fs.rmSync(marker, { force: true });
            continue;
        }
        const seen = verdict(previous, {
            host,
            alive: (pid) => processAlive(pid, options.liveCommand ?? "pulumi.mjs"),
        });
        if (seen !== "stale")
            return {
                refusal:
                    `another \`pulumi ${previous.command}\` of stack ${stack} is running (pid ${previous.pid} on ${previous.host}, started ${previous.started}); ` +
                    `this one does nothing: wait for it to end and run again.${seen === "foreign" ? ` If that run is gone, remove ${marker}.` : ""}`,
            };
        killed = previous;
        log(
            `a previous \`pulumi ${previous.command}\` of stack ${stack} (pid ${previous.pid}, started ${previous.started}, ${previous.mode === "fast" ? "fast mode: no intermediate checkpoints" : "with checkpoints"}) was killed; cleaning up after it.`,
        );
        fs.rmSync(marker, { force: true });
    }

    try {
        const refusal = cliLocks(backendDir, project, stack, host, log);
        if (refusal) {
            fs.rmSync(marker, { force: true });
            return { refusal };
        }
        backendLeftovers(backendDir, project, stack, log);
        cleanState(options, killed, log);
    } catch (err) {
        fs.rmSync(marker, { force: true });
        throw err;
    }
    return { marker };
}

/**
 * Removes the CLI's locks of `stack` left by dead processes on this host; returns a refusal when a
 * live (or another host's) lock remains.
 * @param {string} backendDir
 * @param {string} project
 * @param {string} stack
 * @param {string} host
 * @param {(line: string) => void} log
 * @returns {string | undefined}
 */
function cliLocks(backendDir, project, stack, host, log) {
    const dir = path.join(backendDir, ".pulumi", "locks", "organization", project, stack);
    if (!fs.existsSync(dir)) return undefined;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        const full = path.join(dir, file);
        /** @type {CliLock} */
        let lock;
        try {
            lock = JSON.parse(fs.readFileSync(full, "utf8"));
        } catch {
            continue;
        }
        const seen = verdict(
            { pid: lock.pid, host: lock.hostname },
            { host, alive: (pid) => processAlive(pid, "pulumi") },
        );
        const who = `pid ${lock.pid}, ${lock.username}@${lock.hostname}, since ${lock.timestamp}`;
        if (seen === "stale") {
            log(`the Pulumi CLI that held stack ${stack} (${who}) is dead; removing its lock ${full}.`);
            fs.rmSync(full, { force: true });
            // The file backend's attributes sidecar (gocloud.dev fileblob).
            fs.rmSync(`${full}.attrs`, { force: true });
        } else if (seen === "live") {
            return `stack ${stack} is locked by a running Pulumi CLI (${who}); this run does nothing: wait for it to end.`;
        } else {
            return `stack ${stack} is locked by ${who}, on another host: this host cannot tell whether that run is alive. If it is gone, run \`npm run pulumi -- cancel --stack ${stack}\`.`;
        }
    }
    return undefined;
}

/**
 * Whether a fileblob `.attrs` sidecar's text is not the JSON object fileblob writes (empty or cut
 * short by a kill): fileblob then refuses to read the blob beside it.
 * @param {string} text
 * @returns {boolean}
 */
export function brokenSidecar(text) {
    try {
        const value = JSON.parse(text);
        return value === null || typeof value !== "object" || Array.isArray(value);
    } catch {
        return true;
    }
}

/**
 * Whether `file` is a temporary file fileblob left when killed mid-write of a blob of `stack`
 * (`<blob>.<hex nanoseconds>.tmp`, written beside the blob: Pulumi sets no_tmp_dir).
 * @param {string} file a file name in one of the stack's directories
 * @param {string} stack
 * @param {boolean} inStackDir whether the directory is the stack's own (locks, history, backups)
 * @returns {boolean}
 */
export function leftoverTemp(file, stack, inStackDir) {
    return /\.[0-9a-f]+\.tmp$/.test(file) && (inStackDir || file.startsWith(`${stack}.json`));
}

/**
 * Repairs what a killed CLI left in the file backend for `stack`: broken `.attrs` sidecars are
 * removed (see 5. above), and so are fileblob's temporary files. Only the stack's own files are
 * touched; recovery runs once no other run holds the stack.
 * @param {string} backendDir
 * @param {string} project
 * @param {string} stack
 * @param {(line: string) => void} log
 */
function backendLeftovers(backendDir, project, stack, log) {
    const root = path.join(backendDir, ".pulumi");
    /** @type {[string, boolean][]} the directories and whether each is the stack's own */
    const dirs = [
        [root, false],
        [path.join(root, "stacks", project), false],
        [path.join(root, "locks", "organization", project, stack), true],
        [path.join(root, "history", project, stack), true],
        [path.join(root, "backups", project, stack), true],
    ];
    for (const [dir, own] of dirs) {
        if (!fs.existsSync(dir)) continue;
        for (const file of fs.readdirSync(dir)) {
            const full = path.join(dir, file);
            const mine = own || (dir === root ? file === "meta.yaml.attrs" : file.startsWith(`${stack}.json`));
            if (!mine || !fs.statSync(full).isFile()) continue;
            const sidecar = file.endsWith(".attrs") ? fs.readFileSync(full, "utf8") : undefined;
            if (sidecar !== undefined && brokenSidecar(sidecar)) {
                log(
                    `the file backend's metadata sidecar ${full} is ${sidecar.length === 0 ? "empty" : "cut short"} (a write the killed CLI did not finish); removing it: it holds no state, and the CLI reads the file beside it without it.`,
                );
                fs.rmSync(full, { force: true });
            } else if (leftoverTemp(file, stack, own)) {
                log(`removing ${full}: a temporary file of a write the killed CLI did not finish.`);
                fs.rmSync(full, { force: true });
            }
        }
    }
}

/**
 * The stack's checkpoint, read from the file backend (plain or gzipped), or undefined for a new stack.
 * @param {string} backendDir
 * @param {string} project
 * @param {string} stack
 * @returns {Deployment | undefined}
 */
function readCheckpoint(backendDir, project, stack) {
    const base = path.join(backendDir, ".pulumi", "stacks", project, `${stack}.json`);
    for (const file of [base, `${base}.gz`]) {
        if (!fs.existsSync(file)) continue;
        const bytes = fs.readFileSync(file);
        const text = file.endsWith(".gz") ? zlib.gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
        return JSON.parse(text).checkpoint?.latest ?? {};
    }
    return undefined;
}

/**
 * Pending operations and orphans: deletes what the killed run created and the state lacks, then
 * drops the pending operations from the state.
 * @param {RecoverOptions} options
 * @param {RunMarker | undefined} killed
 * @param {(line: string) => void} log
 */
function cleanState(options, killed, log) {
    const { backendDir, project, stack } = options;
    const deployment = readCheckpoint(backendDir, project, stack);
    const pending = deployment?.pending_operations ?? [];
    if (!killed && pending.length === 0) return;
    if (pending.length > 0) {
        log(`the state holds ${pending.length} operation(s) the killed run had started and not finished:`);
        for (const line of describePending(pending)) log(`  - ${line}`);
    } else if (killed) {
        log(
            killed.mode === "fast"
                ? "the state is the one from before that run (fast mode writes it only at the end)."
                : "the state holds no pending operation: the killed run had finished every step it started.",
        );
    }
    /** @type {KubeObject[]} */
    const created = [];
    for (const op of pending) {
        const o = op.type === "creating" ? kubeObject(op.resource) : undefined;
        if (o) created.push(o);
    }
    const since = killed ? Date.parse(killed.started) : undefined;
    const removed = options.target.renderDirectory
        ? renderedOrphans(options.target.renderDirectory, deployment ?? {}, created, since, log)
        : clusterOrphans(options, deployment ?? {}, created, since, log);
    if (removed === 0) log("nothing the killed run created is left outside the state.");

    if (pending.length > 0) {
        const file = path.join(backendDir, ".mtls-runs", project, `${stack}.import.json`);
        const exported = options.pulumi(["stack", "export", "--stack", stack]);
        if (exported.status !== 0) throw new Error(`pulumi stack export failed: ${exported.stderr || exported.stdout}`);
        // Encrypted values stay encrypted (no --show-secrets): the file holds only ciphertext.
        fs.writeFileSync(file, JSON.stringify(withoutPending(JSON.parse(exported.stdout))), { mode: 0o600 });
        try {
            const imported = options.pulumi(["stack", "import", "--stack", stack, "--file", file]);
            if (imported.status !== 0)
                throw new Error(`pulumi stack import failed: ${imported.stderr || imported.stdout}`);
        } finally {
            fs.rmSync(file, { force: true });
        }
        log(
            `dropped the ${pending.length} pending operation(s) from the state (stack export, stack import); this run redoes them.`,
        );
    }
}

/**
 * Removes the rendered files of objects the state does not hold that the killed run wrote.
 * @param {string} dir
 * @param {Deployment} deployment
 * @param {KubeObject[]} created the pending creates
 * @param {number | undefined} since
 * @param {(line: string) => void} log
 * @returns {number} how many were removed
 */
function renderedOrphans(dir, deployment, created, since, log) {
    /** @type {Set<string>} */
    const referenced = new Set();
    for (const resource of deployment.resources ?? []) {
        const o = kubeObject(resource);
        if (o) referenced.add(renderPath(o, dir));
    }
    /** @type {{ item: string, key: string, created: number }[]} */
    const candidates = [];
    for (const sub of ["0-crd", "1-manifest"]) {
        const full = path.join(dir, sub);
        if (!fs.existsSync(full)) continue;
        for (const name of fs.readdirSync(full)) {
            const file = path.join(full, name);
            candidates.push({ item: file, key: file, created: fs.statSync(file).mtimeMs });
        }
    }
    const { remove, leave } = orphans(candidates, {
        referenced,
        pendingCreates: new Set(created.map((o) => renderPath(o, dir))),
        since,
    });
    for (const file of remove) {
        fs.rmSync(file, { force: true });
        log(
            `removed ${path.relative(dir, file)} from ${dir}: the killed run rendered it and the state does not hold it.`,
        );
    }
    for (const file of leave)
        log(`left ${path.relative(dir, file)} alone: the state does not hold it, but it is older than the killed run.`);
    return remove.length;
}

/**
 * Runs kubectl against the stack's cluster.
 * @param {RecoverOptions["target"]} target
 * @param {string[]} args
 * @returns {import("node:child_process").SpawnSyncReturns<string>}
 */
function kubectl(target, args) {
    const bin = process.env.MTLS_KUBECTL || "kubectl";
    const r = spawnSync(
        bin,
        [
            ...(target.kubeconfig ? ["--kubeconfig", target.kubeconfig] : []),
            ...(target.context ? ["--context", target.context] : []),
            ...args,
        ],
        { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
    );
    if (r.error)
        throw new Error(
            `cannot reach the cluster to look for what the killed run left: ${bin}: ${r.error.message} (set MTLS_KUBECTL to kubectl's path)`,
        );
    return r;
}

/**
 * Deletes from the cluster the objects the killed run created that the state does not hold: the
 * labelled objects of the stack's namespace, and the namespace itself (it carries no part-of label).
 * @param {RecoverOptions} options
 * @param {Deployment} deployment
 * @param {KubeObject[]} created the pending creates
 * @param {number | undefined} since
 * @param {(line: string) => void} log
 * @returns {number} how many were removed
 */
function clusterOrphans(options, deployment, created, since, log) {
    const { target } = options;
    const referenced = referencedObjects(deployment);
    const unlabelled = unlabelledKinds(deployment);
    if (unlabelled.length > 0)
        log(
            `note: the state's objects of kind ${unlabelled.join(", ")} carry no ${PART_OF}=mtls label, so an orphan of those kinds is found by the pending creates and, for the Namespace, by its name.`,
        );
    const namespaces = new Set([target.namespace, ...created.map((o) => o.namespace)].filter((n) => n !== undefined));
    const kinds = new Set(PROGRAM_KINDS);
    for (const resource of deployment.resources ?? []) {
        const o = kubeObject(resource);
        if (o?.namespace)
            kinds.add(`${o.kind.toLowerCase()}${o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0]}` : ""}`);
    }
    /** @type {{ item: KubeObject, key: string, created: number }[]} */
    const candidates = [];
    for (const namespace of namespaces) {
        for (const kind of kinds) {
            const r = kubectl(target, ["get", kind, "-n", namespace, "-l", `${PART_OF}=mtls`, "-o", "json"]);
            if (r.status !== 0) {
                // A kind whose CRD is not installed holds nothing of ours.
                if (/doesn't have a resource type|the server could not find the requested resource/.test(r.stderr))
                    continue;
                throw new Error(`kubectl get ${kind} -n ${namespace} failed: ${r.stderr.trim()}`);
            }
            for (const item of JSON.parse(r.stdout).items ?? []) {
                const o = { apiVersion: item.apiVersion, kind: item.kind, namespace, name: item.metadata.name };
                candidates.push({ item: o, key: objectKey(o), created: Date.parse(item.metadata.creationTimestamp) });
            }
        }
    }
    // The namespace the program creates: found by name, since it has no part-of label.
    for (const namespace of namespaces) {
        const r = kubectl(target, ["get", "namespace", namespace, "-o", "json", "--ignore-not-found"]);
        if (r.status !== 0 || !r.stdout.trim()) continue;
        const item = JSON.parse(r.stdout);
        const o = { apiVersion: "v1", kind: "Namespace", name: namespace };
        if (item.metadata.deletionTimestamp) continue;
        candidates.push({ item: o, key: objectKey(o), created: Date.parse(item.metadata.creationTimestamp) });
    }
    const pendingCreates = new Set(created.map(objectKey));
    const { remove, leave } = orphans(candidates, { referenced, pendingCreates, since });
    // Objects inside a namespace first; the namespace last, waiting until it is gone so the run can create it.
    remove.sort((a, b) => Number(a.kind === "Namespace") - Number(b.kind === "Namespace"));
    for (const o of remove) {
        const group = o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0]}` : "";
        const r = kubectl(target, [
            "delete",
            `${o.kind.toLowerCase()}${group}`,
            o.name,
            ...(o.namespace ? ["-n", o.namespace] : []),
            "--ignore-not-found",
            "--wait=true",
            "--timeout=90s",
        ]);
        if (r.status !== 0) throw new Error(`kubectl delete ${objectKey(o)} failed: ${r.stderr.trim()}`);
        log(
            `deleted ${objectKey(o)} from the cluster: the killed run created it (${pendingCreates.has(objectKey(o)) ? "a pending create" : "after it started"}) and the state does not hold it.`,
        );
    }
    for (const o of leave)
        log(`left ${objectKey(o)} alone: the state does not hold it, but it is older than the killed run.`);
    return remove.length;
}
