/**
 * Pulumi's mocks for the fast tier, a thin user of the package's `testing` export: every
 * registration is recorded by type, tls resources are issued for real by the test double,
 * Kubernetes objects get a generated name the way the provider's auto-naming would.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockRegistration, MtlsMocks, mtlsMocks } from "../../components/testing";

export { unwrapSecrets } from "../../components/testing";

export type RecordedResource = MockRegistration;

export const recorded: RecordedResource[] = [];

/** Forget every registration recorded so far: the mocks' `recorded` and the monitor's `sent`. */
export function resetRecorded(): void {
    recorded.length = 0;
    sent.length = 0;
}

export function byType(type: string): RecordedResource[] {
    return recorded.filter((r) => r.type === type);
}

export function named(type: string, name: string): RecordedResource {
    const hit = recorded.find((r) => r.type === type && r.name === name);
    if (!hit)
        throw new Error(
            `no ${type} named ${name}; have ${recorded
                .filter((r) => r.type === type)
                .map((r) => r.name)
                .join(", ")}`,
        );
    return hit;
}

let current: MtlsMocks | undefined;

/** Forget what a stateful run remembered, as a fresh stack would. */
export function forgetState(): void {
    current?.forgetState();
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

/** The package's testing mocks (components/testing), recording every registration in `recorded`. */
export async function setupMocks(options: MockOptions = {}): Promise<void> {
    current = mtlsMocks({
        stateful: options.stateful,
        stackReferences: options.stackReferences,
        onRegister: (registration) => {
            recorded.push(registration);
        },
    });
    await pulumi.runtime.setMocks(current, options.project ?? "mtls", options.stack ?? "dev", options.preview ?? false);
}

/** What the runtime sent the monitor for one resource: what the engine, not the mocks, would read. */
export interface SentRegistration {
    type: string;
    name: string;
    parent: string;
    /** Parents named by the resource's own aliases (the kubernetes SDK's API-version aliases, which name a type, left out). */
    aliasParents: string[];
    /** URNs the resource waits for: its dependsOn and its inputs' resources. */
    dependencies: string[];
}

interface AliasSpec {
    getParenturn(): string;
    getType(): string;
}
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getAliasesList(): { getSpec(): AliasSpec | undefined }[];
    getDependenciesList(): string[];
}

/** What the runtime sent the monitor, once `captureRegistrations` is on; `resetRecorded` empties it. */
export const sent: SentRegistration[] = [];

const capturing = new WeakSet<object>();

/**
 * Records every request the runtime sends the mocks' monitor into `sent`, from now on (call it
 * after `setupMocks`; a second call on the same monitor does nothing). The mocks' own `recorded`
 * holds inputs; this holds the request's options.
 */
export function captureRegistrations(): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, callback: unknown): unknown;
    };
    if (capturing.has(monitor)) return;
    capturing.add(monitor);
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        sent.push({
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            aliasParents: req
                .getAliasesList()
                .map((alias) => alias.getSpec())
                .filter((spec) => spec !== undefined && spec.getType() === "")
                .map((spec) => spec?.getParenturn() ?? ""),
            dependencies: req.getDependenciesList(),
        });
        return register(req, callback);
    };
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
        const entries = await Promise.all(
            Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const),
        );
        return Object.fromEntries(entries);
    }
    return value;
}

/** Replaces the runtime's config, as `pulumi up` does from the stack file. */
export function useConfig(config: Record<string, string>): void {
    pulumi.runtime.setAllConfig(config, []);
}
