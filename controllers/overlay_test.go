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
	if got := o.resolve(cached); got != cached {
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
		got := o.resolve(userAt(tc.cachedRV, 0))
		if got.GetResourceVersion() != tc.wantRV {
			t.Errorf("%s: resolved rv %s, want %s", tc.name, got.GetResourceVersion(), tc.wantRV)
		}
	}

	// Cache caught up with our last write: the entry is dropped.
	caught := userAt("3", 3)
	if got := o.resolve(caught); got != caught {
		t.Fatalf("a cache at our last write must win")
	}
	if o.size() != 0 {
		t.Fatalf("entry must be forgotten once the cache caught up, size %d", o.size())
	}

	// Someone else changed the object after our write: the cache wins too.
	o.record("3", userAt("4", 4))
	external := userAt("9", 0)
	if got := o.resolve(external); got != external {
		t.Fatalf("a newer external version must win over our write")
	}

	// Deleted objects are pruned.
	o.record("9", userAt("10", 5))
	o.prune("t", map[types.UID]struct{}{})
	if o.size() != 0 {
		t.Fatalf("prune must drop entries of deleted objects, size %d", o.size())
	}
}
