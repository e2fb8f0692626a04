package snapshot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

const leaseKey = "flicker/registry.json.lease"

// Short durations so the tests run in seconds; only lower bounds that the algorithm guarantees are asserted.
const (
	testTTL  = time.Second
	testSkew = 200 * time.Millisecond
)

// leaseClient builds a client on its own transport, closed when the test ends, so no keep-alive goroutine
// outlives the test (TestMain runs goleak without exceptions). maxRetries 1 disables minio-go's retries.
func leaseClient(t *testing.T, endpoint, access, secret, token string, maxRetries int) *minio.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c, err := minio.New(endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, token), Region: miniotest.Region,
		Transport: tr, MaxRetries: maxRetries,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rootClient(t *testing.T, srv *miniotest.Server) *minio.Client {
	access, secret := srv.RootCredentials()
	return leaseClient(t, srv.Endpoint(), access, secret, "", 0)
}

func newLease(c *minio.Client, bucket, writer string, ttl, skew time.Duration) *snapshot.Lease {
	return snapshot.NewLease(c, snapshot.LeaseOptions{Bucket: bucket, Key: leaseKey, WriterID: writer,
		Hostname: "host-" + writer, TTL: ttl, Skew: skew, Poll: 50 * time.Millisecond, Logger: zerolog.Nop()})
}

func leaseContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// storedLease reads the lease object as another tool would.
func storedLease(t *testing.T, c *minio.Client, bucket string) snapshot.LeaseRecord {
	t.Helper()
	obj, err := c.GetObject(leaseContext(t), bucket, leaseKey, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	var rec snapshot.LeaseRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("lease object %q: %v", b, err)
	}
	return rec
}

func acquireT(t *testing.T, l *snapshot.Lease, wait time.Duration, want uint64) {
	t.Helper()
	got, err := l.Acquire(leaseContext(t), wait)
	if err != nil || got != want {
		t.Fatalf("Acquire = %d, %v; want epoch %d", got, err, want)
	}
	if l.Epoch() != want {
		t.Fatalf("Epoch() = %d, want %d", l.Epoch(), want)
	}
}

// wantHeld checks that err is ErrLeaseHeld naming writer.
func wantHeld(t *testing.T, err error, writer string) {
	t.Helper()
	var held *snapshot.HeldError
	if !errors.Is(err, snapshot.ErrLeaseHeld) || !errors.As(err, &held) {
		t.Fatalf("err = %v, want ErrLeaseHeld", err)
	}
	if held.Record.WriterID != writer || held.Record.Hostname != "host-"+writer || held.Record.Acquired.IsZero() {
		t.Fatalf("holder = %+v, want writer %s", held.Record, writer)
	}
	for _, s := range []string{writer, "host-" + writer, "since"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// renewer renews l every interval until stopped, as the lease holder's goroutine does; stop returns the first
// renewal error.
func renewer(l *snapshot.Lease, interval time.Duration) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg    sync.WaitGroup
		first error
	)
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := l.Renew(ctx); err != nil && ctx.Err() == nil && first == nil {
					first = err
				}
			}
		}
	})
	return func() error {
		cancel()
		wg.Wait()
		return first
	}
}

func TestLease(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	bucketN := 0
	bucket := func(t *testing.T) string {
		bucketN++
		name := fmt.Sprintf("lease-%d", bucketN)
		srv.MakeBucket(t, name)
		return name
	}

	t.Run("first acquire creates the record", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		rec := storedLease(t, root, b)
		if rec.WriterID != "a" || rec.Hostname != "host-a" || rec.Epoch != 1 || rec.Released || rec.WriteID == "" ||
			rec.Acquired.IsZero() || rec.Expires.Sub(rec.Renewed) != testTTL {
			t.Fatalf("stored = %+v", rec)
		}
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		renewed := storedLease(t, root, b)
		if renewed.WriteID == rec.WriteID || renewed.Epoch != 1 || !renewed.Acquired.Equal(rec.Acquired) {
			t.Fatalf("after Renew: %+v, before: %+v", renewed, rec)
		}
		if _, err := a.Acquire(leaseContext(t), 0); err == nil {
			t.Fatal("second Acquire of a held lease succeeded")
		}
	})

	t.Run("a renewed lease stays held", func(t *testing.T) {
		b := bucket(t)
		// A TTL thirty renewals long: on a loaded machine a renewal may come late, and one that comes after
		// TTL plus skew lets b take over, which would fail this test for the wrong reason.
		const ttl, skew = 3 * time.Second, time.Second
		a := newLease(root, b, "a", ttl, skew)
		acquireT(t, a, 0, 1)
		stop := renewer(a, 100*time.Millisecond)
		other := newLease(root, b, "b", ttl, skew)
		_, errShort := other.Acquire(leaseContext(t), ttl/2)
		// Longer than TTL plus skew: only the renewals keep b out.
		_, errLong := other.Acquire(leaseContext(t), ttl+skew+time.Second)
		if err := stop(); err != nil {
			t.Fatalf("renew: %v", err)
		}
		wantHeld(t, errShort, "a")
		wantHeld(t, errLong, "a")
		if rec := storedLease(t, root, b); rec.WriterID != "a" || rec.Epoch != 1 {
			t.Fatalf("stored = %+v", rec)
		}
	})

	t.Run("a silent holder is taken over and fenced", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		// a is "killed": it stops renewing.
		other := newLease(root, b, "b", testTTL, testSkew)
		start := time.Now()
		acquireT(t, other, 30*time.Second, 2)
		if waited := time.Since(start); waited < testTTL+testSkew {
			t.Fatalf("took over after %v, before TTL+skew %v", waited, testTTL+testSkew)
		}
		if rec := storedLease(t, root, b); rec.WriterID != "b" || rec.Epoch != 2 || rec.Released {
			t.Fatalf("stored = %+v", rec)
		}
		for name, call := range map[string]func(context.Context) error{"Renew": a.Renew, "Release": a.Release} {
			if err := call(leaseContext(t)); !errors.Is(err, snapshot.ErrLeaseLost) {
				t.Fatalf("old holder's %s = %v, want ErrLeaseLost", name, err)
			}
		}
		if err := other.Renew(leaseContext(t)); err != nil {
			t.Fatalf("new holder's Renew: %v", err)
		}
	})

	t.Run("a released lease is taken over at once", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", time.Hour, time.Hour) // a silent holder would block the test
		acquireT(t, a, 0, 1)
		if err := a.Release(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		if rec := storedLease(t, root, b); !rec.Released || rec.Epoch != 1 {
			t.Fatalf("stored after Release = %+v", rec)
		}
		if err := a.Renew(leaseContext(t)); err == nil || errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("Renew after Release = %v, want a not-held error", err)
		}
		other := newLease(root, b, "b", time.Hour, time.Hour)
		acquireT(t, other, 0, 2)
		if rec := storedLease(t, root, b); rec.Released || rec.WriterID != "b" {
			t.Fatalf("stored = %+v", rec)
		}
		third := newLease(root, b, "c", time.Hour, time.Hour)
		_, err := third.Acquire(leaseContext(t), 0)
		wantHeld(t, err, "b")
	})

	t.Run("one of concurrent first acquires wins", func(t *testing.T) {
		b := bucket(t)
		const n = 16
		errs := make([]error, n)
		epochs := make([]uint64, n)
		var wg sync.WaitGroup
		for i := range n {
			l := newLease(root, b, fmt.Sprintf("w%d", i), time.Hour, time.Hour)
			wg.Go(func() { epochs[i], errs[i] = l.Acquire(leaseContext(t), 0) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("w%d and w%d both won", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("nobody won: %v", errs)
		}
		if epochs[winner] != 1 {
			t.Fatalf("winner's epoch = %d", epochs[winner])
		}
		for i, err := range errs {
			if i != winner {
				wantHeld(t, err, fmt.Sprintf("w%d", winner))
			}
		}
	})

	t.Run("restricted credentials suffice", func(t *testing.T) {
		b := bucket(t)
		access, secret, token := srv.RestrictedCredentials(t, b, "flicker/")
		c := leaseClient(t, srv.Endpoint(), access, secret, token, 0)
		a := newLease(c, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		other := newLease(c, b, "b", testTTL, testSkew)
		_, err := other.Acquire(leaseContext(t), 0)
		wantHeld(t, err, "a")
		acquireT(t, other, 30*time.Second, 2) // a went silent
		if err := a.Renew(leaseContext(t)); !errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("Renew = %v, want ErrLeaseLost", err)
		}
		if err := other.Release(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		acquireT(t, newLease(c, b, "c", testTTL, testSkew), 0, 3)
	})

	t.Run("a foreign object is not overwritten", func(t *testing.T) {
		b := bucket(t)
		body := "not a lease"
		if _, err := root.PutObject(leaseContext(t), b, leaseKey, strings.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := newLease(root, b, "a", testTTL, testSkew).Acquire(leaseContext(t), 0)
		if err == nil || errors.Is(err, snapshot.ErrLeaseHeld) || !strings.Contains(err.Error(), "not a flicker lease") {
			t.Fatalf("Acquire = %v", err)
		}
	})

	t.Run("a stalled network is not a lost lease", func(t *testing.T) {
		b := bucket(t)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		a := newLease(c, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)

		proxy.Pause()
		ctx, cancel := context.WithTimeout(leaseContext(t), 300*time.Millisecond)
		err := a.Renew(ctx)
		cancel()
		proxy.Resume()
		if err == nil || errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("Renew through a paused proxy = %v, want a network error", err)
		}
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatalf("Renew after Resume: %v", err)
		}
		if a.Epoch() != 1 {
			t.Fatalf("epoch = %d", a.Epoch())
		}
	})

	t.Run("a renewal whose reply was lost is recognised", func(t *testing.T) {
		b := bucket(t)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		a := newLease(c, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		before := storedLease(t, root, b)

		proxy.DropReplies(true)
		ctx, cancel := context.WithTimeout(leaseContext(t), 5*time.Second)
		err := a.Renew(ctx)
		cancel()
		proxy.DropReplies(false)
		if err == nil || errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("Renew with the reply dropped = %v, want a network error", err)
		}
		if after := storedLease(t, root, b); after.WriteID == before.WriteID {
			t.Fatal("the renewal did not reach the server; the test proves nothing")
		}
		// The stored ETag is no longer the one a last confirmed: only recognising its own write keeps it.
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatalf("Renew after the lost reply: %v", err)
		}
		_, err = newLease(root, b, "b", testTTL, testSkew).Acquire(leaseContext(t), 0)
		wantHeld(t, err, "a")
	})

	t.Run("an acquire whose reply was lost is recognised", func(t *testing.T) {
		b := bucket(t)
		// The reply to the first PUT (the take) is dropped after the server stored it. The proxy's DropReplies
		// cannot aim at one request: it dropped the replies of the reads before the take, and the take then went
		// through, so the test passed without losing a take's reply.
		lost := &lostReply{next: http.DefaultTransport.(*http.Transport).Clone()}
		t.Cleanup(lost.next.(*http.Transport).CloseIdleConnections)
		access, secret := srv.RootCredentials()
		c, err := minio.New(srv.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""),
			Region: miniotest.Region, Transport: lost, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		// A TTL no wait can outlast: an Acquire that took its own record for another holder's would wait the
		// whole 20s and fail held, however slow the machine; one that recognises it succeeds.
		a := newLease(c, b, "a", time.Hour, testSkew)
		ctx, cancel := context.WithTimeout(leaseContext(t), 30*time.Second)
		defer cancel()
		epoch, err := a.Acquire(ctx, 20*time.Second)
		if err != nil || epoch != 1 {
			t.Fatalf("Acquire with its reply lost = %d, %v; want epoch 1 (held: it did not recognise its own record)",
				epoch, err)
		}
		if lost.dropped.Load() != 1 {
			t.Fatalf("%d replies dropped; the test proves nothing", lost.dropped.Load())
		}
		if rec := storedLease(t, root, b); rec.WriterID != "a" {
			t.Fatalf("stored = %+v", rec)
		}
	})

	t.Run("a raise whose reply was lost, then a renewal", func(t *testing.T) {
		b := bucket(t)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		a := newLease(c, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)

		proxy.DropReplies(true)
		ctx, cancel := context.WithTimeout(leaseContext(t), 5*time.Second)
		err := a.RaiseEpoch(ctx, 5)
		cancel()
		proxy.DropReplies(false)
		if err == nil || errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("RaiseEpoch with the reply dropped = %v, want a network error", err)
		}
		if rec := storedLease(t, root, b); rec.Epoch != 5 || rec.WriterID != "a" {
			t.Fatalf("the raise did not land (stored %+v); the test proves nothing", rec)
		}
		// The keeper renews next, with the epoch it last confirmed (1): refused, since the ETag changed, but the
		// stored record is our raise, not another instance's.
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatalf("Renew after the raise's lost reply: %v", err)
		}
		if rec := storedLease(t, root, b); rec.Epoch != 5 || rec.WriterID != "a" || a.Epoch() != 5 {
			t.Fatalf("stored %+v, Epoch() %d; want epoch 5 kept", rec, a.Epoch())
		}
	})

	t.Run("an earlier take of ours that lands late", func(t *testing.T) {
		b := bucket(t)
		late := &lateWrite{next: http.DefaultTransport.(*http.Transport).Clone(), holdNext: true}
		t.Cleanup(late.next.(*http.Transport).CloseIdleConnections)
		access, secret := srv.RootCredentials()
		c, err := minio.New(srv.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""),
			Region: miniotest.Region, Transport: late, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		a := newLease(c, b, "a", time.Hour, testSkew) // no wait outlasts it: see the test above
		ctx, cancel := context.WithTimeout(leaseContext(t), 30*time.Second)
		defer cancel()
		epoch, err := a.Acquire(ctx, 20*time.Second)
		if err != nil || epoch != 1 {
			t.Fatalf("Acquire with its first take landing late = %d, %v; want epoch 1 (held: it did not recognise "+
				"its own record)", epoch, err)
		}
		if late.delivered.Load() != 1 {
			t.Fatalf("%d late writes delivered; the test proves nothing", late.delivered.Load())
		}
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		if rec := storedLease(t, root, b); rec.WriterID != "a" || rec.Epoch != 1 {
			t.Fatalf("stored = %+v", rec)
		}
	})

	t.Run("raise epoch", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		if err := a.RaiseEpoch(leaseContext(t), 7); err != nil {
			t.Fatal(err)
		}
		if rec := storedLease(t, root, b); rec.Epoch != 7 || a.Epoch() != 7 {
			t.Fatalf("stored epoch %d, Epoch() %d, want 7", rec.Epoch, a.Epoch())
		}
		if err := a.Release(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		acquireT(t, newLease(root, b, "b", testTTL, testSkew), 0, 8)
	})

	t.Run("a 403 for the missing lease is resolved by creating it", func(t *testing.T) {
		b := bucket(t)
		// PutObject only: MinIO answers 403 for the missing key, as AWS does for a caller without ListBucket.
		access, secret, token := srv.PolicyCredentials(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
			`"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::`+b+`/`+leaseKey+`"]}]}`)
		c := leaseClient(t, srv.Endpoint(), access, secret, token, 0)
		acquireT(t, newLease(c, b, "a", testTTL, testSkew), 0, 1)
		_, err := newLease(c, b, "b", testTTL, testSkew).Acquire(leaseContext(t), time.Second)
		if err == nil || !strings.Contains(err.Error(), "denied") || errors.Is(err, snapshot.ErrLeaseHeld) {
			t.Fatalf("second Acquire without read access = %v, want access denied", err)
		}
	})
}

// lostReply sends the first PUT to the server and drops its reply: the write landed, its sender got a network
// error.
type lostReply struct {
	next    http.RoundTripper
	dropped atomic.Int32
}

func (l *lostReply) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPut || !l.dropped.CompareAndSwap(0, 1) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil, errors.New("lostReply: reply dropped (as a reset connection)")
}

// lateWrite holds back the first PUT after holdNext: its caller gets a network error at once, and the request
// reaches the server only just before the next PUT, as a delayed request landing after its sender gave up.
type lateWrite struct {
	next      http.RoundTripper
	delivered atomic.Int32

	mu       sync.Mutex
	holdNext bool
	held     *http.Request
}

func (l *lateWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut {
		return l.next.RoundTrip(r)
	}
	l.mu.Lock()
	if l.holdNext {
		l.holdNext = false
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		held := r.Clone(r.Context())
		held.Body = io.NopCloser(bytes.NewReader(body))
		held.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		l.held = held
		l.mu.Unlock()
		return nil, errors.New("lateWrite: request held back (as a timeout)")
	}
	held := l.held
	l.held = nil
	l.mu.Unlock()
	if held != nil {
		resp, err := l.next.RoundTrip(held)
		if err != nil {
			return nil, fmt.Errorf("lateWrite: deliver the held request: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			l.delivered.Add(1)
		}
	}
	return l.next.RoundTrip(r)
}
