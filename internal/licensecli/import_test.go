package licensecli

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

func sku(name, part string, plans ...string) *licv1.LicenseSku {
	s := &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "t"},
		Spec: licv1.LicenseSkuSpec{SkuPartNumber: part, Subscriptions: []licv1.Subscription{{Name: "a", Seats: 10}}}}
	for _, p := range plans {
		s.Spec.ServicePlans = append(s.Spec.ServicePlans, licv1.ServicePlan{Name: p})
	}
	return s
}

func user(name, upn string, licenses ...licv1.LicenseAssignment) *licv1.UserLicense {
	return &licv1.UserLicense{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "t", ResourceVersion: "7", UID: "u"},
		Spec: licv1.UserLicenseSpec{UserPrincipalName: upn, UsageLocation: "DE", Licenses: licenses}}
}

func lic(s string, disabled ...string) licv1.LicenseAssignment {
	return licv1.LicenseAssignment{SKU: s, DisabledPlans: disabled}
}

var importSKUs = []*licv1.LicenseSku{
	sku("e3", "SPE_E3", "EXCHANGE", "SWAY", "TEAMS"),
	sku("bi", "POWER_BI_PRO", "BI"),
	sku("p1", "EXCHANGESTANDARD", "EXCHANGE_STD"),
}

// importCSV parses csv and imports it into the existing users.
func importCSV(t *testing.T, mode ImportMode, csv string, users ...*licv1.UserLicense) *ImportResult {
	t.Helper()
	f, problems, err := ParseCSV(strings.NewReader(csv), CSVOptions{AllowEmptySku: mode == ModeReplace})
	if err != nil {
		t.Fatal(err)
	}
	return BuildImport(ImportInput{Namespace: "t", Mode: mode, SKUs: importSKUs, Users: users, File: f}, problems)
}

func licensesOf(r *ImportResult, name string) []licv1.LicenseAssignment {
	for _, u := range r.Users {
		if u.Object.Name == name {
			return u.Object.Spec.Licenses
		}
	}
	return nil
}

func TestImportModes(t *testing.T) {
	ann := func() *licv1.UserLicense { return user("ann", "ann@contoso.com", lic("e3", "SWAY"), lic("p1")) }

	t.Run("add merges and keeps plan settings without a DisabledPlans column", func(t *testing.T) {
		r := importCSV(t, ModeAdd, "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3;POWER_BI_PRO\n", ann())
		want := []licv1.LicenseAssignment{lic("e3", "SWAY"), lic("p1"), lic("bi")}
		if got := licensesOf(r, "ann"); !reflect.DeepEqual(got, want) {
			t.Errorf("licenses %+v, want %+v", got, want)
		}
		u := r.Users[0]
		if !reflect.DeepEqual(u.Added, []string{"bi"}) || u.Updated != nil || u.Removed != nil || u.Unchanged {
			t.Errorf("changes %+v", u)
		}
		// The apply sends the whole resulting list: an apply of the named
		// entries alone would drop the entries this field manager set in an
		// earlier import, and their seats could go to someone else.
		if !reflect.DeepEqual(u.ApplyLicenses, want) {
			t.Errorf("apply %+v", u.ApplyLicenses)
		}
	})
	t.Run("add with DisabledPlans replaces the plans of the named SKU", func(t *testing.T) {
		r := importCSV(t, ModeAdd, "UserPrincipalName,SkuPartNumber,DisabledPlans\nann@contoso.com,SPE_E3,TEAMS\n", ann())
		if got := licensesOf(r, "ann"); !reflect.DeepEqual(got, []licv1.LicenseAssignment{lic("e3", "TEAMS"), lic("p1")}) {
			t.Errorf("licenses %+v", got)
		}
		if !reflect.DeepEqual(r.Users[0].Updated, []string{"e3"}) {
			t.Errorf("updated %v", r.Users[0].Updated)
		}
	})
	t.Run("add of what the user has is unchanged", func(t *testing.T) {
		r := importCSV(t, ModeAdd, "UserPrincipalName,SkuPartNumber,UsageLocation\nann@contoso.com,SPE_E3,DE\n", ann())
		if !r.Users[0].Unchanged || r.Users[0].Summary() != "unchanged" {
			t.Errorf("%+v", r.Users[0])
		}
	})
	t.Run("replace sets exactly the rows' licenses", func(t *testing.T) {
		r := importCSV(t, ModeReplace, "UserPrincipalName,SkuPartNumber,UsageLocation\nann@contoso.com,POWER_BI_PRO,FR\nann@contoso.com,SPE_E3,\n", ann())
		want := []licv1.LicenseAssignment{lic("bi"), lic("e3", "SWAY")}
		u := r.Users[0]
		if !reflect.DeepEqual(u.Object.Spec.Licenses, want) || !reflect.DeepEqual(u.ApplyLicenses, want) {
			t.Errorf("licenses %+v apply %+v", u.Object.Spec.Licenses, u.ApplyLicenses)
		}
		if u.Summary() != "+bi -p1 usageLocation=FR" || u.Object.Spec.UsageLocation != "FR" {
			t.Errorf("summary %q", u.Summary())
		}
	})
	t.Run("replace with an empty SkuPartNumber removes every direct license", func(t *testing.T) {
		r := importCSV(t, ModeReplace, "UserPrincipalName,SkuPartNumber\nann@contoso.com,\n", ann())
		u := r.Users[0]
		if len(u.Object.Spec.Licenses) != 0 || u.ApplyLicenses == nil || len(u.ApplyLicenses) != 0 || u.Summary() != "-e3 -p1" {
			t.Errorf("%+v", u)
		}
	})
	t.Run("replace leaves out a user with an invalid row", func(t *testing.T) {
		r := importCSV(t, ModeReplace, "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\nann@contoso.com,VISIO\nben@contoso.com,SPE_E3\n", ann())
		if len(r.Users) != 1 || r.Users[0].Object.Spec.UserPrincipalName != "ben@contoso.com" {
			t.Errorf("users %+v", r.Users)
		}
		if len(r.Problems) != 2 || r.Problems[0].String() != "line 2: ann@contoso.com is not imported at all (line(s) 2 neither): with --mode replace a user's rows together make the new license list, and line 3 is invalid" {
			t.Errorf("problems %v", r.Problems)
		}
	})
	t.Run("remove drops the rows' licenses and notes what is not there", func(t *testing.T) {
		r := importCSV(t, ModeRemove, "UserPrincipalName,SkuPartNumber\nann@contoso.com,EXCHANGESTANDARD;POWER_BI_PRO\n", ann())
		if got := licensesOf(r, "ann"); !reflect.DeepEqual(got, []licv1.LicenseAssignment{lic("e3", "SWAY")}) {
			t.Errorf("licenses %+v", got)
		}
		if len(r.Notes) != 1 || r.Notes[0].String() != "line 2: ann@contoso.com has no direct assignment of bi: nothing to remove" {
			t.Errorf("notes %v", r.Notes)
		}
		if len(r.Problems) != 0 {
			t.Errorf("problems %v", r.Problems)
		}
	})
	t.Run("remove needs an existing user and no DisabledPlans", func(t *testing.T) {
		r := importCSV(t, ModeRemove, "UserPrincipalName,SkuPartNumber,DisabledPlans\nzoe@contoso.com,SPE_E3,\nann@contoso.com,SPE_E3,SWAY\n", ann())
		if len(r.Users) != 0 || len(r.Problems) != 2 ||
			!strings.Contains(r.Problems[0].String(), "line 2: no UserLicense in namespace t has userPrincipalName zoe@contoso.com") ||
			!strings.Contains(r.Problems[1].String(), "line 3: DisabledPlans has no meaning with --mode remove") {
			t.Errorf("%+v", r)
		}
	})
}

func TestImportResolvesSKUsAndPlans(t *testing.T) {
	r := importCSV(t, ModeAdd, "UserPrincipalName,SkuPartNumber,DisabledPlans\n"+
		"ann@contoso.com,spe_e3;POWER_BI_PRO,SWAY;BI\n"+ // part numbers case-insensitive; plans per SKU
		"ben@contoso.com,VISIO,\n"+
		"carla@contoso.com,SPE_E3,YAMMER\n"+
		"dave@contoso.com,SPE_E3,\n"+
		"dave@contoso.com,spe_E3,\n") // a duplicate only visible after resolving
	if got := licensesOf(r, "ann"); !reflect.DeepEqual(got, []licv1.LicenseAssignment{lic("e3", "SWAY"), lic("bi", "BI")}) {
		t.Errorf("ann %+v", got)
	}
	var got []string
	for _, p := range r.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"line 3: unknown SkuPartNumber VISIO: no LicenseSku in namespace t has it (known: EXCHANGESTANDARD, POWER_BI_PRO, SPE_E3)",
		"line 4: DisabledPlans lists YAMMER, which none of SPE_E3 has (their plans: EXCHANGE, SWAY, TEAMS): correct the plan name",
		"line 6: duplicate row: line 5 already lists spe_E3 for dave@contoso.com; remove one of the two lines",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n got %q\nwant %q", got, want)
	}
	// Ambiguous part numbers are refused, not guessed.
	f, _, _ := ParseCSV(strings.NewReader("UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n"), CSVOptions{})
	r = BuildImport(ImportInput{Namespace: "t", Mode: ModeAdd, SKUs: append(importSKUs, sku("e3-copy", "SPE_E3")), File: f}, nil)
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "SkuPartNumber SPE_E3 is ambiguous: LicenseSkus e3, e3-copy") {
		t.Errorf("%v", r.Problems)
	}
}

func TestImportNewUsers(t *testing.T) {
	existing := user("ann", "ann@contoso.com")
	existing.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "x"}
	r := importCSV(t, ModeAdd, "UserPrincipalName,SkuPartNumber,UsageLocation\n"+
		"Ann@Contoso.com,SPE_E3,\n"+ // the existing ann, whatever the case
		"ann@fabrikam.com,SPE_E3,GB\n"+
		"ann@northwind.com,SPE_E3,GB\n"+
		"Ben.O'Neil+test@contoso.com,SPE_E3,US\n", existing)
	var names []string
	for _, u := range r.Users {
		names = append(names, u.Object.Name)
	}
	if !reflect.DeepEqual(names, []string{"ann", "ann-fabrikam", "ann-northwind", "ben-o-neil-test"}) {
		t.Errorf("names %v", names)
	}
	a := r.Users[0].Object
	if !r.Users[0].Existing || a.Spec.UserPrincipalName != "ann@contoso.com" || a.ResourceVersion != "" || a.UID != "" ||
		!reflect.DeepEqual(a.Annotations, map[string]string{"team": "x"}) {
		t.Errorf("existing ann, cleaned for GitOps: %+v", a)
	}
	n := r.Users[1].Object
	if r.Users[1].Existing || n.Kind != "UserLicense" || n.APIVersion != "licensing.licenseops.dev/v1alpha1" || n.Namespace != "t" || n.Spec.UsageLocation != "GB" {
		t.Errorf("new user %+v", n)
	}
}

func TestNames(t *testing.T) {
	for upn, want := range map[string]string{
		"ann@contoso.com":                        "ann",
		"Ann.Lee@contoso.com":                    "ann-lee",
		"_x__y_@contoso.com":                     "x-y",
		"%%%@contoso.com":                        "user",
		strings.Repeat("a", 70) + "@contoso.com": strings.Repeat("a", 63),
		"o'brien-@contoso.com":                   "o-brien",
	} {
		if got := NameFromUPN(upn); got != want {
			t.Errorf("NameFromUPN(%q) = %q, want %q", upn, got, want)
		}
	}
	taken := map[string]bool{"ann": true, "ann-contoso": true}
	if got := UniqueName("ann@contoso.com", taken); got != "ann-2" {
		t.Errorf("got %q, want ann-2", got)
	}
	if got := UniqueName("ann@contoso.com", taken); got != "ann-3" {
		t.Errorf("got %q, want ann-3", got)
	}
	long := strings.Repeat("b", 63)
	taken = map[string]bool{long: true}
	if got := UniqueName(long+"@fabrikam.com", taken); got != strings.Repeat("b", 54)+"-fabrikam" || len(got) > 63 {
		t.Errorf("got %q", got)
	}
}

func TestImportUnlicensedAndSKUNames(t *testing.T) {
	frank := user("frank", "frank@contoso.com", lic("bi"))
	r := importCSV(t, ModeAdd, "User principal name,Licenses,Usage location\nFRANK@contoso.com,Unlicensed,US\nivy@contoso.com,Unlicensed,IE\n", frank)
	if len(r.Problems) != 0 || len(r.Users) != 2 {
		t.Fatalf("problems %v, users %d", r.Problems, len(r.Users))
	}
	f, ivy := r.Users[0], r.Users[1]
	// add keeps frank's direct licenses, and says so; his spelling is kept.
	if f.Object.Spec.UserPrincipalName != "frank@contoso.com" || !reflect.DeepEqual(f.Object.Spec.Licenses, []licv1.LicenseAssignment{lic("bi")}) ||
		f.Object.Spec.UsageLocation != "US" || !f.LocationChanged {
		t.Errorf("frank: %+v", f)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0].String(), "line 2: FRANK@contoso.com is Unlicensed in the file but has direct licenses (bi): --mode add keeps them") {
		t.Errorf("notes %v", r.Notes)
	}
	if ivy.Existing || ivy.Object.Name != "ivy" || len(ivy.Object.Spec.Licenses) != 0 || ivy.Object.Spec.UsageLocation != "IE" {
		t.Errorf("ivy: %+v", ivy.Object)
	}
	// replace: Unlicensed removes every direct license.
	r = importCSV(t, ModeReplace, "UPN,Licenses\nfrank@contoso.com,Unlicensed\n", frank)
	if u := r.Users[0]; len(u.Object.Spec.Licenses) != 0 || !reflect.DeepEqual(u.Removed, []string{"bi"}) || len(u.ApplyLicenses) != 0 || u.ApplyLicenses == nil {
		t.Errorf("replace Unlicensed: %+v", u)
	}

	// Rows naming LicenseSkus directly (kubectl license assign).
	res := BuildImport(ImportInput{Namespace: "t", Mode: ModeAdd, SKUs: importSKUs, Users: []*licv1.UserLicense{frank},
		File: &ImportRows{Rows: []ImportRow{{UserPrincipalName: "frank@contoso.com", SKUs: []string{"e3"}, DisabledPlans: []string{"SWAY"}}},
			HasDisabledPlans: true, Labels: map[string]string{ColDisabledPlans: "--disabled-plans"}}}, nil)
	if len(res.Problems) != 0 || !reflect.DeepEqual(res.Users[0].Object.Spec.Licenses, []licv1.LicenseAssignment{lic("bi"), lic("e3", "SWAY")}) {
		t.Errorf("by name: %+v %v", res.Users, res.Problems)
	}
	res = BuildImport(ImportInput{Namespace: "t", Mode: ModeAdd, SKUs: importSKUs, Users: []*licv1.UserLicense{frank},
		File: &ImportRows{Rows: []ImportRow{{UserPrincipalName: "frank@contoso.com", SKUs: []string{"e3"}, DisabledPlans: []string{"NOPE"}}},
			HasDisabledPlans: true, Labels: map[string]string{ColDisabledPlans: "--disabled-plans"}}}, nil)
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Message, "--disabled-plans lists NOPE, which none of e3 has (their plans: EXCHANGE, SWAY, TEAMS)") {
		t.Errorf("unknown plan: %v", res.Problems)
	}
}
