/** Every policy of the pack, in the order the engine reports them. */
import type { Policies } from "@pulumi/policy";
import { kubernetesPolicies } from "./kubernetesPolicies";
import { stackPolicies } from "./stackPolicies";
import { tlsPolicies } from "./tlsPolicies";

export * from "./kubernetesPolicies";
export * from "./stackPolicies";
export * from "./tlsPolicies";

/** The pack's name, as `pulumi preview` prints it and as policy config files do not need to repeat it. */
export const POLICY_PACK_NAME = "mtls-security";

export const policies: Policies = [...kubernetesPolicies, ...tlsPolicies, ...stackPolicies];
