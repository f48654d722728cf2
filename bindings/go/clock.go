package quota

import (
	"sync/atomic"
	"time"
)

// ManualClock is a clock for tests: it stands still until advanced.
// Pass its Now method as Options.Clock.
type ManualClock struct {
	ns atomic.Int64
}

// NewManualClock makes a clock that reads start.
func NewManualClock(start time.Time) *ManualClock {
	c := &ManualClock{}
	c.ns.Store(start.UnixNano())
	return c
}

// Now reads the clock.
func (c *ManualClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	return time.Unix(0, c.ns.Add(int64(d)))
}
