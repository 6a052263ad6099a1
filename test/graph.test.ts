// @vitest-environment happy-dom
// Mermaid's flowchart parser runs the labels through DOMPurify, which needs a DOM: happy-dom gives it one.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CallGraph, callGraph, compareCallGraph, mermaidText, previousIdentities, renderMermaid } from "../infra/graph";
import { RawStackConfig, StackSpec, parseStackConfig } from "../infra/spec";
import { PROJECT_ROOT, SHIPPED_STACKS } from "./support/stackConfig";
import { buildReport } from "../scripts/cert-report.mjs";
import { stackGraph } from "../scripts/graph.mjs";
import { drawnGraph } from "./support/certReport";

type Mermaid = typeof import("mermaid").default;
let mermaid: Mermaid;

beforeAll(async () => {
    mermaid = (await import("mermaid")).default;
});

const TD = "dev.shop.internal";
const names = { project: "mtls", stack: "test" };

function spec(services: Array<Record<string, unknown>>, extra: RawStackConfig = {}): StackSpec {
    return parseStackConfig(
        {
            namespace: "shop",
            trustDomain: TD,
            services: services.map((svc) => ({ image: "example/app:1.0", port: 8443, ...svc })),
            // The graph is drawn from allowFrom alone; callers from other trust domains then need no networkPolicyFrom.
            kubernetes: { networkPolicy: false },
            ...extra,
        },
        names,
    );
}

/** A stack with every kind of caller: its own services, another namespace, another trust domain twice over. */
function everyKindOfCaller(): StackSpec {
    return spec([
        {
            name: "user-service",
            allowFrom: [
                "order-service",
                { namespace: "reports", service: "report-service" },
                { spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer" },
            ],
        },
        {
            name: "order-service",
            usage: "both",
            port: 9443,
            allowFrom: [
                { spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer" },
                { spiffeId: "spiffe://corp.example/batch/nightly", commonName: "nightly" },
            ],
        },
        { name: "audit-service", usage: "server", port: 7443 },
    ]);
}

const sid = (service: string, namespace = "shop") => `spiffe://${TD}/ns/${namespace}/sa/${service}`;

/** Parses with Mermaid's own parser and returns what it understood: node ids and arrows. */
async function mermaidRead(text: string): Promise<{ vertices: string[]; edges: Array<[string, string, string]> }> {
    await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db as any;
    return {
        vertices: [...db.getVertices().keys()].sort(),
        edges: db.getEdges().map((e: any) => [e.start, e.end, e.text]),
    };
}

describe("the call graph of a stack", () => {
    it("has each service as a node and one arrow per allowed call, labelled with the caller's SPIFFE ID", () => {
        const graph = callGraph(
            spec([
                { name: "a", allowFrom: ["b", "c"] },
                { name: "b", usage: "client", port: undefined },
                { name: "c", allowFrom: ["b"] },
            ]),
        );
        expect(graph.nodes.map((n) => [n.id, n.kind, n.label])).toEqual([
            ["svc_a", "service", ["a", "both · port 8443"]],
            ["svc_b", "service", ["b", "client"]],
            ["svc_c", "service", ["c", "both · port 8443"]],
        ]);
        expect(graph.edges).toEqual([
            { from: "svc_b", to: "svc_a", label: sid("b") },
            { from: "svc_c", to: "svc_a", label: sid("c") },
            { from: "svc_b", to: "svc_c", label: sid("b") },
        ]);
    });

    it("labels arrows with the caller's CN when the stack has no trust domain", () => {
        const graph = callGraph(spec([{ name: "a", allowFrom: ["b"] }, { name: "b" }], { trustDomain: undefined }));
        expect(graph.edges).toEqual([{ from: "svc_b", to: "svc_a", label: "b" }]);
    });

    it("draws each caller from outside the stack once, in the box of its namespace or trust domain", () => {
        const graph = callGraph(everyKindOfCaller());
        const external = graph.nodes.filter((n) => n.kind === "external");
        expect(external.map((n) => [n.id, n.group, n.label])).toEqual([
            ["ext_1", "namespace reports", ["report-service", "namespace reports"]],
            ["ext_2", "trust domain billing.internal", ["invoicer", "/ns/billing/sa/invoicer"]],
            ["ext_3", "trust domain corp.example", ["nightly", "/batch/nightly"]],
        ]);
        expect(graph.edges.filter((e) => e.from === "ext_2").map((e) => e.to)).toEqual([
            "svc_user_service",
            "svc_order_service",
        ]);
        expect(graph.edges.map((e) => e.label)).toEqual([
            sid("order-service"),
            sid("report-service", "reports"),
            "spiffe://billing.internal/ns/billing/sa/invoicer",
            "spiffe://billing.internal/ns/billing/sa/invoicer",
            "spiffe://corp.example/batch/nightly",
        ]);
    });

    it("gives every node a unique id Mermaid accepts: service names' '-' become '_'", () => {
        const graph = callGraph(everyKindOfCaller());
        const ids = graph.nodes.map((n) => n.id);
        for (const id of ids) expect(id).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
        expect(new Set(ids).size).toBe(ids.length);
    });

    it("renders usage and port, the groups, and distinct external nodes", () => {
        const text = renderMermaid(callGraph(everyKindOfCaller()));
        expect(text.split("\n")[0]).toBe("flowchart LR");
        expect(text).toContain(`svc_order_service["order-service<br/>both · port 9443"]`);
        expect(text).toContain(`svc_audit_service["audit-service<br/>server · port 7443"]`);
        expect(text).toContain(`ext_3("nightly<br/>/batch/nightly")`);
        expect(text).toContain(`subgraph group_3["trust domain billing.internal"]`);
        expect(text).toContain(`ext_2 -->|"spiffe://billing.internal/ns/billing/sa/invoicer"| svc_order_service`);
        expect(text).toMatch(/class ext_1,ext_2,ext_3 external/);
    });
});

describe("comparing with the allowlists before a change", () => {
    const current = () =>
        callGraph(
            spec([
                { name: "a", allowFrom: ["b", { namespace: "reports", service: "r" }] },
                { name: "b" },
                { name: "c", allowFrom: ["b"] },
            ]),
        );

    it("marks an arrow added when the caller was not in the service's previous allowlists", () => {
        const graph = compareCallGraph(
            current(),
            { a: { commonNames: ["b"], spiffeIds: [sid("b")] } },
            { namespace: "shop", trustDomain: TD },
        );
        expect(graph.edges.filter((e) => e.to === "svc_a").map((e) => [e.from, e.change])).toEqual([
            ["svc_b", undefined],
            ["ext_1", "added"],
        ]);
        expect(graph.edges.find((e) => e.to === "svc_c")?.change).toBeUndefined();
    });

    it("adds a removed arrow, from the node that still exists or from a removed one", () => {
        const graph = compareCallGraph(
            current(),
            {
                c: {
                    commonNames: ["b", "a", "gone"],
                    spiffeIds: [sid("b"), sid("a"), "spiffe://billing.internal/ns/billing/sa/gone"],
                },
            },
            { namespace: "shop", trustDomain: TD },
        );
        const removed = graph.edges.filter((e) => e.change === "removed");
        expect(removed).toEqual([
            { from: "svc_a", to: "svc_c", label: sid("a"), change: "removed" },
            { from: "gone_1", to: "svc_c", label: "spiffe://billing.internal/ns/billing/sa/gone", change: "removed" },
        ]);
        expect(graph.nodes.find((n) => n.id === "gone_1")).toMatchObject({
            label: ["gone", "removed"],
            group: "trust domain billing.internal",
            change: "removed",
        });
    });

    it("draws a removed service with its arrows removed, and a new service's arrows as added", () => {
        const graph = compareCallGraph(
            current(),
            { old: { commonNames: ["b"], spiffeIds: [sid("b")] }, c: { commonNames: [], spiffeIds: [] } },
            { namespace: "shop", trustDomain: TD },
        );
        expect(graph.nodes.find((n) => n.id === "svc_old")).toMatchObject({
            kind: "service",
            label: ["old", "removed"],
            change: "removed",
        });
        expect(graph.edges.filter((e) => e.change).map((e) => `${e.from}>${e.to}:${e.change}`)).toEqual([
            "svc_b>svc_c:added",
            "svc_b>svc_old:removed",
        ]);
    });

    it("shows a stack that gains a trust domain as its calls moving from CNs to SPIFFE IDs, on the same nodes", () => {
        const graph = compareCallGraph(
            current(),
            { c: { commonNames: ["b"], spiffeIds: [] } },
            { namespace: "shop", trustDomain: TD },
        );
        expect(graph.nodes.map((n) => n.id)).toEqual(["svc_a", "svc_b", "svc_c", "ext_1"]);
        expect(graph.edges.filter((e) => e.to === "svc_c")).toEqual([
            { from: "svc_b", to: "svc_c", label: sid("b"), change: "added" },
            { from: "svc_b", to: "svc_c", label: "b", change: "removed" },
        ]);
    });

    it("reads previous identities from parallel lists, from CNs alone, or from a mix", () => {
        const none = () => undefined;
        expect(previousIdentities({ commonNames: ["a", "b"], spiffeIds: [sid("a"), sid("b")] }, none)).toEqual([
            sid("a"),
            sid("b"),
        ]);
        expect(previousIdentities({ commonNames: ["a", "b"], spiffeIds: [] }, none)).toEqual(["a", "b"]);
        const other = "spiffe://corp.example/batch/nightly";
        expect(
            previousIdentities(
                {
                    commonNames: ["a", "invoicer", "nightly"],
                    spiffeIds: ["spiffe://billing.internal/ns/billing/sa/invoicer", other],
                },
                (id) => (id === other ? "nightly" : undefined),
            ),
        ).toEqual(["spiffe://billing.internal/ns/billing/sa/invoicer", other, "a"]);
    });

    it("renders added arrows thick and marked, removed ones dashed and marked, each styled by its index", () => {
        const graph: CallGraph = compareCallGraph(
            current(),
            { a: { commonNames: ["c"], spiffeIds: [sid("c")] } },
            { namespace: "shop", trustDomain: TD },
        );
        const text = renderMermaid(graph);
        expect(text).toContain(`svc_b ==>|"added: ${sid("b")}"| svc_a`);
        expect(text).toContain(`svc_c -.->|"removed: ${sid("c")}"| svc_a`);
        const added = graph.edges.flatMap((e, i) => (e.change === "added" ? [i] : []));
        expect(text).toContain(`linkStyle ${added.join(",")} stroke:#1a7f37`);
    });
});

describe("every generated diagram parses with Mermaid's own parser", () => {
    it.each(SHIPPED_STACKS)("the shipped %s stack, from npm run graph", async (stack) => {
        const text: string = stackGraph(stack);
        const read = await mermaidRead(text);
        expect(read.vertices).toEqual(["svc_order_service", "svc_payment_service", "svc_user_service"]);
        expect(read.edges.map(([from, to]) => `${from}>${to}`)).toEqual([
            "svc_order_service>svc_user_service",
            "svc_payment_service>svc_user_service",
        ]);
    });

    it("a stack with every kind of caller: Mermaid sees every node and arrow the model has", async () => {
        const graph = callGraph(everyKindOfCaller());
        const read = await mermaidRead(renderMermaid(graph));
        expect(read.vertices).toEqual(graph.nodes.map((n) => n.id).sort());
        expect(read.edges).toEqual(graph.edges.map((e) => [e.from, e.to, e.label]));
    });

    it("a comparison with added and removed arrows and a removed service", async () => {
        const graph = compareCallGraph(
            callGraph(everyKindOfCaller()),
            {
                "user-service": {
                    commonNames: ["order-service", "gone"],
                    spiffeIds: [sid("order-service"), "spiffe://x.example/ns/x/sa/gone"],
                },
                retired: { commonNames: ["order-service"], spiffeIds: [sid("order-service")] },
            },
            { namespace: "shop", trustDomain: TD },
        );
        const read = await mermaidRead(renderMermaid(graph));
        expect(read.vertices).toEqual(graph.nodes.map((n) => n.id).sort());
        expect(read.edges).toHaveLength(graph.edges.length);
        expect(read.edges.filter(([, , text]) => text.startsWith("removed: "))).toHaveLength(2);
    });

    it("a CN full of characters Mermaid treats as markup", async () => {
        const cn = 'a "b" <c> | [d] {e} (f) #g; `h`';
        const graph = callGraph(
            spec([{ name: "a", allowFrom: [{ spiffeId: "spiffe://corp.example/x", commonName: cn }] }], {
                trustDomain: undefined,
            }),
        );
        const text = renderMermaid(graph);
        await expect(mermaidRead(text)).resolves.toMatchObject({ vertices: ["ext_1", "svc_a"] });
        expect(text).toContain(mermaidText(cn));
    });

    it("the certificate report's, for the real engine's preview and for one that adds and removes calls", async () => {
        const fixture = JSON.parse(
            fs.readFileSync(path.join(PROJECT_ROOT, "test", "fixtures", "engine", "preview-san-change.json"), "utf8"),
        );
        const real = await mermaidRead(drawnGraph(buildReport(fixture)).mermaid);
        expect(real.vertices).toHaveLength(6);
        expect(real.edges).toHaveLength(2);

        const deployment = (callers: string[]) => ({
            inputs: {
                spec: {
                    template: {
                        spec: {
                            containers: [
                                {
                                    env: [
                                        { name: "MTLS_ALLOWED_CLIENTS", value: callers.join(",") },
                                        {
                                            name: "MTLS_ALLOWED_SPIFFE_IDS",
                                            value: callers.map((c) => sid(c)).join(","),
                                        },
                                    ],
                                },
                            ],
                        },
                    },
                },
            },
        });
        const changed = buildReport({
            config: {
                "mtls:namespace": "shop",
                "mtls:trustDomain": TD,
                "mtls:services": JSON.stringify([
                    {
                        name: "a",
                        image: "i",
                        port: 1,
                        allowFrom: [
                            "b",
                            {
                                spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                                networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
                            },
                        ],
                    },
                    { name: "b", image: "i", usage: "client" },
                ]),
            },
            steps: [
                { op: "same", urn: "urn:pulumi:dev::mtls::pulumi:pulumi:Stack::mtls-dev", oldState: { outputs: {} } },
                {
                    op: "update",
                    urn: "urn:pulumi:dev::mtls::mtls:index:MtlsWorkload$kubernetes:apps/v1:Deployment::a-deployment",
                    oldState: deployment(["b", "c"]),
                    newState: deployment(["b"]),
                },
            ],
        });
        expect(drawnGraph(changed).added).toHaveLength(1);
        expect(drawnGraph(changed).removed).toHaveLength(1);
        const read = await mermaidRead(drawnGraph(changed).mermaid);
        expect(read.edges.map(([, , text]) => text.split(":")[0])).toEqual([
            sid("b").split(":")[0],
            "added",
            "removed",
        ]);
    });

    it("negative control: the parser refuses a diagram that would not render", async () => {
        const good = renderMermaid(callGraph(everyKindOfCaller()));
        await expect(mermaid.parse(good)).resolves.toBeTruthy();
        // The same diagram with a label quote left unescaped, and with a style for an arrow that does not exist.
        await expect(mermaid.parse(good.replace('ext_3("nightly<br/>', 'ext_3("night"ly<br/>'))).rejects.toThrow(
            /Parse error/,
        );
        await expect(mermaid.parse(`${good}    linkStyle 99 stroke:#000\n`)).rejects.toThrow();
        await expect(mermaid.parse(good.replace("flowchart LR", "flowchart LR\n    subgraph x"))).rejects.toThrow();
    });
});

describe("npm run graph", () => {
    it("prints the dev stack's graph, the one the README shows", () => {
        const run = spawnSync(process.execPath, ["scripts/graph.mjs", "--stack", "dev"], {
            cwd: PROJECT_ROOT,
            encoding: "utf8",
        });
        expect(run.status, run.stderr).toBe(0);
        const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
        const block = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1];
        expect(block).toBe(run.stdout);
    });

    it("refuses a stack file the program would refuse, by key path, and a stack that has no file", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "graph-"));
        try {
            fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: demo\nstackConfigDir: stacks\n");
            fs.mkdirSync(path.join(root, "stacks"));
            fs.writeFileSync(
                path.join(root, "stacks", "Pulumi.bad.yaml"),
                [
                    "config:",
                    "  mtls:namespace: shop",
                    "  mtls:services:",
                    "    - { name: a, image: i, port: 1, allowFrom: [b] }",
                    "    - { name: b, image: i, port: 2, usage: server }",
                ].join("\n"),
            );
            expect(() => stackGraph("bad", root)).toThrow(/mtls:services\[0\]\.allowFrom\[0\]: "b" has usage: server/);
            expect(() => stackGraph("prod", root)).toThrow(/no stack file stacks\/Pulumi\.prod\.yaml; use one of bad/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
