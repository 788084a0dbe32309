// Package drift compares what the operator decided for every user of a
// namespace (UserLicense status.licenses) with what Microsoft Entra holds
// (Graph users and subscribedSkus), and plans the assignLicense calls that
// make Entra match. It is pure: no client, no clock.
//
// The desired Entra state of a user is its status.licenses entries in
// state Active or Disabled (the seats it holds), each as the Graph skuId
// of its skuPartNumber, with disabledPlans mapped from plan names to the
// SKU's servicePlanIds. Only SKUs declared in the namespace (a LicenseSku
// whose part number the tenant subscribes to) are managed, and only
// direct assignments: licenses of other SKUs, and licenses inherited from
// Entra groups, are left alone and reported.
package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/graph"
)

// Input is one namespace and one Entra tenant as read.
type Input struct {
	SKUs       []*licv1.LicenseSku
	Users      []*licv1.UserLicense
	TenantSkus []graph.SubscribedSku
	EntraUsers []graph.User
}

// State is the outcome for one user.
type State string

const (
	InSync   State = "InSync"
	Drifted  State = "Drifted"
	Failed   State = "Failed"
	NotFound State = "NotFound"
)

// ReasonNotPlanned: the operator has not planned the user's current spec
// yet; nothing is written until it has.
const ReasonNotPlanned = "NotPlanned"

// UserPlan is the comparison of one user.
type UserPlan struct {
	// Name is the UserLicense's name, UPN its userPrincipalName.
	Name, UPN string
	// EntraID is the Entra user's object ID ("" when not found).
	EntraID string
	State   State
	// Reason and Message are for the user's Synced condition.
	Reason, Message string
	// Write makes Entra's direct licenses of the declared SKUs match; nil
	// when none is needed or none is possible.
	Write *graph.AssignLicenseRequest
	// Changes says what Write does ("add SPE_E3", "remove POWER_BI_PRO",
	// "SPE_E3: switch off SWAY").
	Changes []string
	// Removals counts the licenses Write removes or narrows (a plan
	// switched off), with their descriptions.
	Removals     int
	RemovalNotes []string
	// AfterReason and AfterWrite are the Synced reason and message once
	// Write succeeded (InSync, or what a write cannot fix).
	AfterReason, AfterWrite string
}

// Plan is the comparison of a namespace.
type Plan struct {
	// Users is parallel to Input.Users.
	Users []UserPlan
	// HeldLicenses counts the direct Entra licenses of declared SKUs the
	// namespace's users hold; Removals those the writes remove or narrow.
	HeldLicenses, Removals int
	// Hash identifies the set of removals ("sha256:...").
	Hash string
	// UndeclaredSkus are part numbers held directly by the namespace's
	// users that no LicenseSku declares; MissingSkus the declared part
	// numbers the tenant does not subscribe to. Both sorted.
	UndeclaredSkus, MissingSkus []string
	// Unmanaged counts Entra users holding a declared SKU directly but
	// having no UserLicense in the namespace.
	Unmanaged int
}

// Percent is Removals / HeldLicenses in percent, rounded up.
func (p *Plan) Percent() int {
	if p.HeldLicenses == 0 {
		if p.Removals > 0 {
			return 100
		}
		return 0
	}
	return (p.Removals*100 + p.HeldLicenses - 1) / p.HeldLicenses
}

// Exceeds reports whether the plan removes more than maxPercent of the
// held licenses (100 never exceeds).
func (p *Plan) Exceeds(maxPercent int) bool {
	return maxPercent < 100 && p.Removals > 0 && p.Removals*100 > maxPercent*p.HeldLicenses
}

type tenantSku struct {
	sku     *graph.SubscribedSku
	planIDs map[string]string // upper(name) -> id
	names   map[string]string // lower(id) -> name
}

// Compute compares every user of in.
func Compute(in Input) Plan {
	byPart := map[string]*tenantSku{}
	byID := map[string]*tenantSku{}
	for i := range in.TenantSkus {
		s := &in.TenantSkus[i]
		ts := &tenantSku{sku: s, planIDs: map[string]string{}, names: map[string]string{}}
		for _, p := range s.ServicePlans {
			ts.planIDs[strings.ToUpper(p.ServicePlanName)] = p.ServicePlanID
			ts.names[strings.ToLower(p.ServicePlanID)] = p.ServicePlanName
		}
		byPart[strings.ToUpper(s.SkuPartNumber)] = ts
		byID[strings.ToLower(s.SkuID)] = ts
	}
	skuByName := map[string]*licv1.LicenseSku{}
	declared := map[string]*tenantSku{} // lower skuId -> SKU
	missing := map[string]bool{}
	for _, s := range in.SKUs {
		skuByName[s.Name] = s
		if ts := byPart[strings.ToUpper(s.Spec.SkuPartNumber)]; ts != nil {
			declared[strings.ToLower(ts.sku.SkuID)] = ts
		} else {
			missing[s.Spec.SkuPartNumber] = true
		}
	}
	entraByUPN := map[string]*graph.User{}
	for i := range in.EntraUsers {
		entraByUPN[strings.ToLower(in.EntraUsers[i].UserPrincipalName)] = &in.EntraUsers[i]
	}
	partOf := func(id string) string {
		if ts := byID[strings.ToLower(id)]; ts != nil {
			return ts.sku.SkuPartNumber
		}
		return id
	}

	plan := Plan{Users: make([]UserPlan, len(in.Users))}
	managed := map[string]bool{}
	undeclared := map[string]bool{}
	var removalLines []string
	// The UserLicense in effect for each UPN: the planner marks the others
	// DuplicateUserPrincipalName (they hold nothing, and must not make
	// Entra lose what the one in effect holds).
	inEffect := map[string]string{}
	for _, ul := range in.Users {
		if !duplicateLoser(ul) {
			if _, taken := inEffect[strings.ToLower(ul.Spec.UserPrincipalName)]; !taken {
				inEffect[strings.ToLower(ul.Spec.UserPrincipalName)] = ul.Name
			}
		}
	}
	for i, ul := range in.Users {
		up := &plan.Users[i]
		up.Name, up.UPN = ul.Name, ul.Spec.UserPrincipalName
		if owner := inEffect[strings.ToLower(ul.Spec.UserPrincipalName)]; owner != ul.Name {
			up.State, up.Reason = Failed, licv1.ReasonDuplicateUserPrincipalName
			up.Message = fmt.Sprintf("UserLicense %s has the same userPrincipalName and is the one synced with Entra; this one is not", owner)
			continue
		}
		eu := entraByUPN[strings.ToLower(ul.Spec.UserPrincipalName)]
		if eu == nil {
			up.State, up.Reason = NotFound, licv1.ReasonUserNotFound
			up.Message = fmt.Sprintf("no Microsoft Entra user has userPrincipalName %s: create the user in Entra, or correct spec.userPrincipalName", ul.Spec.UserPrincipalName)
			continue
		}
		managed[strings.ToLower(eu.UserPrincipalName)] = true
		up.EntraID = eu.ID
		direct, inherited, directErr := entraLicenses(eu)
		for id := range direct {
			if declared[id] != nil {
				plan.HeldLicenses++
			} else {
				undeclared[partOf(id)] = true
			}
		}
		if !planned(ul) {
			up.State, up.Reason = Drifted, ReasonNotPlanned
			up.Message = "the operator has not planned this user's current spec yet; its licenses are compared once it has"
			continue
		}
		compareUser(up, ul, eu, skuByName, byPart, declared, direct, inherited, directErr, partOf)
		for _, n := range up.RemovalNotes {
			removalLines = append(removalLines, up.UPN+": "+n)
		}
		plan.Removals += up.Removals
	}
	// Entra users holding a declared SKU directly with no UserLicense.
	for i := range in.EntraUsers {
		eu := &in.EntraUsers[i]
		if managed[strings.ToLower(eu.UserPrincipalName)] {
			continue
		}
		direct, _, _ := entraLicenses(eu)
		for id := range direct {
			if declared[id] != nil {
				plan.Unmanaged++
				break
			}
		}
	}
	sort.Strings(removalLines)
	h := sha256.New()
	for _, l := range removalLines {
		h.Write([]byte(l + "\n"))
	}
	plan.Hash = "sha256:" + hex.EncodeToString(h.Sum(nil))
	plan.UndeclaredSkus = sortedKeys(undeclared)
	plan.MissingSkus = sortedKeys(missing)
	return plan
}

// RemovalExamples returns the first n removals of the plan, sorted.
func (p *Plan) RemovalExamples(n int) []string {
	var out []string
	for _, u := range p.Users {
		for _, r := range u.RemovalNotes {
			out = append(out, u.UPN+": "+r)
		}
	}
	sort.Strings(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// duplicateLoser reports whether the planner found another UserLicense
// with the same userPrincipalName in effect.
func duplicateLoser(ul *licv1.UserLicense) bool {
	c := meta.FindStatusCondition(ul.Status.Conditions, licv1.ConditionReady)
	return c != nil && c.Reason == licv1.ReasonDuplicateUserPrincipalName
}

// planned reports whether the tenant controller has planned the user's
// current generation (its Ready condition is at the current generation).
func planned(ul *licv1.UserLicense) bool {
	if ul.Status.ObservedGeneration != ul.Generation {
		return false
	}
	c := meta.FindStatusCondition(ul.Status.Conditions, licv1.ConditionReady)
	return c != nil && c.ObservedGeneration == ul.Generation
}

// entraLicenses splits a user's licenses into direct ones (lower skuId ->
// disabled plan IDs, lower-cased) and inherited ones (lower skuId -> group
// IDs), and the errors Entra reports on direct ones.
func entraLicenses(u *graph.User) (direct map[string][]string, inherited map[string][]string, errs map[string]string) {
	direct, inherited, errs = map[string][]string{}, map[string][]string{}, map[string]string{}
	if len(u.LicenseAssignmentStates) == 0 {
		// Without states (not returned), assignedLicenses is all there is.
		for _, l := range u.AssignedLicenses {
			direct[strings.ToLower(l.SkuID)] = lowerAll(l.DisabledPlans)
		}
		return direct, inherited, errs
	}
	for _, s := range u.LicenseAssignmentStates {
		id := strings.ToLower(s.SkuID)
		if s.Direct() {
			direct[id] = lowerAll(s.DisabledPlans)
			if s.State == "Error" || s.State == "ActiveWithError" {
				e := s.Error
				if e == "" || e == "None" {
					e = graph.ErrOther
				}
				errs[id] = e
			}
		} else {
			inherited[id] = append(inherited[id], s.AssignedByGroup)
		}
	}
	return direct, inherited, errs
}

func compareUser(up *UserPlan, ul *licv1.UserLicense, eu *graph.User, skuByName map[string]*licv1.LicenseSku,
	byPart map[string]*tenantSku, declared map[string]*tenantSku,
	direct, inherited map[string][]string, directErr map[string]string, partOf func(string) string) {
	type failure struct{ reason, msg string }
	var failures []failure
	desired := map[string][]string{} // lower skuId -> disabled plan IDs (lower)
	untouchable := map[string]bool{}
	var wantParts []string
	for _, l := range ul.Status.Licenses {
		if l.State != licv1.LicenseStateActive && l.State != licv1.LicenseStateDisabled {
			continue
		}
		part := l.SkuPartNumber
		if s := skuByName[l.SKU]; s != nil {
			part = s.Spec.SkuPartNumber
		}
		ts := byPart[strings.ToUpper(part)]
		if ts == nil {
			failures = append(failures, failure{licv1.ReasonSkuNotInTenant,
				fmt.Sprintf("%s (LicenseSku %s) is not among the tenant's subscribed SKUs: buy it, or correct spec.skuPartNumber of LicenseSku %s", part, l.SKU, l.SKU)})
			continue
		}
		id := strings.ToLower(ts.sku.SkuID)
		var ids []string
		ok := true
		for _, name := range l.DisabledPlans {
			pid, found := ts.planIDs[strings.ToUpper(name)]
			if !found {
				failures = append(failures, failure{licv1.ReasonServicePlanNotInTenant,
					fmt.Sprintf("service plan %s of LicenseSku %s is not a plan of the tenant's %s: correct spec.servicePlans of LicenseSku %s; %s is left as Entra has it",
						name, l.SKU, ts.sku.SkuPartNumber, l.SKU, ts.sku.SkuPartNumber)})
				ok = false
				continue
			}
			ids = append(ids, strings.ToLower(pid))
		}
		if !ok {
			untouchable[id] = true
			continue
		}
		sort.Strings(ids)
		desired[id] = ids
		wantParts = append(wantParts, ts.sku.SkuPartNumber)
	}

	planNames := func(ts *tenantSku, ids []string) []string {
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			if n, ok := ts.names[id]; ok {
				out = append(out, n)
			} else {
				out = append(out, id)
			}
		}
		sort.Strings(out)
		return out
	}
	req := graph.AssignLicenseRequest{}
	var diffs, inheritedDiffs []string
	ids := make([]string, 0, len(declared))
	for id := range declared {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return declared[ids[i]].sku.SkuPartNumber < declared[ids[j]].sku.SkuPartNumber })
	for _, id := range ids {
		if untouchable[id] {
			continue
		}
		ts := declared[id]
		part := ts.sku.SkuPartNumber
		want, wantOK := desired[id]
		have, haveOK := direct[id]
		switch {
		case wantOK && !haveOK:
			req.AddLicenses = append(req.AddLicenses, graph.AssignedLicense{SkuID: ts.sku.SkuID, DisabledPlans: originalIDs(ts, want)})
			c := "add " + part
			if len(want) > 0 {
				c += " (off: " + strings.Join(planNames(ts, want), ", ") + ")"
			}
			up.Changes = append(up.Changes, c)
			d := "missing " + part
			if g := inherited[id]; len(g) > 0 {
				d += " (Entra gives it only through group " + strings.Join(g, ", ") + ")"
			}
			diffs = append(diffs, d)
		case wantOK && haveOK && !sameSet(want, have):
			req.AddLicenses = append(req.AddLicenses, graph.AssignedLicense{SkuID: ts.sku.SkuID, DisabledPlans: originalIDs(ts, want)})
			up.Changes = append(up.Changes, fmt.Sprintf("%s: plans off [%s] (were [%s])", part, strings.Join(planNames(ts, want), ", "), strings.Join(planNames(ts, have), ", ")))
			diffs = append(diffs, fmt.Sprintf("%s has plans off [%s] in Entra, [%s] decided", part, strings.Join(planNames(ts, have), ", "), strings.Join(planNames(ts, want), ", ")))
			if newlyOff := minus(want, have); len(newlyOff) > 0 {
				up.Removals++
				up.RemovalNotes = append(up.RemovalNotes, fmt.Sprintf("switch off %s of %s", strings.Join(planNames(ts, newlyOff), ", "), part))
			}
		case !wantOK && haveOK:
			req.RemoveLicenses = append(req.RemoveLicenses, ts.sku.SkuID)
			up.Changes = append(up.Changes, "remove "+part)
			diffs = append(diffs, "extra "+part)
			up.Removals++
			up.RemovalNotes = append(up.RemovalNotes, "remove "+part)
		case !wantOK && !haveOK && len(inherited[id]) > 0:
			inheritedDiffs = append(inheritedDiffs, fmt.Sprintf("%s is inherited from Entra group %s but not decided: remove the user from the group, or the license from the group",
				part, strings.Join(inherited[id], ", ")))
		}
	}
	var undeclaredHeld []string
	var entraErrs []string
	for id := range direct {
		if declared[id] == nil {
			undeclaredHeld = append(undeclaredHeld, partOf(id))
		}
	}
	for id, e := range directErr {
		if declared[id] != nil {
			entraErrs = append(entraErrs, partOf(id)+": "+e)
		}
	}
	sort.Strings(undeclaredHeld)
	sort.Strings(entraErrs)
	sort.Strings(wantParts)

	locationDiff := ""
	if ul.Spec.UsageLocation != "" && !strings.EqualFold(ul.Spec.UsageLocation, eu.UsageLocation) {
		have := eu.UsageLocation
		if have == "" {
			have = "none"
		}
		locationDiff = fmt.Sprintf("usageLocation is %s in Entra, %s in spec (set it in Entra: the operator does not write it)", have, ul.Spec.UsageLocation)
	}

	holds := "no license of the namespace's SKUs"
	if len(wantParts) > 0 {
		holds = strings.Join(wantParts, ", ")
	}
	tail := ""
	if len(undeclaredHeld) > 0 {
		tail = "; also holds " + strings.Join(undeclaredHeld, ", ") + " directly, not declared in the namespace: left alone"
	}
	inSyncMsg := "Microsoft Entra holds " + holds + " as decided" + tail

	if len(req.AddLicenses)+len(req.RemoveLicenses) > 0 {
		req.Normalize()
		up.Write = &req
	}
	var parts []string
	for _, f := range failures {
		parts = append(parts, f.msg)
	}
	parts = append(parts, diffs...)
	parts = append(parts, inheritedDiffs...)
	if len(entraErrs) > 0 {
		parts = append(parts, "Entra reports errors on direct assignments: "+strings.Join(entraErrs, ", "))
	}
	if locationDiff != "" {
		parts = append(parts, locationDiff)
	}
	switch {
	case len(failures) > 0:
		up.State, up.Reason = Failed, failures[0].reason
	case len(diffs) > 0:
		up.State, up.Reason = Drifted, licv1.ReasonDrifted
	case len(entraErrs) > 0:
		up.State, up.Reason = Failed, directErr[firstKey(directErr, declared)]
	case len(inheritedDiffs) > 0:
		up.State, up.Reason = Drifted, licv1.ReasonInheritedFromGroup
	case locationDiff != "":
		up.State, up.Reason = Drifted, licv1.ReasonUsageLocationDiffers
	default:
		up.State, up.Reason, up.Message = InSync, licv1.ReasonInSync, inSyncMsg
		return
	}
	up.Message = strings.Join(parts, "; ") + tail
	// Once the write succeeded, only what it cannot fix remains.
	var rest []string
	for _, f := range failures {
		rest = append(rest, f.msg)
	}
	rest = append(rest, inheritedDiffs...)
	if locationDiff != "" {
		rest = append(rest, locationDiff)
	}
	switch {
	case len(rest) == 0:
		up.AfterReason, up.AfterWrite = licv1.ReasonInSync, inSyncMsg
		return
	case len(failures) > 0:
		up.AfterReason = failures[0].reason
	case len(inheritedDiffs) > 0:
		up.AfterReason = licv1.ReasonInheritedFromGroup
	default:
		up.AfterReason = licv1.ReasonUsageLocationDiffers
	}
	up.AfterWrite = strings.Join(rest, "; ") + tail
}

func firstKey(m map[string]string, declared map[string]*tenantSku) string {
	var keys []string
	for k := range m {
		if declared[k] != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys[0]
}

// originalIDs returns the plan IDs as the tenant spells them.
func originalIDs(ts *tenantSku, lower []string) []string {
	out := make([]string, 0, len(lower))
	for _, p := range ts.sku.ServicePlans {
		if slices.Contains(lower, strings.ToLower(p.ServicePlanID)) {
			out = append(out, p.ServicePlanID)
		}
	}
	return out
}

func lowerAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(v)
	}
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool { return slices.Equal(a, b) }

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
