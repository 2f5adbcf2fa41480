package notify

import (
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCompose feeds subjects and texts built from people's data (a
// display name, a userName) into the mail composer: whatever they hold,
// the mail parses, has exactly the headers the composer writes, and its
// subject and text decode to what was given.
func FuzzCompose(f *testing.F) {
	for _, seed := range [][2]string{
		{"Konto für Jürgen Groß", "Zeile\nzwei"},
		{"evil\r\nBcc: victim@example.com", "body\r\n.\r\nMAIL FROM:<x>"},
		{"=?utf-8?q?pre-encoded?=", "=3D=0A"},
		{strings.Repeat("ü", 200), strings.Repeat("x", 1000)},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	ch, err := NewSMTPChannel(SMTPConfig{Host: "relay.example.com", From: "Personio SCIM <scim@example.com>", ReplyTo: "it@example.com"}, SMTPOptions{})
	if err != nil {
		f.Fatal(err)
	}
	to := &mail.Address{Address: "boss@example.com"}
	f.Fuzz(func(t *testing.T, subject, text string) {
		if !utf8.ValidString(subject) || !utf8.ValidString(text) {
			return // templates produce valid UTF-8
		}
		body, err := ch.compose(Message{ID: "id", Subject: subject, Text: text, HTML: "<p>x</p>", At: time.Unix(0, 0)}, to)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("composed mail does not parse: %v", err)
		}
		want := map[string]bool{"From": true, "To": true, "Reply-To": true, "Subject": true, "Date": true, "Message-Id": true,
			"Mime-Version": true, "Auto-Submitted": true, "X-Auto-Response-Suppress": true, "Content-Type": true}
		for k := range msg.Header {
			if !want[k] {
				t.Fatalf("header %q injected", k)
			}
		}
		if got := msg.Header["To"]; len(got) != 1 || got[0] != "<boss@example.com>" {
			t.Fatalf("To = %q", got)
		}
		dec, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || dec != oneLine(subject) {
			t.Fatalf("subject decodes to %q, %v; want %q", dec, err, oneLine(subject))
		}
		_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(part)
		if norm(string(got)) != norm(text) {
			t.Fatalf("text decodes to %q; want %q", got, text)
		}
	})
}

// norm is what survives quoted-printable text transport: line breaks as
// LF, trailing spaces kept by encoding.
func norm(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
