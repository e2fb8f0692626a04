package miniotest

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy in front of a real server that injects the faults the server cannot produce by
// itself: a stall (Pause), reset connections (ResetConnections), replies lost after the server acted on
// a request (DropReplies) and slow answers (DelayReplies). Point the client at the proxy's Endpoint or URL.
type Proxy struct {
	t      testing.TB
	target string
	ln     net.Listener

	mu          sync.Mutex
	resume      chan struct{} // closed while traffic flows; a fresh open channel while paused
	dropReplies bool
	replyDelay  time.Duration
	links       map[*link]struct{}
	closed      bool

	wg sync.WaitGroup // the accept loop and every link's copiers
}

// link is one proxied connection pair.
type link struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{}
	halfClosed     atomic.Int32 // directions that ended with EOF
	asked          atomic.Bool  // request bytes went to the server since the last reply began
}

// reset closes both sides, the client's with an RST rather than a FIN, as a dropped connection looks.
func (l *link) reset() {
	l.once.Do(func() {
		if tc, ok := l.client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = l.client.Close()
		_ = l.server.Close()
		close(l.done)
	})
}

// NewProxy listens on a free 127.0.0.1 port and forwards each connection to target ("host:port"). It is
// closed, with its connections, when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: proxy listen: %v", err)
	}
	resume := make(chan struct{})
	close(resume)
	p := &Proxy{t: t, target: target, ln: ln, resume: resume, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Endpoint is the proxy's "127.0.0.1:port".
func (p *Proxy) Endpoint() string { return p.ln.Addr().String() }

// URL is "http://" + Endpoint.
func (p *Proxy) URL() string { return "http://" + p.Endpoint() }

// Pause stalls traffic in both directions: connections stay open (and new ones are accepted) but no byte
// is forwarded until Resume, as with a hung network path.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.resume:
		p.resume = make(chan struct{})
	default: // already paused
	}
}

// Resume lets stalled traffic flow again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.resume:
	default:
		close(p.resume)
	}
}

// ResetConnections drops every open connection with a reset; new connections work as before.
func (p *Proxy) ResetConnections() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.reset()
	}
}

// Connections is the number of proxied connections open now, for tests that wait until a request is in
// flight before injecting a fault.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// DropReplies, while on, lets requests through but resets a connection as soon as the server starts to
// answer on it: the server has acted (a PUT is stored) but the client never learns the outcome.
func (p *Proxy) DropReplies(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropReplies = on
}

// DelayReplies holds the beginning of every answer for d before forwarding it (0: no delay): a slow store
// that still answers everything. Requests are not delayed, so the server acts on time and the client learns
// late.
func (p *Proxy) DelayReplies(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replyDelay = d
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			// The target is down: refuse the client the way the target would.
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = client.Close()
			continue
		}
		l := &link{client: client, server: server, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			l.reset()
			return
		}
		p.links[l] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(l, client, server, false)
		go p.pipe(l, server, client, true)
	}
}

// pipe copies src to dst until either side ends, holding data while paused. A clean EOF half-closes dst so
// the other direction can finish; the link is torn down when both directions ended or on any error.
func (p *Proxy) pipe(l *link, src, dst net.Conn, reply bool) {
	defer p.wg.Done()
	if p.copy(l, src, dst, reply) {
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		if l.halfClosed.Add(1) < 2 {
			return
		}
	}
	l.reset()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// copy forwards until src ends (true on a clean EOF) or something fails or a reply is to be dropped.
func (p *Proxy) copy(l *link, src, dst net.Conn, reply bool) (eof bool) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			resume, drop, delay := p.resume, reply && p.dropReplies, p.replyDelay
			p.mu.Unlock()
			if drop {
				return false
			}
			if !reply {
				l.asked.Store(true) // before the server can see the request and answer
			} else if l.asked.Swap(false) && delay > 0 {
				timer := time.NewTimer(delay)
				select {
				case <-timer.C:
				case <-l.done:
					timer.Stop()
					return false
				}
			}
			select {
			case <-resume:
			case <-l.done:
				return false
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return false
			}
		}
		if err != nil {
			return errors.Is(err, io.EOF)
		}
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.Resume()
	p.ResetConnections()
	p.wg.Wait()
}
