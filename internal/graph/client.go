package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Defaults of Options.
const (
	DefaultMaxRetries = 6
	DefaultPageSize   = 999
	// MaxBatchSize is Graph's limit of requests per $batch.
	MaxBatchSize = 20
	// maxBody bounds a response body read into memory (a page of 999
	// users with their licenses is well under 10 MiB).
	maxBody = 64 << 20
	// maxBackoff bounds the wait before a retry without Retry-After.
	maxBackoff = 60 * time.Second
)

// DefaultEndpoint is the Graph host of the global cloud.
const DefaultEndpoint = "https://graph.microsoft.com"

// Options tune a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends the requests (default http.DefaultClient).
	HTTPClient *http.Client
	// Clock times retries and the write budget (default RealClock).
	Clock Clock
	// Writes is the write budget of assignLicense; nil for none.
	Writes *Budget
	// MaxRetries is how often a throttled (429, 503, 504) or failed
	// request is retried (default DefaultMaxRetries; negative: never).
	MaxRetries int
	// PageSize is the $top of listings (default 999, Graph's maximum for users).
	PageSize int
	// OnResponse, if set, is called after every HTTP response or
	// transport error (status 0), with the operation name (subscribedSkus,
	// users, groups, members, batch) for metrics.
	OnResponse func(op string, status int)
}

// Client calls Microsoft Graph v1.0. It is safe for concurrent use.
type Client struct {
	endpoint string // scheme://host, no trailing slash
	base     string // endpoint + "/v1.0"
	scope    string
	cred     azcore.TokenCredential
	opts     Options
}

// New returns a client of the Graph host endpoint (https://graph.microsoft.com
// or a national cloud's) authenticating with cred.
func New(endpoint string, cred azcore.TokenCredential, opts Options) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("graph endpoint %q: want https://host (for example %s)", endpoint, DefaultEndpoint)
	}
	if cred == nil {
		return nil, errors.New("graph client: no credential")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Clock == nil {
		opts.Clock = RealClock
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	ep := "https://" + u.Host
	return &Client{endpoint: ep, base: ep + "/v1.0", scope: ep + "/.default", cred: cred, opts: opts}, nil
}

// Endpoint is the Graph host the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// SubscribedSkus lists the tenant's subscriptions (GET /subscribedSkus).
func (c *Client) SubscribedSkus(ctx context.Context) ([]SubscribedSku, error) {
	var out []SubscribedSku
	err := list(ctx, c, "subscribedSkus", "/subscribedSkus", nil, func(page []SubscribedSku) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// Users calls fn with every page of users, with the properties of UserSelect.
func (c *Client) Users(ctx context.Context, fn func([]User) error) error {
	q := url.Values{"$select": {UserSelect}, "$top": {strconv.Itoa(c.opts.PageSize)}}
	return list(ctx, c, "users", "/users", q, fn)
}

// Groups lists every group with GroupSelect (the caller keeps those with
// assignedLicenses: filtering groups by license needs advanced queries
// that not every tenant allows).
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	q := url.Values{"$select": {GroupSelect}, "$top": {strconv.Itoa(c.opts.PageSize)}}
	var out []Group
	err := list(ctx, c, "groups", "/groups", q, func(page []Group) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// GroupMembers lists a group's direct members (group-based licensing
// applies to direct members only).
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]DirectoryObject, error) {
	q := url.Values{"$select": {MemberSelect}, "$top": {strconv.Itoa(c.opts.PageSize)}}
	var out []DirectoryObject
	err := list(ctx, c, "members", "/groups/"+url.PathEscape(groupID)+"/members", q, func(page []DirectoryObject) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// list GETs path and every @odata.nextLink after it, calling fn per page.
func list[T any](ctx context.Context, c *Client, op, path string, q url.Values, fn func([]T) error) error {
	next := c.base + path
	if len(q) > 0 {
		next += "?" + q.Encode()
	}
	for pages := 0; next != ""; pages++ {
		if !c.sameHost(next) {
			// Never send the token elsewhere.
			return fmt.Errorf("%s: @odata.nextLink %q is not on %s", op, next, c.endpoint)
		}
		body, err := c.do(ctx, op, http.MethodGet, next, nil, nil)
		if err != nil {
			if pages > 0 {
				return fmt.Errorf("%s, page %d: %w", op, pages+1, err)
			}
			return fmt.Errorf("%s: %w", op, err)
		}
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("%s: decoding page %d: %w", op, pages+1, err)
		}
		if err := fn(page.Value); err != nil {
			return err
		}
		next = page.NextLink
	}
	return nil
}

func (c *Client) sameHost(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && "https://"+u.Host == c.endpoint
}

// do sends a request, retrying throttled (429, 503, 504) responses after
// their Retry-After (else with exponential backoff) and transport errors,
// up to MaxRetries times. before, if set, runs before every attempt (the
// write budget). It returns the body of a 2xx response, or an *Error.
func (c *Client) do(ctx context.Context, op, method, rawURL string, body []byte, before func(context.Context) error) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		if before != nil {
			if err := before(ctx); err != nil {
				return nil, err
			}
		}
		status, header, respBody, err := c.send(ctx, method, rawURL, body)
		if c.opts.OnResponse != nil {
			c.opts.OnResponse(op, status)
		}
		if err != nil {
			if ctx.Err() != nil || attempt >= c.opts.MaxRetries {
				return nil, err
			}
			if err := c.opts.Clock.Sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if status >= 200 && status < 300 {
			return respBody, nil
		}
		ge := parseError(status, header, respBody)
		if ge.RetryAfter == 0 {
			ge.RetryAfter = retryAfter(header, c.opts.Clock.Now())
		}
		if ge.Throttled() && attempt < c.opts.MaxRetries {
			wait := ge.RetryAfter
			if wait <= 0 {
				wait = backoff(attempt)
			}
			if err := c.opts.Clock.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		return nil, ge
	}
}

func (c *Client) send(ctx context.Context, method, rawURL string, body []byte) (int, http.Header, []byte, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return 0, nil, nil, &AuthError{Err: err}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the response of %s %s: %w", method, req.URL.Path, err)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// AuthError is a failure to get a token for Graph (a wrong secret, an
// untrusted federated token, an unknown tenant or app).
type AuthError struct{ Err error }

func (e *AuthError) Error() string { return "signing in to Microsoft Entra: " + e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// backoff is 1s, 2s, 4s, ... up to maxBackoff.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt, 6)
	return min(d, maxBackoff)
}

// Assignment is one assignLicense call.
type Assignment struct {
	UserID  string
	Request AssignLicenseRequest
}

// AssignResult is the outcome of one Assignment: Err is nil on success, an
// *Error with Graph's answer, or the error that stopped the batch.
type AssignResult struct {
	UserID string
	Err    error
	// Attempts is the number of times the call was sent (throttled calls
	// are sent again).
	Attempts int
}

type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// AssignLicenses calls assignLicense for every item, up to MaxBatchSize
// (and the budget's burst) per $batch, taking one write of the budget per
// call sent. Calls throttled inside a batch are sent again after the
// longest Retry-After of the batch, up to MaxRetries times. done is called
// once per item, in the order the outcomes arrive. The returned error is
// the context's when it stopped the work; items not done then got no call.
func (c *Client) AssignLicenses(ctx context.Context, items []Assignment, done func(AssignResult)) error {
	type pending struct {
		item     Assignment
		attempts int
	}
	queue := make([]pending, len(items))
	for i, it := range items {
		it.Request.Normalize()
		queue[i] = pending{item: it}
	}
	size := MaxBatchSize
	if c.opts.Writes != nil && c.opts.Writes.Burst() < size {
		size = c.opts.Writes.Burst()
	}
	for len(queue) > 0 {
		n := min(size, len(queue))
		chunk := queue[:n]
		reqs := make([]batchRequest, n)
		for i, p := range chunk {
			reqs[i] = batchRequest{
				ID:      strconv.Itoa(i + 1),
				Method:  http.MethodPost,
				URL:     "/users/" + url.PathEscape(p.item.UserID) + "/assignLicense",
				Headers: map[string]string{"Content-Type": "application/json"},
				Body:    p.item.Request,
			}
		}
		body, err := json.Marshal(map[string]any{"requests": reqs})
		if err != nil {
			return err
		}
		sent := 0
		before := func(ctx context.Context) error {
			sent++
			if c.opts.Writes != nil {
				return c.opts.Writes.Wait(ctx, n)
			}
			return nil
		}
		respBody, err := c.do(ctx, "batch", http.MethodPost, c.base+"/$batch", body, before)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for _, p := range chunk {
				done(AssignResult{UserID: p.item.UserID, Err: err, Attempts: p.attempts + sent})
			}
			queue = queue[n:]
			continue
		}
		var resp struct {
			Responses []batchResponse `json:"responses"`
		}
		if err := json.Unmarshal(respBody, &resp); err != nil {
			err = fmt.Errorf("decoding the $batch response: %w", err)
			for _, p := range chunk {
				done(AssignResult{UserID: p.item.UserID, Err: err, Attempts: p.attempts + sent})
			}
			queue = queue[n:]
			continue
		}
		byID := make(map[string]batchResponse, len(resp.Responses))
		for _, r := range resp.Responses {
			byID[r.ID] = r
		}
		var retry []pending
		var wait time.Duration
		for i, p := range chunk {
			p.attempts += sent
			r, ok := byID[strconv.Itoa(i+1)]
			if !ok {
				done(AssignResult{UserID: p.item.UserID, Err: fmt.Errorf("the $batch response has no answer for request %d", i+1), Attempts: p.attempts})
				continue
			}
			if r.Status >= 200 && r.Status < 300 {
				done(AssignResult{UserID: p.item.UserID, Attempts: p.attempts})
				continue
			}
			h := http.Header{}
			for k, v := range r.Headers {
				h.Set(k, v)
			}
			ge := parseError(r.Status, h, r.Body)
			if ge.Throttled() && p.attempts <= c.opts.MaxRetries {
				retry = append(retry, p)
				w := ge.RetryAfter
				if w <= 0 {
					w = backoff(p.attempts - 1)
				}
				wait = max(wait, w)
				continue
			}
			done(AssignResult{UserID: p.item.UserID, Err: ge, Attempts: p.attempts})
		}
		queue = append(retry, queue[n:]...)
		if len(retry) > 0 {
			if err := c.opts.Clock.Sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsAccessDenied reports whether err is a 401/403 of Graph (missing
// permission or consent).
func IsAccessDenied(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && (ge.Status == http.StatusForbidden || ge.Status == http.StatusUnauthorized)
}

// IsAuthError reports whether err is a failure to sign in.
func IsAuthError(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// ErrorSummary is err's message without the transport's noise, for
// conditions and events.
func ErrorSummary(err error) string {
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return strings.TrimSpace(s)
}
