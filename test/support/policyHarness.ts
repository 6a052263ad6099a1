/**
 * Calls a policy's validators the way @pulumi/policy's analyzer server does, without an engine:
 * properties behind the same unknown-checking proxy, config from getConfig, and every
 * reportViolation call captured.
 */
import type {
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";

// Runtime exports the package's typings leave out: the proxy the server wraps properties in,
// and the sentinel the engine sends for a string it cannot know yet.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy } = require("@pulumi/policy") as { unknownCheckingProxy<T>(props: T): T };
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const UNKNOWN_STRING: string = require("@pulumi/policy/proxy").unknownStringValue;

export interface Violation {
    message: string;
    urn?: string;
}

export interface ResourceUnderTest {
    type: string;
    props: Record<string, any>;
    name?: string;
    /** The policy's config properties, as getConfig returns them (defaults already applied by the engine). */
    config?: Record<string, unknown>;
}

function urnOf(type: string, name: string): string {
    return `urn:pulumi:test::policy-test::${type}::${name}`;
}

/** What the policy engine calls notApplicable with: it throws, and the server counts the policy as not applicable. */
class NotApplicable extends Error {}

function resourceArgs({ type, props, name = "subject", config = {} }: ResourceUnderTest): ResourceValidationArgs {
    const proxied = unknownCheckingProxy(props);
    return {
        type,
        props: proxied,
        urn: urnOf(type, name),
        name,
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

/** Runs every validateResource of `policy` on one resource; returns the violations it reported. */
export async function validateResource(policy: Policy, resource: ResourceUnderTest): Promise<Violation[]> {
    const validations = (policy as ResourceValidationPolicy).validateResource;
    if (!validations) throw new Error(`${policy.name} is not a resource policy`);
    const violations: Violation[] = [];
    const report: ReportViolation = (message, urn) => {
        violations.push({ message, urn });
    };
    for (const validate of Array.isArray(validations) ? validations : [validations]) {
        try {
            await validate(resourceArgs(resource), report);
        } catch (err) {
            if (!(err instanceof NotApplicable)) throw err;
        }
    }
    return violations;
}

/** The messages `policy` reports for one resource. */
export async function messages(policy: Policy, resource: ResourceUnderTest): Promise<string[]> {
    return (await validateResource(policy, resource)).map((v) => v.message);
}

export interface StackResourceUnderTest {
    type: string;
    props: Record<string, any>;
    name: string;
    /** Name of the parent resource; the root Stack has none. */
    parent?: string;
}

/** Runs `policy.validateStack` over the given resources (props as outputs), as the engine does after a preview. */
export async function validateStack(
    policy: StackValidationPolicy,
    resources: StackResourceUnderTest[],
    config: Record<string, unknown> = {},
): Promise<Violation[]> {
    const built = new Map<string, PolicyResource>();
    for (const r of resources) {
        const props = unknownCheckingProxy(r.props);
        built.set(r.name, {
            type: r.type,
            props,
            urn: urnOf(r.type, r.name),
            name: r.name,
            opts: {
                protect: false,
                ignoreChanges: [],
                aliases: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
                additionalSecretOutputs: [],
            },
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        });
    }
    for (const r of resources) {
        if (r.parent) built.get(r.name)!.parent = built.get(r.parent);
    }
    const violations: Violation[] = [];
    await policy.validateStack(
        {
            resources: [...built.values()],
            getConfig: <T extends object>() => config as T,
            stackTags: new Map(),
            notApplicable: (reason?: string): never => {
                throw new NotApplicable(reason);
            },
        },
        (message, urn) => {
            violations.push({ message, urn });
        },
    );
    return violations;
}

export { urnOf };
