package file_test

import "runtime"

type testingAllocs struct{ n uint64 }

func (a *testingAllocs) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	a.n = ms.Mallocs
}
