// Package pgtest gives tests a PostgreSQL server: EXMAIL_RELAY_TEST_POSTGRES
// (a DSN to a scratch server whose databases the tests may create), or a
// throwaway cluster started with the local initdb and pg_ctl (as the
// postgres user when run as root, since PostgreSQL refuses root). Without
// either, tests skip, unless EXMAIL_RELAY_REQUIRE_POSTGRES=1 (CI), when
// they fail.
package pgtest

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

	"github.com/jackc/pgx/v5"
)

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("EXMAIL_RELAY_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("PostgreSQL is required here (EXMAIL_RELAY_REQUIRE_POSTGRES=1): "+format, args...)
	}
	t.Skipf(format, args...)
}

// Server returns the DSN of a PostgreSQL server, started for this test
// (stopped at its cleanup) unless EXMAIL_RELAY_TEST_POSTGRES names one.
func Server(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv("EXMAIL_RELAY_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	initdb, err := lookPG("initdb")
	if err != nil {
		unavailable(t, "no PostgreSQL: set EXMAIL_RELAY_TEST_POSTGRES or install initdb and pg_ctl")
	}
	pgctl, err := lookPG("pg_ctl")
	if err != nil {
		unavailable(t, "no pg_ctl")
	}
	dir, err := os.MkdirTemp("", "exmail-relay-pg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	as := func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
	if os.Geteuid() == 0 { // initdb refuses root
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "running as root and there is no postgres user to run PostgreSQL as")
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
		unavailable(t, "initdb failed: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c max_connections=300", dir)
	if out, err := as(pgctl, "-D", data, "-o", opts, "-w", "-l", filepath.Join(dir, "log"), "start").CombinedOutput(); err != nil {
		unavailable(t, "pg_ctl start failed: %v\n%s", err, out)
	}
	t.Cleanup(func() { as(pgctl, "-D", data, "-m", "immediate", "stop").Run() })
	return "postgres://postgres@/postgres?host=" + url.QueryEscape(dir)
}

// lookPG finds a PostgreSQL program on PATH or in Debian's versioned
// directory (/usr/lib/postgresql/N/bin, not on PATH).
func lookPG(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", exec.ErrNotFound
}

var (
	dbN atomic.Int64
)

// FreshDB creates an empty database on the server at base and returns
// its DSN.
func FreshDB(t testing.TB, base string) string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("relay_%d_%d", os.Getpid(), dbN.Add(1))
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}
