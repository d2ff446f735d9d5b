package projections

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when one leaves a goroutine running
// (a sequencer or a Pebble background job of a log never closed).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
