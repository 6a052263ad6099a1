import { platformStack } from "./program";

export = platformStack();
