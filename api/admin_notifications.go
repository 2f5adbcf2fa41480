package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/store"
)

// NotificationsHandler serves /api/v1/notifications: the outbox with each
// message's status, a preview of any event's message, and a test send.
// Mount it under the admin API's authentication (Options.Notifications).
func NotificationsHandler(n *notify.Notifier) http.Handler {
	h := &notificationsAPI{n: n}
	r := chi.NewRouter()
	r.Get("/", h.list)
	r.Post("/preview", h.preview)
	r.Post("/test", h.test)
	return r
}

type notificationsAPI struct {
	n *notify.Notifier
}

// notificationView is one outbox message; the payload (the event's
// personal data) stays out of the listing.
type notificationView struct {
	ID          int64     `json:"id"`
	Event       string    `json:"event"`
	Channel     string    `json:"channel"`
	Recipient   string    `json:"recipient,omitempty"`
	Status      string    `json:"status"`
	Digest      bool      `json:"digest,omitempty"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	SentAt      time.Time `json:"sent_at,omitzero"`
}

var outboxStatuses = []store.OutboxStatus{store.OutboxPending, store.OutboxSending, store.OutboxSent, store.OutboxFailed, store.OutboxDigested}

func (h *notificationsAPI) list(w http.ResponseWriter, r *http.Request) {
	q := store.OutboxQuery{Status: store.OutboxStatus(r.URL.Query().Get("status")), Event: r.URL.Query().Get("event")}
	if q.Status != "" && !slices.Contains(outboxStatuses, q.Status) {
		writeProblem(w, r, http.StatusBadRequest, "status must be pending, sending, sent, failed or digested")
		return
	}
	if q.Event != "" && !slices.Contains(notify.Events(), q.Event) {
		writeProblem(w, r, http.StatusBadRequest, "unknown event")
		return
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	before, err := queryInt(r, "cursor", 0, 0, 1<<62)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	q.Limit, q.BeforeID = limit, int64(before)
	msgs, err := h.n.List(r.Context(), q)
	if err != nil {
		writeProblem(w, r, http.StatusInternalServerError, "internal error; the server log has details")
		return
	}
	items := make([]notificationView, 0, len(msgs))
	for _, m := range msgs {
		items = append(items, notificationView{ID: m.ID, Event: m.Event, Channel: m.Channel, Recipient: m.Recipient,
			Status: string(m.Status), Digest: m.Digest, Attempts: m.Attempts, NextAttempt: m.NextAttempt, LastError: m.LastError,
			CreatedAt: m.CreatedAt, SentAt: m.SentAt})
	}
	next := ""
	if len(msgs) == limit {
		next = strconv.FormatInt(msgs[len(msgs)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next, "channels": h.n.ChannelNames()})
}

type notificationPreviewRequest struct {
	Event    string `json:"event"`
	Language string `json:"language"`
	Digest   bool   `json:"digest"`
}

func (h *notificationsAPI) preview(w http.ResponseWriter, r *http.Request) {
	var req notificationPreviewRequest
	if err := decodeBody(w, r, &req); err != nil {
		bodyProblem(w, r, err)
		return
	}
	p, err := h.n.Preview(req.Event, req.Language, req.Digest)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type notificationTestRequest struct {
	Channel  string `json:"channel"`
	To       string `json:"to"`
	Event    string `json:"event"`
	Language string `json:"language"`
}

// test sends a sample message now and answers with the channel's verdict:
// 200 when it was accepted, 502 with the reason when it was not.
func (h *notificationsAPI) test(w http.ResponseWriter, r *http.Request) {
	var req notificationTestRequest
	if err := decodeBody(w, r, &req); err != nil {
		bodyProblem(w, r, err)
		return
	}
	if !slices.Contains(h.n.ChannelNames(), req.Channel) {
		writeProblem(w, r, http.StatusBadRequest, "channel must name a configured channel")
		return
	}
	if req.Event != "" && !slices.Contains(notify.Events(), req.Event) {
		writeProblem(w, r, http.StatusBadRequest, "unknown event")
		return
	}
	if req.Language != "" && !slices.Contains(notify.Languages(), req.Language) {
		writeProblem(w, r, http.StatusBadRequest, "language must be en or de")
		return
	}
	err := h.n.SendTest(r.Context(), req.Channel, req.To, req.Event, req.Language)
	if err != nil {
		if notify.IsRequestError(err) {
			writeProblem(w, r, http.StatusBadRequest, err.Error())
			return
		}
		writeProblem(w, r, http.StatusBadGateway, "the channel refused the test message: "+notify.ErrorText(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "sent", "channel": req.Channel})
}
