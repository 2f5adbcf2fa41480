// Package entrasim simulates Microsoft Entra ID's API-driven inbound
// provisioning for tests and demos: the identity platform's token endpoint,
// Graph's bulkUpload endpoint for one provisioning job, the asynchronous
// provisioning service that applies the attribute mapping to an in-memory
// tenant (cloud or on-premises Active Directory), and the provisioning logs
// in which the per-record outcomes appear minutes later.
//
// It behaves like the documented service, including its limits and error
// shapes; where Microsoft does not document a detail (error codes of some
// failures, the exact "bucket full" body) the simulator's choice is marked
// in the code and can be tuned through Options.
package entrasim

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Directory is what the provisioning app writes to.
type Directory string

const (
	Cloud Directory = "cloud" // "API-driven provisioning to Microsoft Entra ID"
	AD    Directory = "ad"    // "API-driven provisioning to on-premises Active Directory"
)

// Scope is the permission names the simulator knows.
const (
	PermUpload     = "SynchronizationData-User.Upload"
	PermLogs       = "ProvisioningLog.Read.All"
	PermAuditLogs  = "AuditLog.Read.All" // older samples ask for this one; it reads the logs too
	GraphScope     = "https://graph.microsoft.com/.default"
	DefaultURN     = "urn:ietf:params:scim:schemas:extension:personio:1.0:User"
	coreUserURN    = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseURN  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	bulkRequestURN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

// Options configure a simulator. Zero values take Entra's documented
// defaults; a negative limit turns that limit off.
type Options struct {
	Now func() time.Time

	TenantID           string // default "contoso-tenant"
	ClientID           string // default "personio-scim-app"
	ClientSecret       string // default "sim-secret"
	ServicePrincipalID string // default "sp-0001"
	JobID              string // default "API2AAD.sim.job" (API2AD... in AD mode)
	// ClientCertificate is the app registration's certificate credential;
	// with it, client assertions signed by its key are accepted.
	ClientCertificate *x509.Certificate
	// Permissions granted to the app; default upload and log reading.
	Permissions   []string
	TokenLifetime time.Duration // default 3599 s

	// Upload limits: RateLimit requests per RateWindow (default the
	// strictest published, 40 per 5 s) and DailyLimit per 24 hours
	// (default 6,000).
	RateLimit  int
	RateWindow time.Duration
	DailyLimit int
	// LogReadLimit requests per LogReadWindow on the provisioning logs
	// (default 5 per 10 s).
	LogReadLimit  int
	LogReadWindow time.Duration
	// MaxLogPage is the largest $top honoured (default 500).
	MaxLogPage int

	// ProcessDelay is how long an upload waits before the service
	// processes it (default 0: "near real time"); LogDelay how long a
	// processed record's log entry takes to appear (default 5 minutes).
	ProcessDelay time.Duration
	LogDelay     time.Duration
	// QueueCap is the number of unprocessed operations above which uploads
	// answer the "bucket full" 500 (default 20,000).
	QueueCap int

	Directory Directory // default Cloud
	// ExtensionURN is the custom namespace the app's attribute list holds
	// (default DefaultURN); its attributes are mapped as docs/entra.md and
	// docs/active-directory.md tell the administrator to.
	ExtensionURN string
	// FlowNulls is "flow null values" switched on for every mapped
	// attribute: an attribute a record leaves out or sends empty clears the
	// account's value. Off (Entra's default), it keeps the value.
	FlowNulls bool
	// InScope is the app's scoping filter over an incoming record; nil
	// means every record is in scope.
	InScope func(Record) bool
	// AD: the app's default container for new accounts and the OUs that
	// exist in the domain (the container is added to them).
	DefaultContainer string
	OUs              []string
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.TenantID = orDefault(o.TenantID, "contoso-tenant")
	o.ClientID = orDefault(o.ClientID, "personio-scim-app")
	o.ClientSecret = orDefault(o.ClientSecret, "sim-secret")
	o.ServicePrincipalID = orDefault(o.ServicePrincipalID, "sp-0001")
	if o.Directory == "" {
		o.Directory = Cloud
	}
	if o.JobID == "" {
		o.JobID = "API2AAD.sim.job"
		if o.Directory == AD {
			o.JobID = "API2AD.sim.job"
		}
	}
	if o.Permissions == nil {
		o.Permissions = []string{PermUpload, PermLogs}
	}
	o.TokenLifetime = durOrDefault(o.TokenLifetime, 3599*time.Second)
	o.RateLimit = intOrDefault(o.RateLimit, 40)
	o.RateWindow = durOrDefault(o.RateWindow, 5*time.Second)
	o.DailyLimit = intOrDefault(o.DailyLimit, 6000)
	o.LogReadLimit = intOrDefault(o.LogReadLimit, 5)
	o.LogReadWindow = durOrDefault(o.LogReadWindow, 10*time.Second)
	o.MaxLogPage = intOrDefault(o.MaxLogPage, 500)
	if o.LogDelay == 0 {
		o.LogDelay = 5 * time.Minute
	}
	o.QueueCap = intOrDefault(o.QueueCap, 20000)
	o.ExtensionURN = orDefault(o.ExtensionURN, DefaultURN)
	o.DefaultContainer = orDefault(o.DefaultContainer, "OU=Users,DC=example,DC=com")
	return o
}

// JobStatus is the provisioning job's synchronizationStatus code.
type JobStatus string

const (
	JobActive     JobStatus = "Active"
	JobPaused     JobStatus = "Paused"
	JobQuarantine JobStatus = "Quarantine"
)

// Sim is the simulator, an http.Handler.
type Sim struct {
	opts Options
	mux  *http.ServeMux

	mu           sync.Mutex // guards everything below
	secret       string
	secretExpiry bool
	tokens       map[string]time.Time // access token → expiry
	uploads      window
	daily        window
	logWindow    window
	throttle     int
	throttleFor  time.Duration
	failNext     []int
	bucketFull   bool
	status       JobStatus
	agentDown    bool
	queue        []queued
	tenant       *tenant
	logs         []*entry
	rejected     map[string]bool
	writes       int
	throttled    int
	requests     int
	logReads     int
}

// New builds an empty tenant behind a simulator.
func New(opts Options) *Sim {
	opts = opts.withDefaults()
	s := &Sim{
		opts:      opts,
		secret:    opts.ClientSecret,
		tokens:    map[string]time.Time{},
		uploads:   window{limit: opts.RateLimit, span: opts.RateWindow},
		daily:     window{limit: opts.DailyLimit, span: 24 * time.Hour},
		logWindow: window{limit: opts.LogReadLimit, span: opts.LogReadWindow},
		status:    JobActive,
		tenant:    newTenant(opts),
		rejected:  map[string]bool{},
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/{tenant}/oauth2/v2.0/token", s.token)
	for _, v := range []string{"v1.0", "beta"} {
		s.mux.HandleFunc("/"+v+"/servicePrincipals/{sp}/synchronization/jobs/{job}/bulkUpload", s.withVersion(v, s.bulkUpload))
		s.mux.HandleFunc("GET /"+v+"/auditLogs/provisioning", s.withVersion(v, s.provisioningLogs))
		s.mux.HandleFunc("GET /"+v+"/servicePrincipals/{sp}/synchronization/jobs/{job}", s.withVersion(v, s.job))
		for _, action := range []string{"start", "pause", "restart"} {
			s.mux.HandleFunc("POST /"+v+"/servicePrincipals/{sp}/synchronization/jobs/{job}/"+action, s.withVersion(v, s.jobAction(action)))
		}
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment.")
	})
	return s
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// Options returns the simulator's effective options (defaults filled in).
func (s *Sim) Options() Options { return s.opts }

// TokenURL and BulkUploadURL are the simulator's endpoints under base, the
// URL it is served at.
func (s *Sim) TokenURL(base string) string {
	return strings.TrimRight(base, "/") + "/" + s.opts.TenantID + "/oauth2/v2.0/token"
}

func (s *Sim) BulkUploadURL(base, version string) string {
	return strings.TrimRight(base, "/") + "/" + version + "/servicePrincipals/" + s.opts.ServicePrincipalID +
		"/synchronization/jobs/" + s.opts.JobID + "/bulkUpload"
}

// withVersion passes the API version (v1.0 or beta) the request came in on;
// the two name the status property of a log entry differently.
func (s *Sim) withVersion(v string, h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h(w, r, v) }
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func intOrDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func durOrDefault(v, d time.Duration) time.Duration {
	if v == 0 {
		return d
	}
	return v
}

// window counts requests in a sliding window of span; limit < 0 is
// unlimited.
type window struct {
	limit int
	span  time.Duration
	times []time.Time
}

// admit records a request at now when the window has room, or reports how
// long until it will.
func (w *window) admit(now time.Time) (bool, time.Duration) {
	if w.limit < 0 {
		return true, 0
	}
	cut := now.Add(-w.span)
	i := 0
	for i < len(w.times) && !w.times[i].After(cut) {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) >= w.limit {
		return false, w.times[0].Sub(cut)
	}
	w.times = append(w.times, now)
	return true, 0
}
