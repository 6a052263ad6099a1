// What the numbers were measured on, and how busy the machine was.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

function cmd(file, args, opts = {}) {
    const r = spawnSync(file, args, { encoding: "utf8", ...opts });
    return r.status === 0 ? r.stdout.trim() : null;
}

export function loadavg() {
    const [one, five, fifteen, procs] = fs.readFileSync("/proc/loadavg", "utf8").trim().split(/\s+/);
    return {
        at: new Date().toISOString(),
        one: Number(one),
        five: Number(five),
        fifteen: Number(fifteen),
        runnable: procs,
    };
}

export function describeMachine(root, pulumiCli) {
    const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? null;
    const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? null;
    const meminfo = fs.readFileSync("/proc/meminfo", "utf8");
    const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? 0);
    const git = gitState(root);
    return {
        cpuModel: model,
        cpuMHz: mhz ? Number(mhz) : null,
        cores: os.cpus().length,
        memoryGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        node: process.version,
        openssl: cmd("openssl", ["version"]),
        nodeOpenssl: process.versions.openssl,
        go: cmd("go", ["version"]),
        pulumi: pulumiCli && fs.existsSync(pulumiCli) ? cmd(pulumiCli, ["version"]) : null,
        git,
        date: new Date().toISOString(),
    };
}

/** HEAD and the uncommitted changes outside bench/ (read-only git commands). */
export function gitState(root) {
    const commit = cmd("git", ["rev-parse", "HEAD"], { cwd: root });
    const status = spawnSync("git", ["status", "--porcelain", "--untracked-files=all"], {
        cwd: root,
        encoding: "utf8",
    });
    const porcelain = status.status === 0 ? status.stdout : null;
    const paths =
        porcelain === null
            ? null
            : porcelain
                  .split("\n")
                  .filter(Boolean)
                  .map((l) => l.slice(3));
    return {
        commit,
        uncommittedOutsideBench: paths === null ? null : paths.filter((p) => !p.startsWith("bench/")),
        uncommittedInBench: paths === null ? null : paths.filter((p) => p.startsWith("bench/")).length,
    };
}

export function pulumiCliPath(root) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    return path.join(os.homedir(), ".pulumi", "versions", pkg.devDependencies["@pulumi/pulumi"], "bin", "pulumi");
}
