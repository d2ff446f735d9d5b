package projections

import (
	"github.com/oklog/ulid/v2"
)

// State keys, below the log's p/ prefix.
var (
	keyCheckpoint = []byte("ckpt")
	prefixJob     = []byte("j/") // j/<ulid16> → Job
	prefixActive  = []byte("a/") // a/<ulid16> → empty, for non-terminal jobs
	prefixIdem    = []byte("k/") // k/<submitter>\x00<key> → ulid16
	prefixRun     = []byte("r/") // r/<offset8> → storedRun, the last RunsKept done runs
)

func jobKey(id ulid.ULID) []byte    { return append(append([]byte(nil), prefixJob...), id[:]...) }
func activeKey(id ulid.ULID) []byte { return append(append([]byte(nil), prefixActive...), id[:]...) }
func idemKey(submitter, key string) []byte {
	k := append([]byte(nil), prefixIdem...)
	k = append(k, submitter...)
	k = append(k, 0)
	return append(k, key...)
}
