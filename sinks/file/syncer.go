package file

import "fmt"

// runSyncer is the group commit loop: it takes every batch written since its last round, fsyncs the file once and
// releases the batches in write order. It ends when Close was called and nothing is pending, closing the file.
func (s *Sink) runSyncer() {
	defer close(s.done)
	var round []held // reused: swapped with s.pending each round
	for {
		s.mu.Lock()
		for len(s.pending) == 0 && !s.closing {
			s.cond.Wait()
		}
		if len(s.pending) == 0 {
			s.closeErr = s.closeLocked()
			s.mu.Unlock()
			return
		}
		round, s.pending = s.pending, round[:0]
		f := s.f
		s.syncing = true
		s.mu.Unlock()

		// A nil file means Write closed it (rotation or reopen) after an fsync that covered these batches, or
		// recorded that fsync's error in them.
		var err error
		if f != nil {
			s.syncs.Add(1)
			if err = s.syncFile(f); err != nil {
				err = fmt.Errorf("fsync %s: %w", s.cfg.Path, err)
				s.log.Error().Err(err).Int("batches", len(round)).Msg("fsync failed; the batches are retried")
			}
		}

		s.mu.Lock()
		s.syncing = false
		if err != nil {
			// After a failed fsync the kernel may have dropped the dirty pages: start again from a fresh open.
			s.broken = true
			// The batches written during the fsync are in the same file, and their pages may have gone in the
			// same failed writeback; the kernel reports that error once, so the next fsync would say nothing.
			for i := range s.pending {
				if s.pending[i].err == nil {
					s.pending[i].err = err
				}
			}
		}
		s.cond.Broadcast()
		s.mu.Unlock()

		for i := range round {
			settle(&round[i], err)
			round[i] = held{} // drop the batch for the garbage collector
		}
	}
}

// settle marks every event of a held batch and releases it.
func settle(h *held, syncErr error) {
	err := h.err
	if err == nil {
		err = syncErr
	}
	for i := range h.b.Events {
		if err != nil {
			h.b.Retry(i, err)
		} else {
			h.b.Accept(i)
		}
	}
	h.release()
}

// closeLocked closes the current file at shutdown. Every batch written to it was fsync'd already.
func (s *Sink) closeLocked() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", s.cfg.Path, err)
	}
	return nil
}
