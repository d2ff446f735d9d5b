package metrics

import (
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// A failed log shows as foreman_eventlog_failed 1; free disk is exported.
func TestScrapeShowsAFailedLogAndFreeDisk(t *testing.T) {
	on := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return syscall.EIO
		}
		return nil
	})}
	mem := vfs.NewMem()
	mem.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 5 << 20, TotalBytes: 1 << 30})
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: errorfs.Wrap(mem, on)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := projections.Open(t.Context(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Log: l, Jobs: p})
	if err != nil {
		t.Fatal(err)
	}
	s := scrapeHandler(t, c)
	s.expect(t, 0, "foreman_eventlog_failed")
	s.expect(t, 5<<20, "foreman_disk_free_bytes")
	on.On()
	if _, err := l.Append(t.Context(), submitted(ulid.Make(), "m", 0)); err == nil {
		t.Fatal("append on a failing WAL succeeded")
	}
	scrapeHandler(t, c).expect(t, 1, "foreman_eventlog_failed")
}
