package controllers

import (
	"slices"
	"strings"
	"sync"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// CacheTransform is the manager's cache transform: it strips managedFields
// (never read here) and makes cached licensing objects compact:
//
//   - strings are interned: tens of thousands of UserLicenses repeat the same
//     few hundred strings (SKU and plan names, states, reasons, messages,
//     group names, label keys and values) and the decoder makes a private
//     copy of each for every object;
//   - lists the decoder grew by doubling are cut to their length (a user's
//     license entries are 160 bytes each, and a decoded list of 9 has room
//     for 16);
//   - identical disabledPlans and assignedBy lists and identical label sets
//     are shared between objects (up to maxShared distinct ones).
//
// Cached objects are read-only (the cache deep-copies what it hands out,
// and the reconciler reads without copies but never writes), so they can
// share: nothing may modify a cached object in place.
func CacheTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	sh := newSharer(maxShared)
	return func(in any) (any, error) {
		out, err := strip(in)
		if err != nil {
			return out, err
		}
		switch o := out.(type) {
		case *licv1.UserLicense:
			internMeta(&o.ObjectMeta)
			o.Labels = sh.labels(o.Labels)
			o.Spec.Licenses = exact(o.Spec.Licenses)
			internAssignments(o.Spec.Licenses)
			o.Spec.UsageLocation = intern(o.Spec.UsageLocation)
			o.Status.Licenses = exact(o.Status.Licenses)
			for i := range o.Status.Licenses {
				l := &o.Status.Licenses[i]
				l.SKU, l.SkuPartNumber, l.State = intern(l.SKU), intern(l.SkuPartNumber), intern(l.State)
				l.Reason, l.Message = intern(l.Reason), intern(l.Message)
				l.AssignedBy = sh.strings(l.AssignedBy)
				l.DisabledPlans = sh.strings(l.DisabledPlans)
			}
			o.Status.Groups = exact(o.Status.Groups)
			internAll(o.Status.Groups)
			o.Status.Conditions = exact(o.Status.Conditions)
			internConditions(o.Status.Conditions)
		case *licv1.LicenseGroup:
			internMeta(&o.ObjectMeta)
			internAll(o.Spec.Members)
			internAssignments(o.Spec.Licenses)
			internConditions(o.Status.Conditions)
		case *licv1.LicenseSku:
			internMeta(&o.ObjectMeta)
			internConditions(o.Status.Conditions)
		}
		return out, nil
	}
}

func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

func internAll(s []string) {
	for i := range s {
		s[i] = intern(s[i])
	}
}

func internMeta(m *metav1.ObjectMeta) {
	m.Namespace = intern(m.Namespace)
	if len(m.Labels) > 0 {
		labels := make(map[string]string, len(m.Labels))
		for k, v := range m.Labels {
			labels[intern(k)] = intern(v)
		}
		m.Labels = labels
	}
}

func internAssignments(as []licv1.LicenseAssignment) {
	for i := range as {
		as[i].SKU = intern(as[i].SKU)
		internAll(as[i].DisabledPlans)
		internAll(as[i].EnabledPlans)
	}
}

func internConditions(cs []metav1.Condition) {
	for i := range cs {
		cs[i].Type, cs[i].Reason, cs[i].Message = intern(cs[i].Type), intern(cs[i].Reason), intern(cs[i].Message)
	}
}

// maxShared bounds the distinct lists and label sets a CacheTransform
// shares; beyond it objects keep their own (compacted) copies.
const maxShared = 1 << 16

// exact returns s in an allocation of its length (s itself if it has no
// spare capacity).
func exact[T any](s []T) []T {
	if cap(s) == len(s) {
		return s
	}
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// sharer hands out one shared copy of each distinct string list and label
// set it has seen.
type sharer struct {
	mu        sync.Mutex
	max       int
	lists     map[string][]string
	labelSets map[string]map[string]string
}

func newSharer(limit int) *sharer {
	return &sharer{max: limit, lists: map[string][]string{}, labelSets: map[string]map[string]string{}}
}

func (s *sharer) full() bool { return len(s.lists)+len(s.labelSets) >= s.max }

// strings returns the shared copy of list (interned strings, exact length).
func (s *sharer) strings(list []string) []string {
	if len(list) == 0 {
		return list
	}
	key := strings.Join(list, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	if shared, ok := s.lists[key]; ok {
		return shared
	}
	list = exact(list)
	internAll(list)
	if !s.full() {
		s.lists[key] = list
	}
	return list
}

// labels returns the shared copy of a label set.
func (s *sharer) labels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	key := b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if shared, ok := s.labelSets[key]; ok {
		return shared
	}
	if !s.full() {
		s.labelSets[key] = m
	}
	return m
}
