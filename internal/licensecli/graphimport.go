package licensecli

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/graph"
)

// GraphReader is what an import reads of Microsoft Graph (graph.Client).
type GraphReader interface {
	SubscribedSkus(ctx context.Context) ([]graph.SubscribedSku, error)
	Users(ctx context.Context, fn func([]graph.User) error) error
	Groups(ctx context.Context) ([]graph.Group, error)
	GroupMembers(ctx context.Context, groupID string) ([]graph.DirectoryObject, error)
}

// GraphTenant is an Entra tenant as read for an import.
type GraphTenant struct {
	Skus   []graph.SubscribedSku
	Users  []graph.User
	Groups []GraphGroup
	// Problems are the parts that could not be read (a group's members).
	Problems []string
}

// GraphGroup is a group with licenses and its direct members.
type GraphGroup struct {
	graph.Group
	Members []graph.DirectoryObject
}

// ReadGraphTenant reads the subscribed SKUs, every user, and every group
// with licenses and its members. The SKUs and users are required; a group
// whose members cannot be read is reported and left out.
func ReadGraphTenant(ctx context.Context, r GraphReader) (*GraphTenant, error) {
	t := &GraphTenant{}
	var err error
	if t.Skus, err = r.SubscribedSkus(ctx); err != nil {
		return nil, fmt.Errorf("reading the subscribed SKUs: %w", err)
	}
	if err := r.Users(ctx, func(page []graph.User) error {
		t.Users = append(t.Users, page...)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("reading the users: %w", err)
	}
	groups, err := r.Groups(ctx)
	if err != nil {
		t.Problems = append(t.Problems, fmt.Sprintf("groups: could not be read (%v): no LicenseGroup was imported; group-based licenses show up only in the users' Entra state", err))
		return t, nil
	}
	for _, g := range groups {
		if len(g.AssignedLicenses) == 0 {
			continue
		}
		members, err := r.GroupMembers(ctx, g.ID)
		if err != nil {
			t.Problems = append(t.Problems, fmt.Sprintf("group %q (%s): its members could not be read (%v): not imported", g.DisplayName, g.ID, err))
			continue
		}
		t.Groups = append(t.Groups, GraphGroup{Group: g, Members: members})
	}
	return t, nil
}

// GraphImportResult is the GitOps manifests of a tenant.
type GraphImportResult struct {
	SKUs   []*licv1.LicenseSku
	Groups []*licv1.LicenseGroup
	Users  []*licv1.UserLicense
	// Problems are what could not be mapped, one line each; Notes are
	// facts the reader should know.
	Problems, Notes []string
}

// Objects returns the manifests in output order: SKUs, groups, users.
func (r *GraphImportResult) Objects() []client.Object {
	var out []client.Object
	for _, o := range r.SKUs {
		out = append(out, o)
	}
	for _, o := range r.Groups {
		out = append(out, o)
	}
	for _, o := range r.Users {
		out = append(out, o)
	}
	return out
}

// GraphLimitsNote says what Microsoft Graph does not expose.
const GraphLimitsNote = "Microsoft Graph does not expose service plan conflicts (conflictsWith), dependencies (requires) or " +
	"location limits (unavailableIn): the imported LicenseSkus have none. Add them by hand from Microsoft's licensing " +
	"documentation, or Entra will refuse assignments the planner allowed (the DirectoryConnection then reports " +
	"MutuallyExclusiveViolation, DependencyViolation or ProhibitedInUsageLocationViolation)."

var (
	// The CRDs' patterns (kept here so this file stands alone).
	graphUPNPattern      = regexp.MustCompile(`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
	graphNamePattern     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	graphLocationPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// BuildGraphImport maps a tenant to LicenseSkus, LicenseGroups and
// UserLicenses of namespace ns. Everything that cannot be mapped is in
// Problems: nothing is dropped silently.
func BuildGraphImport(ns string, t *GraphTenant) *GraphImportResult {
	res := &GraphImportResult{Problems: append([]string{}, t.Problems...)}
	res.Notes = append(res.Notes, GraphLimitsNote)

	// SKUs.
	type skuInfo struct {
		name  string
		part  string
		plans map[string]string // lower plan ID -> name
	}
	skus := map[string]*skuInfo{} // lower skuId
	skuNames := map[string]bool{}
	for _, s := range t.Skus {
		if !graphNamePattern.MatchString(s.SkuPartNumber) {
			res.Problems = append(res.Problems, fmt.Sprintf("SKU %s (%s): part number is not a valid skuPartNumber: not imported", s.SkuPartNumber, s.SkuID))
			continue
		}
		name := uniqueLabel(s.SkuPartNumber, skuNames)
		info := &skuInfo{name: name, part: s.SkuPartNumber, plans: map[string]string{}}
		obj := &licv1.LicenseSku{
			TypeMeta:   metav1.TypeMeta{APIVersion: licv1.GroupVersion.String(), Kind: KindLicenseSku},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       licv1.LicenseSkuSpec{SkuPartNumber: s.SkuPartNumber},
		}
		u := s.PrepaidUnits
		for _, sub := range []struct {
			name  string
			seats int64
			state licv1.SubscriptionState
		}{
			{"enabled", u.Enabled, licv1.SubscriptionEnabled},
			{"warning", u.Warning, licv1.SubscriptionWarning},
			{"suspended", u.Suspended, licv1.SubscriptionSuspended},
			{"locked-out", u.LockedOut, licv1.SubscriptionLockedOut},
		} {
			if sub.seats > 0 {
				obj.Spec.Subscriptions = append(obj.Spec.Subscriptions, licv1.Subscription{Name: sub.name, Seats: sub.seats, State: sub.state})
			}
		}
		if len(obj.Spec.Subscriptions) == 0 {
			obj.Spec.Subscriptions = []licv1.Subscription{{Name: "enabled", Seats: 0, State: licv1.SubscriptionEnabled}}
		}
		seen := map[string]bool{}
		for _, p := range s.ServicePlans {
			if !graphNamePattern.MatchString(p.ServicePlanName) || seen[strings.ToUpper(p.ServicePlanName)] {
				res.Problems = append(res.Problems, fmt.Sprintf("SKU %s: service plan %q (%s) is not a valid or unique plan name: left out", s.SkuPartNumber, p.ServicePlanName, p.ServicePlanID))
				continue
			}
			seen[strings.ToUpper(p.ServicePlanName)] = true
			info.plans[strings.ToLower(p.ServicePlanID)] = p.ServicePlanName
			obj.Spec.ServicePlans = append(obj.Spec.ServicePlans, licv1.ServicePlan{Name: p.ServicePlanName})
		}
		if len(obj.Spec.ServicePlans) > 128 {
			res.Problems = append(res.Problems, fmt.Sprintf("SKU %s has %d service plans, more than a LicenseSku holds (128): the first 128 are kept", s.SkuPartNumber, len(obj.Spec.ServicePlans)))
			obj.Spec.ServicePlans = obj.Spec.ServicePlans[:128]
		}
		skus[strings.ToLower(s.SkuID)] = info
		res.SKUs = append(res.SKUs, obj)
	}

	// assignment maps an Entra license to a LicenseAssignment.
	assignment := func(owner, skuID string, disabled []string) (licv1.LicenseAssignment, bool) {
		info := skus[strings.ToLower(skuID)]
		if info == nil {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: license %s is not among the subscribed SKUs: not imported", owner, skuID))
			return licv1.LicenseAssignment{}, false
		}
		a := licv1.LicenseAssignment{SKU: info.name}
		for _, id := range disabled {
			name, ok := info.plans[strings.ToLower(id)]
			if !ok {
				res.Problems = append(res.Problems, fmt.Sprintf("%s: disabled plan %s is not a plan of %s: left out (the plan is on in the import)", owner, id, info.name))
				continue
			}
			a.DisabledPlans = append(a.DisabledPlans, name)
		}
		sort.Strings(a.DisabledPlans)
		return a, true
	}

	partOf := func(id string) string {
		if info := skus[strings.ToLower(id)]; info != nil {
			return info.part
		}
		return id
	}

	// Users: those with direct licenses and the members of licensed groups.
	byID := map[string]*graph.User{}
	for i := range t.Users {
		byID[strings.ToLower(t.Users[i].ID)] = &t.Users[i]
	}
	inGroup := map[string]bool{}
	for _, g := range t.Groups {
		for _, m := range g.Members {
			if m.ODataType == "" || m.ODataType == graph.ODataTypeUser {
				inGroup[strings.ToLower(m.ID)] = true
			}
		}
	}
	userNames := map[string]bool{}
	imported := map[string]string{} // lower user ID -> UPN imported
	users := append([]graph.User{}, t.Users...)
	sort.Slice(users, func(i, j int) bool {
		return strings.ToLower(users[i].UserPrincipalName) < strings.ToLower(users[j].UserPrincipalName)
	})
	unlicensed := 0
	for i := range users {
		u := &users[i]
		direct := directLicenses(u)
		if len(direct) == 0 && !inGroup[strings.ToLower(u.ID)] {
			unlicensed++
			continue
		}
		owner := "user " + u.UserPrincipalName
		if !graphUPNPattern.MatchString(u.UserPrincipalName) || len(u.UserPrincipalName) > 113 {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: not a userPrincipalName a UserLicense accepts (guest accounts with #EXT# are not): not imported", owner))
			continue
		}
		obj := &licv1.UserLicense{
			TypeMeta:   metav1.TypeMeta{APIVersion: licv1.GroupVersion.String(), Kind: KindUserLicense},
			ObjectMeta: metav1.ObjectMeta{Name: UniqueName(u.UserPrincipalName, userNames), Namespace: ns},
			Spec:       licv1.UserLicenseSpec{UserPrincipalName: u.UserPrincipalName},
		}
		switch {
		case graphLocationPattern.MatchString(u.UsageLocation):
			obj.Spec.UsageLocation = u.UsageLocation
		case u.UsageLocation != "":
			res.Problems = append(res.Problems, fmt.Sprintf("%s: usageLocation %q is not an ISO 3166-1 alpha-2 code: left out", owner, u.UsageLocation))
		}
		for _, d := range direct {
			if d.State == "Error" {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: the direct assignment of %s is in error in Entra (%s); imported as assigned", owner, partOf(d.SkuID), d.Error))
			}
			if a, ok := assignment(owner, d.SkuID, d.DisabledPlans); ok {
				obj.Spec.Licenses = append(obj.Spec.Licenses, a)
			}
		}
		sort.Slice(obj.Spec.Licenses, func(i, j int) bool { return obj.Spec.Licenses[i].SKU < obj.Spec.Licenses[j].SKU })
		imported[strings.ToLower(u.ID)] = u.UserPrincipalName
		res.Users = append(res.Users, obj)
	}
	if unlicensed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d users without direct licenses and not in a licensed group were not imported", unlicensed))
	}

	// Groups.
	groupNames := map[string]bool{}
	groups := append([]GraphGroup{}, t.Groups...)
	sort.Slice(groups, func(i, j int) bool { return groups[i].DisplayName < groups[j].DisplayName })
	for _, g := range groups {
		label := g.DisplayName
		if label == "" {
			label = g.ID
		}
		owner := fmt.Sprintf("group %q", label)
		obj := &licv1.LicenseGroup{
			TypeMeta:   metav1.TypeMeta{APIVersion: licv1.GroupVersion.String(), Kind: KindLicenseGroup},
			ObjectMeta: metav1.ObjectMeta{Name: uniqueLabel(label, groupNames), Namespace: ns},
			Spec:       licv1.LicenseGroupSpec{DisplayName: truncateString(g.DisplayName, 256)},
		}
		for _, l := range g.AssignedLicenses {
			if a, ok := assignment(owner, l.SkuID, l.DisabledPlans); ok {
				obj.Spec.Licenses = append(obj.Spec.Licenses, a)
			}
		}
		sort.Slice(obj.Spec.Licenses, func(i, j int) bool { return obj.Spec.Licenses[i].SKU < obj.Spec.Licenses[j].SKU })
		for _, m := range g.Members {
			switch {
			case m.ODataType != "" && m.ODataType != graph.ODataTypeUser:
				res.Problems = append(res.Problems, fmt.Sprintf("%s: member %s (%s) is not a user: not imported (Entra applies a group's licenses to its direct user members only)", owner, m.ID, strings.TrimPrefix(m.ODataType, "#microsoft.graph.")))
			case imported[strings.ToLower(m.ID)] != "":
				obj.Spec.Members = append(obj.Spec.Members, imported[strings.ToLower(m.ID)])
			default:
				upn := m.UserPrincipalName
				if u := byID[strings.ToLower(m.ID)]; u != nil {
					upn = u.UserPrincipalName
				}
				res.Problems = append(res.Problems, fmt.Sprintf("%s: member %s was not imported as a user (see above): left out", owner, firstNonEmpty(upn, m.ID)))
			}
		}
		sort.Strings(obj.Spec.Members)
		if len(obj.Spec.Members) > 10000 {
			res.Problems = append(res.Problems, fmt.Sprintf("%s has %d members, more than a LicenseGroup lists (10000): split it, or select members by label (memberSelector); only the first 10000 are kept", owner, len(obj.Spec.Members)))
			obj.Spec.Members = obj.Spec.Members[:10000]
		}
		res.Groups = append(res.Groups, obj)
	}
	return res
}

// directLicenses are a user's licenses not inherited from a group.
func directLicenses(u *graph.User) []graph.LicenseAssignmentState {
	if len(u.LicenseAssignmentStates) == 0 {
		out := make([]graph.LicenseAssignmentState, len(u.AssignedLicenses))
		for i, l := range u.AssignedLicenses {
			out[i] = graph.LicenseAssignmentState{SkuID: l.SkuID, DisabledPlans: l.DisabledPlans}
		}
		return out
	}
	var out []graph.LicenseAssignmentState
	for _, s := range u.LicenseAssignmentStates {
		if s.Direct() {
			out = append(out, s)
		}
	}
	return out
}

// uniqueLabel is a DNS label for s not yet in taken (and records it).
func uniqueLabel(s string, taken map[string]bool) string {
	base := dnsLabel(s)
	name := base
	for i := 2; taken[name]; i++ {
		name = join(base, fmt.Sprint(i))
	}
	taken[name] = true
	return name
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
