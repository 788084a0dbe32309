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

func TestClassifyUpdate(t *testing.T) {
	const uid = types.UID("uid-ann")
	ev := func(rv string) *licv1.UserLicense { return userAt(rv, 0) }

	t.Run("our write delivered after its response", func(t *testing.T) {
		o := newWriteOverlay()
		o.beginWrite(uid)
		o.record("1", userAt("2", 1))
		if o.endWrite(uid, "2") {
			t.Fatal("no event during the write: nothing to re-plan")
		}
		if k := o.classifyUpdate(ev("2")); k != updateOwn {
			t.Fatalf("our write classified %v, want own", k)
		}
		if k := o.classifyUpdate(ev("3")); k != updateExternal {
			t.Fatalf("a later change classified %v, want external", k)
		}
	})

	t.Run("our write delivered before its response", func(t *testing.T) {
		o := newWriteOverlay()
		o.beginWrite(uid)
		if k := o.classifyUpdate(ev("2")); k != updateParked {
			t.Fatalf("an event during the write classified %v, want parked", k)
		}
		o.record("1", userAt("2", 1))
		if o.endWrite(uid, "2") {
			t.Fatal("the parked event was our write: nothing to re-plan")
		}
		if k := o.classifyUpdate(ev("3")); k != updateExternal {
			t.Fatalf("the next change classified %v, want external (no stale own version left)", k)
		}
	})

	t.Run("someone else's change during our write", func(t *testing.T) {
		o := newWriteOverlay()
		o.beginWrite(uid)
		if k := o.classifyUpdate(ev("2")); k != updateParked {
			t.Fatalf("classified %v, want parked", k)
		}
		if !o.endWrite(uid, "") { // our write conflicted
			t.Fatal("a change that was not our write must re-plan")
		}
		o.beginWrite(uid)
		o.classifyUpdate(ev("5"))
		o.classifyUpdate(ev("6"))
		o.record("4", userAt("5", 1))
		if !o.endWrite(uid, "5") {
			t.Fatal("our write and a later change: the later change must re-plan")
		}
	})

	t.Run("two writes before either event", func(t *testing.T) {
		o := newWriteOverlay()
		o.beginWrite(uid)
		o.record("1", userAt("2", 1))
		o.endWrite(uid, "2")
		o.beginWrite(uid)
		if k := o.classifyUpdate(ev("2")); k != updateOwn {
			t.Fatalf("our first write, delivered during the second, classified %v, want own", k)
		}
		o.record("2", userAt("3", 2))
		if o.endWrite(uid, "3") {
			t.Fatal("nothing external happened")
		}
		if k := o.classifyUpdate(ev("3")); k != updateOwn {
			t.Fatalf("our second write classified %v, want own", k)
		}
	})

	t.Run("deleted during the write", func(t *testing.T) {
		o := newWriteOverlay()
		o.beginWrite(uid)
		o.classifyUpdate(ev("2"))
		o.forget(userAt("2", 0))
		if o.endWrite(uid, "") {
			t.Fatal("the deletion event re-plans; the write must not")
		}
	})
}
