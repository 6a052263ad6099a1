// Small pieces shared by the project's command-line scripts.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRAPPER = path.join(path.dirname(fileURLToPath(import.meta.url)), "pulumi.mjs");

/**
 * The stack outputs the scripts read, from `pulumi stack output --json` or the stack's state in a preview.
 * Foreign JSON: a stack deployed by an older program lacks some, so every field is optional here
 * (infra/program.ts has the outputs the program writes now).
 * @typedef {object} StackOutputs
 * @property {Record<string, ServiceOutputs>} [services]
 * @property {Record<string, CaOutputs>} [cas] per CA generation (`generation-1`, ...)
 * @property {{ generation?: number, phase?: string }} [rotation]
 * @property {string} [rootNotAfter]
 * @property {string} [caNotAfter] the 0.1 name of `rootNotAfter`
 */
/**
 * A service certificate's outputs (never a key).
 * @typedef {object} ServiceOutputs
 * @property {string} [commonName]
 * @property {string} [issuance] `pulumi`, or `cert-manager` when the cluster issues it (then no dates)
 * @property {string} [issueReason]
 * @property {string} [certificate] cert-manager only: `<namespace>/<name>` of the Certificate
 * @property {string} [secretName] cert-manager only: the Secret it writes
 * @property {number} [renewBeforeHours] cert-manager only
 * @property {string} [notAfter] Pulumi-issued certificates only
 * @property {string} [renewAt]
 * @property {string[]} [dnsNames]
 * @property {string[]} [uris]
 */
/**
 * A CA generation's outputs.
 * @typedef {object} CaOutputs
 * @property {string} [commonName]
 * @property {string} notAfter
 * @property {string} [renewAt]
 */

/**
 * The value after `--name` in `args`, or undefined.
 * @param {string[]} args
 * @param {string} name
 * @returns {string | undefined}
 */
export function argument(args, name) {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
}

/**
 * Runs the Pulumi CLI through the project's wrapper (its backend and passphrase defaults) and captures its output.
 * @param {string[]} args
 * @returns {import("node:child_process").SpawnSyncReturns<string>}
 */
export function pulumiCapture(args) {
    return spawnSync(process.execPath, [WRAPPER, "--", ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/**
 * Why `pulumi refresh` cannot work for this stack, or undefined when it can: a stack that renders
 * manifests to a directory has no cluster to read its objects back from, and Pulumi's kubernetes
 * provider fails with "configured Kubernetes cluster is unreachable".
 * @param {string} stack
 * @param {string[]} args the Pulumi command and its flags
 * @param {string} [root] the project root
 * @returns {string | undefined}
 */
export function refreshRefusal(stack, args, root = ROOT) {
    const refreshing =
        args[0] === "refresh" ||
        args.includes("--refresh") ||
        args.includes("-r") ||
        args.some((a) => a.startsWith("--refresh="));
    if (!refreshing || args.includes("--refresh=false")) return undefined;
    const file = path.join(root, "stacks", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) return undefined;
    const config = YAML.parse(fs.readFileSync(file, "utf8"))?.config ?? {};
    const kubernetes = config["mtls:kubernetes"] ?? {};
    if (kubernetes.context !== undefined) return undefined;
    const dir = kubernetes.renderDirectory ?? `out/${stack}`;
    return (
        `stack ${stack} renders its Kubernetes objects to ${dir} (mtls:kubernetes.renderDirectory) instead of deploying them, ` +
        "so there is no cluster to refresh them from. Run the command without refresh: the stack's state is already what was rendered. " +
        `To compare with a cluster, deploy to it: set mtls:kubernetes.context in stacks/Pulumi.${stack}.yaml.`
    );
}
