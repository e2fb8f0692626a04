package snapshot

// The lease object's reads and conditional writes, and what a refusal means.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
)

var (
	errNoLease = errors.New("no lease object")
	// errReadDenied: a 403 on reading the lease. Without s3:ListBucket AWS answers so for a missing key, so
	// Acquire tries to create it: success means there was none, a refusal that access is really denied.
	errReadDenied = errors.New("reading the lease is denied")
	// errConflict: the conditional write answered 412 or 404 and the stored record is not ours.
	errConflict = errors.New("conditional write refused")
	// errAdopted: the write was refused, but the stored record is an earlier write of ours whose reply was lost
	// (or that landed late); l.rec, l.etag and l.confirmed now describe it, so write again.
	errAdopted = errors.New("adopted an earlier write")
)

type foreignError struct{ key string }

func (e *foreignError) Error() string {
	return fmt.Sprintf("object %s is not a flicker lease record; it is never overwritten: move it or choose another key",
		e.key)
}

// write PUTs rec (given a fresh write id) with If-Match on etag, or If-None-Match: * when etag is empty, and
// returns the new ETag; on success l.confirmed is when it was sent. A 412 or 404 is checked against the stored
// record, since a retry of a write that landed (reply lost) is refused too: if it is this write, that is success;
// if an earlier unconfirmed one of ours (whatever its epoch: a raise whose reply was lost), errAdopted; otherwise
// errConflict.
func (l *Lease) write(ctx context.Context, rec *LeaseRecord, etag string) (string, error) {
	rec.WriteID = newWriteID()
	body, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encode lease: %w", err)
	}
	opts := minio.PutObjectOptions{ContentType: "application/json", DisableMultipart: true, SendContentMd5: true}
	if etag == "" {
		opts.SetMatchETagExcept("*")
	} else {
		opts.SetMatchETag(etag)
	}
	if len(l.pending) == maxPendingWrites {
		l.pending = slices.Delete(l.pending, 0, 1)
	}
	sent := l.opts.Now()
	l.pending = append(l.pending, pendingWrite{id: rec.WriteID, sent: sent})
	info, err := l.client.PutObject(ctx, l.opts.Bucket, l.opts.Key, bytes.NewReader(body), int64(len(body)), opts)
	if err == nil {
		l.pending, l.confirmed = l.pending[:0], sent
		return info.ETag, nil
	}
	if !isConflict(err) {
		return "", s3client.Explain(err, s3client.OpPutObject, l.opts.Bucket, l.opts.Key)
	}
	cur, curETag, rerr := l.read(ctx)
	switch {
	case errors.Is(rerr, errNoLease):
		return "", fmt.Errorf("%w: the lease object is gone", errConflict)
	case rerr != nil:
		// Refused, but whether by our own landed write is unknown: not a loss yet.
		return "", fmt.Errorf("check refused lease write: %w", rerr)
	case cur.WriteID == rec.WriteID:
		l.pending, l.confirmed = l.pending[:0], sent
		return curETag, nil
	case cur.WriterID == l.opts.WriterID && l.sentAt(cur.WriteID) != nil:
		l.confirmed = *l.sentAt(cur.WriteID)
		l.pending = l.pending[:0]
		l.rec, l.etag = cur, curETag
		return "", errAdopted
	}
	return "", fmt.Errorf("%w: now writer %s on host %s, epoch %d", errConflict, cur.WriterID, cur.Hostname, cur.Epoch)
}

// sentAt is when the pending write with id was sent; nil when id is not one of them.
func (l *Lease) sentAt(id string) *time.Time {
	for i := range l.pending {
		if l.pending[i].id == id {
			return &l.pending[i].sent
		}
	}
	return nil
}

// read returns the stored record and its ETag; errNoLease when there is none.
func (l *Lease) read(ctx context.Context) (LeaseRecord, string, error) {
	obj, err := l.client.GetObject(ctx, l.opts.Bucket, l.opts.Key, minio.GetObjectOptions{})
	if err != nil {
		return LeaseRecord{}, "", l.readErr(err)
	}
	defer obj.Close()
	// Read before Stat: minio-go then answers Stat from the GET's reply, where a Stat first costs a HEAD.
	b, err := io.ReadAll(io.LimitReader(obj, maxLeaseSize+1))
	if err != nil {
		return LeaseRecord{}, "", l.readErr(err)
	}
	st, err := obj.Stat()
	if err != nil {
		return LeaseRecord{}, "", l.readErr(err)
	}
	rec, ok := parseLease(b)
	if !ok {
		return LeaseRecord{}, "", &foreignError{key: l.opts.Key}
	}
	return rec, st.ETag, nil
}

// parseLease reads a lease object's body (any bytes: whatever the key holds); false for one that is not a lease
// record, or larger than any lease flicker writes.
func parseLease(b []byte) (LeaseRecord, bool) {
	var rec LeaseRecord
	if len(b) > maxLeaseSize || json.Unmarshal(b, &rec) != nil || rec.WriterID == "" || rec.Epoch == 0 {
		return LeaseRecord{}, false
	}
	return rec, true
}

func (l *Lease) readErr(err error) error {
	r := s3client.ToErrorResponse(err)
	if r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket" || r.Code == "NoSuchKey" {
		return errNoLease
	}
	explained := s3client.Explain(err, s3client.OpGetObject, l.opts.Bucket, l.opts.Key)
	if r.StatusCode == http.StatusForbidden || r.Code == "AccessDenied" {
		return fmt.Errorf("%w: %w", errReadDenied, explained)
	}
	return explained
}

// isConflict reports a refused conditional write: 412, or 404 for If-Match on a key that is gone.
func isConflict(err error) bool {
	r := s3client.ToErrorResponse(err)
	if r.Code == "NoSuchBucket" {
		return false
	}
	return r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed" ||
		r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey"
}

func newWriteID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
