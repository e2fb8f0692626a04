package rejectsplit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestBatchBudget(t *testing.T) {
	b := New(zerolog.Nop())
	b.Accepted() // keep the in-a-row bound out of the way: a 2xx between every two 400s
	splits := 0
	for range BatchRequests + 1 {
		split, whole := b.Refused(10)
		b.Accepted()
		if !split {
			if !strings.Contains(whole, "spent its 128 requests") {
				t.Errorf("reason %q", whole)
			}
			break
		}
		splits++
	}
	if splits*2 != BatchRequests {
		t.Errorf("%d splits (%d requests), want %d requests", splits, splits*2, BatchRequests)
	}
	if split, whole := b.Refused(1); split || whole != "" {
		t.Errorf("a single event: split %v, reason %q; want neither", split, whole)
	}
	b.StartBatch()
	if split, _ := b.Refused(2); !split {
		t.Error("a new batch may not split")
	}
}

func TestRefusesAll(t *testing.T) {
	var logs bytes.Buffer
	now := time.Unix(1_000_000, 0)
	b := New(zerolog.New(&logs))
	b.now = func() time.Time { return now }
	for i := 1; i < RejectAllAfter; i++ {
		b.StartBatch() // the batch budget stays out of the way
		if split, _ := b.Refused(2); !split {
			t.Fatalf("request %d refused in a row: not split", i)
		}
	}
	split, whole := b.Refused(2)
	if split || !strings.Contains(whole, "refused the last 128 requests") {
		t.Fatalf("request %d refused in a row: split %v, reason %q", RejectAllAfter, split, whole)
	}
	if n := strings.Count(logs.String(), "refused every request"); n != 1 {
		t.Errorf("%d warnings, want 1: %s", n, logs.String())
	}
	now = now.Add(RejectAllMemory - time.Second)
	b.StartBatch()
	if split, _ := b.Refused(1000); split {
		t.Error("split within RejectAllMemory")
	}
	if n := strings.Count(logs.String(), "refused every request"); n != 1 {
		t.Errorf("%d warnings, want still 1", n)
	}
	now = now.Add(time.Second)
	if split, _ := b.Refused(1000); !split {
		t.Error("not split after RejectAllMemory")
	}

	// One accepted request ends the conclusion at once.
	for range RejectAllAfter {
		b.StartBatch()
		b.Refused(2)
	}
	if split, _ := b.Refused(2); split {
		t.Fatal("split after RejectAllAfter refusals in a row")
	}
	b.Accepted()
	if split, _ := b.Refused(2); !split {
		t.Error("not split after an accepted request")
	}
}
