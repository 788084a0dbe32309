package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/licenseops/license-operator/internal/graph"
	"github.com/licenseops/license-operator/internal/graph/graphtest"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The documented example payloads decode into the client's types.
func TestDocumentedPayloadsDecode(t *testing.T) {
	var skus struct{ Value []graph.SubscribedSku }
	if err := json.Unmarshal(readTestdata(t, "subscribedskus-list.response.json"), &skus); err != nil {
		t.Fatal(err)
	}
	if len(skus.Value) != 2 {
		t.Fatalf("got %d SKUs, want 2", len(skus.Value))
	}
	s := skus.Value[0]
	if s.SkuPartNumber != "ENTERPRISEPREMIUM" || s.SkuID != "c7df2760-2c81-4ef7-b578-5b5392b571df" || s.PrepaidUnits.Enabled != 25 || s.ConsumedUnits != 14 ||
		len(s.ServicePlans) != 1 || s.ServicePlans[0].ServicePlanName != "ADALLOM_S_O365" {
		t.Errorf("first SKU decoded as %+v", s)
	}
	if skus.Value[1].PrepaidUnits.Suspended != 25 || skus.Value[1].CapabilityStatus != "Suspended" {
		t.Errorf("second SKU decoded as %+v", skus.Value[1])
	}

	var details struct{ Value []graph.LicenseDetails }
	if err := json.Unmarshal(readTestdata(t, "user-list-licensedetails.response.json"), &details); err != nil {
		t.Fatal(err)
	}
	if len(details.Value) != 2 || details.Value[1].SkuPartNumber != "SCHOOL_DATA_SYNC_P2" || len(details.Value[0].ServicePlans) != 5 {
		t.Errorf("licenseDetails decoded as %+v", details.Value)
	}

	// The request the client sends has the documented shape.
	var doc, ours map[string]any
	if err := json.Unmarshal(readTestdata(t, "user-assignlicense.request.json"), &doc); err != nil {
		t.Fatal(err)
	}
	req := graph.AssignLicenseRequest{
		AddLicenses:    []graph.AssignedLicense{{SkuID: "45715bb8-13f9-4bf6-927f-ef96c102d394", DisabledPlans: []string{"11b0131d-43c8-4bbb-b2c8-e80f9a50834a"}}},
		RemoveLicenses: []string{"bea13e0c-3828-4daa-a392-28af7ff61a0f"},
	}
	data, _ := json.Marshal(req)
	_ = json.Unmarshal(data, &ours)
	if fmt.Sprint(doc) != fmt.Sprint(ours) {
		t.Errorf("assignLicense request\n got %v\nwant %v", ours, doc)
	}
	// Empty lists are sent as [], never null or absent.
	empty := graph.AssignLicenseRequest{AddLicenses: []graph.AssignedLicense{{SkuID: "x"}}}
	empty.Normalize()
	data, _ = json.Marshal(empty)
	if string(data) != `{"addLicenses":[{"skuId":"x","disabledPlans":[]}],"removeLicenses":[]}` {
		t.Errorf("normalized request = %s", data)
	}

	var user graph.User
	if err := json.Unmarshal(readTestdata(t, "user-assignlicense.response.json"), &user); err != nil {
		t.Fatal(err)
	}
	if len(user.AssignedLicenses) != 1 || user.AssignedLicenses[0].DisabledPlans[0] != "11b0131d-43c8-4bbb-b2c8-e80f9a50834a" {
		t.Errorf("assignLicense response decoded as %+v", user)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The test server answers with the documented shapes: every property of
// the documented examples is present in its answers.
func TestServerFollowsDocumentedShapes(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	s.AddSku("SPE_E3", 5, "EXCHANGE_S_ENTERPRISE", "SWAY")
	s.AddUser("ann@contoso.com", "DE", graphtest.License{Sku: "SPE_E3"})

	get := func(path string) map[string]any {
		t.Helper()
		cred, err := s.Credential()
		if err != nil {
			t.Fatal(err)
		}
		c, err := graph.New(s.URL, cred, graph.Options{HTTPClient: s.Client(), Clock: s.Clock})
		if err != nil {
			t.Fatal(err)
		}
		_ = c
		tok, err := cred.GetToken(context.Background(), tokenOpts(s.URL))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct{ doc, path string }{
		{"subscribedskus-list.response.json", "/v1.0/subscribedSkus"},
		{"user-list-licensedetails.response.json", "/v1.0/users/ann@contoso.com/licenseDetails"},
	} {
		var doc map[string]any
		if err := json.Unmarshal(readTestdata(t, tc.doc), &doc); err != nil {
			t.Fatal(err)
		}
		got := get(tc.path)
		if !slices.Equal(keys(got), keys(doc)) {
			t.Errorf("%s: top-level properties %v, documented %v", tc.path, keys(got), keys(doc))
		}
		docItem := doc["value"].([]any)[0].(map[string]any)
		gotItem := got["value"].([]any)[0].(map[string]any)
		if !slices.Equal(keys(gotItem), keys(docItem)) {
			t.Errorf("%s: item properties %v, documented %v", tc.path, keys(gotItem), keys(docItem))
		}
		docPlan := docItem["servicePlans"].([]any)[0].(map[string]any)
		gotPlan := gotItem["servicePlans"].([]any)[0].(map[string]any)
		if !slices.Equal(keys(gotPlan), keys(docPlan)) {
			t.Errorf("%s: service plan properties %v, documented %v", tc.path, keys(gotPlan), keys(docPlan))
		}
	}
}

func newClient(t *testing.T, s *graphtest.Server, writes *graph.Budget) *graph.Client {
	t.Helper()
	c, err := s.NewClient(writes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListingsPageAndSurviveThrottling(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	s.SetPageSize(2)
	s.AddSku("SPE_E3", 10, "EXCHANGE_S_ENTERPRISE")
	var upns []string
	for i := range 5 {
		upn := fmt.Sprintf("user%d@contoso.com", i)
		upns = append(upns, upn)
		s.AddUser(upn, "DE", graphtest.License{Sku: "SPE_E3"})
	}
	s.AddGroup("all", []graphtest.License{{Sku: "SPE_E3"}}, upns...)
	s.Throttle("users", 2, 7*time.Second)
	c := newClient(t, s, nil)
	ctx := context.Background()

	start := s.Clock.Now()
	var got []string
	pages := 0
	err := c.Users(ctx, func(page []graph.User) error {
		pages++
		for _, u := range page {
			got = append(got, u.UserPrincipalName)
			if len(u.LicenseAssignmentStates) != 2 || !u.LicenseAssignmentStates[0].Direct() || u.LicenseAssignmentStates[1].Direct() {
				t.Errorf("%s: states %+v, want a direct one and an inherited one", u.UserPrincipalName, u.LicenseAssignmentStates)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, upns) || pages != 3 {
		t.Errorf("got %v in %d pages, want %v in 3", got, pages, upns)
	}
	if waited := s.Clock.Now().Sub(start); waited != 14*time.Second {
		t.Errorf("waited %s on the clock for two 429s with Retry-After 7, want 14s", waited)
	}
	throttled := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 2 {
		t.Errorf("%d throttled requests, want 2", throttled)
	}

	groups, err := c.Groups(ctx)
	if err != nil || len(groups) != 1 || len(groups[0].AssignedLicenses) != 1 {
		t.Fatalf("groups %+v, %v", groups, err)
	}
	members, err := c.GroupMembers(ctx, groups[0].ID)
	if err != nil || len(members) != 5 || members[4].ODataType != graph.ODataTypeUser {
		t.Fatalf("members %+v, %v", members, err)
	}
	skus, err := c.SubscribedSkus(ctx)
	if err != nil || len(skus) != 1 || skus[0].ConsumedUnits != 5 {
		t.Fatalf("skus %+v, %v", skus, err)
	}
}

func TestRetriesGiveUpAndErrorsCarryGraphsCode(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	s.Throttle("subscribedSkus", graph.DefaultMaxRetries+1, time.Second)
	c := newClient(t, s, nil)
	_, err := c.SubscribedSkus(context.Background())
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != http.StatusTooManyRequests || ge.RetryAfter != time.Second {
		t.Fatalf("err = %v, want the last 429", err)
	}

	s.Fail("/groups", http.StatusForbidden)
	_, err = c.Groups(context.Background())
	if !graph.IsAccessDenied(err) || !strings.Contains(err.Error(), "Authorization_RequestDenied") {
		t.Fatalf("err = %v, want a 403 with Graph's code", err)
	}
}

func TestWrongSecretIsAnAuthError(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	cred, err := graph.NewCredential(graph.CredentialConfig{TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: "wrong", AuthorityHost: s.URL, HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := graph.New(s.URL, cred, graph.Options{HTTPClient: s.Client(), Clock: s.Clock, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SubscribedSkus(context.Background())
	if !graph.IsAuthError(err) || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("err = %v, want the token endpoint's refusal", err)
	}
}

func TestNextLinkToAnotherHostIsRefused(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	other := graphtest.NewServer()
	defer other.Close()
	// A client of other's endpoint that is handed a nextLink to s.
	cred, _ := other.Credential()
	c, err := graph.New(other.URL, cred, graph.Options{HTTPClient: other.Client(), Clock: other.Clock})
	if err != nil {
		t.Fatal(err)
	}
	other.SetPageSize(1)
	other.AddUser("a@contoso.com", "DE")
	other.AddUser("b@contoso.com", "DE")
	pages := 0
	err = c.Users(context.Background(), func([]graph.User) error { pages++; return nil })
	if err != nil || pages != 2 {
		t.Fatalf("same host: %d pages, %v", pages, err)
	}
	if _, err := graph.New("http://graph.example.com", cred, graph.Options{}); err == nil {
		t.Error("an http:// endpoint was accepted")
	}
}

func TestAssignLicensesBatchesWithinTheBudget(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	s.AddSku("SPE_E3", 100, "EXCHANGE_S_ENTERPRISE", "SWAY")
	var items []graph.Assignment
	for i := range 45 {
		id := s.AddUser(fmt.Sprintf("u%02d@contoso.com", i), "DE")
		items = append(items, graph.Assignment{UserID: id, Request: graph.AssignLicenseRequest{
			AddLicenses: []graph.AssignedLicense{{SkuID: graphtest.ID("sku", "SPE_E3"), DisabledPlans: []string{graphtest.ID("plan", "SWAY")}}},
		}})
	}
	// Three calls of the first batch are throttled.
	s.Throttle("assignLicense", 3, 5*time.Second)
	const perSecond = 4
	budget := graph.NewBudget(perSecond, perSecond, s.Clock)
	c := newClient(t, s, budget)
	var results []graph.AssignResult
	if err := c.AssignLicenses(context.Background(), items, func(r graph.AssignResult) { results = append(results, r) }); err != nil {
		t.Fatal(err)
	}
	if len(results) != 45 {
		t.Fatalf("%d results, want 45", len(results))
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.UserID, r.Err)
		}
	}
	for i := range 45 {
		got := s.DirectLicenses(fmt.Sprintf("u%02d@contoso.com", i))
		if fmt.Sprint(got) != "map[SPE_E3:[SWAY]]" {
			t.Errorf("u%02d holds %v", i, got)
		}
	}
	writes := s.Writes()
	if len(writes) != 48 {
		t.Errorf("%d assignLicense calls, want 45 + 3 retried", len(writes))
	}
	checkBudget(t, writes, perSecond, perSecond)
	batches := 0
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "$batch") {
			batches++
		}
	}
	// 48 calls in batches of at most 4 (the burst).
	if batches != 12 {
		t.Errorf("%d $batch requests, want 12", batches)
	}
}

// checkBudget asserts that in every window [t, t+1s) of the server's
// clock there are at most burst + perSecond writes, and over the whole
// run at most burst + perSecond * span.
func checkBudget(t *testing.T, writes []graphtest.Write, perSecond, burst int) {
	t.Helper()
	for i := range writes {
		n := 0
		for j := i; j < len(writes) && writes[j].At.Sub(writes[i].At) < time.Second; j++ {
			n++
		}
		if n > burst+perSecond {
			t.Fatalf("%d writes within 1s from %s: budget %d/s, burst %d", n, writes[i].At, perSecond, burst)
		}
	}
	span := writes[len(writes)-1].At.Sub(writes[0].At).Seconds()
	if float64(len(writes)) > float64(burst)+float64(perSecond)*span {
		t.Fatalf("%d writes in %.1fs exceed the budget %d/s + burst %d", len(writes), span, perSecond, burst)
	}
}

func TestAssignLicenseRefusalsAsEntra(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	s.AddSku("SPE_E3", 1, "EXCHANGE_S_ENTERPRISE", "YAMMER_ENTERPRISE", "SHAREPOINTENTERPRISE")
	s.AddSku("EXCHANGESTANDARD", 5, "EXCHANGE_S_STANDARD")
	s.AddSku("FLOW_FREE", 5, "FLOW_P1")
	s.Exclusive("EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD")
	s.Requires("YAMMER_ENTERPRISE", "SHAREPOINTENTERPRISE")
	s.ProhibitIn("FLOW_P1", "CN")
	ann := s.AddUser("ann@contoso.com", "DE", graphtest.License{Sku: "SPE_E3"})
	ben := s.AddUser("ben@contoso.com", "DE")
	cid := s.AddUser("cid@contoso.com", "CN")
	dan := s.AddUser("dan@contoso.com", "")
	add := func(part string, disabled ...string) graph.AssignLicenseRequest {
		var ids []string
		for _, d := range disabled {
			ids = append(ids, graphtest.ID("plan", d))
		}
		return graph.AssignLicenseRequest{AddLicenses: []graph.AssignedLicense{{SkuID: graphtest.ID("sku", part), DisabledPlans: ids}}}
	}
	c := newClient(t, s, nil)
	cases := []struct {
		user   string
		req    graph.AssignLicenseRequest
		reason string
	}{
		{ben, add("SPE_E3"), graph.ErrCountViolation},
		{ann, add("EXCHANGESTANDARD"), graph.ErrMutuallyExclusiveViolation},
		{ann, add("SPE_E3", "SHAREPOINTENTERPRISE"), graph.ErrDependencyViolation},
		{cid, add("FLOW_FREE"), graph.ErrProhibitedInUsageLocationViolation},
		{dan, add("FLOW_FREE"), graph.ErrProhibitedInUsageLocationViolation},
		{ben, graph.AssignLicenseRequest{RemoveLicenses: []string{graphtest.ID("sku", "FLOW_FREE")}}, "Request_BadRequest"},
	}
	var items []graph.Assignment
	for _, tc := range cases {
		items = append(items, graph.Assignment{UserID: tc.user, Request: tc.req})
	}
	i := 0
	err := c.AssignLicenses(context.Background(), items, func(r graph.AssignResult) {
		tc := cases[i]
		i++
		if r.UserID != tc.user {
			t.Fatalf("result %d for %s, want %s", i, r.UserID, tc.user)
		}
		if got := graph.LicenseErrorReason(r.Err); got != tc.reason {
			t.Errorf("case %d: reason %q (%v), want %s", i, got, r.Err, tc.reason)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changed: every call was refused as a whole.
	if got := fmt.Sprint(s.DirectLicenses("ann@contoso.com")); got != "map[SPE_E3:[]]" {
		t.Errorf("ann holds %s", got)
	}
	if s.Consumed("SPE_E3") != 1 || s.Consumed("FLOW_FREE") != 0 {
		t.Errorf("consumed SPE_E3 %d, FLOW_FREE %d", s.Consumed("SPE_E3"), s.Consumed("FLOW_FREE"))
	}
}

func TestBatchResponseErrorsParse(t *testing.T) {
	var resp struct {
		Responses []struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(readTestdata(t, "json-batching.response.json"), &resp); err != nil {
		t.Fatal(err)
	}
	r := resp.Responses[1]
	err := graph.ParseErrorForTest(r.Status, r.Body)
	if got := graph.LicenseErrorReason(err); got != "Authorization_RequestDenied" || !strings.Contains(err.Error(), "93b6f17e-c05d-4f45-ad2a-6665c708d8a0") {
		t.Errorf("reason %q from %v", got, err)
	}
}

func TestLicenseErrorReason(t *testing.T) {
	for msg, want := range map[string]string{
		"Subscription with SKU 6fd2c87f does not have any available licenses.":                    graph.ErrCountViolation,
		"License assignment failed because service plans A,B are mutually exclusive.":             graph.ErrMutuallyExclusiveViolation,
		"License assignment failed because service plan A depends on the service plan(s) B.":      graph.ErrDependencyViolation,
		"License assignment cannot be done for user with invalid usage location.":                 graph.ErrProhibitedInUsageLocationViolation,
		"License assignment failed because service plan A is not available in usage location CN.": graph.ErrProhibitedInUsageLocationViolation,
		"Something else.": "Request_BadRequest",
	} {
		err := graph.ParseErrorForTest(400, []byte(`{"error":{"code":"Request_BadRequest","message":"`+msg+`"}}`))
		if got := graph.LicenseErrorReason(err); got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
	if got := graph.LicenseErrorReason(graph.ParseErrorForTest(502, []byte("<html>bad gateway</html>"))); got != "BadGateway" {
		t.Errorf("502: %s", got)
	}
	if got := graph.LicenseErrorReason(errors.New("dial tcp: refused")); got != "" {
		t.Errorf("transport error: %q", got)
	}
}

func tokenOpts(endpoint string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{endpoint + "/.default"}}
}
