import { main } from "./program";

// The Pulumi runtime calls an exported function and uses its result as the stack outputs.
export = main;
