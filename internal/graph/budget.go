package graph

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Budget is a write budget: a token bucket of perSecond writes per second
// with room for burst writes at once (a $batch of burst writes takes burst
// tokens). It runs on a Clock, so tests check it on a fake clock.
type Budget struct {
	lim   *rate.Limiter
	clock Clock
	// OnWait, if set, is called with every delay the budget imposes.
	OnWait func(d time.Duration)
}

// NewBudget returns a budget of perSecond writes per second, bursts of
// at most burst writes.
func NewBudget(perSecond float64, burst int, clock Clock) *Budget {
	if clock == nil {
		clock = RealClock
	}
	if burst < 1 {
		burst = 1
	}
	return &Budget{lim: rate.NewLimiter(rate.Limit(perSecond), burst), clock: clock}
}

// Burst is the largest number of writes one Wait may take.
func (b *Budget) Burst() int { return b.lim.Burst() }

// Wait blocks until n writes fit in the budget and takes them.
func (b *Budget) Wait(ctx context.Context, n int) error {
	now := b.clock.Now()
	r := b.lim.ReserveN(now, n)
	if !r.OK() {
		return fmt.Errorf("write budget: %d writes at once exceed the burst of %d", n, b.lim.Burst())
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if b.OnWait != nil {
		b.OnWait(d)
	}
	if err := b.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(b.clock.Now())
		return err
	}
	return nil
}
