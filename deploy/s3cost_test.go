package deploy_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/flickerlog/flicker/deploy/deploytest"
)

// S3 Standard request prices (README "What S3 costs"), dollars per request.
const (
	putPrice   = 0.005 / 1000
	getPrice   = 0.0004 / 1000
	hoursMonth = 730
)

// TestS3CostDefaultsPerMode (issue 17): with an S3 registry the chart sets --snapshot-interval and --lease-ttl
// per mode, overridable, and its defaults meet the cost target: an idle instance (lease renewals every TTL/2
// only) under $0.50 a month, a busy node agent (an upload every interval and a history slot every 5 minutes,
// no renewals, a GET of the lease every TTL/2) under $1.50.
func TestS3CostDefaultsPerMode(t *testing.T) {
	args := func(t *testing.T, mode string, extra ...string) []string {
		t.Helper()
		r := decodeAll(t, mode, deploytest.Template(t, append([]string{"--set", "mode=" + mode,
			"--set", "registry.type=s3", "--set", "registry.s3.bucket=b"}, extra...)...))
		if mode == "daemonset" {
			return flickerContainer(t, only[*appsv1.DaemonSet](t, r, "DaemonSet").Spec.Template.Spec).Args
		}
		return flickerContainer(t, only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec).Args
	}
	duration := func(t *testing.T, args []string, flag string) time.Duration {
		t.Helper()
		v, ok := flagValue(args, flag)
		d, err := time.ParseDuration(v)
		if !ok || err != nil {
			t.Fatalf("%s %q in %q: want a duration", flag, v, args)
		}
		return d
	}
	for _, tc := range []struct {
		mode          string
		interval, ttl time.Duration
	}{
		{"daemonset", 10 * time.Second, 120 * time.Second},
		{"deployment", 5 * time.Second, 60 * time.Second},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			a := args(t, tc.mode)
			interval, ttl := duration(t, a, "--snapshot-interval"), duration(t, a, "--lease-ttl")
			if interval != tc.interval || ttl != tc.ttl {
				t.Fatalf("--snapshot-interval %s, --lease-ttl %s; want %s, %s", interval, ttl, tc.interval, tc.ttl)
			}
			idle := hoursMonth * float64(time.Hour/(ttl/2)) * putPrice
			if idle >= 0.50 {
				t.Errorf("idle: $%.2f a month, want under $0.50", idle)
			}
			if tc.mode == "daemonset" {
				busy := hoursMonth * (float64(time.Hour/interval+time.Hour/(5*time.Minute))*putPrice +
					float64(time.Hour/(ttl/2))*getPrice)
				if busy >= 1.50 || ttl/2 <= interval {
					t.Errorf("busy node agent: $%.2f a month (want under $1.50), renewal period %s (want above the "+
						"interval, so uploads stand for renewals)", busy, ttl/2)
				}
			}
			a = args(t, tc.mode, "--set", "registry.s3.snapshotInterval=30s", "--set", "registry.s3.leaseTTL=15s")
			if d := duration(t, a, "--snapshot-interval"); d != 30*time.Second {
				t.Fatalf("--snapshot-interval %s with registry.s3.snapshotInterval=30s", d)
			}
			if d := duration(t, a, "--lease-ttl"); d != 15*time.Second {
				t.Fatalf("--lease-ttl %s with registry.s3.leaseTTL=15s", d)
			}
		})
	}
}
