import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
    describePending,
    fileBackendDir,
    kubeObject,
    kubeType,
    objectKey,
    orphans,
    processAlive,
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
