package projections

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

func randomJob(rng *rand.Rand) *Job {
	ints := []int64{0, 1, -1, 31, -32, -33, 127, 128, 255, 256, -128, -129, 65535, 65536, -32768, -32769,
		math.MaxUint32, math.MaxUint32 + 1, math.MinInt32, math.MinInt32 - 1, math.MaxInt64, math.MinInt64}
	i := func() int64 {
		if rng.IntN(3) == 0 {
			return 0
		}
		if rng.IntN(2) == 0 {
			return ints[rng.IntN(len(ints))]
		}
		return rng.Int64() >> rng.IntN(64)
	}
	s := func() string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return strings.Repeat("x", rng.IntN(40))
		case 2:
			return strings.Repeat("y", 200+rng.IntN(100))
		}
		return strings.Repeat("z", 65530+rng.IntN(10))
	}
	bs := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte{}
		case 2:
			return bytes.Repeat([]byte{7}, 32)
		}
		return bytes.Repeat([]byte{9}, 250+rng.IntN(70000)%1000)
	}
	j := &Job{
		ID: ulid.Make(), Model: s(), Kind: eventlog.Kind(s()), State: States[rng.IntN(len(States))],
		Priority: int(i()), Sync: rng.IntN(2) == 0, Submitter: s(), WebhookURL: s(), IdempotencyKey: s(),
		RequestSHA256: bs(), BodySHA256: bs(), SubmitOffset: uint64(i()), SubmittedAt: i(), StartedAt: i(),
		FinishedAt: i(), UpdatedAt: i(), QueueOffset: uint64(i()), QueuedAt: i(), RetryAt: i(),
		Attempts: int(i()), Used: int(i()), MaxAttempts: int(i()), CancelRequested: rng.IntN(2) == 0,
		LastError: s(), LastStatus: int(i()), Result: s(), LastOffset: uint64(i()), Batch: s(), CustomID: s(),
	}
	switch rng.IntN(3) {
	case 1:
		j.Artifacts = []Artifact{}
	case 2:
		for range 1 + rng.IntN(20) {
			j.Artifacts = append(j.Artifacts, Artifact{Name: s(), ContentType: s(), Size: i(), SHA256: bs(), Blob: s(), Offset: uint64(i())})
		}
	}
	return j
}

// normalized is j with empty byte strings and artifact lists nil, as
// encodeJob writes them.
func normalized(j *Job) *Job {
	c := j.clone()
	nilIfEmpty := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	c.RequestSHA256, c.BodySHA256 = nilIfEmpty(c.RequestSHA256), nilIfEmpty(c.BodySHA256)
	if len(c.Artifacts) == 0 {
		c.Artifacts = nil
	}
	for i := range c.Artifacts {
		c.Artifacts[i].SHA256 = nilIfEmpty(c.Artifacts[i].SHA256)
	}
	return &c
}

// TestEncodeJob: encodeJob writes what msgpack writes for the normalized
// view with structs as arrays, decodeJob reads it back, and a view read
// back encodes to the same bytes (so rebuilt and incremental state agree).
func TestEncodeJob(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		j := randomJob(rng)
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseArrayEncodedStructs(true)
		if err := enc.Encode(normalized(j)); err != nil {
			t.Fatal(err)
		}
		got := encodeJob(nil, j)
		if !bytes.Equal(got, buf.Bytes()) {
			t.Fatalf("encodeJob(%+v)\n got %x\nwant %x", j, got, buf.Bytes())
		}
		back, err := decodeJob(got)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, normalized(j)) {
			t.Fatalf("decodeJob(encodeJob(%+v)) = %+v", normalized(j), back)
		}
		if again := encodeJob(nil, back); !bytes.Equal(again, got) {
			t.Fatalf("re-encoded view differs:\n%x\n%x", again, got)
		}
	}
	// Every field is covered: a new one must be added to encodeJob.
	if n := reflect.TypeFor[Job]().NumField(); n != 30 {
		t.Fatalf("Job has %d fields; update encodeJob and this test", n)
	}
	if n := reflect.TypeFor[Artifact]().NumField(); n != 6 {
		t.Fatalf("Artifact has %d fields; update encodeJob and this test", n)
	}
}
