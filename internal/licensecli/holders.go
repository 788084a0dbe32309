package licensecli

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Holder states in the holders table, besides Active and Disabled.
const (
	// HolderWaiting: in Error with reason InsufficientSeats, queued for a seat.
	HolderWaiting = "Waiting"
)

// HoldersReport is who holds a SKU's seats and who waits for one.
type HoldersReport struct {
	Namespace     string `json:"namespace"`
	SKU           string `json:"sku"`
	SkuPartNumber string `json:"skuPartNumber"`
	DisplayName   string `json:"displayName,omitempty"`
	// UsableSeats, Assigned and Waiting are the SKU's figures from the
	// users' statuses (Assigned: Active and Disabled licenses).
	UsableSeats int64 `json:"usableSeats"`
	Assigned    int   `json:"assigned"`
	Waiting     int   `json:"waiting"`
	// Holders hold a seat (Active, or Disabled while the subscriptions are
	// inactive), earliest first; Waiting are queued for a seat, in the
	// order the next free seats go; Failing request the SKU but fail for
	// another reason (they take no seat and are not queued).
	Holders []HolderRow `json:"holders"`
	Queue   []HolderRow `json:"queue"`
	Failing []HolderRow `json:"failing"`
}

// HolderRow is one user requesting the SKU.
type HolderRow struct {
	// Position is the place in the queue (1: the next free seat), 0 for
	// holders and failing requests.
	Position          int      `json:"position,omitempty"`
	UserPrincipalName string   `json:"userPrincipalName"`
	Name              string   `json:"name"`
	State             string   `json:"state"`
	Reason            string   `json:"reason,omitempty"`
	Message           string   `json:"message,omitempty"`
	AssignedBy        []string `json:"assignedBy,omitempty"`
	// Direct: assigned in the user's own spec (ranks before group-only).
	Direct bool `json:"direct"`
	// Priority is the highest priority of the request's group sources;
	// nil when no group assigns it.
	Priority *int32 `json:"priority,omitempty"`
	// Since is when the user got the seat (holders: the license's
	// lastTransitionTime) or started waiting (waitingSince); nil when unknown.
	Since         *metav1.Time `json:"since,omitempty"`
	DisabledPlans []string     `json:"disabledPlans,omitempty"`
}

// BuildHolders lists the users of a namespace requesting sku, from their
// statuses: holders (by since when, then UPN), the queue in the
// controller's order for new grants (direct before group-only, then the
// highest group priority, then the earliest waitingSince, then
// userPrincipalName) and the requests failing for another reason (by UPN).
func BuildHolders(sku *licv1.LicenseSku, groups []*licv1.LicenseGroup, users []*licv1.UserLicense) HoldersReport {
	prio := make(map[string]int32, len(groups))
	for _, g := range groups {
		prio[g.Name] = g.Spec.Priority
	}
	_, usable := Seats(&sku.Spec)
	r := HoldersReport{Namespace: sku.Namespace, SKU: sku.Name, SkuPartNumber: sku.Spec.SkuPartNumber,
		DisplayName: sku.Spec.DisplayName, UsableSeats: usable,
		Holders: []HolderRow{}, Queue: []HolderRow{}, Failing: []HolderRow{}}
	for _, u := range users {
		for _, l := range u.Status.Licenses {
			if l.SKU != sku.Name {
				continue
			}
			row := HolderRow{UserPrincipalName: u.Spec.UserPrincipalName, Name: u.Name, State: l.State,
				Reason: l.Reason, Message: l.Message, AssignedBy: l.AssignedBy, DisabledPlans: l.DisabledPlans}
			for _, src := range l.AssignedBy {
				if src == licv1.SourceDirect {
					row.Direct = true
				} else if g, ok := strings.CutPrefix(src, licv1.SourceGroupPrefix); ok {
					p := prio[g]
					if row.Priority == nil || p > *row.Priority {
						row.Priority = &p
					}
				}
			}
			switch {
			case HoldsSeat(l.State):
				if !l.LastTransitionTime.IsZero() {
					row.Since = l.LastTransitionTime.DeepCopy()
				}
				r.Holders = append(r.Holders, row)
			case l.Reason == licv1.ReasonInsufficientSeats:
				row.State = HolderWaiting
				row.Since = l.WaitingSince.DeepCopy()
				r.Queue = append(r.Queue, row)
			default:
				r.Failing = append(r.Failing, row)
			}
		}
	}
	byUser := func(a, b HolderRow) int {
		return cmp.Or(cmp.Compare(a.UserPrincipalName, b.UserPrincipalName), cmp.Compare(a.Name, b.Name))
	}
	slices.SortFunc(r.Holders, func(a, b HolderRow) int {
		return cmp.Or(compareTimes(a.Since, b.Since), byUser(a, b))
	})
	slices.SortFunc(r.Queue, func(a, b HolderRow) int {
		if a.Direct != b.Direct {
			if a.Direct {
				return -1
			}
			return 1
		}
		return cmp.Or(-cmp.Compare(priorityOf(a), priorityOf(b)), compareTimes(a.Since, b.Since), byUser(a, b))
	})
	for i := range r.Queue {
		r.Queue[i].Position = i + 1
	}
	slices.SortFunc(r.Failing, byUser)
	r.Assigned, r.Waiting = len(r.Holders), len(r.Queue)
	return r
}

func priorityOf(r HolderRow) int64 {
	if r.Priority == nil {
		return math.MinInt32
	}
	return int64(*r.Priority)
}

// compareTimes orders times earliest first; nil (unknown, or a request
// not yet waiting, which counts as now) last.
func compareTimes(a, b *metav1.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Time.Compare(b.Time)
}

// Rows returns every row of the report: holders, queue, failing.
func (r *HoldersReport) Rows() []HolderRow {
	return slices.Concat(r.Holders, r.Queue, r.Failing)
}

// HolderTableOptions selects the columns of WriteHoldersTable.
type HolderTableOptions struct {
	// Wide adds the disabled plans and the message.
	Wide      bool
	NoHeaders bool
}

// WriteHoldersTable writes the report as one table: holders, then the
// queue (# is the place in line), then the failing requests. now turns
// times into ages.
func WriteHoldersTable(w io.Writer, r *HoldersReport, o HolderTableOptions, now time.Time) error {
	tw := NewTabWriter(w)
	if !o.NoHeaders {
		header := "#\tUSER\tNAME\tSTATE\tREASON\tASSIGNED BY\tPRIORITY\tSINCE"
		if o.Wide {
			header += "\tSINCE (TIME)\tDISABLED PLANS\tMESSAGE"
		}
		fmt.Fprintln(tw, header)
	}
	for _, row := range r.Rows() {
		pos := "-"
		if row.Position > 0 {
			pos = fmt.Sprint(row.Position)
		}
		prio := "-"
		if row.Priority != nil {
			prio = fmt.Sprint(*row.Priority)
		}
		since, at := "-", "-"
		if row.Since != nil {
			since = age(*row.Since, now)
			at = row.Since.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", pos, row.UserPrincipalName, row.Name, row.State, orDash(row.Reason),
			orDash(strings.Join(row.AssignedBy, ",")), prio, since)
		if o.Wide {
			fmt.Fprintf(tw, "\t%s\t%s\t%s", at, orDash(strings.Join(row.DisabledPlans, ",")), orDash(row.Message))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
