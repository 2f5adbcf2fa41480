package entra

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// clientAssertionType is RFC 7523's client authentication by a signed JWT,
// which the identity platform accepts instead of a client secret.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// certificate is an app registration's certificate credential: the
// certificate uploaded to the registration and its private key.
type certificate struct {
	der []byte
	key *rsa.PrivateKey
}

// parseCertificate reads a PEM bundle holding the certificate and its RSA
// private key (PKCS #1 or PKCS #8), in either order.
func parseCertificate(bundle []byte) (*certificate, error) {
	c := &certificate{}
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			if c.der == nil {
				if _, err := x509.ParseCertificate(block.Bytes); err != nil {
					return nil, fmt.Errorf("the certificate does not parse: %w", err)
				}
				c.der = block.Bytes
			}
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("the RSA private key does not parse")
			}
			c.key = k
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("the private key does not parse")
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, errors.New("the private key is not an RSA key; Entra certificate credentials need RSA")
			}
			c.key = rk
		}
	}
	if c.der == nil || c.key == nil {
		return nil, errors.New("want a PEM bundle with a CERTIFICATE and its PRIVATE KEY")
	}
	cert, _ := x509.ParseCertificate(c.der)
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&c.key.PublicKey) {
		return nil, errors.New("the private key does not belong to the certificate")
	}
	return c, nil
}

// assertion signs a short-lived client assertion for the token endpoint:
// RS256, the certificate named by its thumbprints, audience the token URL.
func (c *certificate) assertion(clientID, tokenURL string, now time.Time) (string, error) {
	sum1 := sha1.Sum(c.der)
	sum256 := sha256.Sum256(c.der)
	header := map[string]string{
		"alg": "RS256", "typ": "JWT",
		"x5t":      base64.RawURLEncoding.EncodeToString(sum1[:]),
		"x5t#S256": base64.RawURLEncoding.EncodeToString(sum256[:]),
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := map[string]any{
		"aud": tokenURL, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti[:]),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
