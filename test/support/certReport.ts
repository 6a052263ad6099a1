import type { Report } from "../../scripts/cert-report.mjs";

/** A report's call graph as drawn; throws, failing the test, when the report has none or says why it could not draw it. */
export function drawnGraph(report: Report) {
    const graph = report.graph;
    if (graph?.mermaid === undefined)
        throw new Error(`the report drew no call graph: ${graph?.error ?? "it has none"}`);
    return graph;
}
