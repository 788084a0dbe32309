package licensecli

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// States of a SKU in the seat table (besides the Ready reasons
// InsufficientSeats, Overallocated, SubscriptionsInactive).
const (
	// StateOK: Ready=True, every request is served.
	StateOK = "OK"
	// StatePending: the controller has not yet planned the current generation.
	StatePending = "Pending"
)

// SeatRow is one SKU as the admin center's Licenses page shows it: seats
// summed over subscriptions and how they are used.
type SeatRow struct {
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
	SkuPartNumber string `json:"skuPartNumber"`
	DisplayName   string `json:"displayName,omitempty"`
	// TotalSeats counts every subscription, UsableSeats only the Enabled
	// and Warning ones.
	TotalSeats  int64 `json:"totalSeats"`
	UsableSeats int64 `json:"usableSeats"`
	Assigned    int64 `json:"assigned"`
	Available   int64 `json:"available"`
	Requested   int64 `json:"requested"`
	Waiting     int64 `json:"waiting"`
	// State is OK, Pending, or the Ready reason (InsufficientSeats,
	// Overallocated, SubscriptionsInactive, ...).
	State string `json:"state"`
	// Message is the Ready message: what to do.
	Message       string               `json:"message,omitempty"`
	Subscriptions []licv1.Subscription `json:"subscriptions,omitempty"`
}

// SeatRowOf builds the row of a SKU from the given status (its own, or
// one the planner computed for it).
func SeatRowOf(sku *licv1.LicenseSku, st *licv1.LicenseSkuStatus) SeatRow {
	total, usable := Seats(&sku.Spec)
	row := SeatRow{
		Namespace:     sku.Namespace,
		Name:          sku.Name,
		SkuPartNumber: sku.Spec.SkuPartNumber,
		DisplayName:   sku.Spec.DisplayName,
		TotalSeats:    total,
		UsableSeats:   usable,
		Assigned:      st.Assigned,
		Available:     st.Available,
		Requested:     st.Requested,
		Waiting:       st.Waiting,
		Subscriptions: sku.Spec.Subscriptions,
	}
	row.State, row.Message = readyState(st.Conditions, sku.Generation, st.ObservedGeneration)
	return row
}

// readyState maps the Ready condition to a state: OK when True, else its
// reason; Pending when the current generation has not been planned yet.
func readyState(conds []metav1.Condition, gen, observed int64) (string, string) {
	c := meta.FindStatusCondition(conds, licv1.ConditionReady)
	switch {
	case c == nil || observed < gen || c.ObservedGeneration < gen:
		return StatePending, "the controller has not processed the current generation yet"
	case c.Status == metav1.ConditionTrue:
		return StateOK, c.Message
	default:
		return c.Reason, c.Message
	}
}

// Seats returns the SKU's total seats (every subscription) and usable
// seats (Enabled and Warning subscriptions; an empty state means Enabled).
func Seats(spec *licv1.LicenseSkuSpec) (total, usable int64) {
	for _, s := range spec.Subscriptions {
		total += s.Seats
		switch s.State {
		case "", licv1.SubscriptionEnabled, licv1.SubscriptionWarning:
			usable += s.Seats
		}
	}
	return total, usable
}

// SortSeatRows sorts rows by namespace and name.
func SortSeatRows(rows []SeatRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Namespace != rows[j].Namespace {
			return rows[i].Namespace < rows[j].Namespace
		}
		return rows[i].Name < rows[j].Name
	})
}

// SeatTableOptions selects the columns of WriteSeatTable.
type SeatTableOptions struct {
	// Namespace adds the NAMESPACE column (-A).
	Namespace bool
	// Wide adds the subscriptions and the Ready message (-o wide).
	Wide bool
	// Compact leaves out the display name (plan output).
	Compact bool
	// Indent prefixes every line.
	Indent string
	// NoHeaders leaves out the header line.
	NoHeaders bool
}

// WriteSeatTable writes rows as an aligned table.
func WriteSeatTable(w io.Writer, rows []SeatRow, o SeatTableOptions) error {
	tw := NewTabWriter(w)
	header := []string{"NAME", "PART NUMBER", "DISPLAY NAME", "TOTAL", "USABLE", "ASSIGNED", "AVAILABLE", "REQUESTED", "WAITING", "STATE"}
	if o.Compact {
		header = slices.Delete(header, 2, 3)
	}
	if o.Namespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if o.Wide {
		header = append(header, "SUBSCRIPTIONS", "MESSAGE")
	}
	if !o.NoHeaders {
		fmt.Fprintln(tw, o.Indent+strings.Join(header, "\t"))
	}
	for _, r := range rows {
		cells := []string{r.Name, r.SkuPartNumber, orDash(r.DisplayName),
			itoa(r.TotalSeats), itoa(r.UsableSeats), itoa(r.Assigned), itoa(r.Available),
			itoa(r.Requested), itoa(r.Waiting), r.State}
		if o.Compact {
			cells = slices.Delete(cells, 2, 3)
		}
		if o.Namespace {
			cells = append([]string{r.Namespace}, cells...)
		}
		if o.Wide {
			cells = append(cells, FormatSubscriptions(r.Subscriptions), orDash(r.Message))
		}
		fmt.Fprintln(tw, o.Indent+strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// FormatSubscriptions renders subscriptions as "contract-2026=5,
// trial-2026=5(Suspended)"; Enabled is implied.
func FormatSubscriptions(subs []licv1.Subscription) string {
	if len(subs) == 0 {
		return "-"
	}
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = fmt.Sprintf("%s=%d", s.Name, s.Seats)
		if s.State != "" && s.State != licv1.SubscriptionEnabled {
			parts[i] += "(" + string(s.State) + ")"
		}
	}
	return strings.Join(parts, ",")
}

// NewTabWriter returns the tab writer of every table: columns separated
// by at least three spaces, as kubectl prints them.
func NewTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
}

func itoa(n int64) string { return fmt.Sprintf("%d", n) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
