package entrasim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// assertionClaims are the claims the identity platform checks in a client
// assertion (RFC 7523).
type assertionClaims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
	Nbf int64  `json:"nbf"`
}

func assertionSubject(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c assertionClaims
	_ = json.Unmarshal(b, &c)
	return c.Sub
}

// checkAssertion verifies a client assertion against the certificate the
// app registration holds, the way the identity platform does: RS256
// signature, the certificate named by a thumbprint, audience the token
// endpoint, issuer and subject the client id, within its time range, and
// the certificate itself not expired. It returns the OAuth error code and
// description, or "" when the assertion is good.
func (s *Sim) checkAssertion(jwt, tokenURL string) (string, string) {
	cert := s.opts.ClientCertificate
	bad := func(desc string) (string, string) { return "invalid_client", desc }
	if cert == nil {
		return bad("AADSTS700027: The app has no certificate credential.")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return bad("AADSTS50027: Invalid JWT token.")
	}
	var header struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims assertionClaims
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return bad("AADSTS50027: Invalid JWT token.")
	}
	sum1, sum256 := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	if header.X5tS256 != base64.RawURLEncoding.EncodeToString(sum256[:]) && header.X5t != base64.RawURLEncoding.EncodeToString(sum1[:]) {
		return bad("AADSTS700027: The certificate used to sign the client assertion is not registered on the application.")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if header.Alg != "RS256" || !ok || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return bad("AADSTS700027: Client assertion failed signature validation.")
	}
	now := s.opts.Now()
	switch {
	case now.After(cert.NotAfter):
		return bad("AADSTS700027: The certificate used to sign the client assertion is expired on the application.")
	case claims.Aud != tokenURL:
		return bad("AADSTS700016: The client assertion's audience is not the token endpoint.")
	case claims.Iss != s.opts.ClientID || claims.Sub != s.opts.ClientID:
		return "unauthorized_client", "AADSTS700016: Application was not found in the directory."
	case now.After(time.Unix(claims.Exp, 0)) || now.Add(5*time.Minute).Before(time.Unix(claims.Nbf, 0)):
		return bad("AADSTS700024: Client assertion is not within its valid time range.")
	}
	return "", ""
}
