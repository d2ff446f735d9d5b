package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	_ "modernc.org/sqlite"
)

// BenchmarkSeedSQLite measures the store of foreman's first design (the
// seeds' ADR-0008): a jobs table in SQLite (modernc.org/sqlite), WAL mode,
// synchronous=FULL, one INSERT per job in its own transaction, 64 writers,
// through a pool of 64 connections and through one connection. It is the
// yardstick for BenchmarkSubmitJobs/clients=64 (docs/benchmarks.md): run
// both in one command, on the same disk.
func BenchmarkSeedSQLite(b *testing.B) {
	for _, conns := range []int{64, 1} {
		b.Run(fmt.Sprintf("writers=64/conns=%d", conns), func(b *testing.B) {
			dsn := "file:" + filepath.Join(b.TempDir(), "foreman.db") +
				"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
			db, err := sql.Open("sqlite", dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(conns)
			db.SetMaxIdleConns(conns)
			if _, err := db.Exec(`CREATE TABLE jobs (
				id TEXT PRIMARY KEY, model TEXT NOT NULL, payload BLOB NOT NULL,
				state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
				created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
				CREATE INDEX jobs_state ON jobs (state, created_at);`); err != nil {
				b.Fatal(err)
			}
			payload := []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}`)
			latencies(b, 64, "req/s", func(int) error {
				now := time.Now().UnixNano()
				_, err := db.Exec(`INSERT INTO jobs (id, model, payload, state, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?)`,
					ulid.Make().String(), "tiny-a", payload, now, now)
				return err
			})
		})
	}
}
