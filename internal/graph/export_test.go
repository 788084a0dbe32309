package graph

// ParseErrorForTest exposes parseError to the external tests.
func ParseErrorForTest(status int, body []byte) error { return parseError(status, nil, body) }
