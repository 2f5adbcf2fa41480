package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
)

// TokenPrefix marks personio-scim secrets so that secret scanners and people
// recognise them.
const TokenPrefix = "pst_"

// NewTokenSecret returns a fresh random secret with 256 bits of entropy.
func NewTokenSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken is the only form in which a secret is stored. Secrets are long
// and random, so a fast hash is enough: nothing can be guessed from it.
func HashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return sum[:]
}

// TokenMatches compares a presented secret with a stored hash in constant time.
func TokenMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashToken(secret), hash) == 1
}

// ValidScope reports whether s is one of the known scopes.
func ValidScope(s string) bool {
	return s == ScopeSCIMRead || s == ScopeSCIMWrite || s == ScopeAdmin
}
