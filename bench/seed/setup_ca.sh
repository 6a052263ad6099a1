#!/bin/bash
# setup_ca.sh
# Create a self-signed Certificate Authority for internal mTLS

set -e

CA_DIR="./ca"
mkdir -p "$CA_DIR"

# Generate the CA private key (4096-bit RSA)
openssl genrsa -out "$CA_DIR/ca.key" 4096

# Create the CA certificate (valid for 10 years)
openssl req -x509 -new -nodes \
    -key "$CA_DIR/ca.key" \
    -sha256 \
    -days 3650 \
    -out "$CA_DIR/ca.crt" \
    -subj "/C=US/ST=California/O=MyCompany/CN=Internal CA"

echo "CA certificate created at $CA_DIR/ca.crt"
echo "CA private key created at $CA_DIR/ca.key"
echo "Keep the CA key secure - it can issue certificates for any service"
