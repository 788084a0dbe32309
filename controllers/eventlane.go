package controllers

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/log"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Event lane defaults.
const (
	// DefaultEventQPS is the pace of events when no status write is in
	// flight.
	DefaultEventQPS = 200
	// DefaultEventQPSWhileWriting is the pace while statuses are being
	// written: a trickle, so events are never starved but leave the API
	// server to the statuses.
	DefaultEventQPSWhileWriting = 5
	// DefaultMaxQueuedEvents bounds the events waiting to be posted (about
	// 300 bytes each).
	DefaultMaxQueuedEvents = 100_000
	// eventLaneGrace keeps the lane at the slow pace this long after the
	// last status write ends: a re-plan usually follows within it.
	eventLaneGrace = time.Second
)

// eventLane sits between the reconciler and the events recorder. Statuses
// are the source of truth and what users wait for; Events are the history.
// Both cost the API server about the same per request, so a bulk change
// (a cold start, a group that flips 10,000 users) would otherwise post
// one event per user in the middle of the status writes and delay them by a
// quarter. The lane queues events (in order, bounded) and forwards them to
// the recorder at a slow pace while status writes are in flight and at a
// fast one otherwise.
//
// Events stay best-effort, as in Kubernetes: when the queue is full the
// newest event is dropped and counted, and events still queued when the
// manager stops are lost (the statuses hold the state).
type eventLane struct {
	out       events.EventRecorder
	idleQPS   rate.Limit
	busyQPS   rate.Limit
	maxQueued int
	now       func() time.Time

	mu        sync.Mutex
	queue     []queuedEvent // FIFO: queue[head:]
	head      int
	writing   int       // status-writing plans in flight
	lastWrite time.Time // when the last one ended
	busy      bool      // the limiter's current pace
	limiter   *rate.Limiter
	wake      chan struct{}
}

type queuedEvent struct {
	regarding runtime.Object
	eventtype string
	reason    string
	action    string
	note      string
}

func newEventLane(out events.EventRecorder, idleQPS, busyQPS float64, maxQueued int, now func() time.Time) *eventLane {
	if idleQPS <= 0 {
		idleQPS = DefaultEventQPS
	}
	if busyQPS < 0 {
		busyQPS = 0
	}
	if maxQueued <= 0 {
		maxQueued = DefaultMaxQueuedEvents
	}
	if now == nil {
		now = time.Now
	}
	return &eventLane{
		out:       out,
		idleQPS:   rate.Limit(idleQPS),
		busyQPS:   rate.Limit(busyQPS),
		maxQueued: maxQueued,
		now:       now,
		limiter:   rate.NewLimiter(rate.Limit(idleQPS), burstFor(rate.Limit(idleQPS))),
		wake:      make(chan struct{}, 1),
	}
}

// burstFor allows a tenth of a second's worth of events at once (none at a
// pace of zero: the x/time limiter would otherwise spend its burst).
func burstFor(qps rate.Limit) int {
	if qps <= 0 {
		return 0
	}
	return max(1, int(qps/10))
}

// Eventf queues an event (events.EventRecorder). The note is formatted now;
// a UserLicense is kept as its identity only, so a queue of 100,000 events
// does not pin 100,000 statuses in memory.
func (l *eventLane) Eventf(regarding, _ runtime.Object, eventtype, reason, action, note string, args ...any) {
	if len(args) > 0 {
		note = fmt.Sprintf(note, args...)
	}
	e := queuedEvent{regarding: slim(regarding), eventtype: eventtype, reason: reason, action: action, note: note}
	l.mu.Lock()
	if len(l.queue)-l.head >= l.maxQueued {
		l.mu.Unlock()
		eventsDropped.Inc()
		return
	}
	if l.head > 0 && l.head == len(l.queue) {
		l.queue, l.head = l.queue[:0], 0
	}
	l.queue = append(l.queue, e)
	eventsQueued.Set(float64(len(l.queue) - l.head))
	l.mu.Unlock()
	l.signal()
}

func slim(o runtime.Object) runtime.Object {
	u, ok := o.(*licv1.UserLicense)
	if !ok {
		return o
	}
	s := &licv1.UserLicense{TypeMeta: u.TypeMeta}
	s.Name, s.Namespace, s.UID, s.ResourceVersion = u.Name, u.Namespace, u.UID, u.ResourceVersion
	return s
}

// writeStarted marks a plan's status writes in flight; the returned func
// marks them done.
func (l *eventLane) writeStarted() func() {
	l.mu.Lock()
	l.writing++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.writing--
		l.lastWrite = l.now()
		l.mu.Unlock()
		l.signal()
	}
}

func (l *eventLane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// step forwards the next event if the pace allows it at now. It returns
// whether one was forwarded, and otherwise how long to wait before trying
// again (0 when the queue is empty).
func (l *eventLane) step(now time.Time) (forwarded bool, wait time.Duration) {
	l.mu.Lock()
	if l.head == len(l.queue) {
		l.mu.Unlock()
		return false, 0
	}
	busy := l.writing > 0 || (!l.lastWrite.IsZero() && now.Sub(l.lastWrite) < eventLaneGrace)
	if busy != l.busy {
		l.busy = busy
		qps := l.idleQPS
		if busy {
			qps = l.busyQPS
		}
		l.limiter = rate.NewLimiter(qps, burstFor(qps)) // starts with a full burst
	}
	if !l.limiter.AllowN(now, 1) {
		wait = 100 * time.Millisecond // at most: the state may change
		if lim := l.limiter.Limit(); lim > 0 {
			need := 1 - l.limiter.TokensAt(now)
			wait = min(wait, max(time.Millisecond, time.Duration(need/float64(lim)*float64(time.Second))))
		}
		if busy && l.writing == 0 {
			wait = min(wait, max(time.Millisecond, eventLaneGrace-now.Sub(l.lastWrite)))
		}
		l.mu.Unlock()
		return false, wait
	}
	e := l.queue[l.head]
	l.queue[l.head] = queuedEvent{}
	l.head++
	eventsQueued.Set(float64(len(l.queue) - l.head))
	l.mu.Unlock()
	l.forward(e)
	return true, 0
}

// forward hands one event to the recorder. A panic there (the lane's
// goroutine is the manager's) drops the event, is counted and logged, and
// the lane goes on.
func (l *eventLane) forward(e queuedEvent) {
	defer func() {
		if p := recover(); p != nil {
			panicsRecovered.WithLabelValues("event_lane").Inc()
			log.Log.WithName("event-lane").Error(fmt.Errorf("panic: %v\n%s", p, debug.Stack()), "recording an event panicked; the event is dropped",
				"reason", e.reason, "regarding", fmt.Sprintf("%T", e.regarding))
		}
	}()
	l.out.Eventf(e.regarding, nil, e.eventtype, e.reason, e.action, "%s", e.note)
}

// Start forwards events until ctx ends (manager.Runnable).
func (l *eventLane) Start(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		forwarded, wait := l.step(l.now())
		if forwarded {
			continue
		}
		if wait == 0 {
			wait = time.Hour // queue empty: until Eventf signals
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-timer.C:
		}
	}
	if pending := l.pending(); pending > 0 {
		log.FromContext(ctx).Info("stopping with events not yet posted; they are lost (the statuses hold the state)", "events", pending)
	}
	return nil
}

func (l *eventLane) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue) - l.head
}
