import * as pulumi from "@pulumi/pulumi";
import { RawStackConfig, StackConfigError, StackSpec, parseStackConfig, rawStackConfigFromEngine } from "./spec";

/** Every `mtls:*` value of the stack config the engine handed to this program, parsed. */
export function readRawStackConfig(all: Record<string, string> = pulumi.runtime.allConfig()): RawStackConfig {
    return rawStackConfigFromEngine(all);
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
