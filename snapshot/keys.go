package snapshot

import (
	"fmt"
	"strings"
	"time"
)

// Defaults for the S3 layout and timing (DESIGN.md section 7).
const (
	DefaultInterval        = 5 * time.Second
	DefaultHistoryInterval = 5 * time.Minute
	DefaultHistorySlots    = 288
)

// Keys names the objects of one registry in its bucket: the latest snapshot at Latest, and next to it the history
// ring, the lease and the conditional-write probe. Every key starts with Latest, so a policy on that prefix
// covers them all.
type Keys struct {
	Bucket string
	Latest string // the registry key, e.g. flicker/registry.json
}

// Lease is the lease object's key.
func (k Keys) Lease() string { return k.Latest + ".lease" }

// Probe is the key the conditional-write probe writes to.
func (k Keys) Probe() string { return k.Latest + ".probe" }

// History is the key of history slot n.
func (k Keys) History(n int) string { return fmt.Sprintf("%s.history/%03d", k.Latest, n) }

// Key kinds (Keys.Kind), the key_kind label of flicker_s3_requests_total.
const (
	KindSnapshot = "snapshot" // the latest
	KindHistory  = "history"
	KindLease    = "lease"
	KindProbe    = "probe"
	KindOther    = "other" // anything else, e.g. a bucket listing (restore --versions)
)

// Kind names which of these keys a request's URL path is for ("/bucket/key" or "/key": the path ends with the
// key either way).
func (k Keys) Kind(path string) string {
	switch {
	case strings.HasSuffix(path, "/"+k.Lease()):
		return KindLease
	case strings.HasSuffix(path, "/"+k.Probe()):
		return KindProbe
	case strings.Contains(path, "/"+k.Latest+".history/"):
		return KindHistory
	case strings.HasSuffix(path, "/"+k.Latest):
		return KindSnapshot
	}
	return KindOther
}

// String is s3://bucket/latest.
func (k Keys) String() string { return "s3://" + k.Bucket + "/" + k.Latest }

// HistorySlot is the ring slot of a snapshot created at t: floor(t / interval) mod slots.
func HistorySlot(t time.Time, interval time.Duration, slots int) int {
	if interval <= 0 || slots <= 0 {
		return 0
	}
	return int((t.UnixNano() / int64(interval)) % int64(slots))
}
