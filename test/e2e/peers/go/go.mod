module mtls-e2e-peer

go 1.22
