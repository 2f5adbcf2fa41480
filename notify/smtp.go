package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// SMTPChannel sends mail through a relay with the standard library's
// net/smtp: it speaks EHLO, STARTTLS, AUTH and the mail transaction, which
// is all a relay such as Microsoft 365 or Google Workspace needs. What it
// lacks (implicit TLS, the LOGIN mechanism, MIME) is small and lives here.
type SMTPChannel struct {
	addr, host string
	mode       string // starttls, implicit, none
	auth       smtp.Auth
	from       mail.Address
	replyTo    string
	helo       string
	tls        *tls.Config
	timeout    time.Duration
}

// SMTPOptions are what the configuration cannot say.
type SMTPOptions struct {
	Password string
	// Tokens gives OAuth 2.0 access tokens for auth: xoauth2.
	Tokens oauth2.TokenSource
	// TLS overrides the client TLS configuration (tests give a root pool).
	TLS     *tls.Config
	Timeout time.Duration // per message; default 30 s
}

// NewSMTPChannel opens a channel from its configuration.
func NewSMTPChannel(cfg SMTPConfig, opts SMTPOptions) (*SMTPChannel, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp.from: not a mail address")
	}
	mode := cfg.TLS
	if mode == "" {
		mode = "starttls"
	}
	port := cfg.Port
	if port == 0 {
		port = map[string]int{"starttls": 587, "implicit": 465, "none": 25}[mode]
	}
	c := &SMTPChannel{
		addr: net.JoinHostPort(cfg.Host, strconv.Itoa(port)), host: cfg.Host, mode: mode, from: *from,
		replyTo: cfg.ReplyTo, helo: cfg.HeloName, tls: opts.TLS, timeout: opts.Timeout,
	}
	if c.helo == "" {
		c.helo = "localhost"
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.tls == nil {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c.tls = c.tls.Clone()
	if c.tls.ServerName == "" {
		c.tls.ServerName = cfg.Host
	}
	if cfg.Username != "" {
		if cfg.Auth == "xoauth2" {
			if opts.Tokens == nil {
				return nil, errors.New("smtp: auth xoauth2 needs a token source")
			}
			c.auth = &xoauth2Auth{user: cfg.Username, tokens: opts.Tokens, host: cfg.Host}
		} else if cfg.Auth == "login" {
			c.auth = &loginAuth{user: cfg.Username, pass: opts.Password, host: cfg.Host}
		} else {
			c.auth = smtp.PlainAuth("", cfg.Username, opts.Password, cfg.Host)
		}
	}
	return c, nil
}

func (c *SMTPChannel) Mail() bool { return true }

// Send runs one SMTP session per message: relays drop idle sessions, and
// one message per session keeps a refusal from touching the next one.
func (c *SMTPChannel) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return permanentf("smtp: the recipient is not a mail address")
	}
	body, err := c.compose(m, to)
	if err != nil {
		return permanentf("smtp: compose: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	return smtpError(c.session(conn, to.Address, body))
}

func (c *SMTPChannel) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, temporaryf(0, "smtp: cannot reach the relay")
	}
	if c.mode != "implicit" {
		return conn, nil
	}
	tc := tls.Client(conn, c.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, temporaryf(0, "smtp: TLS handshake with the relay failed")
	}
	return tc, nil
}

func (c *SMTPChannel) session(conn net.Conn, to string, body []byte) error {
	cl, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Hello(c.helo); err != nil {
		return err
	}
	if c.mode == "starttls" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return permanentf("smtp: the relay does not offer STARTTLS; set tls: implicit or fix the relay")
		}
		if err := cl.StartTLS(c.tls); err != nil {
			return tlsError(err)
		}
	}
	if c.auth != nil {
		if err := cl.Auth(c.auth); err != nil {
			return err
		}
	}
	if err := cl.Mail(c.from.Address); err != nil {
		return err
	}
	if err := cl.Rcpt(to); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return cl.Quit()
}

func tlsError(err error) error {
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		return err
	}
	return temporaryf(0, "smtp: STARTTLS failed (certificate or protocol)")
}

// smtpError turns a session's error into a delivery error that holds the
// reply code only: relays quote addresses in their reply texts.
func smtpError(err error) error {
	if err == nil {
		return nil
	}
	var de *deliveryError
	if errors.As(err, &de) {
		return err
	}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		if tpe.Code >= 500 {
			return permanentf("smtp: refused with %d", tpe.Code)
		}
		return temporaryf(0, "smtp: deferred with %d", tpe.Code)
	}
	if errors.Is(err, errTokenUnavailable) {
		return temporaryf(0, "smtp: no OAuth 2.0 token from the token endpoint")
	}
	if strings.Contains(err.Error(), "unencrypted connection") {
		return permanentf("smtp: refusing to send the password over an unencrypted connection")
	}
	return temporaryf(0, "smtp: the session broke off")
}

// compose builds a MIME message: UTF-8 headers encoded per RFC 2047, a
// text and, when there is one, an HTML part, both quoted-printable.
func (c *SMTPChannel) compose(m Message, to *mail.Address) ([]byte, error) {
	var buf bytes.Buffer
	h := func(name, value string) { fmt.Fprintf(&buf, "%s: %s\r\n", name, value) }
	h("From", c.from.String())
	h("To", to.String())
	if c.replyTo != "" {
		h("Reply-To", c.replyTo)
	}
	h("Subject", encodeSubject(oneLine(m.Subject)))
	h("Date", m.At.Format(time.RFC1123Z))
	h("Message-ID", messageID(m.ID, c.from.Address))
	h("MIME-Version", "1.0")
	// Auto-Submitted keeps out-of-office replies away (RFC 3834); the
	// second header asks Exchange for the same.
	h("Auto-Submitted", "auto-generated")
	h("X-Auto-Response-Suppress", "All")
	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		return buf.Bytes(), writeQP(&buf, m.Text)
	}
	mw := multipart.NewWriter(&buf)
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ kind, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.kind + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}

// encodeSubject encodes per RFC 2047 where needed, and always when the
// text holds "=?": a name that looks like an encoded word must reach the
// reader as typed, not decoded into something else.
func encodeSubject(s string) string {
	if !strings.Contains(s, "=?") {
		return mime.QEncoding.Encode("utf-8", s)
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for _, r := range s {
			if size := utf8.RuneLen(r); n+size <= 30 {
				n += size
				continue
			}
			break
		}
		n = max(n, 1)
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// oneLine keeps a subject from breaking out of its header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// messageID is stable for one message id, so a repeat after a crash
// carries the same Message-ID and mail systems can drop it.
func messageID(id, from string) string {
	sum := sha256.Sum256([]byte(id))
	domain := "personio-scim.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// loginAuth is the LOGIN mechanism, which net/smtp lacks and some relays
// (older Exchange) still require. Like PlainAuth it refuses to send the
// password unencrypted except to a loopback relay.
type loginAuth struct {
	user, pass, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopbackName(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:", "user name", "username":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected LOGIN challenge")
}

// xoauth2Auth is the XOAUTH2 mechanism (an OAuth 2.0 bearer token), which
// Microsoft 365 requires once password authentication is off. A refusal
// comes as a 334 challenge holding a JSON error; the empty answer makes
// the server finish with its error code.
type xoauth2Auth struct {
	user   string
	tokens oauth2.TokenSource
	host   string
}

func (a *xoauth2Auth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopbackName(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	tok, err := a.tokens.Token()
	if err != nil {
		return "", nil, errTokenUnavailable
	}
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + tok.AccessToken + "\x01\x01"), nil
}

func (a *xoauth2Auth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil
	}
	return nil, nil
}

// errTokenUnavailable hides the token endpoint's answer, which can echo
// the client's details.
var errTokenUnavailable = errors.New("oauth2 token unavailable")

func isLoopbackName(name string) bool {
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}
