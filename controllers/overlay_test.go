package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

func userAt(rv string, seats int64) *licv1.UserLicense {
	return &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{Name: "ann", Namespace: "t", UID: types.UID("uid-ann"), ResourceVersion: rv},
		Status:     licv1.UserLicenseStatus{ObservedGeneration: seats},
	}
}

func TestWriteOverlay(t *testing.T) {
	o := newWriteOverlay()

	cached := userAt("1", 0)
	if got, _ := o.resolve(cached); got != cached {
		t.Fatalf("without writes the cached object must be used")
	}

	// We patched rv 1 -> 2, then (planning from our own write) 2 -> 3.
	o.record("1", userAt("2", 2))
	o.record("2", userAt("3", 3))

	for _, tc := range []struct {
		name     string
		cachedRV string
		wantRV   string
	}{
		{"cache still at the first version", "1", "3"},
		{"cache saw only our first write", "2", "3"},
	} {
		got, _ := o.resolve(userAt(tc.cachedRV, 0))
		if got.GetResourceVersion() != tc.wantRV {
			t.Errorf("%s: resolved rv %s, want %s", tc.name, got.GetResourceVersion(), tc.wantRV)
		}
	}

	// Cache caught up with our last write: the entry is dropped.
	caught := userAt("3", 3)
	if got, _ := o.resolve(caught); got != caught {
		t.Fatalf("a cache at our last write must win")
	}
	if o.size() != 0 {
		t.Fatalf("entry must be forgotten once the cache caught up, size %d", o.size())
	}

	// Someone else changed the object after our write: the cache wins too.
	o.record("3", userAt("4", 4))
	external := userAt("9", 0)
	if got, _ := o.resolve(external); got != external {
		t.Fatalf("a newer external version must win over our write")
	}

	// Deleted objects are pruned.
	o.record("9", userAt("10", 5))
	o.prune("t", map[types.UID]struct{}{})
	if o.size() != 0 {
		t.Fatalf("prune must drop entries of deleted objects, size %d", o.size())
	}
}

func TestWriteOverlayUncertain(t *testing.T) {
	o := newWriteOverlay()

	// A write from rv 1 with no answer: plan from the pessimistic view,
	// marked uncertain, while the cache is at rv 1.
	view := userAt("1", 7)
	o.recordUncertain("1", view)
	if got, unsure := o.resolve(userAt("1", 0)); got != view || !unsure {
		t.Fatalf("cache at the version the unknown write was planned from: got rv %s uncertain %v, want the view, uncertain", got.GetResourceVersion(), unsure)
	}

	// The same write sent again and answered: the answer replaces the view.
	o.record("1", userAt("2", 8))
	if got, unsure := o.resolve(userAt("1", 0)); got.GetResourceVersion() != "2" || unsure {
		t.Fatalf("after an answered write: got rv %s uncertain %v, want rv 2, certain", got.GetResourceVersion(), unsure)
	}

	// An unknown write over our own answered write: the cache may still be
	// at either version the writes replaced.
	o.recordUncertain("2", userAt("2", 9))
	for _, rv := range []string{"1", "2"} {
		if got, unsure := o.resolve(userAt(rv, 0)); got.GetResourceVersion() != "2" || !unsure {
			t.Fatalf("cache at rv %s: got rv %s uncertain %v, want the view at rv 2, uncertain", rv, got.GetResourceVersion(), unsure)
		}
	}

	// The cache shows another version: the write's fate is settled and the
	// cache shows it.
	later := userAt("5", 0)
	if got, unsure := o.resolve(later); got != later || unsure {
		t.Fatalf("cache moved on: got rv %s uncertain %v, want the cached object", got.GetResourceVersion(), unsure)
	}
	if o.size() != 0 {
		t.Fatalf("entry must be forgotten once the cache moved on, size %d", o.size())
	}

	// A write that changed nothing (answered at the version it was planned
	// from) over the cache's version adds nothing to remember.
	o.record("5", userAt("5", 0))
	if o.size() != 0 {
		t.Fatalf("a no-op write must not be remembered, size %d", o.size())
	}
}
