package snapshot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
)

// A conditional upload of the latest stands for a lease renewal (issue 17). What makes that safe (DESIGN.md
// section 7, as amended by the review of issue 17):
//   - an upload confirms the lease only while the previous confirmation has not lapsed (sent less than one TTL
//     after it): a holder that was stopped or cut off for longer must write the lease object again, and learns
//     there (412 or 404) that it was taken over, before it publishes again;
//   - a taker watches the latest with the lease, and holds after its first upload when that upload was not made
//     on the ETag it watched, or on the one a released record names (HoldAfterTakeover);
//   - a busy holder that writes no lease object still reads it once per renewal period (Keep), so it learns of a
//     takeover, release or deletion within one renewal period.

// awaitAfterTakeover sets up HoldAfterTakeover after a successful take; watched is nil when Acquire did not
// look at the latest. Callers hold l.mu.
func (l *Lease) awaitAfterTakeover(watched *watch) {
	l.awaitUpload, l.watchedLatest, l.holdAlways, l.holdFor, l.holdUntil = false, "", false, 0, time.Time{}
	if watched == nil {
		return
	}
	l.latest = watched.latest
	if l.opts.HoldAfterTakeover && l.opts.Latest != "" {
		l.awaitUpload, l.watchedLatest, l.holdAlways, l.holdFor = true, watched.latest, watched.always, watched.hold
	}
}

// now is the lease's clock, for the replicator's stamps of its uploads (snapshotUploaded).
func (l *Lease) now() time.Time { return l.opts.Now() }

// snapshotUploaded is told by the replicator that a conditional upload of the latest, sent at sent (by
// opts.Now) with If-Match on ifMatch ("" for If-None-Match: *), succeeded and stored etag. Like a renewal, it
// proves this instance still owned the registry when it landed, but it extends the confirmation only while that
// has not lapsed: after a lapse, only a write of the lease object (Keep) tells whether another instance took
// over meanwhile. The first one after a takeover also ends awaitUpload.
func (l *Lease) snapshotUploaded(sent time.Time, ifMatch, etag string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return
	}
	l.latest = etag
	if l.awaitUpload {
		l.awaitUpload = false
		// An upload made with If-None-Match (ifMatch "") found no object: no other writer's upload is there
		// to have confirmed it (short of a deletion by hand between that upload and ours).
		if l.holdAlways || ifMatch != "" && ifMatch != l.watchedLatest {
			// Another writer may have uploaded after this instance took the lease: that upload confirmed it for
			// up to its TTL.
			l.holdUntil = sent.Add(l.holdFor)
			l.log.Warn().Dur("hold", l.holdFor).
				Msg("another writer may have uploaded a snapshot after this instance took the lease; waiting until its confirmation has lapsed")
		}
	}
	if sent.After(l.confirmed) && sent.Before(l.confirmed.Add(l.opts.TTL)) {
		l.confirmed = sent
	}
	l.publish(false)
}

// check reads the lease object and reports ErrLeaseLost when it is no longer this instance's record (taken over,
// or released by another) or gone. Keep calls it when uploads confirmed the lease, so that a busy holder learns
// of a takeover it would not see otherwise. Network errors are returned as they are. It does not hold l.mu
// during the read, so uploads are confirmed meanwhile.
func (l *Lease) check(ctx context.Context) error {
	l.mu.Lock()
	held, etag := l.held, l.etag
	l.mu.Unlock()
	if !held {
		return nil
	}
	cur, curETag, err := l.read(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held || l.etag != etag {
		return nil // written meanwhile: that write said whether it is ours
	}
	var foreign *foreignError
	why := ""
	switch {
	case errors.Is(err, errNoLease):
		why = "the lease object is gone"
	case errors.As(err, &foreign):
		why = foreign.Error()
	case err != nil:
		return fmt.Errorf("check lease %s: %w", l.opts.Key, err)
	case curETag == etag:
		return nil
	case cur.WriterID == l.opts.WriterID && l.sentAt(cur.WriteID) != nil:
		return nil // our own write landed late; the next renewal adopts it
	default:
		why = fmt.Sprintf("now writer %s on host %s, epoch %d, released %t", cur.WriterID, cur.Hostname, cur.Epoch,
			cur.Released)
	}
	l.held, l.lost = false, true
	l.publish(false)
	l.log.Warn().Str("reason", why).Uint64("epoch", l.rec.Epoch).Msg("lease lost")
	return fmt.Errorf("check lease %s: %w: %s", l.opts.Key, ErrLeaseLost, why)
}

// latestETag is the latest snapshot's ETag, "" when it is missing (or a 403 hides whether it is), or when
// LeaseOptions.Latest is not set. Other errors mean the holder's liveness cannot be judged now.
func (l *Lease) latestETag(ctx context.Context) (string, error) {
	if l.opts.Latest == "" {
		return "", nil
	}
	st, err := l.client.StatObject(ctx, l.opts.Bucket, l.opts.Latest, minio.StatObjectOptions{})
	if err != nil {
		r := s3client.ToErrorResponse(err)
		if r.Code == "NoSuchBucket" {
			return "", s3client.Explain(err, s3client.OpHeadObject, l.opts.Bucket, l.opts.Latest)
		}
		if r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey" || r.StatusCode == http.StatusForbidden ||
			r.Code == "AccessDenied" {
			return "", nil
		}
		return "", s3client.Explain(err, s3client.OpHeadObject, l.opts.Bucket, l.opts.Latest)
	}
	return st.ETag, nil
}
