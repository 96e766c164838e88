package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
	"github.com/exmail-notifier/exmail-notifier/relay/store/storetest"
)

// server is a PostgreSQL server for the tests: EXMAIL_RELAY_TEST_POSTGRES
// (a DSN to an empty scratch server), or a throwaway cluster started with
// the local initdb and pg_ctl (as the postgres user when run as root).
// Tests skip when neither is available.
func server(t *testing.T) string {
	t.Helper()
	if dsn := os.Getenv("EXMAIL_RELAY_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		t.Skip("no PostgreSQL: set EXMAIL_RELAY_TEST_POSTGRES or install initdb and pg_ctl")
	}
	pgctl, err := exec.LookPath("pg_ctl")
	if err != nil {
		t.Skip("no pg_ctl")
	}
	dir, err := os.MkdirTemp("", "exmail-relay-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	as := func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
	if os.Geteuid() == 0 { // initdb refuses root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and no postgres user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		as = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := as(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Skipf("initdb failed: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off", dir)
	if out, err := as(pgctl, "-D", data, "-o", opts, "-w", "-l", filepath.Join(dir, "log"), "start").CombinedOutput(); err != nil {
		t.Skipf("pg_ctl start failed: %v\n%s", err, out)
	}
	t.Cleanup(func() { as(pgctl, "-D", data, "-m", "immediate", "stop").Run() })
	return "postgres://postgres@/postgres?host=" + url.QueryEscape(dir)
}

var dbN atomic.Int64

// freshDB creates an empty database on the server and returns its DSN.
func freshDB(t *testing.T, base string) string {
	t.Helper()
	ctx := t.Context()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	name := fmt.Sprintf("relay_%d_%d", os.Getpid(), dbN.Add(1))
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

func TestConformance(t *testing.T) {
	base := server(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(t.Context(), freshDB(t, base))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestTwoNodesShareOneEpochAndLog(t *testing.T) {
	dsn := freshDB(t, server(t))
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Epoch() != b.Epoch() {
		t.Fatalf("epochs %q and %q", a.Epoch(), b.Epoch())
	}
	if _, err := a.Append(t.Context(), store.Event{Alias: "bob@example.com", Kind: "unread", Data: []byte(`{}`), Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ev, err := b.Append(t.Context(), store.Event{Alias: "bob@example.com", Kind: "unread", Data: []byte(`{}`), Time: time.Now()})
	if err != nil || ev.Seq != 2 {
		t.Fatalf("the second node's append: seq %d, %v; want 2", ev.Seq, err)
	}
}
