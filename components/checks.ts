import * as pulumi from "@pulumi/pulumi";
import { ArgumentProblem, describeProblems } from "./rules";

/**
 * Runs a component's argument rules the way pulumi-eks does: a plain value is checked at once,
 * so a mistake stops the program before any child resource exists; an Output is checked when it
 * resolves, and the checked value is what the children receive, so none of them is created from
 * a value the rules refuse. Either way the error is a `ResourceError` naming the component, the
 * argument and the fix.
 * @internal
 */
export function checked(resource: pulumi.Resource, component: string, name: string) {
    const fail = (problems: ArgumentProblem[]) =>
        new pulumi.ResourceError(describeProblems(component, name, problems), resource);
    function check<T>(value: pulumi.Output<T>, rule: (v: T) => ArgumentProblem[]): pulumi.Output<T>;
    function check<T>(value: pulumi.Input<T>, rule: (v: T) => ArgumentProblem[]): pulumi.Input<T>;
    function check<T>(value: pulumi.Input<T>, rule: (v: T) => ArgumentProblem[]): pulumi.Input<T> {
        if (!pulumi.Output.isInstance(value) && !(value instanceof Promise)) {
            const problems = rule(value as T);
            if (problems.length > 0) throw fail(problems);
            return value;
        }
        return pulumi.output(value).apply((resolved) => {
            const problems = rule(resolved as T);
            if (problems.length > 0) throw fail(problems);
            return resolved;
        }) as pulumi.Input<T>;
    }
    return check;
}

/**
 * The values as a plain tuple when none is an Output or a Promise (so `check` can refuse them at
 * once), otherwise one Output of the tuple.
 * @internal
 */
export function together<T extends unknown[]>(...values: { [K in keyof T]: pulumi.Input<T[K]> }): pulumi.Input<T> {
    const plain = values.every((v) => !pulumi.Output.isInstance(v) && !(v instanceof Promise));
    return plain
        ? (values as unknown as T)
        : (pulumi.all(values as pulumi.Input<unknown>[]) as unknown as pulumi.Output<T>);
}
