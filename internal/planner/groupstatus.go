package planner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// maxNamedMembers bounds the unresolved names the Ready message lists.
const maxNamedMembers = 3

// groupResult computes the desired status of one group from its members'
// requests for the group's SKUs.
func (p *planner) groupResult(gi int32) GroupResult {
	g := &p.groups[gi]
	if g.obj == nil {
		return GroupResult{}
	}
	gen := g.obj.Generation
	st := licv1.LicenseGroupStatus{
		ObservedGeneration: gen,
		Members:            int32(len(g.members)),
	}
	if n := len(g.unresolved); n > 0 {
		st.UnresolvedMembers = slices.Clone(g.unresolved[:min(n, licv1.MaxUnresolvedMembers)])
	}

	t := &g.tally
	st.Errors = t.errors
	st.Licensed = st.Members - st.Errors
	st.Failures = p.failures(&t.failures)

	seats := cond{metav1.ConditionFalse, licv1.ReasonWithinCapacity, "no member waits for a seat"}
	var parts []string
	for k, n := range t.waiting {
		if n > 0 {
			name := p.displayName(g.skus[k])
			parts = append(parts, fmt.Sprintf("%s for seats of %s: purchase %s of %s or remove %s of %s",
				plural(n, "member waits", "members wait"), name, plural(n, "more seat", "more seats"), name, plural(n, "member", "members"), g.obj.Name))
		}
	}
	if len(parts) > 0 {
		seats = cond{metav1.ConditionTrue, licv1.ReasonInsufficientSeats, strings.Join(parts, "; ")}
	}

	ready := cond{metav1.ConditionTrue, licv1.ReasonAllLicensesActive, groupReadyMessage(len(g.members), len(g.skus))}
	stalled := absent
	switch {
	case g.selErr != "":
		ready = cond{metav1.ConditionFalse, licv1.ReasonInvalidSelector,
			"spec.memberSelector is invalid and selects no user until it is fixed: " + g.selErr}
		stalled = ready
		stalled.status = metav1.ConditionTrue
	case g.nUnknown > 0:
		msg := fmt.Sprintf("spec.licenses[%s].%s lists service plan %q, which LicenseSku %s (%s) does not have: correct or remove the entry; until then this group's assignment of %s is ignored (members keep what other assignments give them)",
			p.skuNames[g.unknownSKU], planField(g.unknown.enabled), g.unknown.plan, p.skuNames[g.unknownSKU], p.displayName(g.unknownSKU), p.skuNames[g.unknownSKU])
		if g.nUnknown > 1 {
			msg += fmt.Sprintf("; %d licenses of the group name unknown plans", g.nUnknown)
		}
		ready = cond{metav1.ConditionFalse, licv1.ReasonUnknownServicePlan, msg}
		stalled = cond{metav1.ConditionTrue, licv1.ReasonUnknownServicePlan, msg}
	case st.Errors > 0:
		common := reasonNone
		for r := range t.byReason {
			if t.byReason[r] > t.byReason[common] {
				common = reason(r)
			}
		}
		ready = cond{metav1.ConditionFalse, licv1.ReasonLicenseErrors,
			fmt.Sprintf("%d of %d members have a failed license of this group; most common reason: %s (%s); see status.failures and the members' UserLicense status",
				st.Errors, st.Members, common, plural(t.byReason[common], "license", "licenses"))}
	case len(g.unresolved) > 0:
		ready = cond{metav1.ConditionFalse, licv1.ReasonMembersNotFound,
			fmt.Sprintf("%s of spec.members have no UserLicense in this namespace (%s): create their UserLicenses or remove them from spec.members",
				plural(int64(len(g.unresolved)), "entry", "entries"), joinLimited(g.unresolved, maxNamedMembers))}
	}
	st.Conditions = p.conditions(g.obj.Status.Conditions, gen,
		typed{licv1.ConditionReady, ready}, typed{licv1.ConditionInsufficientSeats, seats},
		typed{licv1.ConditionStalled, stalled})

	if equalGroupStatus(&g.obj.Status, &st) {
		return GroupResult{Status: &g.obj.Status}
	}
	return GroupResult{Status: &st, Changed: true}
}

// tallyGroups adds one user's outcome to the tallies of its groups, right
// after its status is planned, while its requests are in cache.
func (w *worker) tallyGroups(ui int32) {
	p := w.p
	u := &p.users[ui]
	groups := p.groupsOf(ui)
	if len(groups) == 0 {
		return
	}
	reqs := p.requests(u)
	for _, gi := range groups {
		g := &p.groups[gi]
		t := w.tally(gi)
		failed := false
		j := 0
		for k, sku := range g.skus {
			for j < len(reqs) && reqs[j].sku < sku {
				j++
			}
			if j == len(reqs) || reqs[j].sku != sku || p.inEffect(&reqs[j]) {
				continue
			}
			r := &reqs[j]
			why := r.reason
			if r.active() {
				why = reasonSubscriptionInactive // held, but Disabled
			}
			failed = true
			t.byReason[why]++
			if why == reasonInsufficientSeats {
				if t.waiting == nil {
					t.waiting = make([]int64, len(g.skus))
				}
				t.waiting[k]++
			}
			p.offerFailure(&t.failures, failure{u.obj.Spec.UserPrincipalName, sku, why})
		}
		if failed {
			t.errors++
		}
	}
}

func groupReadyMessage(members, skus int) string {
	switch {
	case members == 0:
		return "the group has no members"
	case skus == 0:
		return "the group assigns no license"
	default:
		return "every member holds every license of the group"
	}
}

// failureList keeps the first MaxGroupFailures failures in (user, sku,
// reason) order, whatever order they are offered in. Offers are buffered
// in a compact form and the buffer is cut down to the first
// MaxGroupFailures whenever it fills, so an offer costs amortised O(1)
// compares and a group never holds more than a small buffer.
type failureList struct {
	items []failure
	// full is set once the list held MaxGroupFailures after a cut: an
	// offer not before items[MaxGroupFailures-1] can then be dropped.
	full bool
}

// failure is a LicenseFailure by reference (SKU ID). It carries the
// user's userPrincipalName itself, so that comparing two failures does not
// reach for the user objects.
type failure struct {
	upn    string
	sku    int32
	reason reason
}

// failureBuffer is how many failures a list buffers before cutting.
const failureBuffer = 2 * licv1.MaxGroupFailures

func compareFailures(a, b licv1.LicenseFailure) int {
	if c := cmp.Compare(a.User, b.User); c != 0 {
		return c
	}
	if c := cmp.Compare(a.SKU, b.SKU); c != 0 {
		return c
	}
	return cmp.Compare(a.Reason, b.Reason)
}

// compareFailure orders failures like compareFailures orders the
// LicenseFailures they stand for (SKU IDs follow name order).
func (p *planner) compareFailure(a, b failure) int {
	if c := strings.Compare(a.upn, b.upn); c != 0 {
		return c
	}
	if c := cmp.Compare(a.sku, b.sku); c != 0 {
		return c
	}
	return cmp.Compare(a.reason.String(), b.reason.String())
}

func (p *planner) offerFailure(l *failureList, f failure) {
	if l.full && p.compareFailure(f, l.items[licv1.MaxGroupFailures-1]) >= 0 {
		return
	}
	if len(l.items) == failureBuffer {
		p.cutFailures(l)
	}
	l.items = append(l.items, f)
}

// cutFailures sorts the buffer and keeps the first MaxGroupFailures.
func (p *planner) cutFailures(l *failureList) {
	slices.SortFunc(l.items, p.compareFailure)
	if len(l.items) >= licv1.MaxGroupFailures {
		l.items = l.items[:licv1.MaxGroupFailures]
		l.full = true
	}
}

// failures returns the final list of a group.
func (p *planner) failures(l *failureList) []licv1.LicenseFailure {
	p.cutFailures(l)
	if len(l.items) == 0 {
		return nil
	}
	out := make([]licv1.LicenseFailure, len(l.items))
	for i, f := range l.items {
		out[i] = licv1.LicenseFailure{User: f.upn, SKU: p.skuNames[f.sku], Reason: f.reason.String()}
	}
	return out
}
