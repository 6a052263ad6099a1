import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, RawStackConfig, StackConfigError, StackSpec, parseStackConfig } from "./spec";

/** Keys whose values are plain strings even when they look like JSON (a namespace named `123`). */
const STRING_KEYS = new Set(["namespace", "trustDomain", "clusterDomain"]);

/**
 * Collects every `mtls:*` value of the stack config. Structured values arrive
 * from the engine as JSON text; they are parsed here so that a typo anywhere
 * is reported with its key path instead of a parse error.
 */
export function readRawStackConfig(all: Record<string, string> = pulumi.runtime.allConfig()): RawStackConfig {
    const raw: RawStackConfig = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        if (STRING_KEYS.has(key)) {
            raw[key] = text;
            continue;
        }
        try {
            raw[key] = JSON.parse(text);
        } catch {
            raw[key] = text;
        }
    }
    return raw;
}

/**
 * Reads and checks the whole stack config once. Any problem stops the program
 * before a resource is registered, with every problem listed by key path.
 */
export function loadStackSpec(): StackSpec {
    try {
        return parseStackConfig(readRawStackConfig(), { project: pulumi.getProject(), stack: pulumi.getStack() });
    } catch (err) {
        // RunError ends the program with its message alone: no stack trace for a config mistake.
        if (err instanceof StackConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}
