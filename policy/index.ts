// The pack's entry point, run by `pulumi preview --policy-pack <this folder>`. Constructing the
// PolicyPack starts its gRPC server, so everything else (and every test) imports ./policies.
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
    policies,
    enforcementLevel: "mandatory",
    description:
        "Private keys only in Secrets, read-only key mounts, restricted pods for mTLS workloads, and sound tls keys and certificates.",
});
