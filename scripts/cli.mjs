// Small pieces shared by the project's command-line scripts.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const WRAPPER = path.join(path.dirname(fileURLToPath(import.meta.url)), "pulumi.mjs");

/** The value after `--name` in `args`, or undefined. */
export function argument(args, name) {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
}

/** Runs the Pulumi CLI through the project's wrapper (its backend and passphrase defaults) and captures its output. */
export function pulumiCapture(args) {
    return spawnSync(process.execPath, [WRAPPER, "--", ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}
