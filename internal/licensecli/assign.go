package licensecli

import (
	"fmt"
	"io"
	"strings"

	"github.com/licenseops/license-operator/internal/planner"
)

// AssignPlan is the planned outcome of a change of one user's direct
// licenses (kubectl license assign and unassign): the user's license of
// the SKU before and after, and every change it causes in the namespace
// (a freed seat goes to the next in line).
type AssignPlan struct {
	Namespace         string `json:"namespace"`
	UserPrincipalName string `json:"userPrincipalName"`
	Name              string `json:"name"`
	SKU               string `json:"sku"`
	SkuPartNumber     string `json:"skuPartNumber"`
	// Before is the user's license of the SKU now (nil: not requested);
	// After as planned with the change (nil: no longer requested).
	Before      *PlannedLicense `json:"before,omitempty"`
	After       *PlannedLicense `json:"after,omitempty"`
	Changes     []Change        `json:"changes"`
	SeatChanges []SeatChange    `json:"seatChanges,omitempty"`
}

// BuildAssignPlan presents the plan of t (res is PlanTenant of t, t the
// live tenant with the user's new spec laid over it by Overlay) for the
// user called name and the SKU called sku.
func BuildAssignPlan(t *Tenant, res *planner.Result, name, sku string) AssignPlan {
	p := AssignPlan{Namespace: t.Namespace, Name: name, SKU: sku, Changes: []Change{}}
	if s := t.SKUByName(sku); s != nil {
		p.SkuPartNumber = s.Spec.SkuPartNumber
	}
	for i, u := range t.Users {
		if u.Name != name {
			continue
		}
		p.UserPrincipalName = u.Spec.UserPrincipalName
		for _, l := range u.Status.Licenses {
			if l.SKU == sku {
				p.Before = &PlannedLicense{SKU: l.SKU, SkuPartNumber: l.SkuPartNumber, State: l.State, Reason: l.Reason, Message: l.Message,
					AssignedBy: l.AssignedBy, EnabledPlans: EnabledPlans(t.SKUByName(sku), l.DisabledPlans), DisabledPlans: l.DisabledPlans}
			}
		}
		for _, l := range res.Users[i].Status.Licenses {
			if l.SKU == sku {
				p.After = &PlannedLicense{SKU: l.SKU, SkuPartNumber: l.SkuPartNumber, State: l.State, Reason: l.Reason, Message: l.Message,
					AssignedBy: l.AssignedBy, EnabledPlans: EnabledPlans(t.SKUByName(sku), l.DisabledPlans), DisabledPlans: l.DisabledPlans}
			}
		}
	}
	changes, seats := Diff(t, res)
	if changes != nil {
		p.Changes = changes
	}
	p.SeatChanges = seats
	return p
}

// WriteAssignPlan writes the planned outcome for a person, before the
// change is applied.
func WriteAssignPlan(w io.Writer, p *AssignPlan) error {
	fmt.Fprintf(w, "Planned outcome in namespace %s (the controller's planner on the live objects with this change):\n", p.Namespace)
	title := p.SKU
	if p.SkuPartNumber != "" {
		title += " (" + p.SkuPartNumber + ")"
	}
	fmt.Fprintf(w, "  %s, %s: %s -> %s\n", p.UserPrincipalName, title, licenseOutcome(p.Before), licenseOutcome(p.After))
	if a := p.After; a != nil {
		tw := NewTabWriter(w)
		if a.State != "Active" && a.Message != "" {
			fmt.Fprintf(tw, "    Why:\t%s\n", a.Message)
		}
		fmt.Fprintf(tw, "    Assigned by:\t%s\n", orDash(strings.Join(a.AssignedBy, ", ")))
		fmt.Fprintf(tw, "    Enabled plans:\t%s\n", orDash(strings.Join(a.EnabledPlans, ", ")))
		fmt.Fprintf(tw, "    Disabled plans:\t%s\n", orDash(strings.Join(a.DisabledPlans, ", ")))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(p.Changes) == 0 {
		fmt.Fprintln(w, "  Changes: none")
		return nil
	}
	fmt.Fprintf(w, "  Changes: %s\n", changeCounts(p.Changes))
	return WriteChanges(w, p.Changes, "    ")
}

// WriteChanges writes changes as a table.
func WriteChanges(w io.Writer, changes []Change, indent string) error {
	tw := NewTabWriter(w)
	fmt.Fprintf(tw, "%sSKU\tUSER\tCHANGE\tBEFORE\tAFTER\n", indent)
	for i := range changes {
		c := &changes[i]
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", indent, c.SKU, c.User, c.Text(), c.Before, c.After)
	}
	return tw.Flush()
}

// licenseOutcome renders a license for a sentence: "Active", "Error
// (InsufficientSeats)", "not requested".
func licenseOutcome(l *PlannedLicense) string {
	switch {
	case l == nil:
		return "not requested"
	case l.Reason != "":
		return l.State + " (" + l.Reason + ")"
	}
	return l.State
}
