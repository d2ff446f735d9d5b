package webhook

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func mustAllow(t *testing.T, entries ...string) *Guard {
	t.Helper()
	g, err := ParseAllow(entries)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGuardChecksTheDialledAddress(t *testing.T) {
	for _, c := range []struct {
		allow    []string
		host, ip string
		ok       bool
	}{
		{nil, "hooks.example", "203.0.113.7", true},
		{nil, "169.254.169.254", "169.254.169.254", false},                       // cloud metadata
		{nil, "rebound.example", "169.254.169.254", false},                       // a name resolving to it
		{nil, "::ffff:169.254.169.254", "::ffff:169.254.169.254", false},         // in IPv6 dress
		{nil, "fd00:ec2::254", "fd00:ec2::254", false},                           // AWS's IPv6 metadata
		{nil, "fe80::1", "fe80::1", false},                                       // link-local
		{nil, "0.0.0.0", "0.0.0.0", false},                                       // this host
		{[]string{"169.254.0.0/16"}, "169.254.169.254", "169.254.169.254", true}, // explicitly allowed
		{[]string{"127.0.0.1"}, "127.0.0.1", "127.0.0.1", true},
		{[]string{"127.0.0.1"}, "::ffff:127.0.0.1", "::ffff:127.0.0.1", true}, // the same address
		{[]string{"127.0.0.1"}, "0x7f000001", "127.0.0.1", true},              // resolved to an allowed address
		{[]string{"10.0.0.5"}, "0x7f000001", "127.0.0.1", false},              // resolved elsewhere
		{[]string{"hooks.example"}, "hooks.example", "203.0.113.7", true},
		{[]string{"hooks.example"}, "Hooks.Example", "203.0.113.7", true},
		{[]string{"hooks.example"}, "hooks.example", "169.254.169.254", false}, // DNS rebinding to metadata
		{[]string{"hooks.example"}, "localhost", "127.0.0.1", false},
		{[]string{"hooks.example"}, "127.0.0.1", "127.0.0.1", false},
		{[]string{"10.0.0.0/8"}, "internal.example", "10.1.2.3", true},
		{[]string{"10.0.0.0/8"}, "internal.example", "192.168.1.1", false},
	} {
		err := mustAllow(t, c.allow...).allowsAddr(c.host, netip.MustParseAddr(c.ip))
		if (err == nil) != c.ok {
			t.Errorf("allow %v, %s at %s: %v, want ok=%v", c.allow, c.host, c.ip, err, c.ok)
		}
	}
	if _, err := ParseAllow([]string{"10.0.0.0/99"}); err == nil {
		t.Error("a bad CIDR entry was accepted")
	}
}

func TestGuardAtSubmission(t *testing.T) {
	g := mustAllow(t, "127.0.0.1", "hooks.example")
	for host, want := range map[string]bool{
		"127.0.0.1": true, "[::ffff:127.0.0.1]": true, "hooks.example": true,
		"localhost": false, "0x7f000001": false, "169.254.169.254": false,
	} {
		if g.AllowsHost(host) != want {
			t.Errorf("AllowsHost(%q) = %v", host, !want)
		}
	}
	open := mustAllow(t)
	if !open.AllowsHost("anything.example") || open.AllowsHost("169.254.169.254") || open.AllowsHost("[fd00:ec2::254]") {
		t.Error("with no list: any name, but no metadata address")
	}
}

// lastAttempt returns the error of the job's last webhook record.
func lastAttempt(t *testing.T, l *eventlog.Log, id ulid.ULID) eventlog.WebhookAttempt {
	t.Helper()
	hist, _ := l.JobEvents(id)
	var p eventlog.WebhookAttempt
	for _, e := range hist {
		if strings.HasPrefix(string(e.Type), "webhook.") {
			p = eventlog.WebhookAttempt{}
			e.Decode(&p)
		}
	}
	return p
}

// Issue 12: an allowed receiver answering 307 to another address made the
// daemon POST every signed payload there.
func TestRedirectIsNotFollowed(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	var stolen atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { stolen.Add(1) }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	_, stop := startDispatcher(t, l, func(c *Config) { c.Backoff = []time.Duration{time.Millisecond} })
	defer stop()
	id := job(t, l, redirect.URL, false)
	waitHistory(t, l, id, eventlog.WebhookGaveUp, 1)
	if stolen.Load() != 0 {
		t.Fatalf("the redirect was followed %d times", stolen.Load())
	}
	if p := lastAttempt(t, l, id); p.Status != http.StatusTemporaryRedirect || !strings.Contains(p.Error, "not followed") {
		t.Fatalf("recorded %+v", p)
	}
}

func TestDeliveryDialsOnlyAllowedAddresses(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	rcv := newReceiver(t, func(int) int { return 200 })
	addr := rcv.Listener.Addr().String()
	port := addr[strings.LastIndex(addr, ":"):]
	_, stop := startDispatcher(t, l, func(c *Config) {
		c.Backoff = []time.Duration{}
		c.Guard = mustAllow(t, "localhost")
	})
	defer stop()
	byIP := job(t, l, "http://127.0.0.1"+port+"/hook", false) // not listed, though it is where localhost goes
	waitHistory(t, l, byIP, eventlog.WebhookGaveUp, 1)
	if p := lastAttempt(t, l, byIP); !strings.Contains(p.Error, "not allowed") {
		t.Fatalf("recorded %+v", p)
	}
	byName := job(t, l, "http://localhost"+port+"/hook", false)
	waitHistory(t, l, byName, eventlog.WebhookDelivered, 1)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if n := len(rcv.got); n != 1 {
		t.Fatalf("%d deliveries reached the receiver, want only the one by name", n)
	}
}

// The history is readable by whoever submitted the job: a connection error
// there must not tell a closed port from a filtered or open one.
func TestConnectionErrorsAreGenericInTheHistory(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	_, stop := startDispatcher(t, l, func(c *Config) { c.Backoff = []time.Duration{} })
	defer stop()
	id := job(t, l, url+"/hook", false)
	waitHistory(t, l, id, eventlog.WebhookGaveUp, 1)
	p := lastAttempt(t, l, id)
	port := url[strings.LastIndex(url, ":")+1:]
	if strings.Contains(p.Error, "refused") || strings.Contains(p.Error, port) || !strings.Contains(p.Error, "no answer") {
		t.Fatalf("recorded %q", p.Error)
	}
}
