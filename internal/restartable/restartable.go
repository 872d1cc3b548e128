// Package restartable serves an http.Handler on one 127.0.0.1 address that
// a test can stop (new connections are refused, as when a server goes down)
// and start again on the same address.
package restartable

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Server is a handler served on a fixed 127.0.0.1 address. Stop and Start
// are safe to call from several goroutines.
type Server struct {
	t       testing.TB
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

// New serves h on a free 127.0.0.1 port; the server is stopped when the
// test ends.
func New(t testing.TB, h http.Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, addr: ln.Addr().String(), handler: h}
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's base URL, the same across restarts.
func (s *Server) URL() string { return "http://" + s.addr }

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the listener and every open connection: new dials are
// refused until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// Start listens on the same address again.
func (s *Server) Start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger a moment after the close
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listening on %s again: %v", s.addr, err)
	}
	s.serve(ln)
}
