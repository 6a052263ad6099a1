// Stand-in for the tls provider (pulumi/pulumi-tls, which bridges
// hashicorp/terraform-provider-tls). It follows the upstream resources'
// documented schema and behaviour: defaults, "requires replace" on every input
// except early_renewal_hours, allowed_uses -> KeyUsage/ExtKeyUsage, subject key
// identifiers, a random 128-bit serial, validity stamps in RFC 3339 and the
// early-renewal rule (ready_for_renewal, replacement once
// now >= validity_end_time - early_renewal_hours).

package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	tlsPrivateKey    = "tls:index/privateKey:PrivateKey"
	tlsSelfSigned    = "tls:index/selfSignedCert:SelfSignedCert"
	tlsCertRequest   = "tls:index/certRequest:CertRequest"
	tlsLocallySigned = "tls:index/locallySignedCert:LocallySignedCert"
)

// Input properties of each resource (Pulumi names).
var tlsInputs = map[string][]string{
	tlsPrivateKey: {"algorithm", "ecdsaCurve", "rsaBits"},
	tlsSelfSigned: {"allowedUses", "dnsNames", "earlyRenewalHours", "ipAddresses", "isCaCertificate",
		"maxPathLength", "privateKeyPem", "privateKeyPemWo", "privateKeyPemWoVersion", "setAuthorityKeyId",
		"setSubjectKeyId", "subject", "uris", "validityPeriodHours"},
	tlsCertRequest: {"dnsNames", "ipAddresses", "privateKeyPem", "privateKeyPemWo", "privateKeyPemWoVersion",
		"subject", "uris"},
	tlsLocallySigned: {"allowedUses", "caCertPem", "caPrivateKeyPem", "caPrivateKeyPemWo",
		"caPrivateKeyPemWoVersion", "certRequestPem", "earlyRenewalHours", "isCaCertificate", "maxPathLength",
		"setSubjectKeyId", "validityPeriodHours"},
}

// Defaults the upstream schema applies to optional inputs.
var tlsDefaults = map[string]resource.PropertyValue{
	"ecdsaCurve":        resource.NewStringProperty("P224"),
	"rsaBits":           resource.NewNumberProperty(2048),
	"earlyRenewalHours": resource.NewNumberProperty(0),
	"isCaCertificate":   resource.NewBoolProperty(false),
	"maxPathLength":     resource.NewNumberProperty(-1),
	"setSubjectKeyId":   resource.NewBoolProperty(false),
	"setAuthorityKeyId": resource.NewBoolProperty(false),
}

// Inputs holding PEM text; they are compared without regard to whitespace.
var tlsPEMInputs = map[string]bool{"privateKeyPem": true, "caPrivateKeyPem": true, "caCertPem": true,
	"certRequestPem": true}

// Write-only inputs: used, never stored in the outputs, never diffed.
var tlsWriteOnly = map[string]bool{"privateKeyPemWo": true, "caPrivateKeyPemWo": true}

var keyUsages = map[string]x509.KeyUsage{
	"digital_signature":  x509.KeyUsageDigitalSignature,
	"content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment":   x509.KeyUsageKeyEncipherment,
	"data_encipherment":  x509.KeyUsageDataEncipherment,
	"key_agreement":      x509.KeyUsageKeyAgreement,
	"cert_signing":       x509.KeyUsageCertSign,
	"crl_signing":        x509.KeyUsageCRLSign,
	"encipher_only":      x509.KeyUsageEncipherOnly,
	"decipher_only":      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended":                      x509.ExtKeyUsageAny,
	"server_auth":                       x509.ExtKeyUsageServerAuth,
	"client_auth":                       x509.ExtKeyUsageClientAuth,
	"code_signing":                      x509.ExtKeyUsageCodeSigning,
	"email_protection":                  x509.ExtKeyUsageEmailProtection,
	"ipsec_end_system":                  x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel":                      x509.ExtKeyUsageIPSECTunnel,
	"ipsec_user":                        x509.ExtKeyUsageIPSECUser,
	"timestamping":                      x509.ExtKeyUsageTimeStamping,
	"ocsp_signing":                      x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoft_commercial_code_signing": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoft_kernel_code_signing":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

func supportedUses() []string {
	var out []string
	for k := range keyUsages {
		out = append(out, k)
	}
	for k := range extKeyUsages {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

type tlsProvider struct{}

func newTLS() handler { return &tlsProvider{} }

// tlsNow is the provider's clock; MTLS_NOW (RFC 3339) overrides it for tests.
func tlsNow() (time.Time, error) {
	if v := os.Getenv("MTLS_NOW"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("MTLS_NOW=%q is not an RFC 3339 time: %w", v, err)
		}
		return t, nil
	}
	return time.Now(), nil
}

func isCertType(typ string) bool { return typ == tlsSelfSigned || typ == tlsLocallySigned }

func (t *tlsProvider) configure(map[string]string, resource.PropertyMap) error { return nil }

func (t *tlsProvider) checkConfig(resource.PropertyMap) []*pulumirpc.CheckFailure { return nil }

func (t *tlsProvider) diffConfig(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	return plainConfigDiff(olds, news)
}

// ---------------------------------------------------------------------------
// Check

func (t *tlsProvider) check(o *op, _, news resource.PropertyMap, _ []byte) (resource.PropertyMap,
	[]*pulumirpc.CheckFailure, error,
) {
	if _, ok := tlsInputs[o.typ]; !ok {
		return nil, nil, fmt.Errorf("resource type %s is not implemented by the stand-in tls provider", o.typ)
	}
	var fails []*pulumirpc.CheckFailure
	fail := func(prop, format string, args ...any) {
		fails = append(fails, &pulumirpc.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	oneOf := func(prop string, allowed ...string) {
		if present(news, prop) && !unknown(news, prop) {
			v := str(news, prop, "")
			for _, a := range allowed {
				if v == a {
					return
				}
			}
			fail(prop, "Attribute %s value must be one of: %q, got: %q", prop, allowed, v)
		}
	}
	required := func(props ...string) {
		for _, p := range props {
			if !present(news, p) {
				fail(p, "Missing required argument: The argument %q is required, but no definition was found.", p)
			}
		}
	}
	atLeast := func(prop string, min int64) {
		if present(news, prop) && !unknown(news, prop) && num(news, prop, min) < min {
			fail(prop, "Attribute %s value must be at least %d, got: %d", prop, min, num(news, prop, min))
		}
	}
	exactlyOne := func(a, b string) {
		if present(news, a) == present(news, b) {
			fail(a, "Exactly one of these attributes must be configured: [%s, %s]", a, b)
		}
	}
	switch o.typ {
	case tlsPrivateKey:
		required("algorithm")
		oneOf("algorithm", "RSA", "ECDSA", "ED25519")
		oneOf("ecdsaCurve", "P224", "P256", "P384", "P521")
	case tlsSelfSigned, tlsLocallySigned:
		required("validityPeriodHours", "allowedUses")
		atLeast("validityPeriodHours", 0)
		atLeast("earlyRenewalHours", 0)
		atLeast("maxPathLength", -1)
		if uses, err := strList(news, "allowedUses"); err == nil && !unknown(news, "allowedUses") {
			for _, u := range uses {
				_, k := keyUsages[u]
				_, e := extKeyUsages[u]
				if !k && !e {
					fail("allowedUses", "Attribute allowedUses value must be one of: %q, got: %q", supportedUses(), u)
				}
			}
		}
		if o.typ == tlsSelfSigned {
			exactlyOne("privateKeyPem", "privateKeyPemWo")
		} else {
			required("certRequestPem", "caCertPem")
			exactlyOne("caPrivateKeyPem", "caPrivateKeyPemWo")
		}
	case tlsCertRequest:
		exactlyOne("privateKeyPem", "privateKeyPemWo")
	}
	return news, fails, nil
}

// ---------------------------------------------------------------------------
// Diff

func (t *tlsProvider) diff(o *op, olds, oldInputs, news resource.PropertyMap, ignore []string) (
	*pulumirpc.DiffResponse, error,
) {
	keys := tlsInputs[o.typ]
	prev := inputsOf(olds, oldInputs, keys)
	withDefault := func(m resource.PropertyMap, k string) resource.PropertyValue {
		if v, ok := m[resource.PropertyKey(k)]; ok && !plain(v).IsNull() {
			if pv := plain(v); pv.IsArray() && len(pv.ArrayValue()) == 0 {
				return resource.NewNullProperty() // [] and unset are the same list
			}
			return v
		}
		if d, ok := tlsDefaults[k]; ok {
			return d
		}
		return resource.NewNullProperty()
	}
	var changed []string
	for _, k := range keys {
		if tlsWriteOnly[k] || ignored(k, ignore) {
			continue
		}
		ov, nv := withDefault(prev, k), withDefault(news, k)
		switch {
		case nv.ContainsUnknowns():
			changed = append(changed, k)
		case tlsPEMInputs[k] && plain(ov).IsString() && plain(nv).IsString():
			if normalizePEM(plain(ov).StringValue()) != normalizePEM(plain(nv).StringValue()) {
				changed = append(changed, k)
			}
		case !sameValue(ov, nv):
			changed = append(changed, k)
		}
	}
	if isCertType(o.typ) && !ignored("readyForRenewal", ignore) {
		hours := num(prev, "earlyRenewalHours", 0)
		if !unknown(news, "earlyRenewalHours") {
			hours = num(news, "earlyRenewalHours", 0)
		}
		ready, err := readyForRenewal(str(olds, "validityEndTime", ""), hours)
		if err != nil {
			return nil, err
		}
		if ready {
			changed = append(changed, "readyForRenewal")
		}
	}
	return replaceDiff(changed, "earlyRenewalHours"), nil
}

func ignored(key string, ignore []string) bool {
	for _, i := range ignore {
		if i == key || strings.HasPrefix(i, key+".") || strings.HasPrefix(i, key+"[") {
			return true
		}
	}
	return false
}

// readyForRenewal applies the upstream rule: ready once the early-renewal time
// (validity end minus earlyRenewalHours) is not in the future.
func readyForRenewal(validityEnd string, earlyRenewalHours int64) (bool, error) {
	if validityEnd == "" {
		return false, nil
	}
	end, err := time.Parse(time.RFC3339, validityEnd)
	if err != nil {
		return false, fmt.Errorf("Failed to parse data from string: %s: %w", validityEnd, err)
	}
	now, err := tlsNow()
	if err != nil {
		return false, err
	}
	return !end.Add(-time.Duration(earlyRenewalHours) * time.Hour).After(now), nil
}

// ---------------------------------------------------------------------------
// Create / Read / Update / Delete

// outputsFrom starts the outputs from the inputs (minus write-only ones) with
// the upstream defaults filled in.
func (t *tlsProvider) outputsFrom(typ string, news resource.PropertyMap) resource.PropertyMap {
	outs := resource.PropertyMap{}
	for _, k := range tlsInputs[typ] {
		if tlsWriteOnly[k] {
			continue
		}
		if v, ok := news[resource.PropertyKey(k)]; ok && !plain(v).IsNull() {
			outs[resource.PropertyKey(k)] = v
		} else if d, ok := tlsDefaults[k]; ok {
			outs[resource.PropertyKey(k)] = d
		}
	}
	return outs
}

var tlsComputed = map[string][]string{
	tlsPrivateKey: {"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem", "publicKeyOpenssh",
		"publicKeyFingerprintMd5", "publicKeyFingerprintSha256"},
	tlsSelfSigned:    {"certPem", "keyAlgorithm", "readyForRenewal", "validityStartTime", "validityEndTime"},
	tlsCertRequest:   {"certRequestPem", "keyAlgorithm"},
	tlsLocallySigned: {"certPem", "caKeyAlgorithm", "readyForRenewal", "validityStartTime", "validityEndTime"},
}

func (t *tlsProvider) create(o *op, news resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if _, ok := tlsInputs[o.typ]; !ok {
		return "", nil, fmt.Errorf("resource type %s is not implemented by the stand-in tls provider", o.typ)
	}
	outs := t.outputsFrom(o.typ, news)
	if preview {
		for _, k := range tlsComputed[o.typ] {
			outs[resource.PropertyKey(k)] = computedString()
		}
		return "", outs, nil
	}
	switch o.typ {
	case tlsPrivateKey:
		return t.createPrivateKey(news, outs)
	case tlsCertRequest:
		return t.createCertRequest(news, outs)
	case tlsSelfSigned:
		return t.createSelfSigned(news, outs)
	default:
		return t.createLocallySigned(o, news, outs)
	}
}

func (t *tlsProvider) read(o *op, state, inputs resource.PropertyMap) (string, resource.PropertyMap,
	resource.PropertyMap, error,
) {
	outs := state.Copy()
	if isCertType(o.typ) {
		ready, err := readyForRenewal(str(state, "validityEndTime", ""), num(state, "earlyRenewalHours", 0))
		if err != nil {
			return "", nil, nil, err
		}
		if ready {
			outs["readyForRenewal"] = resource.NewBoolProperty(true)
		}
	}
	return o.id, outs, inputs, nil
}

// update only ever changes earlyRenewalHours (every other input replaces).
func (t *tlsProvider) update(o *op, olds, _, news resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	outs := olds.Copy()
	if v, ok := news["earlyRenewalHours"]; ok && !plain(v).IsNull() {
		outs["earlyRenewalHours"] = v
	} else {
		outs["earlyRenewalHours"] = tlsDefaults["earlyRenewalHours"]
	}
	if isCertType(o.typ) {
		outs["readyForRenewal"] = resource.NewBoolProperty(false)
	}
	return outs, nil
}

// delete: nothing exists outside the state.
func (t *tlsProvider) delete(*op, resource.PropertyMap) error { return nil }

// ---------------------------------------------------------------------------
// Keys

func (t *tlsProvider) createPrivateKey(news, outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	var key crypto.Signer
	var err error
	switch alg := str(news, "algorithm", ""); alg {
	case "RSA":
		key, err = rsa.GenerateKey(rand.Reader, int(num(news, "rsaBits", 2048)))
	case "ECDSA":
		var curve elliptic.Curve
		switch c := str(news, "ecdsaCurve", "P224"); c {
		case "P224":
			curve = elliptic.P224()
		case "P256":
			curve = elliptic.P256()
		case "P384":
			curve = elliptic.P384()
		case "P521":
			curve = elliptic.P521()
		default:
			return "", nil, fmt.Errorf("invalid ECDSA curve %q; supported values are: [P224 P256 P384 P521]", c)
		}
		key, err = ecdsa.GenerateKey(curve, rand.Reader)
	case "ED25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", nil, fmt.Errorf("Invalid Key Algorithm: Key Algorithm %q is not supported", alg)
	}
	if err != nil {
		return "", nil, fmt.Errorf("Unable to generate Key from configuration: %w", err)
	}

	var block *pem.Block
	switch k := key.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", nil, fmt.Errorf("Unable to encode key to PEM: %w", err)
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", nil, fmt.Errorf("Unable to encode key to PEM: %w", err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, fmt.Errorf("Unable to encode private key to PKCS#8 PEM: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", nil, fmt.Errorf("Failed to marshal public key: %w", err)
	}

	// OpenSSH forms are empty for keys OpenSSH cannot express (ECDSA P-224).
	sshPriv, sshPub, md5fp, sha256fp := "", "", "", ""
	if sshPriv, err = sshPrivateKeyPEM(key); err != nil {
		sshPriv = ""
	}
	if s, err := sshAuthorizedKey(key.Public()); err == nil {
		sshPub = s
		md5fp, sha256fp, _ = sshFingerprints(key.Public())
	}

	secret := func(s string) resource.PropertyValue { return resource.MakeSecret(resource.NewStringProperty(s)) }
	outs["privateKeyPem"] = secret(string(pem.EncodeToMemory(block)))
	outs["privateKeyPemPkcs8"] = secret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})))
	outs["privateKeyOpenssh"] = secret(sshPriv)
	outs["publicKeyPem"] = resource.NewStringProperty(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))
	outs["publicKeyOpenssh"] = resource.NewStringProperty(sshPub)
	outs["publicKeyFingerprintMd5"] = resource.NewStringProperty(md5fp)
	outs["publicKeyFingerprintSha256"] = resource.NewStringProperty(sha256fp)
	return hashForState(string(pubDER)), outs, nil
}

// hashForState is the upstream resource id of keys and requests: SHA-1, hex.
func hashForState(value string) string {
	if value == "" {
		return ""
	}
	sum := sha1.Sum([]byte(strings.TrimSpace(value)))
	return hex.EncodeToString(sum[:])
}

// parsePrivateKeyPEM accepts the three PEM preambles the upstream provider
// reads and reports the key's algorithm name.
func parsePrivateKeyPEM(text string) (crypto.Signer, string, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, "", fmt.Errorf("failed to decode PEM block: decoded bytes %d, undecoded %d",
			len(text)-len(rest), len(rest))
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, "", fmt.Errorf("unable to determine parser for PEM preamble: %s", block.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("failed to parse private key given PEM preamble '%s': %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, "RSA", nil
	case *ecdsa.PrivateKey:
		return k, "ECDSA", nil
	case ed25519.PrivateKey:
		return k, "ED25519", nil
	}
	return nil, "", fmt.Errorf("unsupported private key type: %T", key)
}

// pemInput returns the value of a PEM input or its write-only twin.
func pemInput(news resource.PropertyMap, key string) string {
	if s := str(news, key, ""); s != "" {
		return s
	}
	return str(news, key+"Wo", "")
}

// ---------------------------------------------------------------------------
// Subjects and names

func subjectOf(news resource.PropertyMap) pkix.Name {
	var n pkix.Name
	s := object(news, "subject")
	if s == nil {
		return n
	}
	one := func(k string) []string {
		if present(s, k) {
			return []string{str(s, k, "")}
		}
		return nil
	}
	n.CommonName = str(s, "commonName", "")
	n.Organization = one("organization")
	n.OrganizationalUnit = one("organizationalUnit")
	if streets, err := strList(s, "streetAddresses"); err == nil && len(streets) > 0 {
		n.StreetAddress = streets
	}
	n.Locality = one("locality")
	n.Province = one("province")
	n.Country = one("country")
	n.PostalCode = one("postalCode")
	n.SerialNumber = str(s, "serialNumber", "")
	if present(s, "emailAddress") {
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: str(s, "emailAddress", "")})
	}
	return n
}

func sansOf(news resource.PropertyMap) ([]string, []net.IP, []*url.URL, error) {
	dns, err := strList(news, "dnsNames")
	if err != nil {
		return nil, nil, nil, err
	}
	ipStrs, err := strList(news, "ipAddresses")
	if err != nil {
		return nil, nil, nil, err
	}
	var ips []net.IP
	for _, s := range ipStrs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, nil, fmt.Errorf("Invalid IP address: Failed to parse %q", s)
		}
		ips = append(ips, ip)
	}
	uriStrs, err := strList(news, "uris")
	if err != nil {
		return nil, nil, nil, err
	}
	var uris []*url.URL
	for _, s := range uriStrs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("Invalid URI: Failed to parse %q: %v", s, err)
		}
		uris = append(uris, u)
	}
	return dns, ips, uris, nil
}

// ---------------------------------------------------------------------------
// Certificates

func (t *tlsProvider) createCertRequest(news, outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	key, alg, err := parsePrivateKeyPEM(pemInput(news, "privateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse private key PEM: %w", err)
	}
	req := x509.CertificateRequest{Subject: subjectOf(news)}
	if req.DNSNames, req.IPAddresses, req.URIs, err = sansOf(news); err != nil {
		return "", nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &req, key)
	if err != nil {
		return "", nil, fmt.Errorf("Error creating certificate request: %w", err)
	}
	outs["keyAlgorithm"] = resource.NewStringProperty(alg)
	outs["certRequestPem"] = resource.NewStringProperty(
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	return hashForState(string(der)), outs, nil
}

func (t *tlsProvider) createSelfSigned(news, outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	key, alg, err := parsePrivateKeyPEM(pemInput(news, "privateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse private key PEM: %w", err)
	}
	tmpl := &x509.Certificate{BasicConstraintsValid: true, Subject: subjectOf(news)}
	if tmpl.DNSNames, tmpl.IPAddresses, tmpl.URIs, err = sansOf(news); err != nil {
		return "", nil, err
	}
	id, err := issue(tmpl, tmpl, key.Public(), key, news, true, outs)
	if err != nil {
		return "", nil, err
	}
	outs["keyAlgorithm"] = resource.NewStringProperty(alg)
	return id, outs, nil
}

func (t *tlsProvider) createLocallySigned(o *op, news, outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	reqBlock, err := decodePEMOf(str(news, "certRequestPem", ""), "CERTIFICATE REQUEST")
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse certificate request PEM: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(reqBlock.Bytes)
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse certificate request PEM: failed to parse certificate request: %w", err)
	}
	caKey, alg, err := parsePrivateKeyPEM(pemInput(news, "caPrivateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse CA private key PEM: %w", err)
	}
	caBlock, err := decodePEMOf(str(news, "caCertPem", ""), "CERTIFICATE")
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse CA certificate PEM: %w", err)
	}
	caCerts, err := x509.ParseCertificates(caBlock.Bytes)
	if err != nil || len(caCerts) != 1 {
		if err == nil {
			err = fmt.Errorf("expected exactly one certificate, found %d", len(caCerts))
		}
		return "", nil, fmt.Errorf("Failed to parse CA certificate PEM: %w", err)
	}
	ca := caCerts[0]
	if !ca.IsCA {
		o.log(diag.Warning, "Potentially Invalid Certificate Authority: Certificate provided as Authority does not "+
			"appear to be a valid Certificate Authority. The resulting certificate might fail certificate validation.")
	}
	tmpl := &x509.Certificate{
		Subject: csr.Subject, DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses, URIs: csr.URIs,
		BasicConstraintsValid: true,
	}
	id, err := issue(tmpl, ca, csr.PublicKey, caKey, news, false, outs)
	if err != nil {
		return "", nil, err
	}
	outs["caKeyAlgorithm"] = resource.NewStringProperty(alg)
	return id, outs, nil
}

func decodePEMOf(text, want string) (*pem.Block, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, fmt.Errorf("failed to decode PEM of expected type %q from bytes", want)
	}
	if block.Type != want {
		return nil, fmt.Errorf("invalid PEM type - expected %q, got %q", want, block.Type)
	}
	return block, nil
}

// issue fills the template the way the upstream createCertificate does, signs
// it and stores certPem, the validity stamps and readyForRenewal in outs. It
// returns the serial number (decimal), the resource id.
func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer,
	news resource.PropertyMap, allowAuthorityKeyID bool, outs resource.PropertyMap,
) (string, error) {
	now, err := tlsNow()
	if err != nil {
		return "", err
	}
	tmpl.NotBefore = now
	tmpl.NotAfter = now.Add(time.Duration(num(news, "validityPeriodHours", 0)) * time.Hour)
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
		return "", fmt.Errorf("Failed to generate serial number: %w", err)
	}
	uses, err := strList(news, "allowedUses")
	if err != nil {
		return "", err
	}
	for _, u := range uses {
		if ku, ok := keyUsages[u]; ok {
			tmpl.KeyUsage |= ku
		}
		if eku, ok := extKeyUsages[u]; ok {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, eku)
		}
	}
	if boolean(news, "isCaCertificate", false) {
		if reflect.DeepEqual(tmpl.Subject, pkix.Name{}) {
			return "", fmt.Errorf("Invalid Certificate Subject: Must contain at least one Distinguished Name " +
				"when creating Certificate Authority (CA)")
		}
		tmpl.IsCA = true
		if tmpl.SubjectKeyId, err = subjectKeyID(pub); err != nil {
			return "", fmt.Errorf("Failed to generate subject key identifier: %w", err)
		}
	}
	// As upstream: a value >= 0 goes to MaxPathLen. Go's encoder treats 0
	// without MaxPathLenZero as "no limit", so maxPathLength 0 adds no
	// pathLenConstraint, exactly like the real provider.
	if mpl := num(news, "maxPathLength", -1); mpl >= 0 {
		tmpl.MaxPathLen = int(mpl)
	}
	if boolean(news, "setSubjectKeyId", false) {
		if tmpl.SubjectKeyId, err = subjectKeyID(pub); err != nil {
			return "", fmt.Errorf("Failed to generate subject key identifier: %w", err)
		}
	}
	if allowAuthorityKeyID && boolean(news, "setAuthorityKeyId", false) {
		if len(parent.SubjectKeyId) == 0 {
			return "", fmt.Errorf("Invalid Certificate Authority: Could not determine Authority Key Identifier")
		}
		tmpl.AuthorityKeyId = parent.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return "", fmt.Errorf("Failed to create certificate: %w", err)
	}
	start, _ := tmpl.NotBefore.MarshalText()
	end, _ := tmpl.NotAfter.MarshalText()
	outs["certPem"] = resource.NewStringProperty(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	outs["validityStartTime"] = resource.NewStringProperty(string(start))
	outs["validityEndTime"] = resource.NewStringProperty(string(end))
	outs["readyForRenewal"] = resource.NewBoolProperty(false)
	return tmpl.SerialNumber.String(), nil
}

// subjectKeyID is SHA-1 over the key material, computed as upstream does.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	var b []byte
	var err error
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b, err = asn1.Marshal(*k)
	case *ecdsa.PublicKey:
		//nolint:staticcheck // the upstream provider hashes the uncompressed point
		b = elliptic.Marshal(k.Curve, k.X, k.Y)
	case ed25519.PublicKey:
		b, err = asn1.Marshal(k)
	default:
		err = fmt.Errorf("unsupported public key type %T", pub)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to marshal public key of type %T: %w", pub, err)
	}
	sum := sha1.Sum(b)
	return sum[:], nil
}
