package controllers

import (
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// tenantWrites is one plan's writes: the users whose status changes, in
// the order they are written, the group and SKU summaries, and the seat
// bound of every SKU.
type tenantWrites struct {
	users     []*userWrite
	summaries []*write
	seats     seatLedger

	// How far apply got: the pass and the next index in it, and the users
	// whose grants pass 1 left to pass 2. A plan cut short for fairness
	// goes on from there.
	pass   writePass
	next   int
	second []*userWrite
}

// writePass is a pass of apply over a plan's writes.
type writePass uint8

const (
	passUsers     writePass = iota // releases, and grants of free seats
	passHeldBack                   // grants of the seats pass 1 freed
	passSummaries                  // group and SKU summaries
	passDone
)

// done reports whether every write of the plan was launched.
func (tw *tenantWrites) done() bool { return tw.empty() || tw.pass == passDone }

// userWrite is the change of one user's status in a plan.
type userWrite struct {
	obj     *licv1.UserLicense // as planned from
	planned *licv1.UserLicenseStatus
	// releases are the SKUs the user holds in obj and not in planned;
	// grants the reverse (sorted).
	releases, grants []string

	// While writing: the latest version of the object (obj, or what the
	// release step returned), the grants the release step held back, and
	// whether a write of it was not applied.
	cur     *licv1.UserLicense
	pending []string
	failed  bool
}

func (tw *tenantWrites) empty() bool { return len(tw.users)+len(tw.summaries) == 0 }

// objects are the UIDs of the objects the plan writes.
func (tw *tenantWrites) objects() map[types.UID]struct{} {
	m := make(map[types.UID]struct{}, len(tw.users)+len(tw.summaries))
	for _, u := range tw.users {
		m[u.obj.UID] = struct{}{}
	}
	for _, s := range tw.summaries {
		m[s.base.GetUID()] = struct{}{}
	}
	return m
}

// newTenantWrites turns a plan into writes. A user whose planned status
// equals the one planned from is written anyway when that one is the
// pessimistic view of a write with an unknown outcome (uncertain[i]): the
// write is sent again, guarded by the same resourceVersion, so either it
// applies now or the conflict says the first one did.
func newTenantWrites(in planner.Input, res *planner.Result, uncertain []bool) *tenantWrites {
	tw := &tenantWrites{seats: newSeatLedger(in, res)}
	for i := range res.Users {
		r := &res.Users[i]
		obs := in.Users[i]
		if obs == nil || r.Status == nil || !(r.Changed || (i < len(uncertain) && uncertain[i])) {
			continue
		}
		releases, grants := seatChanges(&obs.Status, r.Status)
		tw.users = append(tw.users, &userWrite{obj: obs, planned: r.Status, releases: releases, grants: grants, cur: obs})
	}
	for i := range res.Groups {
		g := &res.Groups[i]
		obs := in.Groups[i]
		if obs == nil || !g.Changed {
			continue
		}
		tw.summaries = append(tw.summaries, &write{kind: "LicenseGroup", base: obs, send: func() client.Object {
			des := obs.DeepCopy()
			des.Status = *g.Status.DeepCopy()
			return des
		}})
	}
	for i := range res.SKUs {
		sk := &res.SKUs[i]
		obs := in.SKUs[i]
		if obs == nil || !sk.Changed {
			continue
		}
		tw.summaries = append(tw.summaries, &write{kind: "LicenseSku", base: obs, send: func() client.Object {
			des := obs.DeepCopy()
			des.Status = *sk.Status.DeepCopy()
			return des
		}})
	}
	// Objects whose spec changed and is not yet observed first (someone is
	// waiting on them, e.g. kubectl wait), then by kind and name, so
	// progress is deterministic even when a plan is cut short.
	sort.SliceStable(tw.users, func(i, j int) bool {
		pi, pj := pendingSpec(tw.users[i].obj), pendingSpec(tw.users[j].obj)
		if pi != pj {
			return pi
		}
		return tw.users[i].obj.Name < tw.users[j].obj.Name
	})
	sort.SliceStable(tw.summaries, func(i, j int) bool {
		a, b := tw.summaries[i], tw.summaries[j]
		if pa, pb := pendingSpec(a.base), pendingSpec(b.base); pa != pb {
			return pa
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.base.GetName() < b.base.GetName()
	})
	return tw
}

func pendingSpec(o client.Object) bool {
	switch t := o.(type) {
	case *licv1.UserLicense:
		return t.Status.ObservedGeneration != t.Generation
	case *licv1.LicenseGroup:
		return t.Status.ObservedGeneration != t.Generation
	case *licv1.LicenseSku:
		return t.Status.ObservedGeneration != t.Generation
	}
	return false
}

// holds reports whether a status entry holds a seat: Active, or Disabled
// (the seat is kept while the subscription is inactive).
func holds(l *licv1.LicenseStatus) bool {
	return l.State == licv1.LicenseStateActive || l.State == licv1.LicenseStateDisabled
}

func heldSKUs(st *licv1.UserLicenseStatus) map[string]bool {
	held := make(map[string]bool, len(st.Licenses))
	for i := range st.Licenses {
		if holds(&st.Licenses[i]) {
			held[st.Licenses[i].SKU] = true
		}
	}
	return held
}

// seatChanges returns the SKUs held in from and not in to (releases) and
// the reverse (grants), sorted.
func seatChanges(from, to *licv1.UserLicenseStatus) (releases, grants []string) {
	before, after := heldSKUs(from), heldSKUs(to)
	for s := range before {
		if !after[s] {
			releases = append(releases, s)
		}
	}
	for s := range after {
		if !before[s] {
			grants = append(grants, s)
		}
	}
	slices.Sort(releases)
	slices.Sort(grants)
	return releases, grants
}

// holdBack is the status a user is written with while some of its planned
// grants (skus) cannot be written yet: the planned license list with each
// of those SKUs' entries as the observed status has it (still waiting for a
// seat, say), or left out when the observed status did not list the SKU;
// activeLicenses counts the list. Everything else — observedGeneration,
// conditions, groups, requestedLicenses — stays as observed: the status
// shows the seats held at that moment and claims nothing more than the
// status it replaces did, so kubectl wait, kstatus and Argo CD, which read
// observedGeneration and Ready, never see the new generation done before
// its grants are written.
func holdBack(observed, planned *licv1.UserLicenseStatus, skus []string) *licv1.UserLicenseStatus {
	if len(skus) == 0 {
		return planned
	}
	st := &licv1.UserLicenseStatus{
		ObservedGeneration: observed.ObservedGeneration,
		RequestedLicenses:  observed.RequestedLicenses,
		Groups:             observed.Groups,
		Conditions:         observed.Conditions,
		Licenses:           make([]licv1.LicenseStatus, 0, len(planned.Licenses)),
	}
	for i := range planned.Licenses {
		e := &planned.Licenses[i]
		if !slices.Contains(skus, e.SKU) {
			st.Licenses = append(st.Licenses, *e)
			continue
		}
		for j := range observed.Licenses {
			if observed.Licenses[j].SKU == e.SKU {
				st.Licenses = append(st.Licenses, observed.Licenses[j])
				break
			}
		}
	}
	st.ActiveLicenses = countActive(st.Licenses)
	// The writer deep-copies the status it sends; this one shares slices
	// with the planned and observed statuses, which nothing modifies.
	return st
}

func countActive(ls []licv1.LicenseStatus) int32 {
	n := int32(0)
	for i := range ls {
		if ls[i].State == licv1.LicenseStateActive {
			n++
		}
	}
	return n
}

// uncertainView is what the next plans assume after a write of status st
// over base whose outcome is unknown: base with the seats st takes added
// (the write's grants taken) and the seats it frees still held (its
// releases not yet done). It keeps base's resourceVersion.
func uncertainView(base *licv1.UserLicense, st *licv1.UserLicenseStatus) *licv1.UserLicense {
	v := base.DeepCopy()
	held := heldSKUs(&base.Status)
	for i := range st.Licenses {
		e := &st.Licenses[i]
		if !holds(e) || held[e.SKU] {
			continue
		}
		j, found := slices.BinarySearchFunc(v.Status.Licenses, e.SKU, func(l licv1.LicenseStatus, sku string) int {
			switch {
			case l.SKU < sku:
				return -1
			case l.SKU > sku:
				return 1
			}
			return 0
		})
		if found {
			v.Status.Licenses[j] = *e.DeepCopy()
		} else {
			v.Status.Licenses = slices.Insert(v.Status.Licenses, j, *e.DeepCopy())
		}
	}
	v.Status.ActiveLicenses = countActive(v.Status.Licenses)
	return v
}

// seatLedger is, per SKU, its capacity and an upper bound of the holders
// the API server may show now (see statusWriter).
type seatLedger map[string]*seatCount

type seatCount struct{ capacity, upper int64 }

// newSeatLedger starts from the plan's capacities and the holders of the
// statuses planned from (the pessimistic views included).
func newSeatLedger(in planner.Input, res *planner.Result) seatLedger {
	l := make(seatLedger, len(in.SKUs))
	for i, s := range in.SKUs {
		if s == nil || res.SKUs[i].Status == nil {
			continue
		}
		l[s.Name] = &seatCount{capacity: res.SKUs[i].Status.Seats}
	}
	for _, u := range in.Users {
		if u == nil {
			continue
		}
		for i := range u.Status.Licenses {
			if c := l[u.Status.Licenses[i].SKU]; c != nil && holds(&u.Status.Licenses[i]) {
				c.upper++
			}
		}
	}
	return l
}

// reserve takes a seat of every SKU in skus that has room within capacity
// (fit), and returns the others (rest). A SKU the plan does not know is not
// bounded here (the plan grants none).
func (l seatLedger) reserve(skus []string) (fit, rest []string) {
	for _, s := range skus {
		c := l[s]
		switch {
		case c == nil:
			fit = append(fit, s)
		case c.upper < c.capacity:
			c.upper++
			fit = append(fit, s)
		default:
			rest = append(rest, s)
		}
	}
	return fit, rest
}

// unreserve gives back seats reserved by a write that was not applied.
func (l seatLedger) unreserve(skus []string) { l.released(skus) }

// released records seats the API server confirmed freed.
func (l seatLedger) released(skus []string) {
	for _, s := range skus {
		if c := l[s]; c != nil {
			c.upper--
		}
	}
}
