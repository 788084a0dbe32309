package licensecli

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// The columns an import reads, by their canonical names. A file may name
// them by any alias (columnAliases), in any case and with any spaces.
const (
	ColUserPrincipalName = "UserPrincipalName"
	ColSkuPartNumber     = "SkuPartNumber"
	ColUsageLocation     = "UsageLocation"
	ColDisabledPlans     = "DisabledPlans"
	ColDisplayName       = "DisplayName"
)

// columnAliases are the header names of each column, normalised
// (normalizeHeader): this project's own names, the Microsoft 365 admin
// center's Active users export ("User principal name", "Display name",
// "Usage location", "Licenses"), its bulk assignment files
// ("UserPrincipalName,SkuPartNumber"), and MSOnline's AccountSkuId.
var columnAliases = map[string][]string{
	ColUserPrincipalName: {"userprincipalname", "upn", "username"},
	ColSkuPartNumber:     {"skupartnumber", "licenses", "license", "accountskuid", "sku", "skus"},
	ColUsageLocation:     {"usagelocation"},
	ColDisabledPlans:     {"disabledplans", "disabledserviceplans"},
	ColDisplayName:       {"displayname"},
}

// Unlicensed is the admin center's value of Licenses for a user without
// any license.
const Unlicensed = "Unlicensed"

// MaxUPNLength is the longest userPrincipalName the CRD accepts.
const MaxUPNLength = 113

// upnPattern is the CRD's pattern of spec.userPrincipalName.
var upnPattern = regexp.MustCompile(`^[A-Za-z0-9._%+'!#^~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

// planPattern is the CRD's pattern of plan names and part numbers.
var planPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// locationPattern is an ISO 3166-1 alpha-2 code, as the CRD requires.
var locationPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// Problem is something wrong with one line of a CSV file (Line 0: the
// file as a whole). Every rejected row has one, so none is dropped silently.
type Problem struct {
	Line int `json:"line"`
	// User is the row's userPrincipalName, when it has a valid one.
	User    string `json:"user,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// ImportRow is one row of an import: a user and the licenses the row is
// about.
type ImportRow struct {
	Line              int
	UserPrincipalName string
	// DisplayName is the user's display name when the source gives one;
	// it only labels the user in messages (UserLicense has no such field).
	DisplayName string
	// SkuPartNumbers are the row's part numbers, in order, without
	// duplicates, empty entries or tenant prefixes.
	SkuPartNumbers []string
	// SKUs are LicenseSku names the row names directly (kubectl license
	// assign), resolved by the caller.
	SKUs []string
	// Unlicensed: the row says the user has no license (the admin
	// center's "Unlicensed").
	Unlicensed bool
	// UsageLocation is upper case; empty when not given.
	UsageLocation string
	// DisabledPlans applies to every SKU of the row that has the plan.
	DisabledPlans []string
}

// ImportRows is what a source gives an import: its valid rows, and the
// columns it has.
type ImportRows struct {
	Rows []ImportRow
	// HasUsageLocation and HasDisabledPlans tell whether the optional
	// columns are present. With DisabledPlans present, each row's value
	// (empty: every plan) replaces the plans of the SKUs it names; without
	// it, SKUs a user already has keep their plan settings.
	HasUsageLocation bool
	HasDisabledPlans bool
	// Labels are the header names as the file spells them, by canonical
	// column name, so that messages name the column the user sees.
	Labels map[string]string
	// IgnoredColumns are header names the importer does not use.
	IgnoredColumns []string
	// BlankLines are rows whose every field is empty (Excel leaves such
	// rows at the end of a sheet); they are skipped and reported.
	BlankLines []int
	// Tenants are the tenant prefixes of the license values
	// ("contoso" of contoso:SPE_E3), sorted.
	Tenants []string
}

// Label is the name the source gives the canonical column col.
func (r *ImportRows) Label(col string) string {
	if l := r.Labels[col]; l != "" {
		return l
	}
	return col
}

// ImportSource is where the rows of an import come from: a CSV file
// (CSVSource) or another file-like export. (`import --from-graph` reads
// Microsoft Graph into whole manifests instead: cmd/kubectl-license/
// import_graph.go.) Rows returns the valid rows
// and a Problem per invalid row; an error makes the whole source unusable
// (wrap ErrInvalidCSV for a malformed source, exit 1; anything else, such
// as a file that cannot be read, exits 2).
type ImportSource interface {
	// Describe names the source in messages ("users.csv").
	Describe() string
	Rows(ctx context.Context) (*ImportRows, []Problem, error)
}

// CSVOptions tune how a CSV file is read.
type CSVOptions struct {
	// AllowEmptySku accepts rows without part numbers (--mode replace,
	// which then removes every direct license of the user).
	AllowEmptySku bool
	// Tenant, when set, is the only tenant prefix license values may
	// carry (contoso:SPE_E3); a value of another tenant is an invalid row.
	Tenant string
}

// CSVSource reads an admin-center style CSV file (see ParseCSV).
type CSVSource struct {
	Name    string
	Reader  io.Reader
	Options CSVOptions
}

// Describe implements ImportSource.
func (s *CSVSource) Describe() string { return s.Name }

// Rows implements ImportSource.
func (s *CSVSource) Rows(context.Context) (*ImportRows, []Problem, error) {
	return ParseCSV(s.Reader, s.Options)
}

// ErrInvalidCSV wraps problems that make the whole file unusable (no
// header, a missing required column, broken quoting).
var ErrInvalidCSV = errors.New("invalid CSV file")

// normalizeHeader folds case and drops spaces, '_' and '-': "User
// principal name" and "userPrincipalName" are one column.
func normalizeHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch r {
		case ' ', '\t', '_', '-', '\u00a0':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseCSV reads an admin-center style CSV: a header naming the user
// (UserPrincipalName, "User principal name", UPN, "User name") and the
// licenses (SkuPartNumber, Licenses, License, AccountSkuId, Sku),
// optionally UsageLocation ("Usage location"), DisabledPlans and
// DisplayName ("Display name"). Header names are matched ignoring case
// and spaces; other columns are ignored. License values are part numbers
// separated by '+' or ';' (the admin center's export writes
// "contoso:SPE_E3+contoso:POWER_BI_PRO"), each optionally prefixed with
// its tenant ("contoso:"), or "Unlicensed". A UTF-8 byte order mark, CRLF
// line ends and quoted fields are accepted.
//
// It returns the valid rows and a problem for every invalid row. A
// problem that makes the whole file unusable is returned as an error
// wrapping ErrInvalidCSV (and no rows).
func ParseCSV(r io.Reader, opts CSVOptions) (*ImportRows, []Problem, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, fmt.Errorf("%w: the file is empty: expected a header line such as %q followed by one line per user",
			ErrInvalidCSV, ColUserPrincipalName+","+ColSkuPartNumber)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false

	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrInvalidCSV, csvError(err))
	}
	cols, labels, ignored, err := headerColumns(header)
	if err != nil {
		return nil, nil, err
	}
	f := &ImportRows{
		HasUsageLocation: cols[ColUsageLocation] >= 0,
		HasDisabledPlans: cols[ColDisabledPlans] >= 0,
		Labels:           labels,
		IgnoredColumns:   ignored,
	}
	colUPN, colSKU, colLoc, colPlans := f.Label(ColUserPrincipalName), f.Label(ColSkuPartNumber), f.Label(ColUsageLocation), f.Label(ColDisabledPlans)
	tenants := map[string]bool{}

	var problems []Problem
	type seen struct {
		line     int
		location string
	}
	firstSku := map[string]int{}   // lower(upn) + "\x00" + lower(part) -> line
	firstUser := map[string]seen{} // lower(upn) -> first line with a location
	licensed := map[string]int{}   // lower(upn) -> first line with licenses
	unlicensed := map[string]int{} // lower(upn) -> first line saying Unlicensed
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s (nothing was imported: fix the file and run again)", ErrInvalidCSV, csvError(err))
		}
		line, _ := cr.FieldPos(0)
		field := func(name string) string {
			i := cols[name]
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if allBlank(rec) {
			f.BlankLines = append(f.BlankLines, line)
			continue
		}
		row := ImportRow{Line: line, UserPrincipalName: field(ColUserPrincipalName), DisplayName: field(ColDisplayName)}
		validUPN := false
		bad := func(format string, args ...any) {
			p := Problem{Line: line, Message: fmt.Sprintf(format, args...)}
			if validUPN {
				p.User = row.UserPrincipalName
			}
			problems = append(problems, p)
		}

		switch upn := row.UserPrincipalName; {
		case cols[ColUserPrincipalName] >= len(rec):
			bad("missing %s: the row has %d fields, the header %d", colUPN, len(rec), len(header))
			continue
		case upn == "":
			bad("empty %s: every row needs the user's sign-in name (ann@contoso.com)", colUPN)
			continue
		case len(upn) > MaxUPNLength:
			bad("%s %q is longer than %d characters", colUPN, upn, MaxUPNLength)
			continue
		case !upnPattern.MatchString(upn):
			bad("%s %q is not a valid user principal name (expected name@domain.tld, letters, digits and ._%%+'- before the @)", colUPN, upn)
			continue
		}
		validUPN = true

		parts, unlic, perr := splitLicenses(field(ColSkuPartNumber), opts.Tenant, tenants)
		if perr != "" {
			bad("%s: %s", colSKU, perr)
			continue
		}
		row.Unlicensed = unlic
		if len(parts) == 0 && !unlic && !opts.AllowEmptySku {
			bad("empty %s: name at least one part number such as SPE_E3 (separate several with '+' or ';'), or %s", colSKU, Unlicensed)
			continue
		}
		badPart := false
		for _, p := range parts {
			if !planPattern.MatchString(p) {
				bad("%s %q is not a valid part number (letters, digits, '_', '.', '-')", colSKU, p)
				badPart = true
				break
			}
		}
		if badPart {
			continue
		}
		row.SkuPartNumbers = parts

		if loc := field(ColUsageLocation); loc != "" {
			row.UsageLocation = strings.ToUpper(loc)
			if !locationPattern.MatchString(row.UsageLocation) {
				bad("%s %q is not a two-letter ISO 3166-1 country code such as US or DE", colLoc, loc)
				continue
			}
		}

		plans, perr := splitList(field(ColDisabledPlans))
		if perr != "" {
			bad("%s: %s", colPlans, perr)
			continue
		}
		badPlan := false
		for _, p := range plans {
			if !planPattern.MatchString(p) {
				bad("%s %q is not a valid service plan name (letters, digits, '_', '.', '-')", colPlans, p)
				badPlan = true
				break
			}
		}
		if badPlan {
			continue
		}
		if len(plans) > 0 && row.Unlicensed {
			bad("%s lists plans for a user who is %s: leave it empty", colPlans, Unlicensed)
			continue
		}
		row.DisabledPlans = plans

		// Duplicates: the same license twice, two usage locations, or
		// licenses and Unlicensed for one user. UPNs compare ignoring case.
		key := strings.ToLower(row.UserPrincipalName)
		dup := false
		for _, p := range row.SkuPartNumbers {
			k := key + "\x00" + strings.ToLower(p)
			if prev, ok := firstSku[k]; ok {
				bad("duplicate row: line %d already lists %s for %s; remove one of the two lines", prev, p, row.UserPrincipalName)
				dup = true
				break
			}
		}
		if !dup && len(row.SkuPartNumbers) == 0 {
			k := key + "\x00"
			if prev, ok := firstSku[k]; ok {
				bad("duplicate row: line %d already lists %s without licenses; remove one of the two lines", prev, row.UserPrincipalName)
				dup = true
			}
		}
		if dup {
			continue
		}
		if prev, ok := unlicensed[key]; ok && len(row.SkuPartNumbers) > 0 {
			bad("line %d says %s is %s, this line gives licenses: keep one of the two", prev, row.UserPrincipalName, Unlicensed)
			continue
		}
		if prev, ok := licensed[key]; ok && row.Unlicensed {
			bad("line %d gives %s licenses, this line says %s: keep one of the two", prev, row.UserPrincipalName, Unlicensed)
			continue
		}
		if prev, ok := firstUser[key]; ok && row.UsageLocation != "" && prev.location != "" && prev.location != row.UsageLocation {
			bad("%s %s conflicts with %s on line %d for %s: give one usage location per user",
				colLoc, row.UsageLocation, prev.location, prev.line, row.UserPrincipalName)
			continue
		}
		for _, p := range row.SkuPartNumbers {
			firstSku[key+"\x00"+strings.ToLower(p)] = line
		}
		if len(row.SkuPartNumbers) == 0 {
			firstSku[key+"\x00"] = line
		}
		if row.Unlicensed {
			unlicensed[key] = line
		} else if _, ok := licensed[key]; !ok && len(row.SkuPartNumbers) > 0 {
			licensed[key] = line
		}
		if _, ok := firstUser[key]; !ok || row.UsageLocation != "" && firstUser[key].location == "" {
			firstUser[key] = seen{line: line, location: row.UsageLocation}
		}
		f.Rows = append(f.Rows, row)
	}
	if len(f.Rows) == 0 && len(problems) == 0 {
		return nil, nil, fmt.Errorf("%w: the file has a header but no user rows: add one line per user below the header", ErrInvalidCSV)
	}
	for t := range tenants {
		f.Tenants = append(f.Tenants, t)
	}
	sort.Strings(f.Tenants)
	return f, problems, nil
}

// headerColumns maps the known columns to their index (-1 when absent),
// returns the header names of the known columns as spelled, and the
// names of the other columns.
func headerColumns(header []string) (map[string]int, map[string]string, []string, error) {
	cols := map[string]int{}
	canon := map[string]string{}
	for name, aliases := range columnAliases {
		cols[name] = -1
		for _, a := range aliases {
			canon[a] = name
		}
	}
	labels := map[string]string{}
	var ignored []string
	for i, h := range header {
		h = strings.TrimSpace(h)
		name, ok := canon[normalizeHeader(h)]
		if !ok {
			if h != "" {
				ignored = append(ignored, h)
			}
			continue
		}
		if cols[name] >= 0 {
			return nil, nil, nil, fmt.Errorf("%w: line 1: columns %q and %q both give the %s: keep one", ErrInvalidCSV, labels[name], h, describeColumn(name))
		}
		cols[name] = i
		labels[name] = h
	}
	var missing []string
	for _, name := range []string{ColUserPrincipalName, ColSkuPartNumber} {
		if cols[name] < 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		hint := ""
		for _, h := range header {
			if normalizeHeader(h) == "objectid" && cols[ColUserPrincipalName] < 0 {
				hint = "; users are identified by their user principal name, not by ObjectId: export the User principal name column"
			}
		}
		return nil, nil, nil, fmt.Errorf("%w: line 1: missing column %s: the header must name the user (%s, \"User principal name\") and the licenses (%s, \"Licenses\"), optionally %s and %s, in any order and case%s; found %q",
			ErrInvalidCSV, strings.Join(missing, " and "), ColUserPrincipalName, ColSkuPartNumber, ColUsageLocation, ColDisabledPlans, hint,
			strings.Join(header, ","))
	}
	sort.Strings(ignored)
	return cols, labels, ignored, nil
}

func describeColumn(name string) string {
	switch name {
	case ColUserPrincipalName:
		return "user principal name"
	case ColSkuPartNumber:
		return "licenses"
	case ColUsageLocation:
		return "usage location"
	case ColDisabledPlans:
		return "disabled plans"
	case ColDisplayName:
		return "display name"
	}
	return name
}

// splitLicenses splits a license value: part numbers separated by '+' or
// ';', each optionally "tenant:PART" (the tenant is recorded in tenants,
// and must be want when want is set), or the single word Unlicensed.
func splitLicenses(s, want string, tenants map[string]bool) (parts []string, unlicensed bool, problem string) {
	items, problem := splitList(s)
	if problem != "" {
		return nil, false, problem
	}
	for _, it := range items {
		if strings.EqualFold(it, Unlicensed) {
			if len(items) > 1 {
				return nil, false, fmt.Sprintf("%s cannot be combined with licenses (%q)", Unlicensed, s)
			}
			return nil, true, ""
		}
		tenant, part, ok := strings.Cut(it, ":")
		if !ok {
			parts = append(parts, it)
			continue
		}
		tenant, part = strings.TrimSpace(tenant), strings.TrimSpace(part)
		switch {
		case tenant == "" || part == "":
			return nil, false, fmt.Sprintf("%q is not TENANT:PART_NUMBER (for example contoso:SPE_E3)", it)
		case want != "" && !strings.EqualFold(tenant, want):
			return nil, false, fmt.Sprintf("%s belongs to tenant %s, not %s (--tenant): this row is from another tenant's export", it, tenant, want)
		}
		tenants[strings.ToLower(tenant)] = true
		parts = append(parts, part)
	}
	for i := range parts {
		for j := range i {
			if strings.EqualFold(parts[i], parts[j]) {
				return nil, false, fmt.Sprintf("%q is listed twice", parts[i])
			}
		}
	}
	return parts, false, ""
}

// splitList splits a list separated by ';' or '+', trimming spaces and
// dropping empty entries; it reports an entry listed twice.
func splitList(s string) ([]string, string) {
	if s == "" {
		return nil, ""
	}
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '+' }) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		for _, q := range out {
			if strings.EqualFold(p, q) {
				return nil, fmt.Sprintf("%q is listed twice", p)
			}
		}
		out = append(out, p)
	}
	return out, ""
}

func allBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// csvError rewords encoding/csv's errors with the line and a hint.
func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		hint := ""
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			hint = `: a field containing " must be quoted, with the quote doubled ("say ""hi""")`
		case errors.Is(pe.Err, csv.ErrQuote):
			hint = ": a quoted field is not closed, or text follows its closing quote"
		}
		return fmt.Sprintf("line %d, column %d: %v%s", pe.Line, pe.Column, pe.Err, hint)
	}
	return err.Error()
}
