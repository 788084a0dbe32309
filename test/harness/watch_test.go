package harness

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

func cm(rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + rv, ResourceVersion: rv}}
}

// script plays one fake watch per call: calls[i] gets the events of
// streams[i] and then the watch is dropped (closed, as an API server that
// drops a watcher does); a call past the scripted ones returns err, or a
// watch that stays open.
type script struct {
	mu      sync.Mutex
	streams [][]watch.Event
	after   error
	froms   []string
}

func (s *script) open(_ context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.froms = append(s.froms, opts.ResourceVersion)
	i := len(s.froms) - 1
	if i >= len(s.streams) {
		if s.after != nil {
			return nil, s.after
		}
		return watch.NewFakeWithChanSize(0, false), nil
	}
	w := watch.NewFakeWithChanSize(len(s.streams[i]), false)
	for _, ev := range s.streams[i] {
		w.Action(ev.Type, ev.Object)
	}
	w.Stop() // dropped in the middle of the history
	return w, nil
}

func (s *script) from() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.froms...)
}

func follow(t *testing.T, s *script) (*Follower, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	f, err := FollowFrom(context.Background(), "10", s.open, func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev.Object.GetResourceVersion())
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A watch dropped in the middle is resumed from the last version delivered:
// the history is complete and the follower reports no gap.
func TestFollowResumesADroppedWatchWithoutLoss(t *testing.T) {
	s := &script{streams: [][]watch.Event{
		{{Type: watch.Added, Object: cm("11")}, {Type: watch.Modified, Object: cm("12")}},
		{{Type: watch.Deleted, Object: cm("13")}},
	}}
	f, seen := follow(t, s)
	waitFor(t, "three events", func() bool { return len(seen()) == 3 })
	if err := f.SyncTo(context.Background(), "13"); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(); err != nil {
		t.Fatalf("a resumed watch is not a gap: %v", err)
	}
	if got := strings.Join(seen(), ","); got != "11,12,13" {
		t.Fatalf("history %s, want 11,12,13", got)
	}
	if got := s.from(); len(got) < 2 || got[0] != "10" || got[1] != "12" {
		t.Fatalf("watches opened from %v, want 10 then 12 (the last version delivered)", got)
	}
	if f.Resumes() < 1 || f.Events() != 3 {
		t.Fatalf("resumes %d events %d", f.Resumes(), f.Events())
	}
}

// A watch dropped in the middle whose resume version is no longer served
// (the API server compacted it: 410 Gone) is a gap, and Stop fails.
func TestFollowReportsAGapWhenTheResumeIsGone(t *testing.T) {
	for name, err := range map[string]error{
		"gone":    apierrors.NewGone("too old resource version: 12 (40)"),
		"expired": apierrors.NewResourceExpired("too old resource version: 12 (40)"),
	} {
		t.Run(name, func(t *testing.T) {
			s := &script{streams: [][]watch.Event{{{Type: watch.Added, Object: cm("11")}, {Type: watch.Modified, Object: cm("12")}}}, after: err}
			f, seen := follow(t, s)
			waitFor(t, "the gap", func() bool { return f.Err() != nil })
			if err := f.SyncTo(context.Background(), "13"); err == nil {
				t.Fatal("SyncTo past a gap must fail")
			}
			err := f.Stop()
			if err == nil || !strings.Contains(err.Error(), "from resourceVersion 12") {
				t.Fatalf("Stop = %v, want the gap after resourceVersion 12", err)
			}
			if got := strings.Join(seen(), ","); got != "11,12" {
				t.Fatalf("history %s", got)
			}
		})
	}
}

// An ERROR event in the stream (410 sent by the server mid-watch) is a gap.
func TestFollowReportsAGapOnAnErrorEvent(t *testing.T) {
	gone := apierrors.NewGone("too old resource version")
	s := &script{streams: [][]watch.Event{{{Type: watch.Added, Object: cm("11")}, {Type: watch.Error, Object: &gone.ErrStatus}}}}
	f, _ := follow(t, s)
	waitFor(t, "the gap", func() bool { return f.Err() != nil })
	if err := f.Stop(); err == nil || !strings.Contains(err.Error(), "after resourceVersion 11") {
		t.Fatalf("Stop = %v", err)
	}
}

// A history that goes backwards (or repeats a version) is not a history.
func TestFollowReportsAHistoryGoingBackwards(t *testing.T) {
	s := &script{streams: [][]watch.Event{{{Type: watch.Added, Object: cm("12")}, {Type: watch.Modified, Object: cm("11")}}}}
	f, _ := follow(t, s)
	waitFor(t, "the gap", func() bool { return f.Err() != nil })
	if err := f.Stop(); err == nil || !strings.Contains(err.Error(), "backwards") {
		t.Fatalf("Stop = %v", err)
	}
}

// A watch refused for another reason is retried, not a gap; Forbidden ends
// the RetryWatcher, which the follower reports as the watch ending by itself.
func TestFollowReportsAWatchThatEndsByItself(t *testing.T) {
	s := &script{streams: [][]watch.Event{{{Type: watch.Added, Object: cm("11")}}},
		after: apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", nil)}
	f, _ := follow(t, s)
	waitFor(t, "the gap", func() bool { return f.Err() != nil })
	if err := f.Stop(); err == nil {
		t.Fatal("a watch that ended before Stop must fail")
	}
}

func TestFollowNeedsAStartingVersion(t *testing.T) {
	for _, rv := range []string{"", "0"} {
		if _, err := FollowFrom(context.Background(), rv, (&script{}).open, func(Event) {}); err == nil {
			t.Fatalf("FollowFrom(%q) must fail: a watch from %q does not start at a known point", rv, rv)
		}
	}
}
