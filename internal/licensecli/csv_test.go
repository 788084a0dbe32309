package licensecli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCSVAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []CSVRow
		// check inspects the file further.
		check func(t *testing.T, f *CSVFile)
	}{
		{
			name: "minimal",
			in:   "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n",
			want: []CSVRow{{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}}},
		},
		{
			name: "BOM, CRLF, header case and spaces, no final newline",
			in:   "\ufeff userprincipalname , SKUPARTNUMBER ,UsageLocation\r\nann@contoso.com,SPE_E3,de\r\nben@contoso.com,SPE_E3,US",
			want: []CSVRow{
				{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}, UsageLocation: "DE"},
				{Line: 3, UserPrincipalName: "ben@contoso.com", SkuPartNumbers: []string{"SPE_E3"}, UsageLocation: "US"},
			},
			check: func(t *testing.T, f *CSVFile) {
				if !f.HasUsageLocation || f.HasDisabledPlans {
					t.Errorf("columns: location %v plans %v", f.HasUsageLocation, f.HasDisabledPlans)
				}
			},
		},
		{
			name: "quoted fields with commas, quotes and newlines; extra columns ignored",
			in: "Name,UserPrincipalName,Department,SkuPartNumber\n" +
				"\"Lee, Ann\",ann@contoso.com,\"R&D, \"\"Labs\"\"\",\"SPE_E3;POWER_BI_PRO\"\n" +
				"\"Ben\nsecond line\",ben@contoso.com,,SPE_E3\n",
			want: []CSVRow{
				{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3", "POWER_BI_PRO"}},
				{Line: 3, UserPrincipalName: "ben@contoso.com", SkuPartNumbers: []string{"SPE_E3"}},
			},
			check: func(t *testing.T, f *CSVFile) {
				if !reflect.DeepEqual(f.IgnoredColumns, []string{"Department", "Name"}) {
					t.Errorf("ignored columns %v", f.IgnoredColumns)
				}
			},
		},
		{
			name: "; lists with spaces and empty entries",
			in:   "UserPrincipalName,SkuPartNumber,DisabledPlans\nann@contoso.com, SPE_E3 ; POWER_BI_PRO ;, SWAY ;; TEAMS1 \n",
			want: []CSVRow{{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3", "POWER_BI_PRO"}, DisabledPlans: []string{"SWAY", "TEAMS1"}}},
		},
		{
			name: "one user on several rows; blank rows skipped and reported",
			in:   "UserPrincipalName,SkuPartNumber,UsageLocation\nann@contoso.com,SPE_E3,DE\n,,\nann@contoso.com,POWER_BI_PRO,\n\n , ,\n",
			want: []CSVRow{
				{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}, UsageLocation: "DE"},
				{Line: 4, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"POWER_BI_PRO"}},
			},
			check: func(t *testing.T, f *CSVFile) {
				if !reflect.DeepEqual(f.BlankLines, []int{3, 6}) {
					t.Errorf("blank lines %v, want [3 6]", f.BlankLines)
				}
			},
		},
		{
			name: "short rows: missing optional fields are empty",
			in:   "UserPrincipalName,SkuPartNumber,UsageLocation,DisabledPlans\nann@contoso.com,SPE_E3\n",
			want: []CSVRow{{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, problems, err := ParseCSV(strings.NewReader(tc.in), false)
			if err != nil || len(problems) > 0 {
				t.Fatalf("err %v, problems %v", err, problems)
			}
			if !reflect.DeepEqual(f.Rows, tc.want) {
				t.Errorf("rows\n got %+v\nwant %+v", f.Rows, tc.want)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

func TestParseCSVRejectsRows(t *testing.T) {
	const header = "UserPrincipalName,SkuPartNumber,UsageLocation,DisabledPlans\n"
	for _, tc := range []struct {
		name, row string
		want      string
	}{
		{"bad UPN", "ann,SPE_E3,DE,", `line 2: UserPrincipalName "ann" is not a valid user principal name`},
		{"UPN with space", "ann lee@contoso.com,SPE_E3,DE,", "is not a valid user principal name"},
		{"UPN too long", strings.Repeat("a", 110) + "@contoso.com,SPE_E3,DE,", "is longer than 113 characters"},
		{"empty UPN", ",SPE_E3,DE,", "line 2: empty UserPrincipalName"},
		{"empty SKU", "ann@contoso.com,,DE,", "line 2: empty SkuPartNumber: name at least one part number"},
		{"only separators", "ann@contoso.com, ; ,DE,", "line 2: empty SkuPartNumber"},
		{"bad part number", "ann@contoso.com,SPE E3,DE,", `SkuPartNumber "SPE E3" is not a valid part number`},
		{"part number twice in a row", "ann@contoso.com,SPE_E3;spe_e3,DE,", `SkuPartNumber: "spe_e3" is listed twice`},
		{"bad usage location", "ann@contoso.com,SPE_E3,Germany,", `UsageLocation "Germany" is not a two-letter ISO 3166-1 country code`},
		{"digit in usage location", "ann@contoso.com,SPE_E3,D1,", `UsageLocation "D1"`},
		{"bad plan name", "ann@contoso.com,SPE_E3,DE,SW AY", `DisabledPlans "SW AY" is not a valid service plan name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, problems, err := ParseCSV(strings.NewReader(header+tc.row+"\nben@contoso.com,SPE_E3,US,\n"), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != 1 || !strings.Contains(problems[0].String(), tc.want) {
				t.Fatalf("problems %v, want one with %q", problems, tc.want)
			}
			if len(f.Rows) != 1 || f.Rows[0].UserPrincipalName != "ben@contoso.com" {
				t.Errorf("the valid row must survive: %+v", f.Rows)
			}
		})
	}
}

func TestParseCSVDuplicates(t *testing.T) {
	in := "UserPrincipalName,SkuPartNumber,UsageLocation\n" +
		"ann@contoso.com,SPE_E3,DE\n" +
		"ANN@contoso.com,spe_e3,DE\n" + // same user and SKU, other case
		"ann@contoso.com,SPE_E3,DE\n" + // exact duplicate
		"ann@contoso.com,POWER_BI_PRO,FR\n" + // another location
		"ann@contoso.com,POWER_BI_PRO,\n" // fine: one more license
	f, problems, err := ParseCSV(strings.NewReader(in), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		"line 3: duplicate row: line 2 already lists spe_e3 for ANN@contoso.com; remove one of the two lines",
		"line 4: duplicate row: line 2 already lists SPE_E3 for ann@contoso.com; remove one of the two lines",
		"line 5: UsageLocation FR conflicts with DE on line 2 for ann@contoso.com: give one usage location per user",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n got %q\nwant %q", got, want)
	}
	if len(f.Rows) != 2 || f.Rows[1].Line != 6 {
		t.Errorf("rows %+v", f.Rows)
	}
	if problems[0].User != "ANN@contoso.com" {
		t.Errorf("problems carry the row's user: %+v", problems[0])
	}
}

func TestParseCSVRejectsFile(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty file", "", "the file is empty"},
		{"only whitespace", " \r\n\n", "the file is empty"},
		{"only a BOM", "\ufeff", "the file is empty"},
		{"header only", "UserPrincipalName,SkuPartNumber\r\n", "has a header but no user rows"},
		{"header and blank rows", "UserPrincipalName,SkuPartNumber\n,\n", "has a header but no user rows"},
		{"missing SkuPartNumber", "UserPrincipalName,Licenses\nann@contoso.com,SPE_E3\n", "line 1: missing column SkuPartNumber"},
		{"missing both", "Email,Sku\nann@contoso.com,SPE_E3\n", "missing column UserPrincipalName and SkuPartNumber"},
		{"column twice", "UserPrincipalName,SkuPartNumber,skupartnumber\n", "column SkuPartNumber appears twice"},
		{"bare quote", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE\"E3\n", `line 2, column 20: bare " in non-quoted-field: a field containing " must be quoted`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, problems, err := ParseCSV(strings.NewReader(tc.in), false)
			if !errors.Is(err, ErrInvalidCSV) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrInvalidCSV with %q", err, tc.want)
			}
			if f != nil || problems != nil {
				t.Errorf("an unusable file yields no rows: %v %v", f, problems)
			}
		})
	}
}

func TestParseCSVReplaceAllowsEmptySku(t *testing.T) {
	f, problems, err := ParseCSV(strings.NewReader("UserPrincipalName,SkuPartNumber\nann@contoso.com,\nann@contoso.com,\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 1 || f.Rows[0].SkuPartNumbers != nil {
		t.Errorf("rows %+v", f.Rows)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "line 2 already lists ann@contoso.com without licenses") {
		t.Errorf("problems %v", problems)
	}
}
