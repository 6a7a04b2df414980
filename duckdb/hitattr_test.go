package duckdb_test

import (
	"cmp"
	"context"
	"database/sql"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/collect"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
	"github.com/crmlink/crmlink/traffic"
)

// TestHitAttribution: the sessions the collector opens are stored with
// the attribution it gives them, and those it cannot attribute (an import
// of the counter's sessions under way, or after it for the ClientIDs it
// remembers) are attributed by the store from its stored sessions; either
// way every session's stored first and last significant source is what
// its ClientID's sessions in time order give. The visitors include new
// ones, ones with imported history the collector looks up, and ones an
// import gives earlier sessions while the collector remembers them.
func TestHitAttribution(t *testing.T) {
	ctx := context.Background()
	t0 := storetest.Epoch
	clock := &crmlink.FixedClock{T: t0.Add(30 * 24 * time.Hour)}
	st := openTemp(t, clock).(*store.Store)
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	rng := rand.New(rand.NewPCG(3, 4))
	sources := []crmlink.TrafficSource{
		{Kind: crmlink.SourceDirect}, {Kind: crmlink.SourceInternal}, {Kind: crmlink.SourceSaved},
		{Kind: crmlink.SourceOrganic, Engine: "Yandex"}, {Kind: crmlink.SourceOrganic, Engine: "Google"},
		{Kind: crmlink.SourceAd, Engine: "Yandex Direct"}, {Kind: crmlink.SourceSocial, Engine: "VK"},
	}
	// History: ClientIDs 1–20 have imported sessions.
	var history []crmlink.Session
	id := uint64(1000)
	for client := uint64(1); client <= 20; client++ {
		for k := 0; k < 1+rng.IntN(3); k++ {
			id++
			history = append(history, crmlink.Session{ID: id, ClientID: client, Start: t0.Add(time.Duration(k*24+int(client)) * time.Hour),
				PageViews: 1, Source: sources[rng.IntN(len(sources))]})
		}
	}
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: history}); err != nil {
		t.Fatal(err)
	}
	col := collect.New(collect.Config{Store: st, Clock: clock, Enricher: collect.NewEnricher(traffic.New().Classify), MaxWait: time.Millisecond})
	defer col.Close()
	referrers := []string{"", "https://shop.example/a", "https://www.google.com/", "https://yandex.ru/", "https://vk.com/", "https://habr.com/"}
	round := func() {
		t.Helper()
		for range 40 {
			clock.Add(time.Duration(1+rng.IntN(90)) * time.Minute)
			w := &collect.Wire{ClientID: strconv.Itoa(1 + rng.IntN(60)), Kind: "pv", URL: "https://shop.example/", Referrer: referrers[rng.IntN(len(referrers))]}
			if rng.IntN(8) == 0 {
				w.URL = "https://shop.example/?yclid=" + strconv.Itoa(rng.IntN(1000))
			}
			if err := col.Collect(ctx, w, c.ID, &collect.Request{UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/124.0", Header: http.Header{}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SyncHits(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		round()
	}
	givenBefore, _ := duckdb.HitAttribution(engine(st))
	if givenBefore == 0 {
		t.Fatal("no session was stored with the collector's attribution")
	}
	// An import of earlier, significant sessions for ClientIDs the
	// collector remembers, as the upload API runs it.
	end := col.Importing(c.ID)
	if err := st.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: []crmlink.Session{
		{ID: 900, ClientID: 30, Start: t0, PageViews: 1, Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Google Ads"}},
		{ID: 901, ClientID: 2, Start: t0, PageViews: 1, Source: crmlink.TrafficSource{Kind: crmlink.SourceSocial, Engine: "Telegram"}},
	}}); err != nil {
		t.Fatal(err)
	}
	round() // hits while the import is under way
	end()
	for range 3 {
		round()
	}
	given, bySQL := duckdb.HitAttribution(engine(st))
	t.Logf("new hit sessions stored with the collector's attribution: %d, attributed by the store: %d", given, bySQL)
	if given <= givenBefore || bySQL == 0 {
		t.Errorf("given %d (before the import %d), by the store %d: want both ways used", given, givenBefore, bySQL)
	}
	checkAttribution(t, engine(st).DB(), c.ID)
}

// checkAttribution compares every stored session's attribution with the
// one its ClientID's sessions in (start, id) order give.
func checkAttribution(t *testing.T, db *sql.DB, counter crmlink.CounterID) {
	t.Helper()
	type src struct {
		sid    uint64
		kind   string
		engine string
	}
	type row struct {
		sid, client     uint64
		start           time.Time
		kind, engine    string
		first, lastSign src
		gotFirst, gotLS src
	}
	rows, err := db.Query(`SELECT session_id, client_id, start_utc, traffic_source, source_engine,
		first_sid, first_source, first_engine, lastsign_sid, lastsign_source, lastsign_engine
		FROM sessions WHERE counter_id = ?`, int64(counter))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byClient := map[uint64][]*row{}
	n := 0
	for rows.Next() {
		r := &row{}
		var ls sql.Null[uint64]
		if err := rows.Scan(&r.sid, &r.client, &r.start, &r.kind, &r.engine,
			&r.gotFirst.sid, &r.gotFirst.kind, &r.gotFirst.engine, &ls, &r.gotLS.kind, &r.gotLS.engine); err != nil {
			t.Fatal(err)
		}
		r.gotLS.sid = ls.V
		byClient[r.client] = append(byClient[r.client], r)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, ss := range byClient {
		slices.SortFunc(ss, func(a, b *row) int {
			if c := a.start.Compare(b.start); c != 0 {
				return c
			}
			return cmp.Compare(a.sid, b.sid)
		})
		first := src{sid: ss[0].sid, kind: ss[0].kind, engine: ss[0].engine}
		lastSign := src{kind: string(crmlink.SourceDirect)}
		for _, r := range ss {
			if crmlink.SourceKind(r.kind).Significant() {
				lastSign = src{sid: r.sid, kind: r.kind, engine: r.engine}
			}
			if r.gotFirst != first || r.gotLS != lastSign {
				bad++
				if bad <= 5 {
					t.Errorf("session %d of ClientID %d: first %+v, last significant %+v; want %+v, %+v",
						r.sid, r.client, r.gotFirst, r.gotLS, first, lastSign)
				}
			}
		}
	}
	if bad > 0 || n == 0 {
		t.Errorf("%d of %d sessions attributed wrong", bad, n)
	}
}

// TestHitIdentitiesOnce: an identity is stored once, whether it is new
// (the filter of stored identities says so, and it is inserted without
// asking the table), repeated in one application, repeated in a later
// one, already stored by an import, or sent after an import that made
// the store forget its filters.
func TestHitIdentitiesOnce(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, &crmlink.FixedClock{T: storetest.Epoch}).(*store.Store)
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	t0 := storetest.Epoch
	imported := storetest.Session(500, 2, t0.Add(-time.Hour))
	imported.UserID = "u-2"
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: []crmlink.Session{imported}}); err != nil {
		t.Fatal(err)
	}
	id := uint64(1000)
	hit := func(client uint64, ids ...crmlink.Identity) crmlink.SessionHit {
		id++
		return crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: client, Time: t0, Kind: crmlink.HitParams,
			URL: "https://shop.example/", Identities: ids}, SessionID: id, New: true, Start: t0, PageViews: 0}
	}
	email := crmlink.Identity{Kind: crmlink.IdentityEmailMD5, Value: "0cc175b9c0f1b6a831c399e269772661"}
	phone := crmlink.Identity{Kind: crmlink.IdentityPhoneMD5, Value: "6512bd43d9caa6e02c990b0a82652dca"}
	userID := crmlink.Identity{Kind: crmlink.IdentityUserID, Value: "u-2"}
	apply := func(batch ...crmlink.SessionHit) {
		t.Helper()
		if err := st.WriteHits(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := st.SyncHits(ctx); err != nil {
			t.Fatal(err)
		}
	}
	apply(hit(1, email), hit(1, email, phone), hit(2, userID), hit(4, phone))
	apply(hit(1, email), hit(4, phone), hit(5, email))
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: []crmlink.Session{
		storetest.Session(501, 3, t0.Add(-time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	apply(hit(1, email), hit(6, email), hit(6, email))
	rows, err := engine(st).DB().Query(`SELECT client_id, kind, value, count(*) FROM site_identities WHERE counter_id = ?
		GROUP BY ALL ORDER BY client_id, kind`, int64(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var client uint64
		var kind, value string
		var n int
		if err := rows.Scan(&client, &kind, &value, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, strconv.FormatUint(client, 10)+" "+kind+" "+value[:min(4, len(value))]+" x"+strconv.Itoa(n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"1 email_md5 0cc1 x1", "1 phone_md5 6512 x1", "2 user_id u-2 x1", "4 phone_md5 6512 x1", "5 email_md5 0cc1 x1", "6 email_md5 0cc1 x1"}
	if !slices.Equal(got, want) {
		t.Errorf("site identities:\n%q\nwant\n%q", got, want)
	}
}

// TestLastSessionsWarm: a look-up of no ClientID builds the counter's
// filter of ClientIDs, which the server does before it listens.
func TestLastSessionsWarm(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, &crmlink.FixedClock{T: storetest.Epoch}).(*store.Store)
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: []crmlink.Session{
		storetest.Session(1, 2, storetest.Epoch)}}); err != nil {
		t.Fatal(err)
	}
	if duckdb.HasClientFilter(engine(st), c.ID) {
		t.Fatal("a filter before any look-up")
	}
	if got, err := st.LastSessions(ctx, c.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("LastSessions(nil) = %v, %v", got, err)
	}
	if !duckdb.HasClientFilter(engine(st), c.ID) {
		t.Error("no filter after a look-up of no ClientID")
	}
}
