package webhook

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: the
// package owns goroutines (its Run loops and their workers), and each
// must end with its context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
