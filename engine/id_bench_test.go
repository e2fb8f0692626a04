package engine_test

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
)

func BenchmarkAppendID(b *testing.B) {
	st := engine.NewStream(&engine.Input{Name: "x"}, func(int64) {})
	st.IDSeed = engine.SeedID([]byte("x"), []byte("y"))
	ev := engine.Event{Stream: st}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev.Offset = int64(i) * 150
		buf = ev.AppendID(buf[:0])
	}
}
