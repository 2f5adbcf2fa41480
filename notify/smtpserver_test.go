package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small SMTP server on loopback that speaks what relays
// such as Microsoft 365 and Google Workspace speak to a submission client:
// EHLO, STARTTLS (or TLS from the first byte), AUTH PLAIN and LOGIN only
// over TLS, MAIL, RCPT, DATA, RSET, NOOP, QUIT, and refusals with any
// 4xx or 5xx code a test asks for.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config
	implicit bool
	noTLS    bool // offer no STARTTLS
	user     string
	pass     string
	token    string // the bearer token XOAUTH2 accepts

	mu     sync.Mutex
	mails  []smtpMail
	refuse map[string][]int // stage (MAIL, RCPT, DATA) → reply codes to give, one per transaction
	wg     sync.WaitGroup
}

// smtpMail is one accepted transaction.
type smtpMail struct {
	From     string
	To       []string
	Data     string
	TLS      bool
	AuthUser string
}

// testCertificate makes a self-signed certificate for 127.0.0.1 and the
// pool that trusts it.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func startSMTP(t *testing.T, cert tls.Certificate, implicit bool) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}}, implicit: implicit,
		user: "relay@example.com", pass: "s3cret-pass", refuse: map[string][]int{}}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// refuseNext makes the next transactions reaching stage get these codes.
func (s *smtpServer) refuseNext(stage string, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[stage] = append(s.refuse[stage], codes...)
}

func (s *smtpServer) received() []smtpMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...)
}

func (s *smtpServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			if s.implicit {
				tc := tls.Server(conn, s.tls)
				if tc.Handshake() != nil {
					return
				}
				s.session(tc, true)
				return
			}
			s.session(conn, false)
		})
	}
}

// refusal pops the code a test set for stage, or 0.
func (s *smtpServer) refusal(stage string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := s.refuse[stage]
	if len(codes) == 0 {
		return 0
	}
	s.refuse[stage] = codes[1:]
	return codes[0]
}

type smtpSession struct {
	s        *smtpServer
	tp       *textproto.Conn
	tls      bool
	greeted  bool
	authUser string
	mail     *smtpMail
}

func (s *smtpServer) session(conn net.Conn, isTLS bool) {
	ss := &smtpSession{s: s, tp: textproto.NewConn(conn), tls: isTLS}
	ss.reply(220, "smtp.test ESMTP ready")
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ss.ehlo()
		case "STARTTLS":
			if ss.tls || s.noTLS {
				ss.reply(503, "5.5.1 TLS already active or not offered")
				continue
			}
			ss.reply(220, "2.0.0 go ahead")
			tc := tls.Server(conn, s.tls)
			if tc.Handshake() != nil {
				return
			}
			conn = tc
			ss.tp, ss.tls, ss.greeted, ss.authUser, ss.mail = textproto.NewConn(tc), true, false, "", nil
		case "AUTH":
			ss.auth(arg)
		case "MAIL":
			ss.mailFrom(arg)
		case "RCPT":
			ss.rcpt(arg)
		case "DATA":
			if !ss.data() {
				return
			}
		case "RSET":
			ss.mail = nil
			ss.reply(250, "2.0.0 reset")
		case "NOOP":
			ss.reply(250, "2.0.0 ok")
		case "QUIT":
			ss.reply(221, "2.0.0 bye")
			return
		default:
			ss.reply(502, "5.5.2 command not recognized")
		}
	}
}

func (ss *smtpSession) reply(code int, text string) {
	ss.tp.PrintfLine("%d %s", code, text)
}

func (ss *smtpSession) ehlo() {
	ss.greeted = true
	lines := []string{"smtp.test greets you", "8BITMIME", "SIZE 10485760"}
	if !ss.tls && !ss.s.noTLS {
		lines = append(lines, "STARTTLS")
	}
	if ss.tls {
		lines = append(lines, "AUTH PLAIN LOGIN XOAUTH2")
	}
	for n, l := range lines {
		sep := "-"
		if n == len(lines)-1 {
			sep = " "
		}
		ss.tp.PrintfLine("250%s%s", sep, l)
	}
}

func (ss *smtpSession) auth(arg string) {
	if !ss.tls {
		ss.reply(538, "5.7.11 encryption required")
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		raw, err := base64.StdEncoding.DecodeString(initial)
		parts := strings.Split(string(raw), "\x00")
		if err != nil || len(parts) != 3 {
			ss.reply(501, "5.5.2 bad PLAIN response")
			return
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		user, pass = ss.challenge("Username:"), ss.challenge("Password:")
	case "XOAUTH2":
		raw, _ := base64.StdEncoding.DecodeString(initial)
		fields := strings.Split(strings.TrimSuffix(string(raw), "\x01\x01"), "\x01")
		if len(fields) != 2 || fields[1] != "auth=Bearer "+ss.s.token || ss.s.token == "" {
			ss.tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(`{"status":"401","schemes":"bearer"}`)))
			ss.tp.ReadLine()
			ss.reply(535, "5.7.3 authentication unsuccessful")
			return
		}
		user, pass = strings.TrimPrefix(fields[0], "user="), ss.s.pass
	default:
		ss.reply(504, "5.5.4 mechanism not supported")
		return
	}
	if user != ss.s.user || pass != ss.s.pass {
		ss.reply(535, "5.7.8 authentication credentials invalid")
		return
	}
	ss.authUser = user
	ss.reply(235, "2.7.0 authenticated")
}

func (ss *smtpSession) challenge(prompt string) string {
	ss.tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(prompt)))
	line, _ := ss.tp.ReadLine()
	b, _ := base64.StdEncoding.DecodeString(line)
	return string(b)
}

func (ss *smtpSession) mailFrom(arg string) {
	if !ss.greeted {
		ss.reply(503, "5.5.1 EHLO first")
		return
	}
	if ss.authUser == "" {
		ss.reply(530, "5.7.0 authentication required")
		return
	}
	if code := ss.s.refusal("MAIL"); code != 0 {
		ss.reply(code, fmt.Sprintf("%d.0.0 refused", code/100))
		return
	}
	ss.mail = &smtpMail{From: addrArg(arg, "FROM:"), TLS: ss.tls, AuthUser: ss.authUser}
	ss.reply(250, "2.1.0 sender ok")
}

func (ss *smtpSession) rcpt(arg string) {
	if ss.mail == nil {
		ss.reply(503, "5.5.1 MAIL first")
		return
	}
	to := addrArg(arg, "TO:")
	if code := ss.s.refusal("RCPT"); code != 0 {
		// Real relays quote the address; the client must not store it.
		ss.reply(code, fmt.Sprintf("%d.1.1 <%s> refused", code/100, to))
		return
	}
	ss.mail.To = append(ss.mail.To, to)
	ss.reply(250, "2.1.5 recipient ok")
}

func (ss *smtpSession) data() bool {
	if ss.mail == nil || len(ss.mail.To) == 0 {
		ss.reply(503, "5.5.1 RCPT first")
		return true
	}
	ss.reply(354, "end data with <CR><LF>.<CR><LF>")
	body, err := ss.tp.ReadDotBytes()
	if err != nil {
		return false
	}
	if code := ss.s.refusal("DATA"); code != 0 {
		ss.reply(code, fmt.Sprintf("%d.0.0 message refused", code/100))
		ss.mail = nil
		return true
	}
	ss.mail.Data = string(body)
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, *ss.mail)
	ss.s.mu.Unlock()
	ss.mail = nil
	ss.reply(250, "2.0.0 queued")
	return true
}

func addrArg(arg, prefix string) string {
	a := strings.TrimSpace(arg)
	if len(a) >= len(prefix) && strings.EqualFold(a[:len(prefix)], prefix) {
		a = a[len(prefix):]
	}
	a, _, _ = strings.Cut(strings.TrimSpace(a), " ")
	return strings.Trim(a, "<>")
}
