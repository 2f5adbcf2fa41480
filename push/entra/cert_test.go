package entra_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
)

// selfSigned makes an app-registration certificate valid until notAfter and
// its PEM bundle (certificate and PKCS #8 key).
func selfSigned(t *testing.T, notAfter time.Time) (*x509.Certificate, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "personio-scim"},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	bundle := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))
	return cert, bundle
}

func (f *fixture) openWithCertificate(bundle string) (*entra.Target, error) {
	cfg := f.config(func(c *entra.Config) { c.ClientSecretEnv, c.ClientCertificateEnv = "", "ENTRA_CERT" })
	return entra.New(cfg, push.Env{
		Getenv:     func(k string) string { return map[string]string{"ENTRA_CERT": bundle}[k] },
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Now:        f.clock.Now,
	})
}

func TestCertificateCredentials(t *testing.T) {
	validUntil := newClock().Now().Add(30 * 24 * time.Hour)
	cert, bundle := selfSigned(t, validUntil)
	_, otherBundle := selfSigned(t, validUntil)

	t.Run("a registered certificate gets a token", func(t *testing.T) {
		f := setup(t, entrasim.Options{ClientCertificate: cert}, nil)
		tgt, err := f.openWithCertificate(bundle)
		if err != nil {
			t.Fatal(err)
		}
		f.tgt = tgt
		if res := f.pushAll(person(1)); res[0].Outcome != push.Pending {
			t.Fatalf("%s (%s)", res[0].Outcome, res[0].Error)
		}
	})
	refused := []struct {
		name, bundle string
		advance      time.Duration
		want         string
	}{
		{"another certificate", otherBundle, 0, "AADSTS700027"},
		{"the certificate expired", bundle, 31 * 24 * time.Hour, "AADSTS700027"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, entrasim.Options{ClientCertificate: cert}, nil)
			tgt, err := f.openWithCertificate(tc.bundle)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tc.advance)
			_, err = tgt.Push(context.Background(), []push.Item{person(1)}, false)
			if !errors.Is(err, entra.ErrUnauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrUnauthorized naming %s", err, tc.want)
			}
		})
	}
	t.Run("a bad bundle names the variable, not the value", func(t *testing.T) {
		f := setup(t, entrasim.Options{}, nil)
		for _, b := range []string{"not pem", strings.SplitAfter(bundle, "-----END CERTIFICATE-----\n")[0]} {
			_, err := f.openWithCertificate(b)
			if err == nil || !strings.Contains(err.Error(), "ENTRA_CERT") || strings.Contains(err.Error(), "BEGIN") {
				t.Fatalf("err = %v", err)
			}
		}
	})
	t.Run("secret and certificate together", func(t *testing.T) {
		_, err := entra.ParseConfig(node(t, minimal+"client_certificate_env: ENTRA_CERT\n"))
		if err == nil || !strings.Contains(err.Error(), "not both") {
			t.Fatalf("err = %v", err)
		}
	})
}
