export type { MockRegistration, MtlsMocks, MtlsMocksOptions } from "./mocks";
export { mtlsMocks, setMtlsMocks, unwrapSecrets } from "./mocks";
export type { TlsProperties } from "./tlsIssuer";
export {
    TLS_RESOURCE_TYPES,
    generatePrivateKey,
    issueCertRequest,
    issueLocallySignedCert,
    issueSelfSignedCert,
    issueTlsResource,
    issuingClock,
} from "./tlsIssuer";
