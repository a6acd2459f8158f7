package state

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ssh"
)

// CA validity and the backdating kubeadm also applies for clock skew.
const (
	caValidity = 10 * 365 * 24 * time.Hour
	caBackdate = 5 * time.Minute
)

// newSSHKey makes an ed25519 key in OpenSSH PEM form.
func newSSHKey(comment string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
}

// authorizedKey is the authorized_keys line of an OpenSSH PEM private key,
// with comment appended when not empty.
func authorizedKey(privatePEM []byte, comment string) (string, error) {
	signer, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		return "", err
	}
	if t := signer.PublicKey().Type(); t != ssh.KeyAlgoED25519 {
		return "", fmt.Errorf("key type is %s, want %s", t, ssh.KeyAlgoED25519)
	}
	line := string(bytes.TrimSuffix(ssh.MarshalAuthorizedKey(signer.PublicKey()), []byte("\n")))
	if comment != "" {
		line += " " + comment
	}
	return line, nil
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newToken makes a kubeadm bootstrap token: [a-z0-9]{6}.[a-z0-9]{16}.
func newToken() (string, error) {
	b := make([]byte, 0, 23)
	for i := range 22 {
		if i == 6 {
			b = append(b, '.')
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(tokenAlphabet))))
		if err != nil {
			return "", err
		}
		b = append(b, tokenAlphabet[n.Int64()])
	}
	return string(b), nil
}

func validToken(t string) bool {
	if len(t) != 23 || t[6] != '.' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if i != 6 && !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// newCertificateKey is 32 random bytes in hex, what kubeadm expects.
func newCertificateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func validCertificateKey(k string) bool {
	b, err := hex.DecodeString(k)
	return err == nil && len(b) == 32 && hex.EncodeToString(b) == k
}

// newCA makes a self-signed RSA 2048 CA like kubeadm's: CN kubernetes, 10
// years. It returns the PEM certificate and the PEM PKCS#1 key.
func newCA(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, err
	}
	tmpl := x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		DNSNames:              []string{"kubernetes"},
		NotBefore:             now.Add(-caBackdate).UTC(),
		NotAfter:              now.Add(caValidity).UTC(),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}

// checkCA parses a CA pair and checks the key belongs to the certificate.
func checkCA(certPEM, keyPEM []byte) error {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return fmt.Errorf("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return err
	}
	if !cert.IsCA {
		return fmt.Errorf("certificate is not a CA")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "RSA PRIVATE KEY" {
		return fmt.Errorf("no PEM RSA private key")
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		return err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return fmt.Errorf("key does not match the certificate")
	}
	return nil
}
