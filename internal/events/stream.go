package events

import (
	"context"
	"time"
)

// streamBatch is how many events a stream reads at once.
const streamBatch = 500

// follow calls emit for each event after cursor whose topic matches ps, in
// id order and without gaps left behind (see tail), then flush after each
// batch; it calls ping when nothing was sent for keepAlive. It returns nil
// when ctx ends, or the first error of emit, flush or ping (the client went
// away) or of reading the outbox.
func (s *Service) follow(ctx context.Context, cursor int64, ps patterns,
	emit func(Event) error, flush func() error, ping func() error) error {
	t := newTail(s.db, s.now, s.gapGrace, s.gapMaxWait)
	poll := time.NewTimer(s.pollEvery)
	defer poll.Stop()
	alive := time.NewTicker(s.keepAlive)
	defer alive.Stop()
	for {
		wake := s.ob.Wait() // before reading: a commit after the read still wakes us
		evs, next, more, err := t.read(ctx, cursor, streamBatch, true)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		sent := false
		for _, e := range evs {
			if ps.match(e.Topic) {
				if err := emit(e); err != nil {
					return err
				}
				sent = true
			}
		}
		cursor = next
		if sent {
			if err := flush(); err != nil {
				return err
			}
			alive.Reset(s.keepAlive)
		}
		if more {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		poll.Reset(s.pollEvery)
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		case <-alive.C:
			if err := ping(); err != nil {
				return err
			}
		}
	}
}
