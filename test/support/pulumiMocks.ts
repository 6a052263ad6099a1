/**
 * Pulumi's mocks for the fast tier: every registration is recorded by type,
 * tls resources are issued for real by the test double, random passwords drawn by
 * another, Kubernetes objects get
 * a generated name the way the provider's auto-naming would.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { issueRandomResource } from "./randomDouble";
import { issueTlsResource } from "./tlsDouble";

export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs with secrets unwrapped. */
    inputs: Record<string, any>;
    /** Dotted paths of the inputs that arrived as secrets. */
    secretInputs: string[];
    state: Record<string, any>;
    provider?: string;
}

export const recorded: RecordedResource[] = [];

export function resetRecorded(): void {
    recorded.length = 0;
}

export function byType(type: string): RecordedResource[] {
    return recorded.filter((r) => r.type === type);
}

export function named(type: string, name: string): RecordedResource {
    const hit = recorded.find((r) => r.type === type && r.name === name);
    if (!hit) throw new Error(`no ${type} named ${name}; have ${recorded.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
    return hit;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces the runtime's secret wrappers with their values, noting where they were. */
export function unwrapSecrets(value: any, path = "", secrets: string[] = []): any {
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secrets));
    if (value && typeof value === "object") {
        if (value[SECRET_SIG] === SECRET_VALUE) {
            secrets.push(path);
            return unwrapSecrets(value.value, path, secrets);
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, path ? `${path}.${k}` : k, secrets)]));
    }
    return value;
}

/** Kubernetes auto-naming: a suffix derived from the inputs, so changed data gets a new name as on a replace. */
function autoName(name: string, inputs: Record<string, any>): string {
    const digest = createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 8);
    return `${name}-${digest}`;
}

/**
 * What a stateful run remembers, like the engine's state: a resource registered
 * again with the same inputs keeps its previous outputs (tls resources are
 * replaced on any input change, so equal inputs mean the same key or certificate).
 */
const previousState = new Map<string, { inputs: string; state: Record<string, any> }>();

export function forgetState(): void {
    previousState.clear();
}

export interface MockOptions {
    project?: string;
    stack?: string;
    preview?: boolean;
    /** Equal inputs keep their previous outputs across runs, as with the engine's state. */
    stateful?: boolean;
    /** What a StackReference reads: the referenced stack's outputs. */
    stackReferences?: (name: string) => { outputs: Record<string, unknown>; secretOutputNames?: string[] };
}

export async function setupMocks(options: MockOptions = {}): Promise<void> {
    await pulumi.runtime.setMocks({
        async newResource(args: pulumi.runtime.MockResourceArgs) {
            const secretInputs: string[] = [];
            const inputs = unwrapSecrets(args.inputs, "", secretInputs);
            const key = `${args.type}::${args.name}`;
            const remembered = options.stateful ? previousState.get(key) : undefined;
            if (args.type === "pulumi:pulumi:StackReference" && options.stackReferences) {
                const state = { name: inputs.name, ...options.stackReferences(inputs.name) };
                recorded.push({ type: args.type, name: args.name, inputs, secretInputs, state, provider: args.provider });
                return { id: inputs.name, state };
            }
            let state: Record<string, any> = remembered && remembered.inputs === JSON.stringify(inputs)
                ? remembered.state
                : (await issueTlsResource(args.type, inputs)) ?? issueRandomResource(args.type, inputs) ?? { ...inputs };
            if (options.stateful) previousState.set(key, { inputs: JSON.stringify(inputs), state });
            if (args.type.startsWith("kubernetes:") && args.custom !== false) {
                const metadata = { ...(state.metadata ?? {}) };
                metadata.name ??= autoName(args.name, inputs);
                state = { ...state, metadata };
            }
            recorded.push({ type: args.type, name: args.name, inputs, secretInputs, state, provider: args.provider });
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    }, options.project ?? "mtls", options.stack ?? "dev", options.preview ?? false);
}

/**
 * Waits until registrations stop arriving: resources that no output depends on (a Service,
 * say) register on their own schedule, after the outputs have resolved.
 */
export async function settle(quietMs = 25): Promise<void> {
    // First the runtime's own queue: a registration whose inputs are still being computed (a
    // keystore being built, say) holds it open while the event loop looks idle.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    let seen = -1;
    while (seen !== recorded.length) {
        seen = recorded.length;
        await new Promise((r) => setTimeout(r, quietMs));
    }
}

/** Resolves an Output's value, secret or not, and rejects when the Output failed. */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
    // `promise()` is the SDK's own accessor; unlike `apply` it surfaces a failed Output as a rejection.
    return (pulumi.output(output) as unknown as { promise(): Promise<T> }).promise();
}

/** Resolves every Output inside a plain object or array, as `pulumi stack output --json` would show it. */
export async function resolveDeep(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) return resolveDeep(await valueOf(value));
    if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
    if (value && typeof value === "object") {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}

/** Replaces the runtime's config, as `pulumi up` does from the stack file. */
export function useConfig(config: Record<string, string>): void {
    pulumi.runtime.setAllConfig(config, []);
}
