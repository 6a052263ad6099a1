/** The shipped stack files, read as the engine hands their config to the program. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
export const SHIPPED_STACKS = ["dev", "staging", "prod"] as const;

/** A stack file's config as the engine hands it to the program: structured values as JSON text. */
export function engineConfigFromYaml(text: string): Record<string, string> {
    const doc = parseYaml(text) as { config?: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        out[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

export function shippedStackConfig(stack: string): Record<string, string> {
    return engineConfigFromYaml(fs.readFileSync(path.join(PROJECT_ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
}
