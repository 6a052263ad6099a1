/**
 * Wiring material into workloads declared elsewhere: the pure selector and pod-template pieces,
 * and WorkloadWiring's transform called the way the engine calls a resource transform, with the
 * transformed workload then registered under the package's mocks.
 */
import {
    podTemplateOf,
    podWiringConflicts,
    selectsWorkload,
    withPodTemplate,
    workloadSelectorProblems,
} from "../components/workloadSelector";
import { wiringMatchProblem, workloadWiringCheckProvider } from "../components/workloadWiring";
import * as k8s from "@pulumi/kubernetes";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { named, resetRecorded, settle, setupMocks, valueOf } from "./support/pulumiMocks";

type Components = typeof import("../components");
let c: Components;

beforeAll(async () => {
    await setupMocks();
    c = await import("../components");
});
beforeEach(resetRecorded);

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CRONJOB = "kubernetes:batch/v1:CronJob";

function deploymentProps(
    overrides: {
        name?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        serviceAccountName?: string;
        containers?: any[];
    } = {},
) {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
            name: overrides.name ?? "api",
            namespace: "team",
            labels: overrides.labels ?? { app: "api" },
            annotations: overrides.annotations,
        },
        spec: {
            selector: { matchLabels: { app: "api" } },
            template: {
                metadata: { labels: { app: "api" } },
                spec: {
                    serviceAccountName: overrides.serviceAccountName ?? "api",
                    containers: overrides.containers ?? [
                        { name: "api", image: "team/api:1", env: [{ name: "LOG", value: "info" }] },
                        { name: "sidecar", image: "team/proxy:1" },
                    ],
                },
            },
        },
    };
}

describe("selecting workloads (pure)", () => {
    it("picks by name, labels, annotations and kind, only workload types", () => {
        const props = deploymentProps({ labels: { app: "api", tier: "web" }, annotations: { "team/mtls": "yes" } });
        expect(selectsWorkload({ name: "api" }, DEPLOYMENT, props)).toBe(true);
        expect(selectsWorkload({ name: "other" }, DEPLOYMENT, props)).toBe(false);
        expect(selectsWorkload({ labels: { tier: "web" } }, DEPLOYMENT, props)).toBe(true);
        expect(selectsWorkload({ labels: { tier: "db" } }, DEPLOYMENT, props)).toBe(false);
        expect(selectsWorkload({ annotations: { "team/mtls": "yes" } }, DEPLOYMENT, props)).toBe(true);
        expect(selectsWorkload({ name: "api", kinds: ["StatefulSet"] }, DEPLOYMENT, props)).toBe(false);
        expect(selectsWorkload({ name: "api", namespace: "elsewhere" }, DEPLOYMENT, props)).toBe(false);
        expect(selectsWorkload({ name: "api" }, "kubernetes:core/v1:Service", props)).toBe(false);
    });

    it("refuses a selector that says nothing or names an unknown kind, by field", () => {
        expect(workloadSelectorProblems({ namespace: "team" }).map((p) => p.argument)).toEqual(["selector"]);
        expect(workloadSelectorProblems({ name: "api", kinds: ["Pod"] })).toEqual([
            {
                argument: "selector.kinds[0]",
                message:
                    '"Pod" is not a workload kind; use one of Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob',
            },
        ]);
        expect(workloadSelectorProblems({ labels: {} }).map((p) => p.argument)).toEqual(["selector.labels"]);
        expect(workloadSelectorProblems({ name: "api" })).toEqual([]);
    });

    it("finds a CronJob's pod template under its job template and writes it back there", () => {
        const props = {
            spec: {
                schedule: "* * * * *",
                jobTemplate: { spec: { template: { spec: { containers: [{ name: "job" }] } } } },
            },
        };
        const template = podTemplateOf(CRONJOB, props) as any;
        expect(template.spec.containers[0].name).toBe("job");
        const wired = withPodTemplate(CRONJOB, props, { spec: { containers: [] }, marked: true }) as any;
        expect(wired.spec.jobTemplate.spec.template.marked).toBe(true);
        expect(wired.spec.schedule).toBe("* * * * *");
    });

    it("refuses, rather than merges, a container that already mounts something at the mount path", () => {
        const template = deploymentProps({
            containers: [{ name: "api", volumeMounts: [{ name: "old-certs", mountPath: "/etc/mtls" }] }],
        }).spec.template;
        const wiring = {
            volumes: [{ name: "mtls-api" }],
            volumeMounts: [{ name: "mtls-api", mountPath: "/etc/mtls", readOnly: true }],
            env: [],
            annotations: {},
        };
        expect(podWiringConflicts(template, wiring, undefined)).toEqual([
            "container api already mounts volume old-certs at /etc/mtls; give the wiring another mountPath, or remove that mount",
        ]);
        expect(
            podWiringConflicts(
                template,
                { ...wiring, volumeMounts: [{ name: "mtls-api", mountPath: "/var/run/mtls" }] },
                undefined,
            ),
        ).toEqual([]);
    });

    it("says what is wrong when a wiring matched nothing or more than one workload", () => {
        expect(wiringMatchProblem("WorkloadWiring web: selector { name web }", [], 1)).toMatch(
            /^WorkloadWiring web: selector \{ name web \} matched no workload among 1 source\(s\)/,
        );
        expect(wiringMatchProblem("W", ["Deployment a/x"], 1)).toBeUndefined();
    });
});

describe("WorkloadWiring's transform", () => {
    function setup(name: string, extra: Partial<import("../components").WorkloadWiringArgs> = {}) {
        const ca = new c.CertificateAuthority(`${name}-ca`, { commonName: "team root" });
        const certificate = new c.ServiceCertificate(name, {
            issuer: ca,
            serviceName: name,
            namespace: "team",
            trustDomain: "team.internal",
            serviceAccountName: "api",
        });
        const material = new c.CertificateMaterial(name, { certificate, namespace: "team" });
        const wiring = new c.WorkloadWiring(name, {
            material,
            selector: { name: "api" },
            serviceAccountName: "api",
            ...extra,
        });
        return { certificate, material, wiring };
    }

    async function transformed(
        wiring: import("../components").WorkloadWiring,
        props: Record<string, any>,
        type = DEPLOYMENT,
    ) {
        return wiring.transform({ type, name: "api", custom: true, props, opts: {} });
    }

    it("adds the volume, the mount and variables to the selected containers and the roll annotations to the pod", async () => {
        const { certificate, material, wiring } = setup("wired", { containers: ["api"] });
        const result = await transformed(wiring, deploymentProps());
        expect(result).toBeDefined();
        const deployment = new k8s.apps.v1.Deployment("api-user", result!.props as k8s.apps.v1.DeploymentArgs);
        await valueOf(deployment.urn);
        const pod = named(DEPLOYMENT, "api-user").inputs.spec.template;
        const [configMap, secret, fingerprint] = await Promise.all([
            valueOf(material.configMapName),
            valueOf(material.secretName),
            valueOf(certificate.fingerprintSha256),
        ]);
        expect(pod.spec.volumes).toHaveLength(1);
        expect(pod.spec.volumes[0].name).toBe("mtls-wired");
        expect(pod.spec.volumes[0].projected.sources.map((s: any) => s.configMap?.name ?? s.secret?.name)).toEqual([
            configMap,
            secret,
        ]);
        const [api, sidecar] = pod.spec.containers;
        expect(api.volumeMounts).toEqual([{ name: "mtls-wired", mountPath: "/etc/mtls", readOnly: true }]);
        expect(api.env.map((e: any) => e.name)).toEqual(["LOG", "MTLS_CERT_FILE", "MTLS_KEY_FILE", "MTLS_CA_FILE"]);
        expect(sidecar.volumeMounts).toBeUndefined();
        expect(pod.metadata.annotations["mtls.pulumi.com/cert-sha256"]).toBe(fingerprint);
        expect(pod.metadata.labels).toEqual({ app: "api" });
        expect(wiring.wired).toEqual(["Deployment team/api"]);
        expect(await valueOf(certificate.uris)).toEqual(["spiffe://team.internal/ns/team/sa/api"]);
    });

    it("with delivery env, the variables from the ConfigMap and the Secret and no volume", async () => {
        const { wiring } = setup("by-env", { delivery: "env" });
        const result = await transformed(wiring, deploymentProps());
        const spec = result!.props.spec.template.spec;
        expect(spec.volumes).toEqual([]);
        expect(spec.containers[0].env.map((e: any) => e.name)).toEqual(["LOG", "MTLS_CERT", "MTLS_KEY", "MTLS_CA"]);
        expect(spec.containers[0].env[2].valueFrom.secretKeyRef.key).toBe("tls.key");
    });

    it("leaves other resources and unselected workloads alone", async () => {
        const { wiring } = setup("alone");
        expect(await transformed(wiring, deploymentProps({ name: "other" }))).toBeUndefined();
        expect(await transformed(wiring, { metadata: { name: "api" } }, "kubernetes:core/v1:Service")).toBeUndefined();
        expect(wiring.wired).toEqual([]);
    });

    it("refuses a second workload, a workload of another service account, and a taken mount path, leaving it unwired", async () => {
        const { wiring } = setup("strict", { selector: { labels: { app: "api" } } });
        expect(await transformed(wiring, deploymentProps())).toBeDefined();
        expect(await transformed(wiring, deploymentProps({ name: "api-canary" }))).toBeUndefined();
        expect(wiring.refusals).toEqual([
            expect.stringMatching(
                /^WorkloadWiring strict: selector \{ labels app=api \} matches both Deployment team\/api and Deployment team\/api-canary; one material is one identity/,
            ),
        ]);
        const other = setup("account").wiring;
        expect(await transformed(other, deploymentProps({ serviceAccountName: "default" }))).toBeUndefined();
        expect(other.refusals).toEqual([
            expect.stringMatching(
                /^WorkloadWiring account: selector \{ name api \}: Deployment team\/api runs as service account default, but the certificate names api/,
            ),
        ]);
        const taken = setup("taken").wiring;
        expect(
            await transformed(
                taken,
                deploymentProps({
                    containers: [{ name: "api", volumeMounts: [{ name: "x", mountPath: "/etc/mtls" }] }],
                }),
            ),
        ).toBeUndefined();
        expect(taken.refusals).toEqual([
            expect.stringContaining(
                "cannot wire Deployment team/api: container api already mounts volume x at /etc/mtls",
            ),
        ]);
        // The refusal reaches the run through the match check, which fails the preview.
        const checked = taken.requireMatch([]);
        expect(await valueOf(checked)).toBeUndefined();
        await settle();
        const check = named("pulumi-nodejs:dynamic/mtls:WorkloadWiringCheck", "taken-match").inputs;
        expect((await workloadWiringCheckProvider.check!({}, check)).failures).toEqual([
            { property: "selector", reason: taken.refusals[0] },
        ]);
    });

    it("requireMatch registers a check that refuses at preview when nothing matched, and passes the one match", async () => {
        const none = setup("nothing");
        const matchedNothing = none.wiring.requireMatch([none.material]);
        expect(await valueOf(matchedNothing)).toBeUndefined();
        await settle();
        const check = named("pulumi-nodejs:dynamic/mtls:WorkloadWiringCheck", "nothing-match").inputs;
        expect(check.problem).toMatch(
            /^WorkloadWiring nothing: selector \{ name api \} matched no workload among 1 source\(s\)/,
        );
        const verdict = await workloadWiringCheckProvider.check!({}, check);
        expect(verdict.failures).toEqual([{ property: "selector", reason: check.problem }]);

        const one = setup("one");
        await transformed(one.wiring, deploymentProps());
        expect(await valueOf(one.wiring.requireMatch([one.material]))).toBe("Deployment team/api");
        await settle();
        const passed = named("pulumi-nodejs:dynamic/mtls:WorkloadWiringCheck", "one-match").inputs;
        expect((await workloadWiringCheckProvider.check!({}, passed)).failures).toEqual([]);
    });

    it("refuses bad arguments before anything is wired, by argument", () => {
        const ca = new c.CertificateAuthority("args-ca", { commonName: "x" });
        const certificate = new c.ServiceCertificate("args", { issuer: ca, serviceName: "args", namespace: "team" });
        const material = new c.CertificateMaterial("args", { certificate, namespace: "team" });
        expect(
            () =>
                new c.WorkloadWiring("bad", { material, selector: { kinds: ["Deployment"] }, serviceAccountName: "" }),
        ).toThrow(
            /^WorkloadWiring bad: \n {2}- selector: selects by namespace or kind alone.*\n {2}- serviceAccountName: is required/,
        );
    });
});
