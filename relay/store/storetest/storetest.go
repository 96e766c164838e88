// Package storetest is the conformance suite for store.Store
// implementations. Each implementation's tests call Run with a constructor
// that returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { … })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// Open returns a fresh, empty store, closed by the test's cleanup.
type Open func(t *testing.T) store.Store

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Open) {
	t.Run("EpochIsStableAndUsableInAnEventID", func(t *testing.T) {
		s := open(t)
		e := s.Epoch()
		if e == "" || e != s.Epoch() {
			t.Fatalf("Epoch() = %q, then %q", e, s.Epoch())
		}
		if _, err := wire.ParseID(wire.ID{Epoch: e, Seq: 1}.String()); err != nil {
			t.Fatalf("epoch %q does not make a valid event id: %v", e, err)
		}
	})

	t.Run("EnrollConsumesTheCodeOnce", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		code := store.HashSecret(store.NewCode())
		must(t, s.AddCode(ctx, code, "Bob@Example.com", t0.Add(time.Hour)))
		dev, err := s.Enroll(ctx, code, store.HashSecret(store.NewToken()), "bob's laptop", t0)
		must(t, err)
		if dev.Alias != "bob@example.com" || dev.Name != "bob's laptop" || dev.ID == "" || !dev.Active() {
			t.Fatalf("Enroll = %+v", dev)
		}
		if _, err := s.Enroll(ctx, code, store.HashSecret(store.NewToken()), "again", t0); !errors.Is(err, store.ErrCodeInvalid) {
			t.Fatalf("second Enroll with the same code: err = %v, want ErrCodeInvalid", err)
		}
	})

	t.Run("UnknownUsedAndExpiredCodesAreTheSameError", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		expired := store.HashSecret(store.NewCode())
		must(t, s.AddCode(ctx, expired, "bob@example.com", t0))
		used := store.HashSecret(store.NewCode())
		must(t, s.AddCode(ctx, used, "bob@example.com", t0.Add(time.Hour)))
		_, err := s.Enroll(ctx, used, store.HashSecret(store.NewToken()), "x", t0)
		must(t, err)
		for name, code := range map[string]store.Hash{
			"unknown": store.HashSecret(store.NewCode()),
			"used":    used,
			"expired": expired,
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := s.Enroll(ctx, code, store.HashSecret(store.NewToken()), "x", t0); !errors.Is(err, store.ErrCodeInvalid) {
					t.Fatalf("err = %v, want ErrCodeInvalid", err)
				}
			})
		}
	})

	t.Run("ConcurrentEnrollsWithOneCodeMakeOneDevice", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		code := store.HashSecret(store.NewCode())
		must(t, s.AddCode(ctx, code, "bob@example.com", t0.Add(time.Hour)))
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				_, err := s.Enroll(ctx, code, store.HashSecret(store.NewToken()), "x", t0)
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrCodeInvalid) {
					t.Errorf("Enroll: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("%d enrollments succeeded with one code, want 1", ok)
		}
	})

	t.Run("DeviceByTokenFindsOnlyItsOwnToken", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		tok := store.NewToken()
		dev := enroll(t, s, "bob@example.com", tok)
		got, err := s.DeviceByToken(ctx, store.HashSecret(tok))
		must(t, err)
		if got.ID != dev.ID || got.Alias != "bob@example.com" {
			t.Fatalf("DeviceByToken = %+v, want %+v", got, dev)
		}
		if _, err := s.DeviceByToken(ctx, store.HashSecret(store.NewToken())); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown token: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("RevokeIsVisibleEverywhere", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		tok := store.NewToken()
		a := enroll(t, s, "bob@example.com", tok)
		b := enroll(t, s, "bob@example.com", store.NewToken())
		c := enroll(t, s, "lina@example.com", store.NewToken())
		_, last0, err := s.Revocations(ctx, 0)
		must(t, err)

		got, err := s.Revoke(ctx, a.ID, t0)
		must(t, err)
		if got.Active() {
			t.Fatalf("Revoke returned an active device: %+v", got)
		}
		dev, err := s.DeviceByToken(ctx, store.HashSecret(tok))
		must(t, err)
		if dev.Active() {
			t.Fatal("DeviceByToken still reports the revoked device active")
		}
		if _, err := s.Revoke(ctx, a.ID, t0); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if _, err := s.Revoke(ctx, "d_nosuch", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking an unknown id: err = %v, want ErrNotFound", err)
		}
		if on, _ := s.Enrolled(ctx, "bob@example.com"); !on {
			t.Fatal("bob has an active device left, but Enrolled says no")
		}
		revoked, err := s.RevokeAlias(ctx, "BOB@example.com", t0)
		must(t, err)
		if len(revoked) != 1 || revoked[0].ID != b.ID {
			t.Fatalf("RevokeAlias = %+v, want only %s", revoked, b.ID)
		}
		if on, _ := s.Enrolled(ctx, "bob@example.com"); on {
			t.Fatal("Enrolled(bob) after revoking all his devices")
		}
		aliases, err := s.Aliases(ctx)
		must(t, err)
		if !slices.Equal(aliases, []string{c.Alias}) {
			t.Fatalf("Aliases = %v, want [%s]", aliases, c.Alias)
		}
		ids, last, err := s.Revocations(ctx, last0)
		must(t, err)
		if !slices.Equal(ids, []string{a.ID, b.ID}) || last <= last0 {
			t.Fatalf("Revocations(%d) = %v, %d; want [%s %s]", last0, ids, last, a.ID, b.ID)
		}
		if ids, _, _ := s.Revocations(ctx, last); len(ids) != 0 {
			t.Fatalf("Revocations after the last = %v, want none", ids)
		}
	})

	t.Run("DevicesListsAllWithLastSeen", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		a := enroll(t, s, "bob@example.com", store.NewToken())
		must(t, s.Seen(ctx, a.ID, t0.Add(time.Minute)))
		devs, err := s.Devices(ctx)
		must(t, err)
		if len(devs) != 1 || !devs[0].LastSeen.Equal(t0.Add(time.Minute)) || !devs[0].Created.Equal(t0) {
			t.Fatalf("Devices = %+v", devs)
		}
	})

	t.Run("AppendNumbersEachMailboxFromOne", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		m, err := s.Mailbox(ctx, "bob@example.com")
		must(t, err)
		if m.LastSeq != 0 || m.Unread != -1 {
			t.Fatalf("empty Mailbox = %+v, want LastSeq 0, Unread -1", m)
		}
		for i, alias := range []string{"bob@example.com", "BOB@example.com", "lina@example.com", "bob@example.com"} {
			ev, err := s.Append(ctx, unread(alias, i))
			must(t, err)
			want := map[int]uint64{0: 1, 1: 2, 2: 1, 3: 3}[i]
			if ev.Seq != want {
				t.Fatalf("append %d to %s: seq %d, want %d", i, alias, ev.Seq, want)
			}
		}
		m, err = s.Mailbox(ctx, "bob@example.com")
		must(t, err)
		if m.LastSeq != 3 || m.Unread != 3 || !m.Resumable(0) || !m.Resumable(3) || m.Resumable(4) {
			t.Fatalf("Mailbox = %+v", m)
		}
	})

	t.Run("EventsAfterReturnsExactlyTheTail", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		for i := range 10 {
			_, err := s.Append(ctx, unread("bob@example.com", i))
			must(t, err)
		}
		_, err := s.Append(ctx, unread("lina@example.com", 99))
		must(t, err)
		evs, err := s.EventsAfter(ctx, "bob@example.com", 4, 3)
		must(t, err)
		if got := seqs(evs); !slices.Equal(got, []uint64{5, 6, 7}) {
			t.Fatalf("EventsAfter(4, limit 3) = %v, want [5 6 7]", got)
		}
		if evs[0].Unread != 4 || evs[0].Kind != wire.KindUnread || string(evs[0].Data) != string(unread("bob@example.com", 4).Data) {
			t.Fatalf("event 5 = %+v", evs[0])
		}
		evs, err = s.EventsAfter(ctx, "bob@example.com", 10, 100)
		must(t, err)
		if len(evs) != 0 {
			t.Fatalf("EventsAfter(last) = %v, want none", seqs(evs))
		}
	})

	t.Run("DuplicateNewMailIsRefusedPerMailbox", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		_, err := s.Append(ctx, newMail("bob@example.com", "M1", 1))
		must(t, err)
		if _, err := s.Append(ctx, newMail("bob@example.com", "M1", 1)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("second M1: err = %v, want ErrDuplicate", err)
		}
		if _, err := s.Append(ctx, newMail("lina@example.com", "M1", 1)); err != nil {
			t.Fatalf("M1 in another mailbox: %v", err)
		}
		m, _ := s.Mailbox(ctx, "bob@example.com")
		if m.LastSeq != 1 {
			t.Fatalf("a refused duplicate used a seq: LastSeq = %d", m.LastSeq)
		}
	})

	t.Run("AppendBatchStoresInOrderAndSkipsDuplicates", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		_, err := s.Append(ctx, newMail("bob@example.com", "OLD", 1))
		must(t, err)
		got, err := s.AppendBatch(ctx, []store.Event{
			newMail("bob@example.com", "M1", 2),
			newMail("lina@example.com", "M1", 1), // another mailbox: not a duplicate
			newMail("bob@example.com", "OLD", 2), // stored before
			unread("bob@example.com", 1),
			newMail("bob@example.com", "M1", 2), // earlier in this batch
			newMail("bob@example.com", "M2", 2),
		})
		must(t, err)
		var desc []string
		for _, e := range got {
			desc = append(desc, fmt.Sprintf("%s/%s#%d", e.Alias[:4], e.MailID, e.Seq))
		}
		if want := []string{"bob@/M1#2", "lina/M1#1", "bob@/#3", "bob@/M2#4"}; !slices.Equal(desc, want) {
			t.Fatalf("AppendBatch stored %v, want %v", desc, want)
		}
		m, _ := s.Mailbox(ctx, "bob@example.com")
		if m.LastSeq != 4 || m.Unread != 2 {
			t.Fatalf("Mailbox = %+v, want LastSeq 4 and the last event's unread 2", m)
		}
		if got, err := s.AppendBatch(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("an empty batch: %v, %v", got, err)
		}
	})

	t.Run("ConcurrentAppendsGetDistinctConsecutiveSeqs", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if _, err := s.Append(ctx, unread("bob@example.com", i)); err != nil {
					t.Errorf("Append: %v", err)
				}
			})
		}
		wg.Wait()
		evs, err := s.EventsAfter(ctx, "bob@example.com", 0, 100)
		must(t, err)
		if got := seqs(evs); len(got) != 20 || got[0] != 1 || got[19] != 20 {
			t.Fatalf("seqs = %v, want 1…20", got)
		}
	})

	t.Run("PruneKeepsAtMostMaxEventsAndMarksTheGap", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		for i := range 10 {
			_, err := s.Append(ctx, at(unread("bob@example.com", i), t0))
			must(t, err)
		}
		n, err := s.Prune(ctx, store.Retention{MaxEvents: 4}, t0)
		must(t, err)
		if n != 6 {
			t.Fatalf("Prune deleted %d, want 6", n)
		}
		evs, _ := s.EventsAfter(ctx, "bob@example.com", 0, 100)
		if got := seqs(evs); !slices.Equal(got, []uint64{7, 8, 9, 10}) {
			t.Fatalf("left %v, want [7 8 9 10]", got)
		}
		m, _ := s.Mailbox(ctx, "bob@example.com")
		if m.Resumable(5) || !m.Resumable(6) || m.Pruned != 6 {
			t.Fatalf("after pruning through 6: %+v, Resumable(5)=%v Resumable(6)=%v", m, m.Resumable(5), m.Resumable(6))
		}
		ev, err := s.Append(ctx, unread("bob@example.com", 11))
		must(t, err)
		if ev.Seq != 11 {
			t.Fatalf("seq after pruning = %d, want 11 (never reused)", ev.Seq)
		}
	})

	t.Run("PruneDropsOldEventsThenOldContent", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		_, err := s.Append(ctx, at(newMail("bob@example.com", "OLD", 1), t0.Add(-40*24*time.Hour)))
		must(t, err)
		_, err = s.Append(ctx, at(newMail("bob@example.com", "WEEK", 2), t0.Add(-8*24*time.Hour)))
		must(t, err)
		_, err = s.Append(ctx, at(newMail("bob@example.com", "NEW", 3), t0.Add(-time.Hour)))
		must(t, err)
		n, err := s.Prune(ctx, store.Retention{}, t0) // defaults: 30 days, content 7 days
		must(t, err)
		if n != 1 {
			t.Fatalf("Prune deleted %d, want 1 (the 40-day-old mail)", n)
		}
		evs, _ := s.EventsAfter(ctx, "bob@example.com", 0, 100)
		if len(evs) != 2 {
			t.Fatalf("left %d events, want 2", len(evs))
		}
		if got := string(evs[0].Data); got != string(wire.StripContent(newMail("bob@example.com", "WEEK", 2).Data)) {
			t.Fatalf("8-day-old mail still has content: %s", got)
		}
		if got := string(evs[1].Data); got != string(newMail("bob@example.com", "NEW", 3).Data) {
			t.Fatalf("1-hour-old mail lost content: %s", got)
		}
	})

	t.Run("PruneRevokesIdleDevices", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		idle := enroll(t, s, "bob@example.com", store.NewToken())  // enrolled at t0, never seen
		seen := enroll(t, s, "lina@example.com", store.NewToken()) // seen lately
		must(t, s.Seen(ctx, seen.ID, t0.Add(200*24*time.Hour)))
		_, last0, _ := s.Revocations(ctx, 0)
		_, err := s.Prune(ctx, store.Retention{DeviceIdle: 180 * 24 * time.Hour}, t0.Add(200*24*time.Hour))
		must(t, err)
		ids, _, err := s.Revocations(ctx, last0)
		must(t, err)
		if !slices.Equal(ids, []string{idle.ID}) {
			t.Fatalf("revoked %v, want only the idle %s", ids, idle.ID)
		}
		if on, _ := s.Enrolled(ctx, "lina@example.com"); !on {
			t.Fatal("a recently seen device was revoked")
		}
		audit, err := s.AuditSince(ctx, time.Time{})
		must(t, err)
		if len(audit) != 1 || audit[0].Device != idle.ID || audit[0].Action != "revoke" || audit[0].Source != "retention" {
			t.Fatalf("audit after an idle revocation = %+v, want one retention revoke of %s", audit, idle.ID)
		}
		if n, err := s.VerifyAudit(ctx); n != 1 || err != nil {
			t.Fatalf("VerifyAudit = %d, %v", n, err)
		}
	})

	t.Run("AuditIsKeptInOrder", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		must(t, s.AddAudit(ctx, store.Audit{Time: t0, Device: "d_1", Alias: "bob@example.com", Action: "sso", Source: "127.0.0.1", Result: "ok"}))
		must(t, s.AddAudit(ctx, store.Audit{Time: t0.Add(time.Hour), Alias: "lina@example.com", Action: "code", Source: "cli", Result: "ok"}))
		all, err := s.AuditSince(ctx, time.Time{})
		must(t, err)
		if len(all) != 2 || all[0].Action != "sso" || all[0].Device != "d_1" || !all[0].Time.Equal(t0) {
			t.Fatalf("AuditSince(0) = %+v", all)
		}
		late, err := s.AuditSince(ctx, t0.Add(time.Minute))
		must(t, err)
		if len(late) != 1 || late[0].Action != "code" {
			t.Fatalf("AuditSince(t0+1m) = %+v", late)
		}
	})

	t.Run("AuditIsAChainThatVerifies", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		if n, err := s.VerifyAudit(ctx); n != 0 || err != nil {
			t.Fatalf("empty: VerifyAudit = %d, %v", n, err)
		}
		for i := range 5 {
			must(t, s.AddAudit(ctx, store.Audit{Time: t0.Add(time.Duration(i) * time.Second), Device: "d_1", Alias: "bob@example.com", Action: "sso", Source: "10.0.0.1", Result: "ok"}))
		}
		if n, err := s.VerifyAudit(ctx); n != 5 || err != nil {
			t.Fatalf("VerifyAudit = %d, %v; want 5, nil", n, err)
		}
	})

	t.Run("ContextCancellationIsHonoured", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Append(ctx, unread("bob@example.com", 1)); err == nil {
			t.Fatal("Append with a cancelled context succeeded")
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// enroll makes a device for alias whose token is tok.
func enroll(t *testing.T, s store.Store, alias string, tok api.Secret) store.Device {
	t.Helper()
	code := store.NewCode()
	must(t, s.AddCode(t.Context(), store.HashSecret(code), alias, t0.Add(time.Hour)))
	dev, err := s.Enroll(t.Context(), store.HashSecret(code), store.HashSecret(tok), "test", t0)
	must(t, err)
	return dev
}

func unread(alias string, n int) store.Event {
	data, _ := wire.Marshal(wire.UnreadLine{Time: t0.Format(wire.TimeFormat), Event: wire.KindUnread, Alias: alias, Unread: n})
	return store.Event{Alias: alias, Kind: wire.KindUnread, Unread: n, Data: data}
}

func newMail(alias, id string, n int) store.Event {
	data, _ := wire.Marshal(wire.NewMailLine{Time: t0.Format(wire.TimeFormat), Event: wire.KindNewMail, Alias: alias, MailID: id,
		From: `"Lina" <lina@example.com>`, To: alias, Subject: "subject " + id, Summary: fmt.Sprintf("summary %s", id), Unread: n})
	return store.Event{Alias: alias, Kind: wire.KindNewMail, MailID: id, Unread: n, Data: data}
}

func at(ev store.Event, t time.Time) store.Event { ev.Time = t; return ev }

func seqs(evs []store.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}
