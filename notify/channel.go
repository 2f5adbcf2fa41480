package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Message is one rendered notification on its way out.
type Message struct {
	// ID stays the same across every attempt of one outbox message (and of
	// one digest), so a receiver can drop a repeat: it is the mail's
	// Message-ID and the webhook's Idempotency-Key.
	ID      string
	Event   string
	To      string // the mail address; empty for webhooks
	Subject string
	Text    string
	HTML    string
	// Data is the event's facts for the generic webhook's JSON.
	Data any
	At   time.Time
}

// Channel delivers messages. Send returns nil once the other side accepted
// the message; an error wrapped with Permanent is not retried.
type Channel interface {
	Send(ctx context.Context, m Message) error
	// Mail reports whether messages need a recipient address.
	Mail() bool
}

// deliveryError is a refusal with what to do about it.
type deliveryError struct {
	permanent  bool
	retryAfter time.Duration
	msg        string // safe to store and show: no addresses, no message text
}

func (e *deliveryError) Error() string { return e.msg }

// permanentf reports a refusal that retrying will not change.
func permanentf(format string, args ...any) error {
	return &deliveryError{permanent: true, msg: fmt.Sprintf(format, args...)}
}

// temporaryf reports a failure worth retrying, after at least retryAfter.
func temporaryf(retryAfter time.Duration, format string, args ...any) error {
	return &deliveryError{retryAfter: retryAfter, msg: fmt.Sprintf(format, args...)}
}

func isPermanent(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.permanent
}

func retryAfter(err error) time.Duration {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.retryAfter
	}
	return 0
}

func safeError(err error) string { return ErrorText(err) }

// ErrorText is the text of a delivery error that may be stored and shown:
// a channel's own errors are written to be safe; anything else (a network
// error can quote an address) is reduced to its kind.
func ErrorText(err error) string {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.msg
	}
	return "delivery failed"
}

// ConsoleChannel writes messages to a writer: the demo's console. It shows
// what recipients would read, personal data included, so it is for demos
// and trials, never for production logs.
type ConsoleChannel struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsoleChannel writes to w.
func NewConsoleChannel(w io.Writer) *ConsoleChannel { return &ConsoleChannel{w: w} }

func (c *ConsoleChannel) Mail() bool { return false }

func (c *ConsoleChannel) Send(_ context.Context, m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.w, "── notification (%s) ──\n%s\n\n%s\n\n", m.Event, m.Subject, m.Text)
	if err != nil {
		return temporaryf(0, "console: write failed")
	}
	return nil
}
