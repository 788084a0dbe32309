package planner

import (
	"slices"
	"strings"
	"testing"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

func entry(sku, state, reason string, by ...string) licv1.LicenseStatus {
	return licv1.LicenseStatus{SKU: sku, SkuPartNumber: strings.ToUpper(sku), State: state, Reason: reason, Message: "do something", AssignedBy: by}
}

func TestTransitions(t *testing.T) {
	type tr struct {
		sku    string
		kind   TransitionKind
		reason string
	}
	tests := []struct {
		name     string
		old, new []licv1.LicenseStatus
		want     []tr
	}{{
		name: "nothing changes",
		old:  []licv1.LicenseStatus{entry("a", active, "", "Direct"), entry("b", failed, "InsufficientSeats", "Direct")},
		new:  []licv1.LicenseStatus{entry("a", active, "", "Direct"), entry("b", failed, "InsufficientSeats", "Direct")},
	}, {
		name: "a new license is assigned",
		new:  []licv1.LicenseStatus{entry("a", active, "", "Group/g")},
		want: []tr{{"a", TransitionAssigned, ""}},
	}, {
		name: "a waiting license gets its seat",
		old:  []licv1.LicenseStatus{entry("a", failed, "InsufficientSeats", "Direct")},
		new:  []licv1.LicenseStatus{entry("a", active, "", "Direct")},
		want: []tr{{"a", TransitionAssigned, ""}},
	}, {
		name: "an active license is no longer requested",
		old:  []licv1.LicenseStatus{entry("a", active, "", "Direct")},
		want: []tr{{"a", TransitionRemoved, ""}},
	}, {
		name: "a failed license is no longer requested",
		old:  []licv1.LicenseStatus{entry("a", failed, "SkuNotFound", "Direct")},
		want: []tr{{"a", TransitionRemoved, ""}},
	}, {
		name: "an active license fails: removed, then failed",
		old:  []licv1.LicenseStatus{entry("a", active, "", "Direct")},
		new:  []licv1.LicenseStatus{entry("a", failed, "UsageLocationRequired", "Direct")},
		want: []tr{{"a", TransitionRemoved, "UsageLocationRequired"}, {"a", TransitionFailed, "UsageLocationRequired"}},
	}, {
		name: "a failure changes reason",
		old:  []licv1.LicenseStatus{entry("a", failed, "SkuNotFound", "Direct")},
		new:  []licv1.LicenseStatus{entry("a", failed, "InsufficientSeats", "Direct")},
		want: []tr{{"a", TransitionFailed, "InsufficientSeats"}},
	}, {
		name: "sorted by SKU across kinds",
		old:  []licv1.LicenseStatus{entry("c", active, ""), entry("a", active, "")},
		new:  []licv1.LicenseStatus{entry("b", failed, "SkuNotFound"), entry("a", active, ""), entry("d", active, "")},
		want: []tr{{"b", TransitionFailed, "SkuNotFound"}, {"c", TransitionRemoved, ""}, {"d", TransitionAssigned, ""}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := &licv1.UserLicenseStatus{Licenses: tc.old}
			got := Transitions(old, &licv1.UserLicenseStatus{Licenses: tc.new})
			var kinds []tr
			for _, g := range got {
				kinds = append(kinds, tr{g.SKU, g.Kind, g.Reason})
				if g.Message == "" || !strings.Contains(g.Message, g.SKU) {
					t.Errorf("%s %s: message %q", g.Kind, g.SKU, g.Message)
				}
			}
			if !slices.Equal(kinds, tc.want) {
				t.Errorf("transitions = %v, want %v", kinds, tc.want)
			}
		})
	}
	// Details: sources and messages.
	got := Transitions(nil, &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{entry("e3", active, "", "Direct", "Group/staff")}})
	if len(got) != 1 || !slices.Equal(got[0].Sources, []string{"Direct", "Group/staff"}) ||
		!strings.Contains(got[0].Message, "e3 (E3) assigned by Direct, Group/staff") {
		t.Errorf("assigned: %+v", got)
	}
	got = Transitions(&licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{entry("e3", failed, "SkuNotFound")}},
		&licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{entry("e3", failed, "InsufficientSeats")}})
	if len(got) != 1 || !strings.Contains(got[0].Message, "InsufficientSeats: do something") {
		t.Errorf("failed: %+v", got)
	}
	if got := Transitions(nil, nil); got != nil {
		t.Errorf("nil statuses: %v", got)
	}
}

// TestTransitionsOfAPlan: the transitions between a user's current and
// planned status match the plan's seat changes.
func TestTransitionsOfAPlan(t *testing.T) {
	for seed := range uint64(100) {
		in := genTenant(seeded(seed))
		res := Plan(in)
		for i, u := range in.Users {
			if u == nil {
				continue
			}
			r := res.Users[i]
			var assigned, removedActive []string
			for _, tr := range Transitions(&u.Status, r.Status) {
				wasHeld := slices.ContainsFunc(u.Status.Licenses, func(l licv1.LicenseStatus) bool { return l.SKU == tr.SKU && holdsSeat(l.State) })
				switch tr.Kind {
				case TransitionAssigned:
					if !wasHeld { // Disabled -> Active is an assignment but no new seat
						assigned = append(assigned, tr.SKU)
					}
				case TransitionRemoved:
					for _, l := range u.Status.Licenses {
						if l.SKU == tr.SKU && holdsSeat(l.State) {
							removedActive = append(removedActive, tr.SKU)
							break
						}
					}
				}
			}
			if !slices.Equal(assigned, r.Grants) {
				t.Errorf("seed %d user %d: assigned %v, grants %v", seed, i, assigned, r.Grants)
			}
			if len(r.Releases) > 0 && !slices.Equal(slices.Compact(removedActive), r.Releases) {
				t.Errorf("seed %d user %d: removed %v, releases %v", seed, i, removedActive, r.Releases)
			}
			if !r.Changed && len(Transitions(&u.Status, r.Status)) != 0 {
				t.Errorf("seed %d user %d: transitions without change", seed, i)
			}
		}
	}
}
