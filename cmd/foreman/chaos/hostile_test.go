//go:build chaos

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The hostile-client scenarios of issue 12, against the real binary:
//
//	go test -tags chaos -count=1 -run Hostile -v ./cmd/foreman/chaos/
//
// CHAOS_FLOOD (default 20000, fewer when the open-file limit is lower)
// sets the empty-body connections; CHAOS_SLOW_READERS (default 20) the
// clients that never read an 8 MiB answer; CHAOS_IDEM_KEYS (default 50)
// the keys raced by 20 clients each. Each test logs what it measured.

// CHAOS_FOREMAN_BIN runs the suite against another build of foreman (an
// older one, to measure what a fix changed) instead of building this one.
func useChaosBin() {
	if bin := os.Getenv("CHAOS_FOREMAN_BIN"); bin != "" {
		whBuildOnce.Do(func() { whBin = bin })
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// dialFrom connects from a loopback source address: all of 127.0.0.0/8
// is loopback on Linux, so the attacker and the probes are different
// client addresses, as they would be on a network.
func dialFrom(from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// procFDs counts the daemon's open file descriptors.
func procFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// procMiB reads a memory figure (VmRSS, VmHWM: the peak) of the daemon.
func procMiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// probe asks /healthz, without a token, and GET /queue, with one, from
// 127.0.0.1 on fresh connections; both must answer 200 within 5 s.
func probe(d *whDaemon) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range []struct{ path, token string }{{"/healthz", ""}, {"/queue", whToken}} {
		req, _ := http.NewRequest(http.MethodGet, d.url+p.path, nil)
		if p.token != "" {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", p.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d", p.path, resp.StatusCode)
		}
	}
	return nil
}

// flood opens n connections from 127.0.0.2, each sending head (a request
// announcing a body it never sends), and holds them open, unread, until
// the test ends. It returns how many the daemon answered 401, 408 or 503
// by the time it reads them, and how many it dialled.
func flood(t *testing.T, addr string, n int, head string) (dialled int, held []net.Conn) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	var failed atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, err := dialFrom("127.0.0.2", addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, head)
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	if f := failed.Load(); f > 0 {
		t.Logf("%d of %d connections could not be dialled", f, n)
	}
	return len(held), held
}

// answers reads what the daemon said on each flood connection, giving
// them all one more second (and each at least 20 ms: a read past its
// deadline fails without looking at what arrived).
func answers(conns []net.Conn) map[string]int {
	var mu sync.Mutex
	got := map[string]int{}
	deadline := time.Now().Add(time.Second)
	next := make(chan net.Conn, len(conns))
	for _, c := range conns {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				dl := time.Now().Add(20 * time.Millisecond)
				if deadline.After(dl) {
					dl = deadline
				}
				c.SetReadDeadline(dl)
				line, err := bufio.NewReader(c).ReadString('\n')
				var k string
				switch {
				case err == nil:
					k = strings.TrimSpace(line)
				case strings.Contains(err.Error(), "timeout"):
					k = "(no answer yet)"
				default:
					k = "(closed: " + err.Error()[strings.LastIndex(err.Error(), ":")+2:] + ")"
				}
				mu.Lock()
				got[k]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

// TestHostileEmptyBodyFlood: 20k connections announcing a body they never
// send, without a token, then 2k with one, all from one client address.
// /healthz and authorised requests from another address answer all along,
// and the daemon's descriptors stay bounded. Before issue 12 each was held
// forever (the body was awaited before the 401) and 20,100 of them took
// every descriptor.
func TestHostileEmptyBodyFlood(t *testing.T) {
	n := envInt("CHAOS_FLOOD", 20000)
	var lim syscall.Rlimit
	// This process holds every flood connection open, 2000 authorised
	// ones too, and needs some descriptors for probes.
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && uint64(n) > lim.Cur-3000 {
		t.Logf("open-file limit %d: flooding with %d connections instead of %d", lim.Cur, lim.Cur-3000, n)
		n = int(lim.Cur - 3000)
	}
	useChaosBin()
	d := startWebhookDaemon(t, "FOREMAN_BODY_TIMEOUT=2s")
	addr := strings.TrimPrefix(d.url, "http://")
	if _, err := dialFrom("127.0.0.2", addr); err != nil {
		t.Skipf("cannot dial from 127.0.0.2 (%v): needs 127.0.0.0/8 on loopback", err)
	}
	fdsBefore, gBefore := procFDs(d.pid), d.metric("go_goroutines")

	// Probe and sample while flooding.
	stop := make(chan struct{})
	var probes, probeErrs atomic.Int64
	var maxFDs atomic.Int64
	var maxG atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond): // sampling, not synchronisation
			}
			if f := int64(procFDs(d.pid)); f > maxFDs.Load() {
				maxFDs.Store(f)
			}
			probes.Add(1)
			if err := probe(d); err != nil {
				if probeErrs.Add(1) == 1 {
					t.Errorf("probe during the flood: %v", err)
				}
				continue
			}
			if g := int64(d.metric("go_goroutines")); g > maxG.Load() {
				maxG.Store(g)
			}
		}
	}()
	t0 := time.Now()
	dialled, held := flood(t, addr, n, "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
	took := time.Since(t0)
	unauth := answers(held)
	dialledAuth, heldAuth := flood(t, addr, 2000, "POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+whToken+"\r\nContent-Length: 100\r\n\r\n")
	fdsAuth := procFDs(d.pid)
	close(stop)
	<-sampled
	if err := probe(d); err != nil {
		t.Errorf("after the flood: %v", err)
	}
	authed := answers(heldAuth)
	refused := d.metric("foreman_http_connections_refused_total")
	t.Logf("foreman_http_connections_refused_total %.0f", refused)
	if authed["HTTP/1.1 503 Service Unavailable"] > 0 && refused <= 0 {
		t.Errorf("connections were refused and the metric says %.0f", refused)
	}
	t.Logf("%d unauthenticated empty-body connections in %s: %v", dialled, took.Round(time.Millisecond), unauth)
	t.Logf("%d authorised empty-body connections: %v (those held get 408 after FOREMAN_BODY_TIMEOUT=2s)", dialledAuth, authed)
	t.Logf("daemon fds %d before, max %d during (%d with the authorised ones held); goroutines %.0f before, max %d; %d probes, %d failed",
		fdsBefore, maxFDs.Load(), fdsAuth, gBefore, maxG.Load(), probes.Load(), probeErrs.Load())
	if probes.Load() == 0 {
		t.Error("no probe ran during the flood")
	}
	if unauth["HTTP/1.1 401 Unauthorized"] == 0 {
		t.Errorf("no 401 among the unauthenticated answers: %v", unauth)
	}
	// 256 held (FOREMAN_MAX_CONNS_PER_ADDR), the rest refused; a few
	// may still wait in the kernel's accept queue when they are read.
	if held := authed["(no answer yet)"]; held > 256+64 {
		t.Errorf("%d authorised connections held at once from one address, over FOREMAN_MAX_CONNS_PER_ADDR (256)", held)
	}
	// 256 per client address (FOREMAN_MAX_CONNS_PER_ADDR) plus the
	// daemon's own files and the probes.
	if m := maxFDs.Load(); m > int64(fdsBefore)+256+64 {
		t.Errorf("the daemon held %d descriptors (%d before)", m, fdsBefore)
	}
}

// TestHostileSlowReaders: clients of /api/chat that never read an 8 MiB
// answer are cut and their jobs cancelled, and the daemon's memory stays
// bounded. Before issue 12, 20 of them took RSS from 31 to 425 MiB and
// were never cut.
func TestHostileSlowReaders(t *testing.T) {
	n := envInt("CHAOS_SLOW_READERS", 20)
	useChaosBin()
	d := startWebhookDaemon(t, "FOREMAN_WRITE_TIMEOUT=2s")
	addr := strings.TrimPrefix(d.url, "http://")
	rssBefore := procMiB(d.pid, "VmRSS")
	// ~8 MiB of NDJSON: the fake's chunks are ~120 bytes, one token each.
	body := `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":70000}}`
	head := "POST /api/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + whToken +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		defer c.Close()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Each job must end cancelled for its caller, who read nothing.
	wait := 5 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("CHAOS_SLOW_WAIT")); err == nil {
		wait = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cut := 0
	for cut < n {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d slow callers were cut in %s; RSS %.1f MiB before, %.1f now, peak %.1f MiB",
				cut, n, wait, rssBefore, procMiB(d.pid, "VmRSS"), procMiB(d.pid, "VmHWM"))
		}
		_, b, err := d.do(http.MethodGet, "/events?follow=false", "")
		if err != nil {
			t.Fatal(err)
		}
		cut = 0
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e struct {
				Type    string `json:"type"`
				Payload struct {
					Reason string `json:"reason"`
				} `json:"payload"`
			}
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Type == "job.cancel_requested" && strings.HasPrefix(e.Payload.Reason, "caller") {
				cut++
			}
		}
		if cut < n {
			time.Sleep(200 * time.Millisecond) // polling the API as a client would
		}
	}
	if err := probe(d); err != nil {
		t.Errorf("after the slow readers: %v", err)
	}
	peak, rss := procMiB(d.pid, "VmHWM"), procMiB(d.pid, "VmRSS")
	t.Logf("%d callers that never read an 8 MiB answer: all cut; RSS %.1f MiB before, %.1f after, peak %.1f MiB", n, rssBefore, rss, peak)
	if peak > rssBefore+float64(n)*4+64 {
		t.Errorf("peak RSS %.1f MiB for %d slow readers (%.1f before)", peak, n, rssBefore)
	}
}

// TestHostileIdempotentRetries: 20 clients send each key at once, half of
// them hanging up right after sending; then send-close-retry for more
// keys. Every key must make exactly one job. Before issue 12, 16 of 50
// keys made two jobs, and 28 of 100 with send-close-retry.
func TestHostileIdempotentRetries(t *testing.T) {
	keys := envInt("CHAOS_IDEM_KEYS", 50)
	useChaosBin()
	// A thousand clients at once from one address: above the default cap
	// per address, which is not what this test is about.
	d := startWebhookDaemon(t, "FOREMAN_MAX_CONNS_PER_ADDR=4096", "FOREMAN_MAX_CONNS=8192")
	addr := strings.TrimPrefix(d.url, "http://")
	body := `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`
	send := func(key string, hangUp bool) error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.WriteString(c, "POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+whToken+"\r\nIdempotency-Key: "+key+
			"\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		if err != nil || hangUp {
			return err
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("key %s: %d", key, resp.StatusCode)
		}
		return nil
	}
	var wg sync.WaitGroup
	var errs atomic.Int64
	for k := range keys {
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := send(fmt.Sprintf("race-%d", k), i%2 == 0); err != nil && errs.Add(1) == 1 {
					t.Error(err)
				}
			}()
		}
	}
	for k := range 2 * keys { // send, hang up, retry at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("retry-%d", k)
			err := send(key, true)
			if err == nil {
				err = send(key, false)
			}
			if err != nil && errs.Add(1) == 1 {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Submissions of clients that hung up may still be in flight; a
	// last request per key waits for each to be applied.
	for k := range keys {
		send(fmt.Sprintf("race-%d", k), false)
	}
	for k := range 2 * keys {
		send(fmt.Sprintf("retry-%d", k), false)
	}
	_, b, err := d.do(http.MethodGet, "/events?follow=false", "")
	if err != nil {
		t.Fatal(err)
	}
	perKey := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Payload struct {
				Key string `json:"idempotency_key"`
			} `json:"payload"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Type == "job.submitted" {
			perKey[e.Payload.Key]++
		}
	}
	dup := 0
	for k, c := range perKey {
		if c != 1 {
			dup++
			t.Errorf("key %s made %d jobs", k, c)
		}
	}
	t.Logf("%d keys raced by 20 clients (half hanging up), %d send-close-retry: %d keys seen, %d with more than one job",
		keys, 2*keys, len(perKey), dup)
	if len(perKey) != 3*keys {
		t.Errorf("%d keys made jobs, want %d", len(perKey), 3*keys)
	}
}
