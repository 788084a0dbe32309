package controllers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// fakeRecorder records what the lane forwards.
type fakeRecorder struct {
	mu     sync.Mutex
	got    []string
	object []runtime.Object
}

func (f *fakeRecorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, reason+": "+fmt.Sprintf(note, args...))
	f.object = append(f.object, regarding)
}

func (f *fakeRecorder) notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func laneUser(i int) *licv1.UserLicense {
	return &licv1.UserLicense{
		TypeMeta:   metav1.TypeMeta{APIVersion: licv1.GroupVersion.String(), Kind: "UserLicense"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("u%d", i), Namespace: "t", UID: "uid", ResourceVersion: "7", Labels: map[string]string{"a": "b"}},
		Status:     licv1.UserLicenseStatus{Groups: []string{"g"}},
	}
}

// drain steps the lane at one instant until it must wait.
func drain(l *eventLane, now time.Time) (forwarded int, wait time.Duration) {
	for {
		ok, w := l.step(now)
		if !ok {
			return forwarded, w
		}
		forwarded++
	}
}

func TestEventLanePacesAndKeepsOrder(t *testing.T) {
	rec, clk := &fakeRecorder{}, &fakeClock{t: time.Unix(1000, 0)}
	l := newEventLane(rec, 100, 0, 0, clk.now) // 100/s, burst 10
	for i := range 25 {
		l.Eventf(laneUser(i), nil, "Normal", EventLicenseAssigned, "Assign", "sku-%d", i)
	}

	n, wait := drain(l, clk.t)
	if n != 10 || wait != 10*time.Millisecond {
		t.Fatalf("at once: forwarded %d, wait %v; want the burst of 10, then 10ms", n, wait)
	}
	clk.t = clk.t.Add(50 * time.Millisecond)
	if n, _ = drain(l, clk.t); n != 5 {
		t.Fatalf("50ms later: forwarded %d, want 5", n)
	}
	clk.t = clk.t.Add(time.Second)
	if n, wait = drain(l, clk.t); n != 10 || wait != 0 {
		t.Fatalf("1s later: forwarded %d (wait %v), want the last 10 and an empty queue", n, wait)
	}
	got := rec.notes()
	for i, g := range got {
		if want := fmt.Sprintf("%s: sku-%d", EventLicenseAssigned, i); g != want {
			t.Fatalf("event %d = %q, want %q (FIFO)", i, g, want)
		}
	}
}

func TestEventLaneTrailsStatusWrites(t *testing.T) {
	rec, clk := &fakeRecorder{}, &fakeClock{t: time.Unix(1000, 0)}
	l := newEventLane(rec, 1000, 0, 0, clk.now) // nothing while writing
	done := l.writeStarted()
	for i := range 5 {
		l.Eventf(laneUser(i), nil, "Normal", EventLicenseAssigned, "Assign", "x")
	}
	for range 3 {
		clk.t = clk.t.Add(10 * time.Second)
		if n, wait := drain(l, clk.t); n != 0 || wait <= 0 {
			t.Fatalf("while writing: forwarded %d (wait %v), want none", n, wait)
		}
	}
	done()
	if n, _ := drain(l, clk.t.Add(eventLaneGrace/2)); n != 0 {
		t.Fatalf("within the grace after the writes: forwarded %d, want none", n)
	}
	clk.t = clk.t.Add(eventLaneGrace)
	if n, wait := drain(l, clk.t); n != 5 || wait != 0 {
		t.Fatalf("after the grace: forwarded %d (wait %v), want all 5", n, wait)
	}

	// With a trickle while writing, events are not starved.
	l = newEventLane(rec, 1000, 2, 0, clk.now)
	done = l.writeStarted()
	defer done()
	for i := range 5 {
		l.Eventf(laneUser(i), nil, "Normal", EventLicenseAssigned, "Assign", "x")
	}
	total := 0
	for range 10 { // 1s in steps of 100ms at 2/s: 2 or 3 (burst 1)
		n, _ := drain(l, clk.t)
		total += n
		clk.t = clk.t.Add(100 * time.Millisecond)
	}
	if total < 2 || total > 3 {
		t.Fatalf("a second of writing at 2/s forwarded %d events, want 2 or 3", total)
	}
}

func TestEventLaneBoundedQueueCountsDrops(t *testing.T) {
	rec, clk := &fakeRecorder{}, &fakeClock{t: time.Unix(1000, 0)}
	l := newEventLane(rec, 1000, 0, 3, clk.now)
	before := testutil.ToFloat64(eventsDropped)
	for i := range 5 {
		l.Eventf(laneUser(i), nil, "Normal", EventLicenseAssigned, "Assign", "e%d", i)
	}
	if d := testutil.ToFloat64(eventsDropped) - before; d != 2 {
		t.Fatalf("dropped %v, want 2", d)
	}
	if q := testutil.ToFloat64(eventsQueued); q != 3 {
		t.Fatalf("queued gauge %v, want 3", q)
	}
	drain(l, clk.t)
	want := []string{"LicenseAssigned: e0", "LicenseAssigned: e1", "LicenseAssigned: e2"}
	if got := rec.notes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("forwarded %q, want the first three %q", got, want)
	}
	// The queue is reusable after draining.
	l.Eventf(laneUser(9), nil, "Normal", EventLicenseAssigned, "Assign", "e9")
	if n, _ := drain(l, clk.t.Add(time.Second)); n != 1 {
		t.Fatalf("after draining, a new event: forwarded %d, want 1", n)
	}
}

func TestEventLaneKeepsOnlyTheIdentityOfUsers(t *testing.T) {
	rec := &fakeRecorder{}
	l := newEventLane(rec, 1000, 0, 0, nil)
	u := laneUser(1)
	l.Eventf(u, nil, "Normal", EventLicenseAssigned, "Assign", "x")
	drain(l, time.Now())
	got, ok := rec.object[0].(*licv1.UserLicense)
	if !ok {
		t.Fatalf("forwarded %T, want *UserLicense", rec.object[0])
	}
	if got.Name != u.Name || got.Namespace != u.Namespace || got.UID != u.UID || got.ResourceVersion != u.ResourceVersion || got.Kind != "UserLicense" {
		t.Fatalf("identity lost: %+v", got.ObjectMeta)
	}
	if got.Status.Groups != nil || got.Labels != nil {
		t.Fatalf("the queued object keeps more than the identity: %+v", got)
	}
}

func TestEventLaneStartForwardsAndStops(t *testing.T) {
	rec := &fakeRecorder{}
	l := newEventLane(rec, 1000, 0, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- l.Start(ctx) }()
	for i := range 20 {
		l.Eventf(laneUser(i), nil, "Normal", EventLicenseAssigned, "Assign", "x")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.notes()) < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(rec.notes()); n != 20 {
		t.Fatalf("Start forwarded %d of 20 events", n)
	}
	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after its context ended")
	}
}

// panickyRecorder panics on events whose note is "boom".
type panickyRecorder struct{ fakeRecorder }

func (p *panickyRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if fmt.Sprintf(note, args...) == "boom" {
		panic("recorder panicked")
	}
	p.fakeRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

func TestEventLaneSurvivesAPanickingRecorder(t *testing.T) {
	rec := &panickyRecorder{}
	l := newEventLane(rec, 1000, 0, 0, nil)
	before := testutil.ToFloat64(panicsRecovered.WithLabelValues("event_lane"))
	l.Eventf(laneUser(1), nil, "Normal", EventLicenseAssigned, "Assign", "boom")
	l.Eventf(laneUser(2), nil, "Normal", EventLicenseAssigned, "Assign", "after")
	if n, _ := drain(l, time.Now()); n != 2 {
		t.Fatalf("stepped %d events, want both (the first dropped by its panic)", n)
	}
	if got := rec.notes(); len(got) != 1 || got[0] != EventLicenseAssigned+": after" {
		t.Fatalf("forwarded %q, want only the event after the panic", got)
	}
	if got := testutil.ToFloat64(panicsRecovered.WithLabelValues("event_lane")) - before; got != 1 {
		t.Fatalf("panics counted %v, want 1", got)
	}
}
