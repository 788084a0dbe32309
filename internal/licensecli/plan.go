package licensecli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// PlanReport is the outcome of `kubectl license plan`: for every namespace
// of the manifests, what the controller would write.
type PlanReport struct {
	// Ignored counts the objects of other kinds found in the manifests.
	Ignored []KindCount `json:"ignored,omitempty"`
	// Refused are the objects the API server would refuse (kubectl apply
	// fails on them); they are left out of the plan.
	Refused []Refusal `json:"refused,omitempty"`
	// AgainstCluster: the manifests were overlaid on the live objects and
	// Changes are relative to the live statuses.
	AgainstCluster bool            `json:"againstCluster"`
	Namespaces     []NamespacePlan `json:"namespaces"`
	Summary        PlanSummary     `json:"summary"`
}

// PlanSummary totals a report.
type PlanSummary struct {
	Namespaces int `json:"namespaces"`
	SKUs       int `json:"skus"`
	Groups     int `json:"groups"`
	Users      int `json:"users"`
	// Licenses counts (user, SKU) pairs; Disabled those holding a seat of
	// a SKU without a usable subscription; Errors those in Error, Waiting
	// those in Error with reason InsufficientSeats.
	Licenses int `json:"licenses"`
	Active   int `json:"active"`
	Disabled int `json:"disabled"`
	Errors   int `json:"errors"`
	Waiting  int `json:"waiting"`
	// Refused counts the objects the API server would refuse.
	Refused int `json:"refused"`
	// Changes counts the (user, SKU) changes against the cluster.
	Changes int `json:"changes"`
}

// NamespacePlan is the planned outcome of one namespace.
type NamespacePlan struct {
	Namespace string      `json:"namespace"`
	SKUs      []SeatRow   `json:"skus"`
	Users     []UserPlan  `json:"users"`
	Groups    []GroupPlan `json:"groups"`
	// Errors lists every license in Error, sorted by user and SKU.
	Errors []LicenseError `json:"errors"`
	// DuplicatePlans lists the users with the DuplicatePlans warning.
	DuplicatePlans []UserMessage `json:"duplicatePlans"`
	// Changes and SeatChanges are set with --against-cluster.
	Changes     []Change     `json:"changes,omitempty"`
	SeatChanges []SeatChange `json:"seatChanges,omitempty"`
	// Warnings are problems the planner does not report, such as a
	// userPrincipalName change that the API server would refuse.
	Warnings []string `json:"warnings,omitempty"`
}

// UserPlan is the planned status of one user.
type UserPlan struct {
	Name              string           `json:"name"`
	UserPrincipalName string           `json:"userPrincipalName"`
	Ready             ConditionSummary `json:"ready"`
	DuplicatePlans    string           `json:"duplicatePlans,omitempty"`
	Groups            []string         `json:"groups,omitempty"`
	Licenses          []PlannedLicense `json:"licenses"`
}

// PlannedLicense is one planned (user, SKU).
type PlannedLicense struct {
	SKU           string   `json:"sku"`
	SkuPartNumber string   `json:"skuPartNumber,omitempty"`
	State         string   `json:"state"`
	Reason        string   `json:"reason,omitempty"`
	Message       string   `json:"message,omitempty"`
	AssignedBy    []string `json:"assignedBy,omitempty"`
	// EnabledPlans are the SKU's plans minus DisabledPlans (none when the
	// SKU does not exist).
	EnabledPlans  []string `json:"enabledPlans,omitempty"`
	DisabledPlans []string `json:"disabledPlans,omitempty"`
}

// GroupPlan is the planned status of one group.
type GroupPlan struct {
	Name              string           `json:"name"`
	Members           int32            `json:"members"`
	Licensed          int32            `json:"licensed"`
	Errors            int32            `json:"errors"`
	UnresolvedMembers []string         `json:"unresolvedMembers,omitempty"`
	Ready             ConditionSummary `json:"ready"`
}

// LicenseError is one license in Error.
type LicenseError struct {
	User       string   `json:"user"`
	Name       string   `json:"name"`
	SKU        string   `json:"sku"`
	Reason     string   `json:"reason"`
	Message    string   `json:"message"`
	AssignedBy []string `json:"assignedBy,omitempty"`
}

// UserMessage is a message about one user.
type UserMessage struct {
	User    string `json:"user"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// PlanTenant runs the planner over a tenant at time now.
func PlanTenant(t *Tenant, now time.Time) *planner.Result {
	return planner.Plan(planner.Input{SKUs: t.SKUs, Groups: t.Groups, Users: t.Users, Now: metav1.NewTime(now)})
}

// BuildNamespacePlan presents the planner's result for t.
func BuildNamespacePlan(t *Tenant, res *planner.Result) NamespacePlan {
	np := NamespacePlan{
		Namespace:      t.Namespace,
		SKUs:           []SeatRow{},
		Users:          []UserPlan{},
		Groups:         []GroupPlan{},
		Errors:         []LicenseError{},
		DuplicatePlans: []UserMessage{},
	}
	for i, s := range t.SKUs {
		np.SKUs = append(np.SKUs, SeatRowOf(s, res.SKUs[i].Status))
	}
	for i, g := range t.Groups {
		st := res.Groups[i].Status
		gp := GroupPlan{Name: g.Name, Members: st.Members, Licensed: st.Licensed, Errors: st.Errors,
			UnresolvedMembers: st.UnresolvedMembers, Ready: conditionSummary(st.Conditions, licv1.ConditionReady)}
		np.Groups = append(np.Groups, gp)
	}
	for i, u := range t.Users {
		st := res.Users[i].Status
		up := UserPlan{
			Name:              u.Name,
			UserPrincipalName: u.Spec.UserPrincipalName,
			Ready:             conditionSummary(st.Conditions, licv1.ConditionReady),
			Groups:            st.Groups,
			Licenses:          []PlannedLicense{},
		}
		if c := meta.FindStatusCondition(st.Conditions, licv1.ConditionDuplicatePlans); c != nil && c.Status == metav1.ConditionTrue {
			up.DuplicatePlans = c.Message
			np.DuplicatePlans = append(np.DuplicatePlans, UserMessage{User: up.UserPrincipalName, Name: u.Name, Message: c.Message})
		}
		for _, l := range st.Licenses {
			up.Licenses = append(up.Licenses, PlannedLicense{SKU: l.SKU, SkuPartNumber: l.SkuPartNumber, State: l.State,
				Reason: l.Reason, Message: l.Message, AssignedBy: l.AssignedBy,
				EnabledPlans: EnabledPlans(t.SKUByName(l.SKU), l.DisabledPlans), DisabledPlans: l.DisabledPlans})
			if l.State == licv1.LicenseStateError {
				np.Errors = append(np.Errors, LicenseError{User: up.UserPrincipalName, Name: u.Name, SKU: l.SKU,
					Reason: l.Reason, Message: l.Message, AssignedBy: l.AssignedBy})
			}
		}
		np.Users = append(np.Users, up)
	}
	sort.Slice(np.Users, func(i, j int) bool {
		return lessUser(np.Users[i].UserPrincipalName, np.Users[i].Name, np.Users[j].UserPrincipalName, np.Users[j].Name)
	})
	sort.Slice(np.Errors, func(i, j int) bool {
		a, b := np.Errors[i], np.Errors[j]
		if a.User != b.User || a.Name != b.Name {
			return lessUser(a.User, a.Name, b.User, b.Name)
		}
		return a.SKU < b.SKU
	})
	sort.Slice(np.DuplicatePlans, func(i, j int) bool {
		a, b := np.DuplicatePlans[i], np.DuplicatePlans[j]
		return lessUser(a.User, a.Name, b.User, b.Name)
	})
	return np
}

func lessUser(upnA, nameA, upnB, nameB string) bool {
	if upnA != upnB {
		return upnA < upnB
	}
	return nameA < nameB
}

func conditionSummary(conds []metav1.Condition, typ string) ConditionSummary {
	c := meta.FindStatusCondition(conds, typ)
	if c == nil {
		return ConditionSummary{Status: string(metav1.ConditionUnknown)}
	}
	return ConditionSummary{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
}

// Summarize fills in r.Summary from the namespaces.
func (r *PlanReport) Summarize() {
	s := PlanSummary{Namespaces: len(r.Namespaces), Refused: len(r.Refused)}
	for _, np := range r.Namespaces {
		s.SKUs += len(np.SKUs)
		s.Groups += len(np.Groups)
		s.Users += len(np.Users)
		s.Changes += len(np.Changes)
		for _, u := range np.Users {
			for _, l := range u.Licenses {
				s.Licenses++
				switch {
				case l.State == licv1.LicenseStateActive:
					s.Active++
				case l.State == licv1.LicenseStateDisabled:
					s.Disabled++
				case l.Reason == licv1.ReasonInsufficientSeats:
					s.Errors++
					s.Waiting++
				default:
					s.Errors++
				}
			}
		}
	}
	r.Summary = s
}

// WritePlanText writes the report for a person reviewing a change: per
// namespace the seats, the changes against the cluster, every error, the
// duplicate plans and the unresolved group members; sorted and aligned.
func WritePlanText(w io.Writer, r *PlanReport) error {
	s := r.Summary
	fmt.Fprintf(w, "Planned %s, %s and %s in %s",
		plural(s.SKUs, "LicenseSku"), plural(s.Groups, "LicenseGroup"), plural(s.Users, "UserLicense"), plural(s.Namespaces, "namespace"))
	if r.AgainstCluster {
		fmt.Fprint(w, " (manifests overlaid on the cluster)")
	}
	fmt.Fprintln(w, ".")
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "Ignored (not licensing objects): %s.\n", FormatKindCounts(r.Ignored))
	}
	if len(r.Refused) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Refused: %s the API server would refuse (kubectl apply fails on them; left out of the plan):\n", plural(len(r.Refused), "object"))
		for _, f := range r.Refused {
			fmt.Fprintf(w, "  %s: %s\n", f.Source, f.Message)
		}
	}
	for i := range r.Namespaces {
		fmt.Fprintln(w)
		if err := writeNamespacePlan(w, &r.Namespaces[i], r.AgainstCluster); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Result: %d of %s active, ", s.Active, plural(s.Licenses, "license"))
	if s.Disabled > 0 {
		fmt.Fprintf(w, "%d disabled (subscription inactive), ", s.Disabled)
	}
	fmt.Fprint(w, plural(s.Errors, "error"))
	if s.Waiting > 0 {
		fmt.Fprintf(w, " (%d waiting for a seat)", s.Waiting)
	}
	if r.AgainstCluster {
		fmt.Fprintf(w, ", %s against the cluster", plural(s.Changes, "change"))
	}
	if s.Refused > 0 {
		fmt.Fprintf(w, ", %s refused", plural(s.Refused, "object"))
	}
	fmt.Fprintln(w, ".")
	return nil
}

// EnabledPlans returns the plans of sku that are on for a user whose
// status lists disabled as off: the SKU's plans minus disabled, sorted.
// nil when sku is nil (the SKU does not exist: its plans are unknown).
func EnabledPlans(sku *licv1.LicenseSku, disabled []string) []string {
	if sku == nil {
		return nil
	}
	off := make(map[string]bool, len(disabled))
	for _, p := range disabled {
		off[p] = true
	}
	var out []string
	for _, p := range sku.Spec.ServicePlans {
		if !off[p.Name] {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

func writeNamespacePlan(w io.Writer, np *NamespacePlan, againstCluster bool) error {
	fmt.Fprintf(w, "Namespace %s: %s, %s, %s\n", np.Namespace,
		plural(len(np.SKUs), "SKU"), plural(len(np.Groups), "group"), plural(len(np.Users), "user"))
	for _, warn := range np.Warnings {
		fmt.Fprintf(w, "  WARNING: %s\n", warn)
	}

	if againstCluster {
		fmt.Fprintln(w)
		if len(np.Changes) == 0 {
			fmt.Fprintln(w, "  Changes: none (every user keeps the licenses it has)")
		} else {
			fmt.Fprintf(w, "  Changes: %s\n", changeCounts(np.Changes))
			if err := WriteChanges(w, np.Changes, "    "); err != nil {
				return err
			}
		}
		if len(np.SeatChanges) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "  Seat changes (before -> after):")
			tw := NewTabWriter(w)
			fmt.Fprintln(tw, "    SKU\tPART NUMBER\tUSABLE\tASSIGNED\tREQUESTED\tWAITING\tSTATE")
			for _, c := range np.SeatChanges {
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.SKU, c.SkuPartNumber, arrow(c.Usable), arrow(c.Assigned),
					arrow(c.Requested), arrow(c.Waiting), arrowString(c.StateBefore, c.StateAfter))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}

	fmt.Fprintln(w)
	if len(np.SKUs) == 0 {
		fmt.Fprintln(w, "  Seats: no LicenseSku in this namespace")
	} else {
		fmt.Fprintln(w, "  Seats:")
		if err := WriteSeatTable(w, np.SKUs, SeatTableOptions{Indent: "    ", Compact: true}); err != nil {
			return err
		}
	}

	fmt.Fprintln(w)
	if len(np.Errors) == 0 {
		fmt.Fprintln(w, "  Errors: none")
	} else {
		fmt.Fprintf(w, "  Errors: %s of %s\n", plural(len(np.Errors), "license"), plural(countUsers(np.Errors), "user"))
		tw := NewTabWriter(w)
		fmt.Fprintln(tw, "    USER\tSKU\tREASON\tASSIGNED BY\tMESSAGE")
		for _, e := range np.Errors {
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", e.User, e.SKU, e.Reason, orDash(strings.Join(e.AssignedBy, ",")), e.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	var disabled []LicenseError
	for _, u := range np.Users {
		for _, l := range u.Licenses {
			if l.State == licv1.LicenseStateDisabled {
				disabled = append(disabled, LicenseError{User: u.UserPrincipalName, Name: u.Name, SKU: l.SKU, Reason: l.Reason, Message: l.Message})
			}
		}
	}
	if len(disabled) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Disabled (seat kept, every subscription inactive): %s of %s\n", plural(len(disabled), "license"), plural(countUsers(disabled), "user"))
		tw := NewTabWriter(w)
		fmt.Fprintln(tw, "    USER\tSKU\tREASON\tMESSAGE")
		for _, d := range disabled {
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", d.User, d.SKU, orDash(d.Reason), orDash(d.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(np.DuplicatePlans) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Duplicate plans (warning): %s\n", plural(len(np.DuplicatePlans), "user"))
		tw := NewTabWriter(w)
		for _, d := range np.DuplicatePlans {
			fmt.Fprintf(tw, "    %s\t%s\n", d.User, d.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	var unresolved []GroupPlan
	for _, g := range np.Groups {
		if len(g.UnresolvedMembers) > 0 {
			unresolved = append(unresolved, g)
		}
	}
	if len(unresolved) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  Unresolved group members (no UserLicense with that userPrincipalName):")
		tw := NewTabWriter(w)
		for _, g := range unresolved {
			fmt.Fprintf(tw, "    %s\t%s\n", g.Name, strings.Join(g.UnresolvedMembers, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func countUsers(errs []LicenseError) int {
	n := 0
	for i := range errs {
		if i == 0 || errs[i].Name != errs[i-1].Name || errs[i].User != errs[i-1].User {
			n++
		}
	}
	return n
}

// plural renders "1 user", "2 users" (adding an s).
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
