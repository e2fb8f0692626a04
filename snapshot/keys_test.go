package snapshot_test

import (
	"testing"

	"github.com/flickerlog/flicker/snapshot"
)

func TestKeysKind(t *testing.T) {
	keys := snapshot.Keys{Bucket: "b", Latest: "flicker/registry.json"}
	for _, tc := range []struct{ path, want string }{
		{"/b/flicker/registry.json", snapshot.KindSnapshot},
		{"/flicker/registry.json", snapshot.KindSnapshot}, // virtual-host style
		{"/b/flicker/registry.json.lease", snapshot.KindLease},
		{"/b/flicker/registry.json.probe", snapshot.KindProbe},
		{"/b/flicker/registry.json.history/007", snapshot.KindHistory},
		{"/b/", snapshot.KindOther}, // a listing
		{"/b/other/registry.json.lease.x", snapshot.KindOther},
		{"/b/xflicker/registry.json", snapshot.KindOther},
	} {
		if got := keys.Kind(tc.path); got != tc.want {
			t.Errorf("Kind(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
