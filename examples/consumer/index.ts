import { consumerStack } from "./program";

export = consumerStack;
