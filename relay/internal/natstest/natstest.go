// Package natstest runs a real NATS server (nats-server, embedded as a
// library) on a random loopback port, for tests. Only tests import it:
// no relay binary links the server.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a running NATS server.
type Server struct{ s *server.Server }

// Start starts a server, shut down at t's cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return &Server{s: s}
}

// URL is the server's client URL.
func (s *Server) URL() string { return s.s.ClientURL() }

// Shutdown stops the server (to test a NATS outage).
func (s *Server) Shutdown() { s.s.Shutdown(); s.s.WaitForShutdown() }
