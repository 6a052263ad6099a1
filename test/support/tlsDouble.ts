/**
 * TEST DOUBLE of the tls provider, as the tests have always named it. The double itself is
 * product now (`@mtls/pulumi-mtls/testing`, components/testing/tlsIssuer.ts): real keys and
 * certificates from the program's real tls arguments, made with node:crypto. Never evidence
 * about the provider.
 */
export {
    generatePrivateKey as generateTlsKey,
    issueCertRequest as certRequest,
    issueLocallySignedCert as locallySignedCert,
    issueSelfSignedCert as selfSignedCert,
    issueTlsResource,
    issuingClock as clock,
} from "../../components/testing";
