import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { issueRandomResource } from "./randomPassword";
import { TlsProperties, issueTlsResource } from "./tlsIssuer";

/** One resource the mocks were asked to create, as they answered it. */
export interface MockRegistration {
    /** Type token, e.g. `tls:index/certRequest:CertRequest` or `kubernetes:apps/v1:Deployment`. */
    type: string;
    /** The resource's logical name. */
    name: string;
    /** Inputs with the runtime's secret wrappers removed. */
    inputs: Record<string, any>;
    /** Dotted paths of the inputs that arrived as secrets (`stringData.tls.key`). */
    secretInputs: string[];
    /** The state the mocks answered with. */
    state: Record<string, any>;
    /** The provider reference, when the resource names one. */
    provider?: string;
}

export interface MtlsMocksOptions {
    /**
     * Remember each resource's answer: registered again with equal inputs (a second run of the
     * program in the same process), it gets the same key or certificate, as with the engine's state.
     * @default false
     */
    stateful?: boolean;
    /**
     * What a `StackReference` reads: the referenced stack's outputs and which of them are secrets.
     * @default a StackReference echoes its inputs, so it has no outputs
     */
    stackReferences?: (name: string) => { outputs: Record<string, unknown>; secretOutputNames?: string[] };
    /**
     * Called with every registration, to record the resource graph.
     * @default none
     */
    onRegister?: (registration: MockRegistration) => void;
}

/** Pulumi's mocks, plus a way to forget what a stateful run remembered. */
export interface MtlsMocks extends pulumi.runtime.Mocks {
    /** Forget every remembered answer (with `stateful`). */
    forgetState(): void;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces the runtime's secret wrappers with their values, noting their paths in `secrets`. */
export function unwrapSecrets(value: any, path = "", secrets: string[] = []): any {
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secrets));
    if (value && typeof value === "object") {
        if (value[SECRET_SIG] === SECRET_VALUE) {
            secrets.push(path);
            return unwrapSecrets(value.value, path, secrets);
        }
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, path ? `${path}.${k}` : k, secrets)]),
        );
    }
    return value;
}

/** A generated name as the kubernetes provider's auto-naming gives one: changed inputs, new name. */
function autoName(name: string, inputs: Record<string, any>): string {
    return `${name}-${createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 8)}`;
}

/**
 * Mocks for `pulumi.runtime.setMocks` under which the tls resources are real: private keys,
 * certificate requests, self-signed and locally signed certificates are made from the
 * program's arguments with `node:crypto` (a test double of the tls provider, see
 * `issueTlsResource`), so a test can parse what was issued and check the chain. A RandomPassword
 * gets a fresh password (the keystores' password; `issueRandomResource`). Kubernetes
 * objects without a name get a generated one, as the provider's auto-naming would. Anything
 * else echoes its inputs, as the mocks in Pulumi's testing guide do. Works with any test runner.
 */
export function mtlsMocks(options: MtlsMocksOptions = {}): MtlsMocks {
    const remembered = new Map<string, { inputs: string; state: TlsProperties }>();
    return {
        newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
            const secretInputs: string[] = [];
            const inputs = unwrapSecrets(args.inputs, "", secretInputs) as Record<string, any>;
            const record = (state: Record<string, any>) =>
                options.onRegister?.({
                    type: args.type,
                    name: args.name,
                    inputs,
                    secretInputs,
                    state,
                    provider: args.provider,
                });
            if (args.type === "pulumi:pulumi:StackReference" && options.stackReferences) {
                const state = { name: inputs.name, ...options.stackReferences(inputs.name) };
                record(state);
                return { id: inputs.name, state };
            }
            const key = `${args.type}::${args.name}`;
            const previous = options.stateful ? remembered.get(key) : undefined;
            let state: Record<string, any> =
                previous && previous.inputs === JSON.stringify(inputs)
                    ? previous.state
                    : (issueTlsResource(args.type, inputs) ?? issueRandomResource(args.type, inputs) ?? { ...inputs });
            if (options.stateful) remembered.set(key, { inputs: JSON.stringify(inputs), state });
            if (args.type.startsWith("kubernetes:") && args.custom !== false) {
                const metadata = { ...(state.metadata ?? {}) };
                metadata.name ??= autoName(args.name, inputs);
                state = { ...state, metadata };
            }
            record(state);
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
            return args.inputs;
        },
        forgetState(): void {
            remembered.clear();
        },
    };
}

/** Installs `mtlsMocks(options)` with `pulumi.runtime.setMocks`; call it before importing the program under test. */
export async function setMtlsMocks(
    options: MtlsMocksOptions & { project?: string; stack?: string; preview?: boolean } = {},
): Promise<MtlsMocks> {
    const mocks = mtlsMocks(options);
    await pulumi.runtime.setMocks(
        mocks,
        options.project ?? "project",
        options.stack ?? "stack",
        options.preview ?? false,
    );
    return mocks;
}
