package google

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/personio-scim/personio-scim/push"
)

// answerCap bounds the part of an answer kept in a result's requests.
const answerCap = 4 << 10

// recorder collects the write requests of one item. In a dry run it also
// stands in for the Directory API: writes are answered locally and never
// sent.
type recorder struct {
	dry      bool
	mu       sync.Mutex
	requests []push.Request
}

type recorderKey struct{}

func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

func (r *recorder) add(req push.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req)
}

func (r *recorder) taken() []push.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

// recordingTransport records writes for the recorder in the request's
// context, and in a dry run answers them itself with the body echoed, so
// that the code after a write runs as it would (without ids from Google).
type recordingTransport struct {
	base http.RoundTripper
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recorderKey{}).(*recorder)
	if rec == nil || req.Method == http.MethodGet || req.Method == http.MethodHead {
		return t.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	entry := push.Request{Method: req.Method, URL: req.URL.String(), Body: withoutSecrets(body)}
	if rec.dry {
		rec.add(entry)
		return echo(req, body), nil
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		rec.add(entry)
		return nil, err
	}
	entry.Status = resp.StatusCode
	head, err := io.ReadAll(io.LimitReader(resp.Body, answerCap))
	if err != nil {
		_ = resp.Body.Close()
		rec.add(entry)
		return nil, err
	}
	entry.Answer = head
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	rec.add(entry)
	return resp, nil
}

// echo is the dry run's answer to a write.
func echo(req *http.Request, body []byte) *http.Response {
	status := http.StatusOK
	if req.Method == http.MethodDelete || len(body) == 0 {
		status, body = http.StatusNoContent, nil
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body:    io.NopCloser(bytes.NewReader(body)),
		Request: req, ContentLength: int64(len(body)),
	}
}

// withoutSecrets hides the initial password of a user insert; nothing
// else the target sends is secret.
func withoutSecrets(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"password"`)) {
		return body
	}
	// The encoder writes `"password":"…"` with no space; the target's
	// passwords need no escapes. Anything else takes the slow way.
	const key = `"password":"`
	if i := bytes.Index(body, []byte(key)); i >= 0 {
		start := i + len(key)
		if end := bytes.IndexByte(body[start:], '"'); end >= 0 && !bytes.ContainsRune(body[start:start+end], '\\') {
			out := make([]byte, 0, len(body))
			out = append(out, body[:start]...)
			out = append(out, "[not shown]"...)
			return append(out, body[start+end:]...)
		}
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	m["password"] = json.RawMessage(`"[not shown]"`)
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

// tokens is the service account's token source; reset drops a token the
// API refused, so that the next call fetches a new one.
type tokens struct {
	ctx context.Context
	cfg *jwt.Config
	mu  sync.Mutex
	src oauth2.TokenSource
}

func newTokens(ctx context.Context, cfg *jwt.Config) *tokens {
	return &tokens{ctx: ctx, cfg: cfg, src: cfg.TokenSource(ctx)}
}

func (t *tokens) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	src := t.src
	t.mu.Unlock()
	return src.Token()
}

func (t *tokens) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.src = t.cfg.TokenSource(t.ctx)
}
