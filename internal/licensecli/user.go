package licensecli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// UserReport is everything `kubectl license user` shows about one user:
// the effective licenses with their sources and plans, and the
// assignment history.
type UserReport struct {
	Namespace         string `json:"namespace"`
	Name              string `json:"name"`
	UserPrincipalName string `json:"userPrincipalName"`
	UsageLocation     string `json:"usageLocation,omitempty"`
	// Ready is the Ready condition; nil until the controller planned the user.
	Ready *ConditionSummary `json:"ready,omitempty"`
	// DuplicatePlans is the DuplicatePlans warning, when True.
	DuplicatePlans string              `json:"duplicatePlans,omitempty"`
	Groups         []string            `json:"groups,omitempty"`
	Licenses       []UserLicenseDetail `json:"licenses"`
	Events         []EventRow          `json:"events"`
	// Pending: the status is not computed from the current generation.
	Pending bool `json:"pending,omitempty"`
}

// ConditionSummary is the part of a condition a person reads.
type ConditionSummary struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// UserLicenseDetail is one effective license of a user.
type UserLicenseDetail struct {
	SKU           string   `json:"sku"`
	SkuPartNumber string   `json:"skuPartNumber,omitempty"`
	DisplayName   string   `json:"displayName,omitempty"`
	State         string   `json:"state"`
	Reason        string   `json:"reason,omitempty"`
	Message       string   `json:"message,omitempty"`
	AssignedBy    []string `json:"assignedBy,omitempty"`
	// EnabledPlans are the SKU's plans minus DisabledPlans, computed from
	// the LicenseSku (unknown when the SKU does not exist).
	EnabledPlans []string `json:"enabledPlans,omitempty"`
	// DisabledPlans are the SKU's plans that are off for the user, as the
	// status says.
	DisabledPlans      []string     `json:"disabledPlans,omitempty"`
	WaitingSince       *metav1.Time `json:"waitingSince,omitempty"`
	LastTransitionTime metav1.Time  `json:"lastTransitionTime,omitzero"`
	// skuKnown: the LicenseSku exists, so EnabledPlans is known.
	skuKnown bool
}

// EventRow is one event of the assignment history.
type EventRow struct {
	Time    metav1.Time `json:"time"`
	Type    string      `json:"type"`
	Reason  string      `json:"reason"`
	Message string      `json:"message"`
	Count   int32       `json:"count,omitempty"`
}

// BuildUserReport assembles the report of u. skus are the LicenseSkus of
// u's namespace (for display names and disabled plans); events are the
// events regarding u, in any order.
func BuildUserReport(u *licv1.UserLicense, skus []*licv1.LicenseSku, events []eventsv1.Event) UserReport {
	bySKU := make(map[string]*licv1.LicenseSku, len(skus))
	for _, s := range skus {
		bySKU[s.Name] = s
	}
	r := UserReport{
		Namespace:         u.Namespace,
		Name:              u.Name,
		UserPrincipalName: u.Spec.UserPrincipalName,
		UsageLocation:     u.Spec.UsageLocation,
		Groups:            u.Status.Groups,
		Licenses:          []UserLicenseDetail{},
		Events:            EventRows(events),
		Pending:           u.Status.ObservedGeneration < u.Generation,
	}
	if c := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionReady); c != nil {
		r.Ready = &ConditionSummary{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
	} else {
		r.Pending = true
	}
	if c := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionDuplicatePlans); c != nil && c.Status == metav1.ConditionTrue {
		r.DuplicatePlans = c.Message
	}
	for _, l := range u.Status.Licenses {
		d := UserLicenseDetail{
			SKU:                l.SKU,
			SkuPartNumber:      l.SkuPartNumber,
			State:              l.State,
			Reason:             l.Reason,
			Message:            l.Message,
			AssignedBy:         l.AssignedBy,
			DisabledPlans:      l.DisabledPlans,
			WaitingSince:       l.WaitingSince,
			LastTransitionTime: l.LastTransitionTime,
		}
		if s := bySKU[l.SKU]; s != nil {
			d.DisplayName = s.Spec.DisplayName
			d.EnabledPlans = EnabledPlans(s, l.DisabledPlans)
			d.skuKnown = true
		}
		r.Licenses = append(r.Licenses, d)
	}
	return r
}

// EventRows turns events into history rows sorted by time (then reason,
// then message, so equal times print stably).
func EventRows(events []eventsv1.Event) []EventRow {
	rows := make([]EventRow, 0, len(events))
	for i := range events {
		e := &events[i]
		row := EventRow{Time: EventTime(e), Type: e.Type, Reason: e.Reason, Message: e.Note, Count: 1}
		if e.Series != nil {
			row.Count = e.Series.Count
		} else if e.DeprecatedCount > 1 {
			row.Count = e.DeprecatedCount
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if !a.Time.Equal(&b.Time) {
			return a.Time.Before(&b.Time)
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Message < b.Message
	})
	return rows
}

// EventTime is when an event last happened: the last observation of its
// series, else its eventTime, else the deprecated timestamps.
func EventTime(e *eventsv1.Event) metav1.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return metav1.NewTime(e.Series.LastObservedTime.Time)
	case !e.EventTime.IsZero():
		return metav1.NewTime(e.EventTime.Time)
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp
	case !e.DeprecatedFirstTimestamp.IsZero():
		return e.DeprecatedFirstTimestamp
	default:
		return e.CreationTimestamp
	}
}

// WriteUserReport writes the report as `kubectl describe` would. now
// turns times into ages.
func WriteUserReport(w io.Writer, r *UserReport, now time.Time) error {
	tw := NewTabWriter(w)
	fmt.Fprintf(tw, "User:\t%s\n", r.UserPrincipalName)
	fmt.Fprintf(tw, "UserLicense:\t%s/%s\n", r.Namespace, r.Name)
	fmt.Fprintf(tw, "Usage location:\t%s\n", orText(r.UsageLocation, "(not set: no license can take effect)"))
	fmt.Fprintf(tw, "Groups:\t%s\n", orText(strings.Join(r.Groups, ", "), "-"))
	switch {
	case r.Ready == nil:
		fmt.Fprintf(tw, "Ready:\tUnknown (the controller has not processed this user yet)\n")
	default:
		fmt.Fprintf(tw, "Ready:\t%s (%s) %s\n", r.Ready.Status, r.Ready.Reason, r.Ready.Message)
	}
	if r.Ready != nil && r.Pending {
		fmt.Fprintf(tw, "\t(the status below predates the latest change of the spec)\n")
	}
	if r.DuplicatePlans != "" {
		fmt.Fprintf(tw, "Duplicate plans:\t%s\n", r.DuplicatePlans)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	if len(r.Licenses) == 0 {
		fmt.Fprintln(w, "Licenses: none (no direct assignment and no group assigns a license)")
	} else {
		fmt.Fprintln(w, "Licenses:")
		tw = NewTabWriter(w)
		fmt.Fprintln(tw, "  SKU\tPART NUMBER\tSTATE\tREASON\tASSIGNED BY\tSINCE")
		for _, l := range r.Licenses {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", l.SKU, orDash(l.SkuPartNumber), l.State, orDash(l.Reason),
				strings.Join(l.AssignedBy, ", "), age(l.LastTransitionTime, now))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, l := range r.Licenses {
			fmt.Fprintln(w)
			title := l.SKU
			if l.DisplayName != "" {
				title += " (" + l.DisplayName + ")"
			}
			fmt.Fprintf(w, "  %s\n", title)
			tw = NewTabWriter(w)
			switch l.State {
			case licv1.LicenseStateError:
				fmt.Fprintf(tw, "    Error:\t%s: %s\n", l.Reason, l.Message)
			case licv1.LicenseStateDisabled:
				fmt.Fprintf(tw, "    Disabled:\t%s: %s\n", l.Reason, orText(l.Message, "the seat is kept, the services are off"))
			}
			if l.WaitingSince != nil {
				fmt.Fprintf(tw, "    Waiting since:\t%s (%s)\n", l.WaitingSince.UTC().Format(time.RFC3339), age(*l.WaitingSince, now))
			}
			if l.skuKnown {
				fmt.Fprintf(tw, "    Enabled plans:\t%s\n", orText(strings.Join(l.EnabledPlans, ", "), "-"))
			} else {
				fmt.Fprintf(tw, "    Enabled plans:\tunknown: LicenseSku %s does not exist in namespace %s\n", l.SKU, r.Namespace)
			}
			fmt.Fprintf(tw, "    Disabled plans:\t%s\n", orText(strings.Join(l.DisabledPlans, ", "), "-"))
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}

	fmt.Fprintln(w)
	if len(r.Events) == 0 {
		fmt.Fprintln(w, "Events: none (events expire after an hour by default)")
		return nil
	}
	fmt.Fprintln(w, "Events (assignment history):")
	tw = NewTabWriter(w)
	fmt.Fprintln(tw, "  TIME\tTYPE\tREASON\tMESSAGE")
	for _, e := range r.Events {
		msg := e.Message
		if e.Count > 1 {
			msg += fmt.Sprintf(" (x%d)", e.Count)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Type, e.Reason, msg)
	}
	return tw.Flush()
}

// age renders how long ago t was, like kubectl's AGE column ("-" for zero).
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t.Time)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
