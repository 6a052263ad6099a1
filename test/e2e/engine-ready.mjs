#!/usr/bin/env node
// Exit 0 when the Pulumi CLI and the provider plugins the program needs are installed, 1 (saying what is missing) otherwise.
import { engineStatus } from "./lib.mjs";

const status = engineStatus();
if (status.ready) {
    console.log(
        `engine ready: pulumi ${status.cliVersion}${status.standIns.length ? `; stand-in providers: ${status.standIns.join(", ")}` : ""}`,
    );
} else {
    console.log(`engine not ready: missing ${status.missing.join("; ")}`);
}
process.exit(status.ready ? 0 : 1);
