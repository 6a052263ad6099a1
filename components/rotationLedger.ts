import * as pulumi from "@pulumi/pulumi";
import type { RotationPhase } from "./rules";

export interface RotationState {
    /** The current CA generation (the one being rotated out during a rotation). */
    generation: number;
    /** `steady` when no rotation is under way. */
    phase: RotationPhase | "steady";
}

/** Which CA generations exist, which one signs leaves and which are trusted, in a given state. */
export function rotationPlan(state: RotationState): { live: number[]; signing: number; trusted: number[] } {
    const g = state.generation;
    switch (state.phase) {
        case "steady":
            return { live: [g], signing: g, trusted: [g] };
        case "introduce":
            return { live: [g, g + 1], signing: g, trusted: [g, g + 1] };
        case "switch":
            return { live: [g, g + 1], signing: g + 1, trusted: [g, g + 1] };
        case "retire":
            return { live: [g + 1], signing: g + 1, trusted: [g + 1] };
    }
}

/** `retire` of generation g is the same deployment as steady generation g+1. */
function normalise(state: RotationState): RotationState {
    return state.phase === "retire" ? { generation: state.generation + 1, phase: "steady" } : state;
}

const NEXT_STEP: Record<RotationState["phase"], string> = {
    steady: "introduce",
    introduce: "switch (or no phase, to abandon the rotation)",
    switch: "retire (or introduce, to go back)",
    retire: "no phase, with generation set to the new CA",
};

/** Safe single steps, on normalised states of one generation. (An array: the dynamic provider's closure is serialized, and a Set does not survive that.) */
const SAFE_STEPS = ["steady>introduce", "introduce>switch", "introduce>steady", "switch>introduce"];

/**
 * Whether the stack may go from `previous` (last applied; undefined on the first run) to `next`.
 * Returns the reason it may not, or undefined when it may.
 */
export function rotationRefusal(previous: RotationState | undefined, next: RotationState): string | undefined {
    const label = (s: RotationState) =>
        s.phase === "steady"
            ? `steady on generation ${s.generation}`
            : `${s.phase} (generation ${s.generation} → ${s.generation + 1})`;
    if (!previous) {
        return next.phase === "switch" || next.phase === "retire"
            ? `no rotation is under way in this stack, so ${next.phase} has nothing to act on; start with rotation: introduce`
            : undefined;
    }
    const from = normalise(previous);
    const to = normalise(next);
    if (from.generation === to.generation && from.phase === to.phase) return undefined;
    if (previous.phase === "switch" && next.phase === "retire" && previous.generation === next.generation)
        return undefined;
    if (next.phase === "retire") {
        return `retire is refused: leaves issued by CA generation ${next.generation} may still be deployed (last applied: ${label(previous)}); apply rotation: switch first so every leaf is reissued by generation ${next.generation + 1}`;
    }
    if (from.generation === to.generation && SAFE_STEPS.includes(`${from.phase}>${to.phase}`)) return undefined;
    return `cannot go from ${label(previous)} to ${label(next)} in one step; the next step is ${NEXT_STEP[previous.phase]}`;
}

const ledgerProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: any, news: any) {
        const previous =
            olds && typeof olds.generation === "number"
                ? { generation: olds.generation, phase: olds.phase }
                : undefined;
        const refusal = rotationRefusal(previous, { generation: news.generation, phase: news.phase });
        return {
            inputs: news,
            failures: refusal ? [{ property: "phase", reason: `mtls:ca.rotation: ${refusal}` }] : [],
        };
    },
    async diff(_id: string, olds: any, news: any) {
        return { changes: olds.generation !== news.generation || olds.phase !== news.phase };
    },
    async create(inputs: any) {
        return { id: "ca-rotation", outs: inputs };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
};

export interface RotationLedgerArgs {
    generation: pulumi.Input<number>;
    phase: pulumi.Input<RotationState["phase"]>;
}

/** Records the CA rotation phase last applied and refuses unsafe jumps at preview. */
export class RotationLedger extends pulumi.dynamic.Resource {
    declare public readonly generation: pulumi.Output<number>;
    declare public readonly phase: pulumi.Output<string>;

    constructor(name: string, args: RotationLedgerArgs, opts?: pulumi.CustomResourceOptions) {
        // A copy: the SDK adds its `__provider` key to the object it is given, which would leak into the caller's value.
        super(ledgerProvider, name, { ...args }, opts, "mtls", "RotationLedger");
    }
}

/**
 * The provider, exported for tests that drive `check` as the engine would.
 * @internal
 */
export const rotationLedgerProvider = ledgerProvider;
