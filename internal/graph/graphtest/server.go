// Package graphtest is a Microsoft Graph test server for tests: a tenant
// in memory, served over TLS with the documented JSON shapes of
// subscribedSkus, users (assignedLicenses, licenseAssignmentStates),
// licenseDetails, groups and members, assignLicense and $batch, paging by
// @odata.nextLink, 429 with Retry-After on demand, and assignLicense
// refusing as Entra does (CountViolation when prepaid units run out,
// mutually exclusive or dependent plans, usage location). It also serves
// the Entra token endpoint and OpenID configuration, so azidentity
// credentials can be pointed at it (authority host = URL).
//
// Time is a fake Clock shared with the client under test: Retry-After and
// the write budget advance it instead of waiting, and every write is
// stamped with it, so write rates are checked per window of that clock.
package graphtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"

	"github.com/licenseops/license-operator/internal/graph"
)

// Server is a fake Microsoft Graph and Entra token endpoint for one tenant.
type Server struct {
	*httptest.Server
	Clock *Clock

	// TenantID, ClientID and ClientSecret are what the token endpoint
	// accepts. VerifyAssertion, when set, accepts a client assertion
	// (a federated service account token, or a certificate's JWT).
	TenantID, ClientID, ClientSecret string
	VerifyAssertion                  func(assertion string) error

	mu         sync.Mutex
	pageSize   int
	skus       []*sku
	users      []*user
	groups     []*group
	tokens     map[string]bool
	tokenCalls int
	assertions []string
	writes     []Write
	requests   []Request
	throttle   map[string][]time.Duration // op -> Retry-After of the next throttled answers
	fail       map[string]int             // path prefix -> status of a failure
	exclusive  [][2]string
	requires   map[string][]string
	prohibited map[string][]string
	paused     chan struct{}
	inFlight   int
}

// Write is one assignLicense call the server answered.
type Write struct {
	At      time.Time
	UPN     string
	Status  int
	Request json.RawMessage
	// Batched is true for a call inside a $batch.
	Batched bool
}

// Request is one HTTP request (or one request inside a $batch).
type Request struct {
	At     time.Time
	Method string
	Path   string
	Status int
}

type sku struct {
	id, part  string
	prepaid   units
	plans     []plan
	capStatus string
}

type units struct {
	Enabled   int64 `json:"enabled"`
	LockedOut int64 `json:"lockedOut"`
	Suspended int64 `json:"suspended"`
	Warning   int64 `json:"warning"`
}

type plan struct{ id, name string }

type user struct {
	id, upn, location string
	direct            []lic // skuID + disabled plan IDs
}

type lic struct {
	skuID    string
	disabled []string
}

type group struct {
	id, name string
	licenses []lic
	members  []string // user IDs
}

// Tenant IDs and secrets of NewServer.
const (
	DefaultTenantID     = "8f1a4c1e-0000-4000-8000-00000000cafe"
	DefaultClientID     = "2b6d0e8a-0000-4000-8000-0000000000a1"
	DefaultClientSecret = "test-secret"
)

// NewServer starts a TLS test server with an empty tenant. Close it when done.
func NewServer() *Server {
	s := &Server{
		Clock:        NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		TenantID:     DefaultTenantID,
		ClientID:     DefaultClientID,
		ClientSecret: DefaultClientSecret,
		pageSize:     100,
		tokens:       map[string]bool{},
		throttle:     map[string][]time.Duration{},
		fail:         map[string]int{},
		requires:     map[string][]string{},
		prohibited:   map[string][]string{},
	}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// ID returns the GUID the server gives to name (deterministic).
func ID(kind, name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(kind+":"+strings.ToLower(name))).String()
}

// SetPageSize sets how many items a page of a listing holds at most.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// AddSku subscribes the tenant to a SKU with enabled prepaid units and
// service plans (by name; their IDs are ID("plan", name)).
func (s *Server) AddSku(part string, enabled int64, plans ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &sku{id: ID("sku", part), part: part, prepaid: units{Enabled: enabled}, capStatus: "Enabled"}
	for _, p := range plans {
		k.plans = append(k.plans, plan{id: ID("plan", p), name: p})
	}
	s.skus = append(s.skus, k)
	return k.id
}

// SetPrepaid sets a SKU's prepaid units by state.
func (s *Server) SetPrepaid(part string, enabled, warning, suspended, lockedOut int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.skuByPart(part)
	k.prepaid = units{Enabled: enabled, Warning: warning, Suspended: suspended, LockedOut: lockedOut}
	switch {
	case enabled > 0:
		k.capStatus = "Enabled"
	case warning > 0:
		k.capStatus = "Warning"
	case suspended > 0:
		k.capStatus = "Suspended"
	default:
		k.capStatus = "LockedOut"
	}
}

// License names a SKU by part number and the plans off, by name.
type License struct {
	Sku      string
	Disabled []string
}

// AddUser creates a user with direct licenses (no seat check).
func (s *Server) AddUser(upn, usageLocation string, licenses ...License) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &user{id: ID("user", upn), upn: upn, location: usageLocation}
	for _, l := range licenses {
		u.direct = append(u.direct, s.lic(l))
	}
	s.users = append(s.users, u)
	return u.id
}

// AddGroup creates a group with licenses and members (by UPN).
func (s *Server) AddGroup(name string, licenses []License, members ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{id: ID("group", name), name: name}
	for _, l := range licenses {
		g.licenses = append(g.licenses, s.lic(l))
	}
	for _, m := range members {
		g.members = append(g.members, s.userByKey(m).id)
	}
	s.groups = append(s.groups, g)
	return g.id
}

func (s *Server) lic(l License) lic {
	k := s.skuByPart(l.Sku)
	out := lic{skuID: k.id, disabled: []string{}}
	for _, p := range l.Disabled {
		out.disabled = append(out.disabled, ID("plan", p))
	}
	return out
}

// Exclusive makes two service plans (by name) mutually exclusive.
func (s *Server) Exclusive(a, b string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exclusive = append(s.exclusive, [2]string{a, b})
}

// Requires makes plan depend on needs (by name).
func (s *Server) Requires(plan string, needs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requires[plan] = append(s.requires[plan], needs...)
}

// ProhibitIn makes plan unavailable in the usage locations.
func (s *Server) ProhibitIn(plan string, locations ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prohibited[plan] = append(s.prohibited[plan], locations...)
}

// Throttle makes the next n requests of op (subscribedSkus, users,
// groups, members, assignLicense, batch) answer 429 with Retry-After.
func (s *Server) Throttle(op string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.throttle[op] = append(s.throttle[op], retryAfter)
	}
}

// Fail makes every request whose path starts with prefix (under /v1.0)
// answer status, until Fail(prefix, 0).
func (s *Server) Fail(prefix string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.fail, prefix)
		return
	}
	s.fail[prefix] = status
}

// Pause makes assignLicense calls block until Resume; calls blocked
// count as in flight.
func (s *Server) Pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused == nil {
		s.paused = make(chan struct{})
	}
}

// Resume releases the calls blocked by Pause.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused != nil {
		close(s.paused)
		s.paused = nil
	}
}

// InFlight is the number of assignLicense calls blocked by Pause.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// Writes returns the assignLicense calls answered so far.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// TokenCalls is the number of tokens issued.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// Assertions returns the client assertions the token endpoint accepted.
func (s *Server) Assertions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.assertions)
}

// DirectLicenses returns a user's direct licenses: part number -> the
// names of its disabled plans, sorted.
func (s *Server) DirectLicenses(upn string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByKey(upn)
	out := map[string][]string{}
	for _, l := range u.direct {
		k := s.skuByID(l.skuID)
		names := []string{}
		for _, id := range l.disabled {
			names = append(names, k.planName(id))
		}
		sort.Strings(names)
		out[k.part] = names
	}
	return out
}

// Consumed is the number of users holding the SKU by any path.
func (s *Server) Consumed(part string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumed(s.skuByPart(part).id)
}

func (s *Server) skuByPart(part string) *sku {
	for _, k := range s.skus {
		if strings.EqualFold(k.part, part) {
			return k
		}
	}
	panic("graphtest: no SKU " + part)
}

func (s *Server) skuByID(id string) *sku {
	for _, k := range s.skus {
		if strings.EqualFold(k.id, id) {
			return k
		}
	}
	return nil
}

func (k *sku) planName(id string) string {
	for _, p := range k.plans {
		if strings.EqualFold(p.id, id) {
			return p.name
		}
	}
	return id
}

func (s *Server) userByKey(key string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.id, key) || strings.EqualFold(u.upn, key) {
			return u
		}
	}
	return nil
}

// held returns every license the user holds: direct ones, then inherited
// ones with their group.
func (s *Server) held(u *user) (direct []lic, inherited map[string][]lic) {
	inherited = map[string][]lic{}
	for _, g := range s.groups {
		if slices.Contains(g.members, u.id) {
			inherited[g.id] = g.licenses
		}
	}
	return u.direct, inherited
}

func (s *Server) holds(u *user, skuID string) bool {
	direct, inherited := s.held(u)
	for _, l := range direct {
		if l.skuID == skuID {
			return true
		}
	}
	for _, ls := range inherited {
		for _, l := range ls {
			if l.skuID == skuID {
				return true
			}
		}
	}
	return false
}

func (s *Server) consumed(skuID string) int64 {
	var n int64
	for _, u := range s.users {
		if s.holds(u, skuID) {
			n++
		}
	}
	return n
}

// ---- HTTP ---------------------------------------------------------------

type answer struct {
	status int
	header http.Header
	body   any
}

func jsonAnswer(status int, body any) answer { return answer{status: status, body: body} }

func graphError(status int, code, message string) answer {
	return jsonAnswer(status, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]any{"date": "2026-01-01T00:00:00", "request-id": "00000000-0000-0000-0000-000000000000"},
	}})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var a answer
	switch {
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		a = s.openIDConfiguration(r)
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		a = s.token(r, body)
	case strings.HasPrefix(r.URL.Path, "/v1.0/"):
		if !s.authorized(r) {
			a = graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		} else if r.URL.Path == "/v1.0/$batch" && r.Method == http.MethodPost {
			a = s.batch(body)
		} else {
			a = s.handle(r.Method, r.URL.Path, r.URL.Query(), body, false)
		}
	default:
		a = graphError(http.StatusNotFound, "NotFound", "no such endpoint: "+r.URL.Path)
	}
	for k, vs := range a.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	if a.body != nil {
		_ = json.NewEncoder(w).Encode(a.body)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok && s.tokens[tok]
}

func (s *Server) openIDConfiguration(r *http.Request) answer {
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	base := s.URL + "/" + tenant
	return jsonAnswer(http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              s.URL + "/common/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "EU",
	})
}

func (s *Server) token(r *http.Request, body []byte) answer {
	form, _ := url.ParseQuery(string(body))
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	deny := func(code, desc string) answer {
		return jsonAnswer(http.StatusUnauthorized, map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
	}
	if tenant != s.TenantID {
		return jsonAnswer(http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "AADSTS90002: Tenant '" + tenant + "' not found."})
	}
	if form.Get("client_id") != s.ClientID {
		return jsonAnswer(http.StatusBadRequest, map[string]any{"error": "unauthorized_client", "error_description": "AADSTS700016: Application with identifier '" + form.Get("client_id") + "' was not found in the directory."})
	}
	switch {
	case form.Get("client_secret") != "":
		if form.Get("client_secret") != s.ClientSecret {
			return deny("invalid_client", "AADSTS7000215: Invalid client secret provided.")
		}
	case form.Get("client_assertion") != "":
		if s.VerifyAssertion == nil {
			return deny("invalid_client", "AADSTS700024: Client assertion is not within its valid time range.")
		}
		if err := s.VerifyAssertion(form.Get("client_assertion")); err != nil {
			return deny("invalid_client", "AADSTS70021: No matching federated identity record found for presented assertion. "+err.Error())
		}
	default:
		return deny("invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	s.mu.Lock()
	s.tokens[tok] = true
	s.tokenCalls++
	if a := form.Get("client_assertion"); a != "" {
		s.assertions = append(s.assertions, a)
	}
	s.mu.Unlock()
	return jsonAnswer(http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// batch answers a JSON batch: up to 20 requests, each answered as if sent alone.
func (s *Server) batch(body []byte) answer {
	if a, ok := s.throttled("batch", "/v1.0/$batch", "POST"); ok {
		return a
	}
	var req struct {
		Requests []struct {
			ID      string            `json:"id"`
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(req.Requests) > 20 {
		return graphError(http.StatusBadRequest, "BadRequest", "Batch request can contain no more than 20 requests.")
	}
	seen := map[string]bool{}
	var responses []map[string]any
	for _, r := range req.Requests {
		if seen[strings.ToLower(r.ID)] {
			return graphError(http.StatusBadRequest, "BadRequest", "Batch request contains duplicate id "+r.ID+".")
		}
		seen[strings.ToLower(r.ID)] = true
		if len(r.Body) > 0 && r.Headers["Content-Type"] == "" && r.Headers["content-type"] == "" {
			return graphError(http.StatusBadRequest, "BadRequest", "Content-Type header is required when a body is specified.")
		}
		u, err := url.Parse("/v1.0" + r.URL)
		if err != nil || !strings.HasPrefix(r.URL, "/") {
			u, _ = url.Parse("/v1.0/" + r.URL)
		}
		a := s.handle(r.Method, u.Path, u.Query(), r.Body, true)
		headers := map[string]string{"Content-Type": "application/json"}
		for k := range a.header {
			headers[k] = a.header.Get(k)
		}
		responses = append(responses, map[string]any{"id": r.ID, "status": a.status, "headers": headers, "body": a.body})
	}
	s.mu.Lock()
	s.record(http.MethodPost, "/v1.0/$batch", http.StatusOK)
	s.mu.Unlock()
	return jsonAnswer(http.StatusOK, map[string]any{"responses": responses})
}

func (s *Server) record(method, path string, status int) {
	s.requests = append(s.requests, Request{At: s.Clock.Now(), Method: method, Path: path, Status: status})
}

// throttled consumes a 429 planned for op.
func (s *Server) throttled(op, path, method string) (answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.throttle[op]
	if len(q) == 0 {
		return answer{}, false
	}
	s.throttle[op] = q[1:]
	s.record(method, path, http.StatusTooManyRequests)
	a := graphError(http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
	a.header = http.Header{"Retry-After": {strconv.Itoa(int(q[0] / time.Second))}}
	return a, true
}

// handle answers one Graph request (alone or inside a batch).
func (s *Server) handle(method, path string, q url.Values, body []byte, batched bool) answer {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(path, "/v1.0"), "/"), "/")
	op := segs[0]
	switch {
	case len(segs) == 3 && segs[2] == "assignLicense":
		op = "assignLicense"
	case len(segs) == 3 && segs[2] == "members":
		op = "members"
	case len(segs) == 3 && segs[2] == "licenseDetails":
		op = "licenseDetails"
	}
	if a, ok := s.throttled(op, path, method); ok {
		if op == "assignLicense" {
			s.mu.Lock()
			s.writes = append(s.writes, Write{At: s.Clock.Now(), UPN: s.upnOf(segs[1]), Status: a.status, Request: body, Batched: batched})
			s.mu.Unlock()
		}
		return a
	}
	if op == "assignLicense" {
		s.mu.Lock()
		p := s.paused
		s.mu.Unlock()
		if p != nil {
			s.mu.Lock()
			s.inFlight++
			s.mu.Unlock()
			<-p
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for prefix, status := range s.fail {
		if strings.HasPrefix(strings.TrimPrefix(path, "/v1.0"), prefix) {
			s.record(method, path, status)
			code := map[int]string{403: "Authorization_RequestDenied", 404: "Request_ResourceNotFound"}[status]
			if code == "" {
				code = "generalException"
			}
			return graphError(status, code, "Injected failure.")
		}
	}
	var a answer
	switch {
	case method == http.MethodGet && len(segs) == 1 && op == "subscribedSkus":
		a = s.page(q, "subscribedSkus", s.subscribedSkus())
	case method == http.MethodGet && len(segs) == 1 && op == "users":
		items := make([]any, len(s.users))
		for i, u := range s.users {
			items[i] = s.userJSON(u)
		}
		a = s.page(q, "users", items)
	case method == http.MethodGet && len(segs) == 1 && op == "groups":
		items := make([]any, len(s.groups))
		for i, g := range s.groups {
			items[i] = s.groupJSON(g)
		}
		a = s.page(q, "groups", items)
	case method == http.MethodGet && op == "members":
		a = s.members(q, segs[1])
	case method == http.MethodGet && op == "licenseDetails":
		a = s.licenseDetails(segs[1])
	case method == http.MethodPost && op == "assignLicense":
		a = s.assignLicense(segs[1], body)
		s.writes = append(s.writes, Write{At: s.Clock.Now(), UPN: s.upnOf(segs[1]), Status: a.status, Request: body, Batched: batched})
	default:
		a = graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Unsupported request %s %s.", method, path))
	}
	s.record(method, path, a.status)
	return a
}

func (s *Server) upnOf(key string) string {
	if u := s.userByKey(key); u != nil {
		return u.upn
	}
	return key
}

// page answers one page of items, with @odata.nextLink to the next one.
func (s *Server) page(q url.Values, context string, items []any) answer {
	size := s.pageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	start, _ := strconv.Atoi(q.Get("$skiptoken"))
	if start < 0 || start > len(items) {
		return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken.")
	}
	end := min(start+size, len(items))
	out := map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + context,
		"value":          items[start:end],
	}
	if context == "subscribedSkus" {
		// subscribedSkus is not paged.
		out["value"] = items
		return jsonAnswer(http.StatusOK, out)
	}
	if end < len(items) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("$skiptoken", strconv.Itoa(end))
		out["@odata.nextLink"] = s.URL + "/v1.0/" + context + "?" + nq.Encode()
	}
	return jsonAnswer(http.StatusOK, out)
}

func (s *Server) subscribedSkus() []any {
	out := make([]any, len(s.skus))
	for i, k := range s.skus {
		plans := make([]any, len(k.plans))
		for j, p := range k.plans {
			plans[j] = map[string]any{"servicePlanId": p.id, "servicePlanName": p.name, "provisioningStatus": "Success", "appliesTo": "User"}
		}
		out[i] = map[string]any{
			"accountName":      "Contoso",
			"accountId":        ID("account", "contoso"),
			"appliesTo":        "User",
			"capabilityStatus": k.capStatus,
			"consumedUnits":    s.consumed(k.id),
			"id":               s.TenantID + "_" + k.id,
			"prepaidUnits":     k.prepaid,
			"servicePlans":     plans,
			"skuId":            k.id,
			"skuPartNumber":    k.part,
			"subscriptionIds":  []string{ID("subscription", k.part)},
		}
	}
	return out
}

func licJSON(l lic) map[string]any {
	return map[string]any{"skuId": l.skuID, "disabledPlans": l.disabled}
}

func (s *Server) userJSON(u *user) map[string]any {
	direct, inherited := s.held(u)
	assigned := []any{}
	states := []any{}
	seen := map[string]bool{}
	for _, l := range direct {
		assigned = append(assigned, licJSON(l))
		seen[l.skuID] = true
		states = append(states, map[string]any{"assignedByGroup": nil, "disabledPlans": l.disabled, "error": "None",
			"lastUpdatedDateTime": "2026-01-01T00:00:00Z", "skuId": l.skuID, "state": "Active"})
	}
	gids := make([]string, 0, len(inherited))
	for g := range inherited {
		gids = append(gids, g)
	}
	sort.Strings(gids)
	for _, g := range gids {
		for _, l := range inherited[g] {
			if !seen[l.skuID] {
				assigned = append(assigned, licJSON(l))
				seen[l.skuID] = true
			}
			states = append(states, map[string]any{"assignedByGroup": g, "disabledPlans": l.disabled, "error": "None",
				"lastUpdatedDateTime": "2026-01-01T00:00:00Z", "skuId": l.skuID, "state": "Active"})
		}
	}
	var loc any
	if u.location != "" {
		loc = u.location
	}
	return map[string]any{
		"id": u.id, "userPrincipalName": u.upn, "displayName": u.upn, "usageLocation": loc, "accountEnabled": true,
		"assignedLicenses": assigned, "licenseAssignmentStates": states,
	}
}

func (s *Server) groupJSON(g *group) map[string]any {
	assigned := []any{}
	for _, l := range g.licenses {
		assigned = append(assigned, licJSON(l))
	}
	return map[string]any{"id": g.id, "displayName": g.name, "description": nil, "assignedLicenses": assigned}
}

func (s *Server) members(q url.Values, id string) answer {
	for _, g := range s.groups {
		if g.id != id {
			continue
		}
		items := []any{}
		for _, m := range g.members {
			u := s.userByKey(m)
			items = append(items, map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.id, "userPrincipalName": u.upn, "displayName": u.upn})
		}
		return s.page(q, "groups/"+id+"/members", items)
	}
	return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func (s *Server) licenseDetails(key string) answer {
	u := s.userByKey(key)
	if u == nil {
		return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	}
	items := []any{}
	for _, k := range s.skus {
		if !s.holds(u, k.id) {
			continue
		}
		plans := []any{}
		for _, p := range k.plans {
			plans = append(plans, map[string]any{"servicePlanId": p.id, "servicePlanName": p.name, "provisioningStatus": "Success", "appliesTo": "User"})
		}
		items = append(items, map[string]any{"id": k.id, "skuId": k.id, "skuPartNumber": k.part, "servicePlans": plans})
	}
	return jsonAnswer(http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('" + u.id + "')/licenseDetails",
		"value":          items,
	})
}

// assignLicense applies a request all or nothing, refusing as Entra does.
func (s *Server) assignLicense(key string, body []byte) answer {
	u := s.userByKey(key)
	if u == nil {
		return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	}
	var req struct {
		AddLicenses *[]struct {
			SkuID         string    `json:"skuId"`
			DisabledPlans *[]string `json:"disabledPlans"`
		} `json:"addLicenses"`
		RemoveLicenses *[]string `json:"removeLicenses"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid request body: "+err.Error())
	}
	if req.AddLicenses == nil || req.RemoveLicenses == nil {
		return graphError(http.StatusBadRequest, "Request_BadRequest", "Both addLicenses and removeLicenses are required.")
	}
	next := slices.Clone(u.direct)
	for _, id := range *req.RemoveLicenses {
		i := slices.IndexFunc(next, func(l lic) bool { return strings.EqualFold(l.skuID, id) })
		if i < 0 {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "User does not have a corresponding license.")
		}
		next = slices.Delete(next, i, i+1)
	}
	var added []string
	for _, a := range *req.AddLicenses {
		k := s.skuByID(a.SkuID)
		if k == nil {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "License "+a.SkuID+" does not correspond to a valid company License.")
		}
		if a.DisabledPlans == nil {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid value for disabledPlans: null.")
		}
		for _, p := range *a.DisabledPlans {
			if k.planName(p) == p {
				return graphError(http.StatusBadRequest, "Request_BadRequest", "Service plan "+p+" is not part of the license "+k.id+".")
			}
		}
		l := lic{skuID: k.id, disabled: slices.Clone(*a.DisabledPlans)}
		if i := slices.IndexFunc(next, func(x lic) bool { return x.skuID == k.id }); i >= 0 {
			next[i] = l
		} else {
			next = append(next, l)
		}
		if !s.holds(u, k.id) {
			added = append(added, k.id)
		}
	}
	if len(*req.AddLicenses) > 0 && u.location == "" {
		return graphError(http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
	}
	for _, id := range added {
		k := s.skuByID(id)
		if s.consumed(id)+1 > k.prepaid.Enabled+k.prepaid.Warning {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Subscription with SKU "+id+" does not have any available licenses.")
		}
	}
	// The plans the user would have enabled, by name.
	enabled := map[string]bool{}
	addPlans := func(l lic) {
		k := s.skuByID(l.skuID)
		for _, p := range k.plans {
			if !slices.ContainsFunc(l.disabled, func(d string) bool { return strings.EqualFold(d, p.id) }) {
				enabled[p.name] = true
			}
		}
	}
	for _, l := range next {
		addPlans(l)
	}
	_, inherited := s.held(u)
	for _, ls := range inherited {
		for _, l := range ls {
			addPlans(l)
		}
	}
	for _, pair := range s.exclusive {
		if enabled[pair[0]] && enabled[pair[1]] {
			return graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("License assignment failed because service plans %s,%s are mutually exclusive.", pair[0], pair[1]))
		}
	}
	for p, needs := range s.requires {
		for _, n := range needs {
			if enabled[p] && !enabled[n] {
				return graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("License assignment failed because service plan %s depends on the service plan(s) %s.", p, n))
			}
		}
	}
	for p, locs := range s.prohibited {
		if enabled[p] && slices.Contains(locs, u.location) {
			return graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("License assignment failed because service plan %s is not available in usage location %s.", p, u.location))
		}
	}
	u.direct = next
	return jsonAnswer(http.StatusOK, s.userJSON(u))
}

// ---- clock ----------------------------------------------------------------

// Clock is a fake clock: Sleep advances it at once. It implements
// graph.Clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Sleep advances the clock by d, unless ctx is done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Credential returns an azidentity client-secret credential signing in at
// this server, with a client that trusts its certificate.
func (s *Server) Credential() (azcore.TokenCredential, error) {
	return graph.NewCredential(graph.CredentialConfig{
		TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		AuthorityHost: s.URL, HTTPClient: s.Client(),
	})
}

// NewClient returns a graph client of this server on its clock.
func (s *Server) NewClient(writes *graph.Budget) (*graph.Client, error) {
	cred, err := s.Credential()
	if err != nil {
		return nil, err
	}
	return graph.New(s.URL, cred, graph.Options{HTTPClient: s.Client(), Clock: s.Clock, Writes: writes})
}
