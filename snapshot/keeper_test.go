package snapshot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

func keepLease(t *testing.T, l *snapshot.Lease, every time.Duration) *background {
	return inBackground(t, "Keep", func(ctx context.Context) error { return l.Keep(ctx, every) })
}

func TestKeep(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	bucket := func(t *testing.T) string {
		return replBucket(t, srv).Bucket
	}

	t.Run("renews until its context ends", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", testTTL, testSkew)
		if s := a.State(); s != (snapshot.LeaseState{}) {
			t.Fatalf("state before Acquire %+v", s)
		}
		acquireT(t, a, 0, 1)
		acquired := storedLease(t, root, b)
		st := a.State()
		if !st.Held || st.Lost || st.Unconfirmed || st.Epoch != 1 || !st.LastRenewed.Equal(acquired.Renewed) {
			t.Fatalf("state after Acquire %+v, stored %+v", st, acquired)
		}
		k := keepLease(t, a, 50*time.Millisecond)
		waitCond(t, "two renewals", func() bool {
			rec := storedLease(t, root, b)
			return rec.Renewed.After(acquired.Renewed) && rec.WriteID != acquired.WriteID &&
				a.State().LastRenewed.After(acquired.Renewed.Add(50*time.Millisecond))
		})
		if err := k.stop(t); err != nil {
			t.Fatalf("Keep = %v", err)
		}
		rec := storedLease(t, root, b)
		if rec.WriterID != "a" || rec.Epoch != 1 || !rec.Renewed.Equal(a.State().LastRenewed) {
			t.Fatalf("stored %+v, state %+v", rec, a.State())
		}
		if err := a.Release(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		if st := a.State(); st.Held || st.Lost {
			t.Fatalf("state after Release %+v", st)
		}
	})

	t.Run("a lost lease ends it", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		k := keepLease(t, a, 50*time.Millisecond)
		now := time.Now()
		body, err := json.Marshal(snapshot.LeaseRecord{WriterID: "b", Hostname: "host-b", Epoch: 2, Acquired: now,
			Renewed: now, Expires: now.Add(time.Hour), WriteID: "b-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutObject(leaseContext(t), b, leaseKey, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := k.wait(t); !errors.Is(err, snapshot.ErrLeaseLost) || !strings.Contains(err.Error(), "host-b") {
			t.Fatalf("Keep = %v, want ErrLeaseLost naming the new holder", err)
		}
		if st := a.State(); st.Held || !st.Lost || st.Epoch != 1 {
			t.Fatalf("state %+v", st)
		}
		if rec := storedLease(t, root, b); rec.WriterID != "b" {
			t.Fatalf("stored %+v", rec)
		}
	})

	t.Run("an outage does not lose the lease", func(t *testing.T) {
		b := bucket(t)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		logs := &lockedLog{}
		a := snapshot.NewLease(c, snapshot.LeaseOptions{Bucket: b, Key: leaseKey, WriterID: "a", Hostname: "host-a",
			TTL: testTTL, Skew: testSkew, Logger: zerolog.New(logs)})
		acquireT(t, a, 0, 1)
		k := keepLease(t, a, 50*time.Millisecond)
		acquired := a.State().LastRenewed
		waitCond(t, "a renewal", func() bool { return a.State().LastRenewed.After(acquired) })

		proxy.Pause()
		waitCond(t, "an unconfirmed renewal", func() bool { return a.State().Unconfirmed })
		if st := a.State(); !st.Held || st.Lost {
			t.Fatalf("state during the outage %+v", st)
		}
		k.running(t)
		proxy.Resume()
		resumed := time.Now()
		waitCond(t, "a renewal after the outage", func() bool {
			st := a.State()
			return !st.Unconfirmed && st.LastRenewed.After(resumed)
		})
		k.running(t)
		if err := k.stop(t); err != nil {
			t.Fatalf("Keep = %v", err)
		}
		for _, s := range []string{`"level":"warn"`, `"since_last_renewal":"`, "lease renewals resumed"} {
			if !strings.Contains(logs.String(), s) {
				t.Errorf("logs do not have %s:\n%s", s, logs)
			}
		}
		_, err := newLease(root, b, "b", testTTL, testSkew).Acquire(leaseContext(t), 0)
		wantHeld(t, err, "a")
	})

	t.Run("a lease not held is an error", func(t *testing.T) {
		b := bucket(t)
		a := newLease(root, b, "a", testTTL, testSkew)
		err := keepLease(t, a, 10*time.Millisecond).wait(t)
		if err == nil || errors.Is(err, snapshot.ErrLeaseLost) || !strings.Contains(err.Error(), "not held") {
			t.Fatalf("Keep of a lease never acquired = %v", err)
		}
	})
}

// stepClock is a clock that moves only when told, for a lease's Now.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestConfirmed(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)

	t.Run("lapses one TTL after the last confirmed write and returns with a renewal", func(t *testing.T) {
		b := replBucket(t, srv).Bucket
		clock := &stepClock{now: time.Now()}
		a := snapshot.NewLease(root, snapshot.LeaseOptions{Bucket: b, Key: leaseKey, WriterID: "a", Hostname: "host-a",
			TTL: testTTL, Skew: testSkew, Now: clock.Now, Logger: zerolog.Nop()})
		if a.Confirmed() {
			t.Fatal("confirmed before Acquire")
		}
		acquireT(t, a, 0, 1)
		if !a.Confirmed() {
			t.Fatal("not confirmed right after Acquire")
		}
		if err := a.WaitConfirmed(leaseContext(t)); err != nil {
			t.Fatalf("WaitConfirmed while confirmed = %v", err)
		}
		clock.add(testTTL - time.Millisecond)
		if !a.Confirmed() {
			t.Fatal("not confirmed within the TTL")
		}
		// As after SIGSTOP: the clock moved past the TTL and nothing else ran; it answers at once.
		clock.add(time.Millisecond)
		if a.Confirmed() {
			t.Fatal("still confirmed one TTL after the last confirmed write")
		}
		ctx, cancel := context.WithTimeout(leaseContext(t), 50*time.Millisecond)
		err := a.WaitConfirmed(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitConfirmed while unconfirmed = %v, want it to wait until its context ends", err)
		}
		waiting := inBackground(t, "WaitConfirmed", a.WaitConfirmed)
		waiting.running(t)
		if err := a.Renew(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		if err := waiting.wait(t); err != nil {
			t.Fatalf("WaitConfirmed after a renewal = %v", err)
		}
		if !a.Confirmed() {
			t.Fatal("not confirmed after a renewal")
		}

		// Lost: another instance took over; waiting ends with ErrLeaseLost.
		clock.add(testTTL)
		waiting = inBackground(t, "WaitConfirmed", a.WaitConfirmed)
		now := time.Now()
		body, err := json.Marshal(snapshot.LeaseRecord{WriterID: "b", Hostname: "host-b", Epoch: 2, Acquired: now,
			Renewed: now, Expires: now.Add(time.Hour), WriteID: "b-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutObject(leaseContext(t), b, leaseKey, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := a.Renew(leaseContext(t)); !errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("Renew = %v, want ErrLeaseLost", err)
		}
		if err := waiting.wait(t); !errors.Is(err, snapshot.ErrLeaseLost) {
			t.Fatalf("WaitConfirmed after the loss = %v, want ErrLeaseLost", err)
		}
		if a.Confirmed() {
			t.Fatal("confirmed after the loss")
		}
	})

	t.Run("an outage longer than the TTL, with Keep running", func(t *testing.T) {
		b := replBucket(t, srv).Bucket
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		a := newLease(c, b, "a", testTTL, testSkew)
		acquireT(t, a, 0, 1)
		k := keepLease(t, a, 50*time.Millisecond)
		proxy.Pause()
		waitCond(t, "the confirmation to lapse", func() bool { return !a.Confirmed() })
		if st := a.State(); !st.Held || st.Lost {
			t.Fatalf("state during the outage %+v: held, as far as it knows", st)
		}
		waiting := inBackground(t, "WaitConfirmed", a.WaitConfirmed)
		waiting.running(t)
		proxy.Resume()
		if err := waiting.wait(t); err != nil {
			t.Fatalf("WaitConfirmed after the outage = %v", err)
		}
		if err := k.stop(t); err != nil {
			t.Fatalf("Keep = %v", err)
		}
	})
}
