import { defineConfig } from "vitest/config";

// The default tier: pure rules and the program under Pulumi's mocks. The packed-package
// check installs from the registry and runs separately (`npm run test:package`).
export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        exclude: ["test/package/**", "node_modules/**"],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        pool: "forks",
        // Both cores (vitest would take one on a 2-core machine): the files are independent processes.
        maxWorkers: 2,
    },
});
