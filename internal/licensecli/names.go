package licensecli

import (
	"strconv"
	"strings"
)

// maxNameLength keeps generated names within a DNS label.
const maxNameLength = 63

// NameFromUPN returns a DNS-1123 label derived from the local part of a
// userPrincipalName: lower case, runs of other characters turned into a
// single '-', trimmed to 63 characters ("Ann.Lee@contoso.com" -> "ann-lee").
func NameFromUPN(upn string) string {
	local, _, _ := strings.Cut(upn, "@")
	return dnsLabel(local)
}

func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > maxNameLength {
		out = strings.TrimRight(out[:maxNameLength], "-")
	}
	if out == "" {
		out = "user"
	}
	return out
}

// UniqueName returns a name for a new UserLicense of upn that taken does
// not hold: the local part; else the local part and the domain's first
// label ("ann-fabrikam" for ann@fabrikam.com); else a numbered suffix.
// The name returned is added to taken.
func UniqueName(upn string, taken map[string]bool) string {
	base := NameFromUPN(upn)
	candidates := []string{base}
	if _, domain, ok := strings.Cut(upn, "@"); ok {
		first, _, _ := strings.Cut(domain, ".")
		candidates = append(candidates, join(base, dnsLabel(first)))
	}
	for i := 2; ; i++ {
		for _, c := range candidates {
			if !taken[c] {
				taken[c] = true
				return c
			}
		}
		candidates = []string{join(base, strconv.Itoa(i))}
	}
}

// join appends "-suffix" to base, shortening base to stay within 63 characters.
func join(base, suffix string) string {
	if len(base)+1+len(suffix) > maxNameLength {
		base = strings.TrimRight(base[:maxNameLength-1-len(suffix)], "-")
	}
	return base + "-" + suffix
}
