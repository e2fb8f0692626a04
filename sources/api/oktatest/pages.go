package oktatest

import (
	"sort"
	"time"
)

// page selects the events of q and the position the next page starts after (nil: no next page). events are
// all events in persistence order.
func (q *query) page(events []*event) ([]*event, *position) {
	if q.polling {
		return q.pollingPage(events)
	}
	return q.boundedPage(events)
}

// pollingPage follows the persistence order: since bounds the persistence time, after the sequence. The cursor
// points past the last event returned, so events persisted later (late ones too) come after it.
func (q *query) pollingPage(events []*event) ([]*event, *position) {
	var start int
	if q.after != nil {
		start = int(min(q.after.seq, int64(len(events))))
	} else {
		start = sort.Search(len(events), func(i int) bool { return !events[i].persisted.Before(q.since) })
	}
	var page []*event
	for _, e := range events[start:] {
		if len(page) >= q.limit {
			break
		}
		if q.matches(e) {
			page = append(page, e)
		}
	}
	if len(page) == 0 {
		return nil, nil
	}
	last := page[len(page)-1]
	return page, &position{polling: true, seq: last.seq, persisted: last.persisted.UnixMilli()}
}

// boundedPage orders the events published in [since, until) by published (then persistence), ascending or
// descending, and returns the page after q.after; there is a next page only while events remain.
func (q *query) boundedPage(events []*event) ([]*event, *position) {
	var all []*event
	for _, e := range events {
		if !e.published.Before(q.since) && e.published.Before(q.until) && q.matches(e) {
			all = append(all, e)
		}
	}
	less := func(a, b *event) bool {
		if !a.published.Equal(b.published) {
			return a.published.Before(b.published)
		}
		return a.seq < b.seq
	}
	sort.SliceStable(all, func(i, j int) bool {
		if q.descending {
			return less(all[j], all[i])
		}
		return less(all[i], all[j])
	})
	if q.after != nil {
		mark := &event{published: time.Unix(0, q.after.published), seq: q.after.seq}
		i := sort.Search(len(all), func(i int) bool {
			if q.descending {
				return less(all[i], mark)
			}
			return less(mark, all[i])
		})
		all = all[i:]
	}
	if q.limit == 0 || len(all) == 0 {
		return nil, nil
	}
	page := all[:min(q.limit, len(all))]
	if len(page) == len(all) {
		return page, nil
	}
	last := page[len(page)-1]
	return page, &position{seq: last.seq, published: last.published.UnixNano()}
}
