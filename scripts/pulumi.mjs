#!/usr/bin/env node
// Runs the Pulumi CLI for this project with the embedded defaults: a local file
// backend in .pulumi-state/ and a passphrase secrets provider whose passphrase
// is generated once into .pulumi-state/passphrase (0600). Both can be
// overridden with the usual PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE(_FILE).
//
//   node scripts/pulumi.mjs up --stack dev      selects (or creates) the stack, then `pulumi up --yes`
//   node scripts/pulumi.mjs preview --stack dev
//   node scripts/pulumi.mjs destroy --stack dev
//   node scripts/pulumi.mjs -- <any pulumi arguments>
//
// When the CLI or a provider plugin is missing it is downloaded the usual way, or, where
// that fails (no internet), built from Go modules by engine/build.sh. `refresh` and
// `--refresh` are refused up front for a stack that renders manifests instead of deploying.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { refreshRefusal } from "./cli.mjs";
import { ensureEngine } from "./engine.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = path.join(root, ".pulumi-state");
const launcher = path.join(root, "node_modules", "pulumi", "run.js");

/** @returns {NodeJS.ProcessEnv} the environment for the CLI, with the project's backend and passphrase defaults */
function pulumiEnv() {
    /** @type {NodeJS.ProcessEnv} */
    const env = { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (!env.PULUMI_BACKEND_URL) {
        fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        env.PULUMI_BACKEND_URL = `file://${stateDir}`;
    }
    if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        const file = path.join(stateDir, "passphrase");
        if (!fs.existsSync(file)) {
            fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
            fs.writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600 });
        }
        env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
    }
    return env;
}

/**
 * Runs the pinned Pulumi CLI in the project root.
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @param {{ quiet?: boolean }} [options] `quiet` captures the output instead of showing it
 * @returns {number} the exit status
 */
function pulumi(args, env, options = {}) {
    const result = spawnSync(process.execPath, [launcher, ...args], {
        cwd: root,
        env,
        stdio: options.quiet ? "pipe" : "inherit",
    });
    if (result.error) throw result.error;
    return result.status ?? 1;
}

/**
 * The value of `--stack`, `-s` or `--stack=` in `args`.
 * @param {string[]} args
 * @returns {string | undefined}
 */
function takeStack(args) {
    const i = args.findIndex((a) => a === "--stack" || a === "-s");
    if (i >= 0 && args[i + 1]) return args[i + 1];
    const eq = args.find((a) => a.startsWith("--stack="));
    return eq ? eq.slice("--stack=".length) : undefined;
}

const [command, ...rest] = process.argv.slice(2);
const env = pulumiEnv();
if (!ensureEngine()) {
    console.error("The Pulumi CLI or a provider plugin is missing and could not be downloaded or built; see above.");
    process.exit(1);
}
if (!command || command === "--") {
    const passStack = takeStack(rest);
    const passRefusal = passStack && refreshRefusal(passStack, rest);
    if (passRefusal) {
        console.error(`refused: ${passRefusal}`);
        process.exit(2);
    }
    process.exit(pulumi(rest, env));
}
const stack = takeStack(rest);
const refusal = stack && refreshRefusal(stack, [command, ...rest]);
if (refusal) {
    console.error(`refused: ${refusal}`);
    process.exit(2);
}
if (!stack) {
    console.error(`usage: npm run ${command} -- --stack <dev|staging|prod> [pulumi flags]`);
    process.exit(2);
}
if (command === "up" || command === "preview") {
    // `stack select --create` makes the first run on a fresh machine work without a separate init.
    const selected = pulumi(["stack", "select", "--create", stack, "--non-interactive"], env);
    if (selected !== 0) process.exit(selected);
}
const extra = command === "up" || command === "destroy" ? ["--yes", "--non-interactive"] : ["--non-interactive"];
const status = pulumi([command, ...rest, ...extra], env);
if (command === "preview" && status === 0 && !rest.includes("--json")) {
    // The engine's own output masks secret diffs; say in certificate terms what would change.
    const { buildReport, previewJson, renderMarkdown } = await import("./cert-report.mjs");
    try {
        const report = buildReport(previewJson(stack));
        console.log(`\n${renderMarkdown(report, `Certificate changes — ${stack}`)}`);
    } catch (err) {
        console.error(`certificate report unavailable: ${/** @type {Error} */ (err).message}`);
    }
}
process.exit(status);
