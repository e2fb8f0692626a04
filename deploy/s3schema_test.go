package deploy_test

import (
	"testing"

	"github.com/flickerlog/flicker/deploy/deploytest"
)

// TestS3DurationsSchema: the chart's schema takes the durations flicker takes for registry.s3 (Go durations,
// fractions included) and refuses a lease TTL under one second, which flicker would refuse at start.
func TestS3DurationsSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"leaseTTL=1.5s", true},
		{"leaseTTL=2m", true},
		{"leaseTTL=1m30s", true},
		{"leaseTTL=1s", true},
		{"leaseTTL=500ms", false},
		{"leaseTTL=0.5s", false},
		{"leaseTTL=10ms", false},
		{"leaseTTL=abc", false},
		{"snapshotInterval=1.5s", true},
		{"snapshotInterval=500ms", true},
		{"snapshotInterval=5x", false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := deploytest.HelmCmd(t, "template", deploytest.Release, deploytest.Chart(), "--namespace",
				deploytest.Namespace, "--set", "registry.type=s3", "--set", "registry.s3.bucket=b",
				"--set-string", "registry.s3."+tc.value)
			if (err == nil) != tc.ok {
				t.Fatalf("helm template with registry.s3.%s: err %v, want accepted %v", tc.value, err, tc.ok)
			}
		})
	}
}
