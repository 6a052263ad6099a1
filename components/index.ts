export * from "./rules";
export * from "./x509";
export * from "./certificateAuthority";
export * from "./serviceCertificate";
export * from "./certificateMaterial";
export * from "./mtlsWorkload";
export * from "./renewalClock";
export * from "./rotationLedger";
