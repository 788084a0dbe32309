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
		want []ImportRow
		// check inspects the file further.
		check func(t *testing.T, f *ImportRows)
	}{
		{
			name: "minimal",
			in:   "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n",
			want: []ImportRow{{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}}},
		},
		{
			name: "BOM, CRLF, header case and spaces, no final newline",
			in:   "\ufeff userprincipalname , SKUPARTNUMBER ,UsageLocation\r\nann@contoso.com,SPE_E3,de\r\nben@contoso.com,SPE_E3,US",
			want: []ImportRow{
				{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}, UsageLocation: "DE"},
				{Line: 3, UserPrincipalName: "ben@contoso.com", SkuPartNumbers: []string{"SPE_E3"}, UsageLocation: "US"},
			},
			check: func(t *testing.T, f *ImportRows) {
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
			want: []ImportRow{
				{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3", "POWER_BI_PRO"}},
				{Line: 3, UserPrincipalName: "ben@contoso.com", SkuPartNumbers: []string{"SPE_E3"}},
			},
			check: func(t *testing.T, f *ImportRows) {
				if !reflect.DeepEqual(f.IgnoredColumns, []string{"Department", "Name"}) {
					t.Errorf("ignored columns %v", f.IgnoredColumns)
				}
			},
		},
		{
			name: "; lists with spaces and empty entries",
			in:   "UserPrincipalName,SkuPartNumber,DisabledPlans\nann@contoso.com, SPE_E3 ; POWER_BI_PRO ;, SWAY ;; TEAMS1 \n",
			want: []ImportRow{{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3", "POWER_BI_PRO"}, DisabledPlans: []string{"SWAY", "TEAMS1"}}},
		},
		{
			name: "one user on several rows; blank rows skipped and reported",
			in:   "UserPrincipalName,SkuPartNumber,UsageLocation\nann@contoso.com,SPE_E3,DE\n,,\nann@contoso.com,POWER_BI_PRO,\n\n , ,\n",
			want: []ImportRow{
				{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}, UsageLocation: "DE"},
				{Line: 4, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"POWER_BI_PRO"}},
			},
			check: func(t *testing.T, f *ImportRows) {
				if !reflect.DeepEqual(f.BlankLines, []int{3, 6}) {
					t.Errorf("blank lines %v, want [3 6]", f.BlankLines)
				}
			},
		},
		{
			name: "short rows: missing optional fields are empty",
			in:   "UserPrincipalName,SkuPartNumber,UsageLocation,DisabledPlans\nann@contoso.com,SPE_E3\n",
			want: []ImportRow{{Line: 2, UserPrincipalName: "ann@contoso.com", SkuPartNumbers: []string{"SPE_E3"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, problems, err := ParseCSV(strings.NewReader(tc.in), CSVOptions{})
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
			f, problems, err := ParseCSV(strings.NewReader(header+tc.row+"\nben@contoso.com,SPE_E3,US,\n"), CSVOptions{})
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
	f, problems, err := ParseCSV(strings.NewReader(in), CSVOptions{})
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
		{"missing SkuPartNumber", "UserPrincipalName,Product\nann@contoso.com,SPE_E3\n", "line 1: missing column SkuPartNumber"},
		{"missing both", "Email,Product\nann@contoso.com,SPE_E3\n", "missing column UserPrincipalName and SkuPartNumber"},
		{"column twice", "UserPrincipalName,SkuPartNumber,skupartnumber\n", `columns "SkuPartNumber" and "skupartnumber" both give the licenses: keep one`},
		{"two aliases of one column", "User principal name,UPN,Licenses\n", `columns "User principal name" and "UPN" both give the user principal name`},
		{"users by ObjectId", "ObjectId,Licenses\n1234,SPE_E3\n", "not by ObjectId: export the User principal name column"},
		{"bare quote", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE\"E3\n", `line 2, column 20: bare " in non-quoted-field: a field containing " must be quoted`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, problems, err := ParseCSV(strings.NewReader(tc.in), CSVOptions{})
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
	f, problems, err := ParseCSV(strings.NewReader("UserPrincipalName,SkuPartNumber\nann@contoso.com,\nann@contoso.com,\n"), CSVOptions{AllowEmptySku: true})
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

// adminCenterExport is shaped as the Microsoft 365 admin center's Active
// users export: its column names, many columns the import does not use,
// licenses as tenant:PART joined with '+', Unlicensed, mixed-case UPNs.
const adminCenterExport = "\ufeffBlock credential,City,Country/Region,Department,DirSyncEnabled,Display name,Fax,First name,Last dirsync time,Last name,Last password change time stamp,License assignment details,Licenses,Mobile Phone,Oath token metadata,Object Id,Office,Password never expires,Phone number,Postal code,Preferred data location,Preferred language,Proxy addresses,Release track,Soft deletion time stamp,State,Street address,Strong password required,Title,Usage location,User principal name,When created\r\n" +
	`False,Berlin,Germany,Sales,,Ann Lee,,Ann,,Lee,2026-01-05 10:00:00,"SPE_E3: ...",contoso:SPE_E3+contoso:POWER_BI_PRO,,,0b1c,,False,,10115,,de-DE,SMTP:Ann.Lee@contoso.com,,,,,True,Manager,DE,Ann.Lee@Contoso.com,2025-03-01 09:00:00` + "\r\n" +
	`False,Dublin,Ireland,IT,,Gina Ray,,Gina,,Ray,,,Unlicensed,,,0b1d,,False,,,,en-IE,,,,,,True,,IE,gina@contoso.com,2025-03-02 09:00:00` + "\r\n"

func TestParseCSVAdminCenterExport(t *testing.T) {
	f, problems, err := ParseCSV(strings.NewReader(adminCenterExport), CSVOptions{})
	if err != nil || len(problems) > 0 {
		t.Fatalf("err %v, problems %v", err, problems)
	}
	want := []ImportRow{
		{Line: 2, UserPrincipalName: "Ann.Lee@Contoso.com", DisplayName: "Ann Lee", SkuPartNumbers: []string{"SPE_E3", "POWER_BI_PRO"}, UsageLocation: "DE"},
		{Line: 3, UserPrincipalName: "gina@contoso.com", DisplayName: "Gina Ray", Unlicensed: true, UsageLocation: "IE"},
	}
	if !reflect.DeepEqual(f.Rows, want) {
		t.Errorf("rows\n got %+v\nwant %+v", f.Rows, want)
	}
	if f.Label(ColSkuPartNumber) != "Licenses" || f.Label(ColUserPrincipalName) != "User principal name" || !f.HasUsageLocation {
		t.Errorf("labels %v", f.Labels)
	}
	if !reflect.DeepEqual(f.Tenants, []string{"contoso"}) || len(f.IgnoredColumns) != 28 {
		t.Errorf("tenants %v, ignored %d %v", f.Tenants, len(f.IgnoredColumns), f.IgnoredColumns)
	}

	// --tenant checks the prefix: another tenant's row is invalid.
	_, problems, err = ParseCSV(strings.NewReader(adminCenterExport), CSVOptions{Tenant: "fabrikam"})
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].String(),
		"line 2: Licenses: contoso:SPE_E3 belongs to tenant contoso, not fabrikam (--tenant)") {
		t.Errorf("--tenant fabrikam: %v %v", err, problems)
	}
	if _, problems, _ = ParseCSV(strings.NewReader(adminCenterExport), CSVOptions{Tenant: "Contoso"}); len(problems) != 0 {
		t.Errorf("--tenant compares ignoring case: %v", problems)
	}
}

func TestParseCSVLicenseValues(t *testing.T) {
	for _, tc := range []struct {
		value      string
		parts      []string
		unlicensed bool
		problem    string
	}{
		{"SPE_E3", []string{"SPE_E3"}, false, ""},
		{"contoso:SPE_E3+contoso:POWER_BI_PRO", []string{"SPE_E3", "POWER_BI_PRO"}, false, ""},
		{"SPE_E3 ; POWER_BI_PRO + EMS", []string{"SPE_E3", "POWER_BI_PRO", "EMS"}, false, ""},
		{"unlicensed", nil, true, ""},
		{"Unlicensed+SPE_E3", nil, false, "Unlicensed cannot be combined with licenses"},
		{"contoso:SPE_E3+SPE_E3", nil, false, `"SPE_E3" is listed twice`},
		{":SPE_E3", nil, false, `":SPE_E3" is not TENANT:PART_NUMBER`},
	} {
		rows, problems, err := ParseCSV(strings.NewReader("User principal name,Licenses\nann@contoso.com,\""+tc.value+"\"\n"), CSVOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tc.problem != "" {
			if len(problems) != 1 || !strings.Contains(problems[0].Message, tc.problem) {
				t.Errorf("%q: problems %v, want %q", tc.value, problems, tc.problem)
			}
			continue
		}
		if len(problems) > 0 || !reflect.DeepEqual(rows.Rows[0].SkuPartNumbers, tc.parts) || rows.Rows[0].Unlicensed != tc.unlicensed {
			t.Errorf("%q: %+v %v", tc.value, rows.Rows, problems)
		}
	}
	// Unlicensed and licenses for one user (any case of the UPN) contradict.
	_, problems, _ := ParseCSV(strings.NewReader("UPN,Licenses\nann@contoso.com,Unlicensed\nANN@contoso.com,SPE_E3\n"), CSVOptions{})
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "line 3: line 2 says ANN@contoso.com is Unlicensed, this line gives licenses") {
		t.Errorf("contradiction: %v", problems)
	}
}
