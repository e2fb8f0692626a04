package jsonscan

import "testing"

var benchLine = []byte(`{"@timestamp":"2026-11-21T10:00:00.123456Z","level":"info","logger":"com.example.orders.OrderService",` +
	`"thread":"http-nio-8080-exec-7","message":"order 81234 placed by user 1042 in 12.5 ms: \"express\" shipping",` +
	`"http":{"method":"POST","path":"/api/v1/orders","status":201,"duration_ms":12.5},"user":{"id":1042,"roles":["buyer","beta"]},` +
	`"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`)

func BenchmarkMembersLine(b *testing.B) {
	n := 0
	fn := func(_, _ []byte) error { n++; return nil }
	b.Run("jsontext", func(b *testing.B) {
		b.SetBytes(int64(len(benchLine)))
		b.ReportAllocs()
		for b.Loop() {
			if err := Members(benchLine, 64, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hand", func(b *testing.B) {
		var kb []byte
		b.SetBytes(int64(len(benchLine)))
		b.ReportAllocs()
		for b.Loop() {
			if err := membersHand(benchLine, 64, fn, &kb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
