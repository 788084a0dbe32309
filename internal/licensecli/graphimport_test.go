package licensecli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/licenseops/license-operator/internal/graph"
	"github.com/licenseops/license-operator/internal/graph/graphtest"
)

// contoso is a tenant with direct and group licenses, a guest and a
// group whose members cannot be read.
func contoso(t *testing.T) *graphtest.Server {
	s := graphtest.NewServer()
	t.Cleanup(s.Close)
	s.SetPageSize(2) // every listing pages
	s.AddSku("SPE_E3", 10, "EXCHANGE_S_ENTERPRISE", "SWAY", "TEAMS1")
	s.AddSku("POWER_BI_PRO", 5, "BI_AZURE_P2")
	s.AddSku("VISIOCLIENT", 0, "VISIO_CLIENT_SUBSCRIPTION")
	s.SetPrepaid("VISIOCLIENT", 2, 1, 3, 0)
	s.AddUser("ann@contoso.com", "DE", graphtest.License{Sku: "SPE_E3", Disabled: []string{"SWAY"}}, graphtest.License{Sku: "POWER_BI_PRO"})
	s.AddUser("ben@contoso.com", "US")
	s.AddUser("cid@contoso.com", "FR")
	s.AddUser("dan@contoso.com", "", graphtest.License{Sku: "SPE_E3"})
	s.AddUser("eve_fabrikam.com#EXT#@contoso.onmicrosoft.com", "DE", graphtest.License{Sku: "POWER_BI_PRO"})
	s.AddGroup("All Staff", []graphtest.License{{Sku: "SPE_E3", Disabled: []string{"TEAMS1"}}}, "ben@contoso.com", "ann@contoso.com")
	s.AddGroup("Visio users", []graphtest.License{{Sku: "VISIOCLIENT"}}, "cid@contoso.com")
	s.AddGroup("No licenses", nil, "cid@contoso.com")
	return s
}

func TestGraphImport(t *testing.T) {
	s := contoso(t)
	s.Throttle("users", 1, 3*time.Second)
	s.Fail("/groups/"+graphtest.ID("group", "Visio users")+"/members", http.StatusForbidden)
	c, err := s.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := ReadGraphTenant(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	res := BuildGraphImport("contoso", tenant)

	got := map[string]string{}
	for _, o := range res.Objects() {
		m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		spec, _, _ := unstructured.NestedMap(m, "spec")
		got[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = fmt.Sprint(spec)
	}
	want := map[string]string{
		"LicenseSku/spe-e3":       "map[servicePlans:[map[name:EXCHANGE_S_ENTERPRISE] map[name:SWAY] map[name:TEAMS1]] skuPartNumber:SPE_E3 subscriptions:[map[name:enabled seats:10 state:Enabled]]]",
		"LicenseSku/power-bi-pro": "map[servicePlans:[map[name:BI_AZURE_P2]] skuPartNumber:POWER_BI_PRO subscriptions:[map[name:enabled seats:5 state:Enabled]]]",
		"LicenseSku/visioclient":  "map[servicePlans:[map[name:VISIO_CLIENT_SUBSCRIPTION]] skuPartNumber:VISIOCLIENT subscriptions:[map[name:enabled seats:2 state:Enabled] map[name:warning seats:1 state:Warning] map[name:suspended seats:3 state:Suspended]]]",
		"LicenseGroup/all-staff":  "map[displayName:All Staff licenses:[map[disabledPlans:[TEAMS1] sku:spe-e3]] members:[ann@contoso.com ben@contoso.com]]",
		"UserLicense/ann":         "map[licenses:[map[sku:power-bi-pro] map[disabledPlans:[SWAY] sku:spe-e3]] usageLocation:DE userPrincipalName:ann@contoso.com]",
		"UserLicense/ben":         "map[usageLocation:US userPrincipalName:ben@contoso.com]",
		"UserLicense/dan":         "map[licenses:[map[sku:spe-e3]] userPrincipalName:dan@contoso.com]",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s:\n got %s\nwant %s", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %s", k, got[k])
		}
	}
	problems := strings.Join(res.Problems, "\n")
	for _, p := range []string{
		`group "Visio users" (` + graphtest.ID("group", "Visio users") + `): its members could not be read`,
		"user eve_fabrikam.com#EXT#@contoso.onmicrosoft.com: not a userPrincipalName a UserLicense accepts",
	} {
		if !strings.Contains(problems, p) {
			t.Errorf("problems lack %q:\n%s", p, problems)
		}
	}
	if len(res.Problems) != 2 {
		t.Errorf("%d problems, want 2:\n%s", len(res.Problems), problems)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "does not expose service plan conflicts") || !strings.Contains(notes, "1 users without direct licenses") {
		t.Errorf("notes:\n%s", notes)
	}
	// Every object is valid for its CRD's Go type (names, patterns).
	m := NewManifests("contoso")
	for _, o := range res.Objects() {
		u, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err := m.Add(&unstructured.Unstructured{Object: u}, "import"); err != nil {
			t.Error(err)
		}
	}
}

func TestGraphImportReportsWhatCannotBeMapped(t *testing.T) {
	tenant := &GraphTenant{
		Skus: []graph.SubscribedSku{{SkuID: "s1", SkuPartNumber: "E3", ServicePlans: []graph.ServicePlanInfo{{ServicePlanID: "p1", ServicePlanName: "EXO"}}}},
		Users: []graph.User{
			{ID: "u1", UserPrincipalName: "ann@contoso.com", UsageLocation: "de",
				LicenseAssignmentStates: []graph.LicenseAssignmentState{{SkuID: "S1", DisabledPlans: []string{"P1", "p-unknown"}}, {SkuID: "gone"}}},
		},
		Groups: []GraphGroup{{Group: graph.Group{ID: "g1", DisplayName: "Nested", AssignedLicenses: []graph.AssignedLicense{{SkuID: "s1"}}},
			Members: []graph.DirectoryObject{{ODataType: "#microsoft.graph.group", ID: "g2"}, {ODataType: graph.ODataTypeUser, ID: "u1"}, {ODataType: graph.ODataTypeUser, ID: "u9", UserPrincipalName: "zed@contoso.com"}}}},
	}
	res := BuildGraphImport("ns", tenant)
	problems := strings.Join(res.Problems, "\n")
	for _, p := range []string{
		`user ann@contoso.com: usageLocation "de" is not an ISO 3166-1 alpha-2 code`,
		"user ann@contoso.com: disabled plan p-unknown is not a plan of e3",
		"user ann@contoso.com: license gone is not among the subscribed SKUs",
		`group "Nested": member g2 (group) is not a user`,
		`group "Nested": member zed@contoso.com was not imported as a user`,
	} {
		if !strings.Contains(problems, p) {
			t.Errorf("problems lack %q:\n%s", p, problems)
		}
	}
	if len(res.Users) != 1 || len(res.Users[0].Spec.Licenses) != 1 || strings.Join(res.Users[0].Spec.Licenses[0].DisabledPlans, ",") != "EXO" {
		t.Errorf("users %+v", res.Users)
	}
	if g := res.Groups[0]; strings.Join(g.Spec.Members, ",") != "ann@contoso.com" || g.Spec.Licenses[0].SKU != "e3" {
		t.Errorf("group %+v", g.Spec)
	}
}
