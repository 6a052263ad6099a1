import * as pulumi from "@pulumi/pulumi";
import type { CertificateMaterial } from "./certificateMaterial";
import { DEFAULTS } from "./defaults";
import { Delivery, describeProblems, deliveryProblems } from "./rules";
import {
    PodWiring,
    WorkloadSelector,
    describeSelector,
    podServiceAccount,
    podTemplateOf,
    podWiringConflicts,
    selectsWorkload,
    wirePodTemplate,
    withPodTemplate,
    workloadKind,
    workloadSelectorProblems,
} from "./workloadSelector";
import { COMPONENT_TYPES } from "./types";

export interface WorkloadWiringArgs {
    /** The material to add: its volume, mount and variables go into the selected workload's pods. */
    material: CertificateMaterial;
    /** Which workload gets it, by name, labels or annotations of the workload's own metadata. Exactly one must match. */
    selector: WorkloadSelector;
    /**
     * The service account the selected workload runs as. Name the same account in the certificate
     * (`ServiceCertificate`'s `serviceAccountName`), so its SPIFFE ID is the workload's identity: a
     * workload whose pod template runs as another account (none means `default`) is refused.
     */
    serviceAccountName: string;
    /**
     * `files`: the material mounted read-only at `mountPath`, with the `MTLS_*_FILE` variables;
     * `env`: the PEM text in `MTLS_CERT`, `MTLS_KEY`, `MTLS_CA`.
     * @default "files"
     */
    delivery?: Delivery;
    /**
     * Directory of the mounted material, with `files`. A selected container that already mounts
     * something there is refused.
     * @default "/etc/mtls"
     */
    mountPath?: string;
    /**
     * Names of the containers that get the mount and variables.
     * @default every container of the pod (not the init containers)
     */
    containers?: string[];
}

/**
 * Adds a `CertificateMaterial` to a workload declared elsewhere: a Deployment, StatefulSet,
 * DaemonSet, Job or CronJob of the program, or one that `k8s.yaml.v2.ConfigFile` or
 * `k8s.helm.v4.Chart` creates. Give `transform` to those resources' `transforms` option (or to
 * `pulumi.runtime.registerResourceTransform`); it adds the volume, mounts, variables and roll
 * annotations to the selected workload's pod template as it is registered. Then call
 * `requireMatch` with those resources, so that a selector that matched nothing stops the run.
 */
export class WorkloadWiring extends pulumi.ComponentResource {
    /** The resource transform that wires the selected workload. */
    public readonly transform: pulumi.ResourceTransform;
    private readonly matched: string[] = [];
    private readonly problems: string[] = [];
    private wiring!: PodWiring;
    private readonly label: string;
    private readonly wiringName: string;

    constructor(name: string, args: WorkloadWiringArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.workloadWiring, name, {}, opts);
        const delivery = args.delivery ?? DEFAULTS.workload.delivery;
        const mountPath = args.mountPath ?? DEFAULTS.workload.mountPath;
        const problems = [
            ...workloadSelectorProblems(args.selector),
            ...deliveryProblems(delivery, args.material.rollout, args.mountPath),
            ...(typeof args.serviceAccountName === "string" && args.serviceAccountName !== ""
                ? []
                : [
                      {
                          argument: "serviceAccountName",
                          message:
                              "is required: the service account the workload runs as, which the certificate names too",
                      },
                  ]),
        ];
        if (problems.length > 0)
            throw new pulumi.ResourceError(describeProblems("WorkloadWiring", name, problems), this);
        this.wiringName = name;
        this.label = `WorkloadWiring ${name}: selector ${describeSelector(args.selector)}`;
        const files = delivery === "files" ? args.material.mount(mountPath) : undefined;
        const wiring: PodWiring = {
            volumes: files ? [files.volume] : [],
            volumeMounts: files ? [files.volumeMount] : [],
            env: files ? files.env : args.material.env(),
            annotations: args.material.podAnnotations(),
        };
        // A transform that throws leaves the engine waiting on the failed registration (seen with a
        // program's own Deployment), so problems are recorded and refused by requireMatch's check.
        this.transform = (resource) => {
            if (!selectsWorkload(args.selector, resource.type, resource.props)) return undefined;
            const kind = workloadKind(resource.type) as string;
            const where = `${kind} ${resource.props.metadata?.namespace ?? "(default namespace)"}/${resource.props.metadata?.name ?? resource.name}`;
            const problem = this.problemWith(where, resource, args);
            if (!this.matched.includes(where)) this.matched.push(where);
            if (problem !== undefined) {
                this.problems.push(problem);
                return undefined;
            }
            const template = podTemplateOf(resource.type, resource.props) as Record<string, any>;
            return {
                props: withPodTemplate(
                    resource.type,
                    resource.props,
                    wirePodTemplate(template, wiring, args.containers),
                ),
                opts: resource.opts,
            };
        };
        this.wiring = wiring;
        this.registerOutputs({});
    }

    /** Why this workload cannot be wired, or undefined when it can. */
    private problemWith(
        where: string,
        resource: pulumi.ResourceTransformArgs,
        args: WorkloadWiringArgs,
    ): string | undefined {
        if (this.matched.length > 0 && !this.matched.includes(where)) {
            return `${this.label} matches both ${this.matched[0]} and ${where}; one material is one identity, so narrow the selector (add a name or a label only one of them carries) or give each workload its own certificate and WorkloadWiring`;
        }
        const template = podTemplateOf(resource.type, resource.props);
        if (!template) return `${this.label}: ${where} has no pod template to wire`;
        const account = podServiceAccount(template);
        if (account !== args.serviceAccountName) {
            return `${this.label}: ${where} runs as service account ${account}, but the certificate names ${args.serviceAccountName}; set the workload's serviceAccountName (for a chart, its values) to ${args.serviceAccountName}, or name ${account} in the certificate and here`;
        }
        const conflicts = podWiringConflicts(template, this.wiring, args.containers);
        return conflicts.length > 0 ? `${this.label}: cannot wire ${where}: ${conflicts.join("; ")}` : undefined;
    }

    /** What stops the wiring so far: a second match, another service account, a taken mount path. */
    public get refusals(): readonly string[] {
        return this.problems;
    }

    /** The workloads the selector matched so far, as `Kind namespace/name`. */
    public get wired(): readonly string[] {
        return this.matched;
    }

    /**
     * Checks, once `sources` are registered (their transforms have run then, a chart's and a
     * YAML file's objects included), that exactly one workload was wired. The check is a small
     * dynamic resource whose `check` refuses the run at preview, naming the selector, when none
     * was. The returned Output is the wired workload, `Kind ns/name`, or undefined when none was.
     */
    public requireMatch(sources: pulumi.Resource[]): pulumi.Output<string | undefined> {
        const problem = pulumi
            .all(sources.map((s) => s.urn))
            .apply(
                () =>
                    [...this.problems, wiringMatchProblem(this.label, this.matched, sources.length)]
                        .filter((p) => p !== undefined)
                        .join("\n") ?? "",
            );
        new WorkloadWiringCheck(
            `${this.wiringName}-match`,
            {
                problem,
                workload: problem.apply((p) => (p === "" ? (this.matched[0] ?? "") : "")),
            },
            { parent: this },
        );
        return problem.apply((p) => (p === "" ? this.matched[0] : undefined));
    }
}

const matchCheckProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: any, news: any) {
        return { inputs: news, failures: news.problem ? [{ property: "selector", reason: news.problem }] : [] };
    },
    async diff(_id: string, olds: any, news: any) {
        return { changes: olds.workload !== news.workload };
    },
    async create(inputs: any) {
        return { id: inputs.workload || "none", outs: inputs };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
};

/**
 * Holds which workload a wiring matched; its `check` (run at every preview) refuses a wiring that
 * matched none, so the refusal needs no exception inside an Output. @internal
 */
class WorkloadWiringCheck extends pulumi.dynamic.Resource {
    constructor(
        name: string,
        args: { problem: pulumi.Input<string>; workload: pulumi.Input<string> },
        opts: pulumi.CustomResourceOptions,
    ) {
        super(matchCheckProvider, name, { ...args }, opts, "mtls", "WorkloadWiringCheck");
    }
}

/** The dynamic provider of the match check, exported for tests that drive `check` as the engine would. @internal */
export const workloadWiringCheckProvider = matchCheckProvider;

/** Why a wiring's matches are not exactly one workload, once its sources are registered; undefined when they are. */
export function wiringMatchProblem(label: string, wired: readonly string[], sourceCount: number): string | undefined {
    if (wired.length === 0) {
        return `${label} matched no workload among ${sourceCount} source(s); check the workload's metadata (name, labels, annotations) and that its resource has transforms: [wiring.transform]`;
    }
    return undefined;
}
