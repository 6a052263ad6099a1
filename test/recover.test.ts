import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
    describePending,
    brokenSidecar,
    fileBackendDir,
    leftoverTemp,
    kubeObject,
    kubeType,
    objectKey,
    orphans,
    processAlive,
    recover,
    referencedObjects,
    renderPath,
    takeFast,
    unlabelledKinds,
    verdict,
    withoutPending,
} from "../scripts/recover.mjs";

const URN = "urn:pulumi:dev::mtls::mtls:index:CertificateMaterial$kubernetes:core/v1:ConfigMap::user-service-certs";

function configMap(name: string, labels: Record<string, string> = { "app.kubernetes.io/part-of": "mtls" }) {
    return {
        urn: URN,
        type: "kubernetes:core/v1:ConfigMap",
        id: `shop/${name}`,
        outputs: { metadata: { name, namespace: "shop", labels } },
    };
}

describe("the --fast flag", () => {
    it("is taken out before the CLI sees the arguments", () => {
        expect(takeFast(["--stack", "dev", "--fast", "--diff"])).toEqual({
            fast: true,
            args: ["--stack", "dev", "--diff"],
        });
        expect(takeFast(["--stack", "dev"]).fast).toBe(false);
    });
});

describe("locks and markers", () => {
    const here = { host: "box", alive: (pid: number) => pid === 42 };
    it("a dead process on this host left a stale lock", () => {
        expect(verdict({ pid: 7, host: "box" }, here)).toBe("stale");
    });
    it("a live process on this host holds the stack", () => {
        expect(verdict({ pid: 42, host: "box" }, here)).toBe("live");
    });
    it("another host's lock cannot be judged from here", () => {
        expect(verdict({ pid: 7, host: "elsewhere" }, here)).toBe("foreign");
    });
    it("this process is alive, a pid that does not exist is not, nor a reused pid running something else", () => {
        expect(processAlive(process.pid)).toBe(true);
        expect(processAlive(2 ** 22 + 12345)).toBe(false);
        expect(processAlive(process.pid, "no-such-program-name")).toBe(false);
    });
});

describe("what the state references", () => {
    it("maps type tokens to apiVersion and kind, and skips the provider and components", () => {
        expect(kubeType("kubernetes:apps/v1:Deployment")).toEqual({ apiVersion: "apps/v1", kind: "Deployment" });
        expect(kubeType("kubernetes:core/v1:Secret")).toEqual({ apiVersion: "v1", kind: "Secret" });
        expect(kubeType("kubernetes:networking.k8s.io/v1:NetworkPolicy")?.apiVersion).toBe("networking.k8s.io/v1");
        expect(kubeType("pulumi:providers:kubernetes")).toBeUndefined();
        expect(kubeType("kubernetes:yaml/v2:ConfigFile")).toBeUndefined();
        expect(kubeType("tls:index/privateKey:PrivateKey")).toBeUndefined();
    });
    it("names an object from its outputs, its id, or (a pending create) its checked inputs", () => {
        expect(objectKey(kubeObject(configMap("a-1"))!)).toBe("ConfigMap shop/a-1");
        expect(kubeObject({ urn: URN, type: "kubernetes:core/v1:Namespace", id: "shop" })).toEqual({
            apiVersion: "v1",
            kind: "Namespace",
            name: "shop",
        });
        const pendingCreate = {
            urn: URN,
            type: "kubernetes:core/v1:Secret",
            inputs: { metadata: { name: "k-abc", namespace: "shop" }, stringData: { ciphertext: "x" } },
        };
        expect(objectKey(kubeObject(pendingCreate)!)).toBe("Secret shop/k-abc");
    });
    it("never reads a name out of an encrypted value", () => {
        expect(
            kubeObject({ urn: URN, type: "kubernetes:core/v1:Secret", outputs: { metadata: { ciphertext: "x" } } }),
        ).toBeUndefined();
    });
    it("collects every object of the state, and the kinds without our label", () => {
        const deployment = {
            resources: [
                configMap("a-1"),
                { urn: URN, type: "kubernetes:core/v1:Namespace", id: "shop", outputs: { metadata: { name: "shop" } } },
                { urn: URN, type: "tls:index/privateKey:PrivateKey", id: "x" },
            ],
        };
        expect([...referencedObjects(deployment)].sort()).toEqual(["ConfigMap shop/a-1", "Namespace shop"]);
        expect(unlabelledKinds(deployment)).toEqual(["Namespace"]);
    });
    it("renders to the provider's paths", () => {
        const o = kubeObject({ urn: URN, type: "kubernetes:apps/v1:Deployment", id: "shop/user-service" })!;
        expect(renderPath(o, "/r")).toBe(path.join("/r", "1-manifest", "apps_v1-deployment-shop-user-service.yaml"));
        expect(renderPath({ apiVersion: "v1", kind: "Namespace", name: "shop" }, "/r")).toBe(
            path.join("/r", "1-manifest", "v1-namespace-default-shop.yaml"),
        );
    });
    it("says what each pending operation was doing", () => {
        expect(describePending([{ type: "creating", resource: configMap("a-1") }])).toEqual([
            "creating kubernetes:core/v1:ConfigMap user-service-certs (ConfigMap shop/a-1)",
        ]);
    });
    it("drops the pending operations and keeps the rest of the export", () => {
        const exported = { version: 3, deployment: { resources: [configMap("a")], pending_operations: [{}] } };
        expect(withoutPending(exported)).toEqual({
            version: 3,
            deployment: { resources: [configMap("a")], pending_operations: [] },
        });
    });
});

describe("orphans", () => {
    const started = Date.parse("2026-12-02T18:00:00Z");
    const at = (s: number) => started + s * 1000;
    const candidates = [
        { item: "held", key: "held", created: at(5) },
        { item: "pending", key: "pending", created: at(-600) },
        { item: "new", key: "new", created: at(3) },
        { item: "same-second", key: "same-second", created: at(-1) },
        { item: "old", key: "old", created: at(-600) },
    ];
    it("with checkpoints and no marker: only the pending creates", () => {
        expect(orphans(candidates, { referenced: new Set(["held"]), pendingCreates: new Set(["pending"]) })).toEqual({
            remove: ["pending"],
            leave: ["new", "same-second", "old"],
        });
    });
    it("after a killed run: also whatever appeared since it started, never what the state holds", () => {
        expect(
            orphans(candidates, {
                referenced: new Set(["held"]),
                pendingCreates: new Set(["pending"]),
                since: started,
            }),
        ).toEqual({ remove: ["pending", "new", "same-second"], leave: ["old"] });
    });
});

describe("file backends", () => {
    it("finds the directory of a file:// backend only", () => {
        expect(fileBackendDir("file:///work/.pulumi-state")).toBe("/work/.pulumi-state");
        expect(fileBackendDir("s3://bucket")).toBeUndefined();
    });
});

describe("the file backend's own leftovers", () => {
    it("counts an empty or cut-short .attrs sidecar as broken, and the one fileblob writes as sound", () => {
        expect(brokenSidecar("")).toBe(true);
        expect(brokenSidecar('{"user.cache_control":"","user.content_dis')).toBe(true);
        expect(brokenSidecar("null")).toBe(true);
        expect(brokenSidecar("[]")).toBe(true);
        expect(
            brokenSidecar('{"user.cache_control":"","user.content_type":"application/octet-stream","md5":"AAAA"}\n'),
        ).toBe(false);
    });

    it("takes only the stack's own temporary files for leftovers", () => {
        expect(leftoverTemp("dev.json.18a3f0c2b1d4e5f6.tmp", "dev", false)).toBe(true);
        expect(leftoverTemp("dev.json.bak.18a3f0c2b1d4e5f6.tmp", "dev", false)).toBe(true);
        expect(leftoverTemp("prod.json.18a3f0c2b1d4e5f6.tmp", "dev", false)).toBe(false);
        expect(leftoverTemp("dev.json", "dev", false)).toBe(false);
        expect(leftoverTemp("dev-1764710000.checkpoint.json.18a3f0.tmp", "dev", true)).toBe(true);
        expect(leftoverTemp("notes.tmp", "dev", true)).toBe(false);
    });
});

describe("the recovery pass on a file backend a killed run left", () => {
    const DEAD = 2 ** 22 + 4321;
    function leftover(mode: "default" | "fast") {
        const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "mtls-recover-"));
        const renderDirectory = path.join(backendDir, "out");
        const started = new Date(Date.now() - 60_000).toISOString();
        const runs = path.join(backendDir, ".mtls-runs", "mtls");
        fs.mkdirSync(runs, { recursive: true });
        fs.writeFileSync(
            path.join(runs, "dev.json"),
            JSON.stringify({ pid: DEAD, host: os.hostname(), command: "up", mode, started }),
        );
        const locks = path.join(backendDir, ".pulumi", "locks", "organization", "mtls", "dev");
        fs.mkdirSync(locks, { recursive: true });
        fs.writeFileSync(
            path.join(locks, "0000.json"),
            JSON.stringify({ pid: DEAD, username: "u", hostname: os.hostname(), timestamp: started }),
        );
        const held = configMap("held-1");
        const pendingCreate = { ...configMap("pending-1"), id: undefined, outputs: undefined };
        (pendingCreate as Record<string, unknown>).inputs = { metadata: { name: "pending-1", namespace: "shop" } };
        const latest = {
            resources: [held],
            pending_operations: mode === "default" ? [{ type: "creating", resource: pendingCreate }] : [],
        };
        fs.mkdirSync(path.join(backendDir, ".pulumi", "stacks", "mtls"), { recursive: true });
        const stacks = path.join(backendDir, ".pulumi", "stacks", "mtls");
        fs.writeFileSync(path.join(stacks, "dev.json"), JSON.stringify({ version: 3, checkpoint: { latest } }));
        // What a kill inside fileblob's write leaves: the checkpoint's sidecar truncated, the
        // backup's cut short, a temporary file; another stack's files are not this run's business.
        fs.writeFileSync(path.join(stacks, "dev.json.attrs"), "");
        fs.writeFileSync(path.join(stacks, "dev.json.bak.attrs"), '{"user.cache_control":"",');
        fs.writeFileSync(path.join(stacks, "dev.json.18a3f0c2b1d4e5f6.tmp"), "{");
        fs.writeFileSync(path.join(stacks, "prod.json.attrs"), "");
        fs.writeFileSync(path.join(stacks, "prod.json.18a3f0c2b1d4e5f6.tmp"), "{");
        fs.writeFileSync(path.join(backendDir, ".pulumi", "meta.yaml.attrs"), '{"md5":"AAAA"}\n');
        fs.mkdirSync(path.join(renderDirectory, "1-manifest"), { recursive: true });
        for (const name of ["held-1", "pending-1", "fresh-1"])
            fs.writeFileSync(
                renderPath({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name }, renderDirectory),
                "x",
            );
        const old = renderPath(
            { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "old-1" },
            renderDirectory,
        );
        fs.writeFileSync(old, "x");
        fs.utimesSync(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
        const calls: string[][] = [];
        const imported: unknown[] = [];
        const pulumi = (args: string[]) => {
            calls.push(args);
            if (args[1] === "import")
                imported.push(JSON.parse(fs.readFileSync(args[args.indexOf("--file") + 1], "utf8")));
            const stdout = args[1] === "export" ? JSON.stringify({ version: 3, deployment: latest }) : "";
            return { status: 0, stdout, stderr: "", pid: 0, output: [], signal: null };
        };
        const lines: string[] = [];
        const result = recover({
            root: backendDir,
            backendDir,
            project: "mtls",
            stack: "dev",
            command: "up",
            mode,
            target: { renderDirectory, namespace: "shop" },
            pulumi,
            log: (l: string) => lines.push(l),
        });
        const files = fs.readdirSync(path.join(renderDirectory, "1-manifest")).sort();
        const lockLeft = fs.readdirSync(locks).length;
        const stackFiles = fs.readdirSync(stacks).sort();
        const meta = fs.existsSync(path.join(backendDir, ".pulumi", "meta.yaml.attrs"));
        fs.rmSync(backendDir, { recursive: true, force: true });
        return { result, lines, files, lockLeft, calls, imported, stackFiles, meta };
    }

    it("says the run was killed, removes its lock, the pending create's file and what it rendered since it started", () => {
        const { result, lines, files, lockLeft, imported } = leftover("default");
        expect("marker" in result).toBe(true);
        expect(lines[0]).toMatch(
            /a previous `pulumi up` of stack dev \(pid \d+, started .*, with checkpoints\) was killed/,
        );
        expect(lines.some((l) => /is dead; removing its lock/.test(l))).toBe(true);
        expect(
            lines.some((l) => /creating kubernetes:core\/v1:ConfigMap .*\(ConfigMap shop\/pending-1\)/.test(l)),
        ).toBe(true);
        expect(lockLeft).toBe(0);
        expect(files).toEqual(["v1-configmap-shop-held-1.yaml", "v1-configmap-shop-old-1.yaml"]);
        expect(lines.some((l) => /left 1-manifest\/v1-configmap-shop-old-1.yaml alone/.test(l))).toBe(true);
        expect(imported).toEqual([
            { version: 3, deployment: { resources: [configMap("held-1")], pending_operations: [] } },
        ]);
    });

    it("removes the stack's broken sidecars and temporary files, and nothing of another stack's", () => {
        const { lines, stackFiles, meta } = leftover("default");
        expect(stackFiles).toEqual(["dev.json", "prod.json.18a3f0c2b1d4e5f6.tmp", "prod.json.attrs"]);
        expect(meta).toBe(true);
        expect(lines.filter((l) => /metadata sidecar .*dev\.json\.attrs is empty/.test(l))).toHaveLength(1);
        expect(lines.filter((l) => /metadata sidecar .*dev\.json\.bak\.attrs is cut short/.test(l))).toHaveLength(1);
        expect(
            lines.filter((l) => /removing .*dev\.json\.18a3f0c2b1d4e5f6\.tmp: a temporary file/.test(l)),
        ).toHaveLength(1);
    });

    it("in fast mode the state needs no import: only what the run rendered goes", () => {
        const { lines, files, calls } = leftover("fast");
        expect(lines.some((l) => /fast mode writes it only at the end/.test(l))).toBe(true);
        expect(files).toEqual(["v1-configmap-shop-held-1.yaml", "v1-configmap-shop-old-1.yaml"]);
        expect(calls).toEqual([]);
    });

    it("refuses while the marker's process is alive, and leaves everything as it was", () => {
        const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "mtls-recover-"));
        const runs = path.join(backendDir, ".mtls-runs", "mtls");
        fs.mkdirSync(runs, { recursive: true });
        const marker = { pid: process.pid, host: os.hostname(), command: "up", mode: "default", started: "T" };
        fs.writeFileSync(path.join(runs, "dev.json"), JSON.stringify(marker));
        const result = recover({
            root: backendDir,
            backendDir,
            project: "mtls",
            stack: "dev",
            command: "up",
            mode: "default",
            target: {},
            pulumi: () => {
                throw new Error("must not run");
            },
            log: () => {},
            // The test runner's command line does not contain pulumi.mjs: count any live pid as the run.
            liveCommand: "",
        });
        const left = JSON.parse(fs.readFileSync(path.join(runs, "dev.json"), "utf8"));
        fs.rmSync(backendDir, { recursive: true, force: true });
        expect(result).toEqual({
            refusal: expect.stringMatching(/^another `pulumi up` of stack dev is running \(pid \d+ on .*, started T\)/),
        });
        expect(left).toEqual(marker);
    });
});
