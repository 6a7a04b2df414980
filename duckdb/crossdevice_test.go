package duckdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// TestCrossDeviceKept: the cross-device attribution the store keeps as
// data arrives equals, for every model, the one computed from scratch over
// all sessions, after each step of a random sequence of session imports
// (some replacing earlier sessions, some carrying UserIDs), contact
// uploads that give customers ClientIDs, UserIDs and emails and take them
// away (SAVE) or add to them (APPEND), and hits with identities, which
// come in time order, as the collector sends them. Imports are loaded three
// rows a chunk, out of time order, and the per-ClientID first and lastsign
// attribution kept with each session must equal a computation from
// scratch too.
func TestCrossDeviceKept(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { testCrossDeviceKept(t, seed) })
	}
}

func testCrossDeviceKept(t *testing.T, seed uint64) {
	ctx := context.Background()
	st, err := store.Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db"),
		store.Config{Clock: &crmlink.FixedClock{T: storetest.Epoch}, ChunkRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	rng := rand.New(rand.NewPCG(seed, 17))
	sources := []crmlink.TrafficSource{
		{Kind: crmlink.SourceDirect}, {Kind: crmlink.SourceInternal},
		{Kind: crmlink.SourceOrganic, Engine: "Yandex"}, {Kind: crmlink.SourceOrganic, Engine: "Google"},
		{Kind: crmlink.SourceAd, Engine: "Yandex Direct"}, {Kind: crmlink.SourceSocial, Engine: "VK"},
	}
	const clients = 40
	// Every session starts at its own second, so that time order is total.
	tick := 0
	at := func() time.Time {
		tick++
		return storetest.Epoch.Add(-time.Duration(rng.IntN(60*24*3600)) * time.Second).Truncate(time.Second).Add(time.Duration(tick) * time.Millisecond)
	}
	email := func(i int) string { return fmt.Sprintf("%032x", 1000+i) }
	nextID := uint64(100)
	session := func() crmlink.Session {
		nextID++
		client := uint64(1 + rng.IntN(clients))
		// A robot's ClientID has only robots' sessions, as the collector
		// and the generator make them.
		s := crmlink.Session{ID: nextID, ClientID: client, Start: at(), PageViews: 1 + rng.IntN(3),
			Source: sources[rng.IntN(len(sources))], Bot: client%9 == 0}
		if rng.IntN(6) == 0 {
			s.UserID = fmt.Sprint("u", rng.IntN(10))
		}
		if rng.IntN(8) == 0 {
			s.Identities = []crmlink.Identity{{Kind: crmlink.IdentityEmailMD5, Value: email(rng.IntN(10))}}
		}
		return s
	}
	var imported []crmlink.Session
	hitTime := storetest.Epoch
	steps := []struct {
		name string
		run  func()
	}{
		{"import", func() {
			var ss []crmlink.Session
			for range 1 + rng.IntN(30) {
				ss = append(ss, session())
			}
			if len(imported) > 0 && rng.IntN(3) == 0 {
				// A session imported again, from another ClientID.
				again := imported[rng.IntN(len(imported))]
				again.ClientID, again.Source = uint64(1+rng.IntN(clients)), sources[rng.IntN(len(sources))]
				again.Bot = again.ClientID%9 == 0
				ss = append(ss, again)
			}
			imported = append(imported, ss...)
			if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: ss}); err != nil {
				t.Fatal(err)
			}
		}},
		{"contacts", func() {
			var cs []crmlink.Contact
			for range 1 + rng.IntN(4) {
				ct := crmlink.Contact{UniqID: fmt.Sprint("c", rng.IntN(8)), Fields: crmlink.FieldClientIDs | crmlink.FieldUserIDs | crmlink.FieldEmails}
				for range rng.IntN(3) {
					ct.IDs.ClientIDs = append(ct.IDs.ClientIDs, uint64(1+rng.IntN(clients)))
				}
				if rng.IntN(2) == 0 {
					ct.IDs.UserIDs = []string{fmt.Sprint("u", rng.IntN(10))}
				}
				if rng.IntN(3) == 0 {
					ct.IDs.EmailMD5 = []string{email(rng.IntN(10))}
				}
				cs = append(cs, ct)
			}
			mode := crmlink.MergeSave
			if rng.IntN(2) == 0 {
				mode = crmlink.MergeAppend
			}
			if err := st.UploadContacts(ctx, &crmlink.Upload{CounterID: c.ID, MergeMode: mode}, &storetest.ContactSlice{Contacts: cs}); err != nil {
				t.Fatal(err)
			}
		}},
		{"hits", func() {
			var hits []crmlink.SessionHit
			for range 1 + rng.IntN(10) {
				// The collector's sessions start now, after every other.
				s := session()
				hitTime = hitTime.Add(time.Duration(1+rng.IntN(600)) * time.Second)
				s.Start = hitTime
				h := crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: s.ClientID, Time: s.Start, Kind: crmlink.HitPageview,
					URL: "https://shop.example/", Source: s.Source, Bot: s.Bot, UserID: s.UserID, Identities: s.Identities},
					SessionID: s.ID, New: true, Start: s.Start, PageViews: 1}
				hits = append(hits, h)
			}
			if err := st.WriteHits(ctx, hits); err != nil {
				t.Fatal(err)
			}
			if err := st.SyncHits(ctx); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i := range 40 {
		step := steps[rng.IntN(len(steps))]
		if i < 2 {
			step = steps[i] // sessions and contacts first
		}
		step.run()
		kept, err := duckdb.CrossDeviceAttribution(engine(st), c.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		scratch, err := duckdb.CrossDeviceAttribution(engine(st), c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(kept) != len(scratch) {
			t.Fatalf("step %d (%s): %d sessions kept, %d from scratch", i, step.name, len(kept), len(scratch))
		}
		bad := 0
		for sid, want := range scratch {
			got := kept[sid]
			first := got.FirstSID == want.FirstSID && got.First == want.First && got.FirstEng == want.FirstEng
			last := got.LastSID == want.LastSID && got.Last == want.Last && got.LastEng == want.LastEng
			for model, ok := range map[string]bool{"cross_device_first": first, "cross_device_last_significant": last} {
				if !ok {
					bad++
					if bad <= 5 {
						t.Errorf("step %d (%s), %s of session %d: kept %+v, from scratch %+v", i, step.name, model, sid, got, want)
					}
				}
			}
		}
		if bad > 0 {
			t.Fatalf("step %d (%s): %d differences", i, step.name, bad)
		}
		if n, err := duckdb.ClientAttributionDiffs(engine(st), c.ID); err != nil || n > 0 {
			t.Fatalf("step %d (%s): %d sessions' first or lastsign attribution differ from scratch (%v)", i, step.name, n, err)
		}
	}
}
