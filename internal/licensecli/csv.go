package licensecli

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// CSV column names, matched case-insensitively (surrounding spaces ignored).
const (
	ColUserPrincipalName = "UserPrincipalName"
	ColSkuPartNumber     = "SkuPartNumber"
	ColUsageLocation     = "UsageLocation"
	ColDisabledPlans     = "DisabledPlans"
)

// MaxUPNLength is the longest userPrincipalName the CRD accepts.
const MaxUPNLength = 113

// upnPattern is the CRD's pattern of spec.userPrincipalName.
var upnPattern = regexp.MustCompile(`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

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

// CSVRow is one data row: a user and the licenses the row is about.
type CSVRow struct {
	Line              int
	UserPrincipalName string
	// SkuPartNumbers are the row's part numbers, in order, without
	// duplicates or empty entries.
	SkuPartNumbers []string
	// UsageLocation is upper case; empty when not given.
	UsageLocation string
	// DisabledPlans applies to every SKU of the row that has the plan.
	DisabledPlans []string
}

// CSVFile is a parsed CSV file: its valid rows, and the columns it has.
type CSVFile struct {
	Rows []CSVRow
	// HasUsageLocation and HasDisabledPlans tell whether the optional
	// columns are present. With DisabledPlans present, each row's value
	// (empty: every plan) replaces the plans of the SKUs it names; without
	// it, SKUs a user already has keep their plan settings.
	HasUsageLocation bool
	HasDisabledPlans bool
	// IgnoredColumns are header names the importer does not use.
	IgnoredColumns []string
	// BlankLines are rows whose every field is empty (Excel leaves such
	// rows at the end of a sheet); they are skipped and reported.
	BlankLines []int
}

// ErrInvalidCSV wraps problems that make the whole file unusable (no
// header, a missing required column, broken quoting).
var ErrInvalidCSV = errors.New("invalid CSV file")

// ParseCSV reads an admin-center style CSV: a header with the columns
// UserPrincipalName and SkuPartNumber (one or several part numbers
// separated by ';'), optionally UsageLocation and DisabledPlans (';'
// separated); names are case-insensitive and other columns are ignored.
// A UTF-8 byte order mark, CRLF line ends and quoted fields are accepted.
//
// allowEmptySku accepts rows without part numbers (--mode replace, which
// then removes every direct license of the user).
//
// It returns the valid rows and a problem for every invalid row. A
// problem that makes the whole file unusable is returned as an error
// wrapping ErrInvalidCSV (and no rows).
func ParseCSV(r io.Reader, allowEmptySku bool) (*CSVFile, []Problem, error) {
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
	cols, ignored, err := headerColumns(header)
	if err != nil {
		return nil, nil, err
	}
	f := &CSVFile{
		HasUsageLocation: cols[ColUsageLocation] >= 0,
		HasDisabledPlans: cols[ColDisabledPlans] >= 0,
		IgnoredColumns:   ignored,
	}

	var problems []Problem
	type seen struct {
		line     int
		location string
	}
	firstSku := map[string]int{}   // lower(upn) + "\x00" + lower(part) -> line
	firstUser := map[string]seen{} // lower(upn) -> first line with a location
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
		row := CSVRow{Line: line, UserPrincipalName: field(ColUserPrincipalName)}
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
			bad("missing %s: the row has %d fields, the header %d", ColUserPrincipalName, len(rec), len(header))
			continue
		case upn == "":
			bad("empty %s: every row needs the user's sign-in name (ann@contoso.com)", ColUserPrincipalName)
			continue
		case len(upn) > MaxUPNLength:
			bad("%s %q is longer than %d characters", ColUserPrincipalName, upn, MaxUPNLength)
			continue
		case !upnPattern.MatchString(upn):
			bad("%s %q is not a valid user principal name (expected name@domain.tld, letters, digits and ._%%+'- before the @)", ColUserPrincipalName, upn)
			continue
		}
		validUPN = true

		parts, perr := splitList(field(ColSkuPartNumber))
		if perr != "" {
			bad("%s: %s", ColSkuPartNumber, perr)
			continue
		}
		if len(parts) == 0 && !allowEmptySku {
			bad("empty %s: name at least one part number such as SPE_E3 (separate several with ';')", ColSkuPartNumber)
			continue
		}
		badPart := false
		for _, p := range parts {
			if !planPattern.MatchString(p) {
				bad("%s %q is not a valid part number (letters, digits, '_', '.', '-')", ColSkuPartNumber, p)
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
				bad("%s %q is not a two-letter ISO 3166-1 country code such as US or DE", ColUsageLocation, loc)
				continue
			}
		}

		plans, perr := splitList(field(ColDisabledPlans))
		if perr != "" {
			bad("%s: %s", ColDisabledPlans, perr)
			continue
		}
		badPlan := false
		for _, p := range plans {
			if !planPattern.MatchString(p) {
				bad("%s %q is not a valid service plan name (letters, digits, '_', '.', '-')", ColDisabledPlans, p)
				badPlan = true
				break
			}
		}
		if badPlan {
			continue
		}
		row.DisabledPlans = plans

		// Duplicates: the same license twice, or two usage locations.
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
		if prev, ok := firstUser[key]; ok && row.UsageLocation != "" && prev.location != "" && prev.location != row.UsageLocation {
			bad("%s %s conflicts with %s on line %d for %s: give one usage location per user",
				ColUsageLocation, row.UsageLocation, prev.location, prev.line, row.UserPrincipalName)
			continue
		}
		for _, p := range row.SkuPartNumbers {
			firstSku[key+"\x00"+strings.ToLower(p)] = line
		}
		if len(row.SkuPartNumbers) == 0 {
			firstSku[key+"\x00"] = line
		}
		if _, ok := firstUser[key]; !ok || row.UsageLocation != "" && firstUser[key].location == "" {
			firstUser[key] = seen{line: line, location: row.UsageLocation}
		}
		f.Rows = append(f.Rows, row)
	}
	if len(f.Rows) == 0 && len(problems) == 0 {
		return nil, nil, fmt.Errorf("%w: the file has a header but no user rows: add one line per user below the header", ErrInvalidCSV)
	}
	return f, problems, nil
}

// headerColumns maps the known columns to their index (-1 when absent)
// and returns the names of the other columns.
func headerColumns(header []string) (map[string]int, []string, error) {
	cols := map[string]int{ColUserPrincipalName: -1, ColSkuPartNumber: -1, ColUsageLocation: -1, ColDisabledPlans: -1}
	canon := map[string]string{}
	for name := range cols {
		canon[strings.ToLower(name)] = name
	}
	var ignored []string
	for i, h := range header {
		name, ok := canon[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			if strings.TrimSpace(h) != "" {
				ignored = append(ignored, strings.TrimSpace(h))
			}
			continue
		}
		if cols[name] >= 0 {
			return nil, nil, fmt.Errorf("%w: line 1: column %s appears twice in the header: keep one", ErrInvalidCSV, name)
		}
		cols[name] = i
	}
	var missing []string
	for _, name := range []string{ColUserPrincipalName, ColSkuPartNumber} {
		if cols[name] < 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%w: line 1: missing column %s: the header must name %s and %s (optionally %s and %s, in any order and case); found %q",
			ErrInvalidCSV, strings.Join(missing, " and "), ColUserPrincipalName, ColSkuPartNumber, ColUsageLocation, ColDisabledPlans,
			strings.Join(header, ","))
	}
	sort.Strings(ignored)
	return cols, ignored, nil
}

// splitList splits a ';'-separated list, trimming spaces and dropping
// empty entries; it reports an entry listed twice.
func splitList(s string) ([]string, string) {
	if s == "" {
		return nil, ""
	}
	var out []string
	for _, p := range strings.Split(s, ";") {
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
