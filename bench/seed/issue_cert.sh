#!/bin/bash
# issue_cert.sh
# Issue a certificate for a specific service

set -e

SERVICE_NAME=$1
if [ -z "$SERVICE_NAME" ]; then
    echo "Usage: ./issue_cert.sh <service-name>"
    exit 1
fi

CERT_DIR="./certs/$SERVICE_NAME"
CA_DIR="./ca"
mkdir -p "$CERT_DIR"

# Generate the service private key
openssl genrsa -out "$CERT_DIR/service.key" 2048

# Create a certificate signing request (CSR)
# Include DNS names for the service
openssl req -new \
    -key "$CERT_DIR/service.key" \
    -out "$CERT_DIR/service.csr" \
    -subj "/C=US/ST=California/O=MyCompany/CN=$SERVICE_NAME"

# Create a config file for Subject Alternative Names
cat > "$CERT_DIR/san.cnf" << EOF
[req]
distinguished_name = req_distinguished_name
[req_distinguished_name]
[v3_ext]
authorityKeyIdentifier=keyid,issuer
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=@alt_names
[alt_names]
DNS.1 = $SERVICE_NAME
DNS.2 = $SERVICE_NAME.default.svc.cluster.local
DNS.3 = localhost
EOF

# Sign the certificate with the CA (valid for 1 year)
openssl x509 -req \
    -in "$CERT_DIR/service.csr" \
    -CA "$CA_DIR/ca.crt" \
    -CAkey "$CA_DIR/ca.key" \
    -CAcreateserial \
    -out "$CERT_DIR/service.crt" \
    -days 365 \
    -sha256 \
    -extensions v3_ext \
    -extfile "$CERT_DIR/san.cnf"

echo "Certificate issued for $SERVICE_NAME"
echo "  Certificate: $CERT_DIR/service.crt"
echo "  Private key: $CERT_DIR/service.key"
