package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is an error response of Microsoft Graph:
// {"error": {"code": "...", "message": "...", "innerError": {...}}}.
type Error struct {
	// Status is the HTTP status code (of the request, or of the request
	// inside a $batch).
	Status int
	// Code is Graph's error code, e.g. Request_BadRequest,
	// Authorization_RequestDenied, InvalidAuthenticationToken.
	Code string
	// Message is Graph's message, e.g. "Subscription with SKU ... does not
	// have any available licenses."
	Message string
	// RequestID is innerError.request-id, for Microsoft support.
	RequestID string
	// RetryAfter is the Retry-After of a throttled response.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Microsoft Graph answered %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request-id %s)", e.RequestID)
	}
	return b.String()
}

// Throttled reports whether the error is a 429, or a 503/504 Graph asks to
// retry.
func (e *Error) Throttled() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
}

type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// parseError builds the Error of a response with status and body.
func parseError(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, RetryAfter: retryAfter(header, time.Time{})}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e.Code, e.Message, e.RequestID = eb.Error.Code, eb.Error.Message, eb.Error.InnerError.RequestID
	} else if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		e.Message = s
	}
	if e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	return e
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date relative
// to now); 0 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && !now.IsZero() {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// LicenseErrorReason names a failed license assignment as Entra's
// licenseAssignmentState.error does (CountViolation,
// MutuallyExclusiveViolation, DependencyViolation,
// ProhibitedInUsageLocationViolation), recognised from Graph's message,
// or else Graph's error code (Request_BadRequest, ...). The result is a
// valid condition reason.
func LicenseErrorReason(err error) string {
	var ge *Error
	if !errors.As(err, &ge) {
		return ""
	}
	m := strings.ToLower(ge.Message)
	switch {
	case strings.Contains(m, "does not have any available licenses") || strings.Contains(m, "countviolation"):
		return ErrCountViolation
	case strings.Contains(m, "mutually exclusive") || strings.Contains(m, "mutuallyexclusiveviolation"):
		return ErrMutuallyExclusiveViolation
	case strings.Contains(m, "depends on") || strings.Contains(m, "dependencyviolation"):
		return ErrDependencyViolation
	case strings.Contains(m, "usage location"):
		return ErrProhibitedInUsageLocationViolation
	}
	return reasonFromCode(ge.Code)
}

// reasonFromCode keeps the characters a condition reason allows.
func reasonFromCode(code string) string {
	var b strings.Builder
	for _, r := range code {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return "GraphError"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
