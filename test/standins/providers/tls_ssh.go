// OpenSSH encodings for tls:index/privateKey:PrivateKey (the real provider
// uses golang.org/x/crypto/ssh; these are written against the OpenSSH wire
// formats in RFC 4253 section 6.6, RFC 5656 section 3.1, RFC 8709 and
// OpenSSH's PROTOCOL.key, so the module needs nothing beyond the standard
// library).

package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

type sshBuf struct{ b []byte }

func (s *sshBuf) u32(v uint32) { s.b = binary.BigEndian.AppendUint32(s.b, v) }
func (s *sshBuf) bytes(v []byte) {
	s.u32(uint32(len(v)))
	s.b = append(s.b, v...)
}
func (s *sshBuf) str(v string) { s.bytes([]byte(v)) }

// mpint writes a non-negative integer in SSH mpint form (RFC 4251 section 5).
func (s *sshBuf) mpint(n *big.Int) {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	s.bytes(b)
}

var errSSHUnsupported = errors.New("key type not supported by OpenSSH")

// sshCurve maps a NIST curve to its OpenSSH identifier; P-224 has none.
func sshCurve(c elliptic.Curve) (string, error) {
	switch c.Params().Name {
	case "P-256":
		return "nistp256", nil
	case "P-384":
		return "nistp384", nil
	case "P-521":
		return "nistp521", nil
	}
	return "", errSSHUnsupported
}

// sshPublicBlob returns the key type name and the public key blob.
func sshPublicBlob(pub any) (string, []byte, error) {
	var s sshBuf
	switch k := pub.(type) {
	case *rsa.PublicKey:
		s.str("ssh-rsa")
		s.mpint(big.NewInt(int64(k.E)))
		s.mpint(k.N)
		return "ssh-rsa", s.b, nil
	case *ecdsa.PublicKey:
		curve, err := sshCurve(k.Curve)
		if err != nil {
			return "", nil, err
		}
		name := "ecdsa-sha2-" + curve
		s.str(name)
		s.str(curve)
		//nolint:staticcheck // uncompressed point encoding, as OpenSSH expects
		s.bytes(elliptic.Marshal(k.Curve, k.X, k.Y))
		return name, s.b, nil
	case ed25519.PublicKey:
		s.str("ssh-ed25519")
		s.bytes(k)
		return "ssh-ed25519", s.b, nil
	}
	return "", nil, errSSHUnsupported
}

// sshAuthorizedKey renders the "authorized_keys" line, with the trailing
// newline that ssh.MarshalAuthorizedKey adds.
func sshAuthorizedKey(pub any) (string, error) {
	name, blob, err := sshPublicBlob(pub)
	if err != nil {
		return "", err
	}
	return name + " " + base64.StdEncoding.EncodeToString(blob) + "\n", nil
}

// sshFingerprints returns the legacy MD5 (aa:bb:...) and the SHA256:... forms.
func sshFingerprints(pub any) (string, string, error) {
	_, blob, err := sshPublicBlob(pub)
	if err != nil {
		return "", "", err
	}
	m := md5.Sum(blob)
	hexes := make([]string, len(m))
	for i, b := range m {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	s := sha256.Sum256(blob)
	return strings.Join(hexes, ":"), "SHA256:" + base64.RawStdEncoding.EncodeToString(s[:]), nil
}

// sshPrivateKeyPEM renders an unencrypted "OPENSSH PRIVATE KEY" (PROTOCOL.key)
// with an empty comment, as ssh.MarshalPrivateKey(key, "") does.
func sshPrivateKeyPEM(key any) (string, error) {
	var pub any
	var priv sshBuf
	check := make([]byte, 4)
	if _, err := rand.Read(check); err != nil {
		return "", err
	}
	priv.b = append(priv.b, check...)
	priv.b = append(priv.b, check...)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
		if len(k.Primes) != 2 {
			return "", errSSHUnsupported
		}
		priv.str("ssh-rsa")
		priv.mpint(k.N)
		priv.mpint(big.NewInt(int64(k.E)))
		priv.mpint(k.D)
		priv.mpint(new(big.Int).ModInverse(k.Primes[1], k.Primes[0])) // iqmp
		priv.mpint(k.Primes[0])
		priv.mpint(k.Primes[1])
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
		curve, err := sshCurve(k.Curve)
		if err != nil {
			return "", err
		}
		priv.str("ecdsa-sha2-" + curve)
		priv.str(curve)
		//nolint:staticcheck // uncompressed point encoding, as OpenSSH expects
		priv.bytes(elliptic.Marshal(k.Curve, k.X, k.Y))
		priv.mpint(k.D)
	case ed25519.PrivateKey:
		pub = k.Public()
		priv.str("ssh-ed25519")
		priv.bytes(k.Public().(ed25519.PublicKey))
		priv.bytes(k) // seed || public key, 64 bytes
	default:
		return "", errSSHUnsupported
	}
	priv.str("") // comment
	for i := byte(1); len(priv.b)%8 != 0; i++ {
		priv.b = append(priv.b, i)
	}
	_, pubBlob, err := sshPublicBlob(pub)
	if err != nil {
		return "", err
	}
	var out sshBuf
	out.b = append(out.b, []byte("openssh-key-v1\x00")...)
	out.str("none") // cipher
	out.str("none") // kdf
	out.str("")     // kdf options
	out.u32(1)      // number of keys
	out.bytes(pubBlob)
	out.bytes(priv.b)
	return string(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: out.b})), nil
}
