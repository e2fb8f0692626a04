package engine

// fifo is a queue on a ring that grows when full and never shrinks: no allocation in the steady state.
type fifo[T any] struct {
	buf  []T
	head int
	n    int
}

func (f *fifo[T]) push(v T) {
	if f.n == len(f.buf) {
		buf := make([]T, max(8, 2*len(f.buf)))
		for i := 0; i < f.n; i++ {
			buf[i] = f.buf[(f.head+i)%len(f.buf)]
		}
		f.buf, f.head = buf, 0
	}
	f.buf[(f.head+f.n)%len(f.buf)] = v
	f.n++
}

func (f *fifo[T]) pop() (T, bool) {
	var zero T
	if f.n == 0 {
		return zero, false
	}
	v := f.buf[f.head]
	f.buf[f.head] = zero
	f.head = (f.head + 1) % len(f.buf)
	f.n--
	return v, true
}

// len returns how many values are queued.
func (f *fifo[T]) len() int { return f.n }

// at returns the i-th queued value, 0 being the oldest; i must be below len.
func (f *fifo[T]) at(i int) *T { return &f.buf[(f.head+i)%len(f.buf)] }
