/**
 * A test double of the random provider's RandomPassword for Pulumi's mocks (the keystores'
 * password): a fresh password of the asked length from the provider's documented character sets
 * and minimums. Its `bcryptHash` is a marked placeholder (`$double$...`), not bcrypt.
 */
import { createHash, randomInt } from "node:crypto";

type Inputs = Record<string, any>;

const SETS = {
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    lower: "abcdefghijklmnopqrstuvwxyz",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
};

function draw(chars: string, n: number): string[] {
    return Array.from({ length: n }, () => chars[randomInt(chars.length)]);
}

export function randomPassword(inputs: Inputs): Inputs {
    const on = (flag: string) => inputs[flag] !== false;
    const special = inputs.overrideSpecial ?? SETS.special;
    const minimums: Array<[string, number]> = [
        [SETS.upper, inputs.minUpper ?? 0],
        [SETS.lower, inputs.minLower ?? 0],
        [SETS.numeric, inputs.minNumeric ?? 0],
        [special, inputs.minSpecial ?? 0],
    ];
    const pool = [
        on("upper") ? SETS.upper : "",
        on("lower") ? SETS.lower : "",
        on("numeric") ? SETS.numeric : "",
        on("special") ? special : "",
    ].join("");
    const chars = minimums.flatMap(([set, n]) => draw(set, n));
    chars.push(...draw(pool, inputs.length - chars.length));
    for (let i = chars.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    const result = chars.join("");
    return { ...inputs, result, bcryptHash: `$double$${createHash("sha256").update(result).digest("hex")}` };
}

/** Dispatches a mocked `random:index/*` registration; undefined for any other type. */
export function issueRandomResource(type: string, inputs: Inputs): Inputs | undefined {
    return type === "random:index/randomPassword:RandomPassword" ? randomPassword(inputs) : undefined;
}
