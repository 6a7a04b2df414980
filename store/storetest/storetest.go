// Package storetest is the contract every crmlink.Store must pass. A store's
// own test calls Run with a function that opens a fresh, empty store on the
// real engine; no mock stands in for a database here.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

// Opener opens a new, empty store whose clock is clock. It registers its own
// cleanup with t.
type Opener func(t *testing.T, clock crmlink.Clock) crmlink.Store

// Epoch is the time the contract's clock starts at.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs every contract case against stores from open.
func Run(t *testing.T, open Opener) {
	t.Run("Counters", func(t *testing.T) { testCounters(t, open) })
	t.Run("Schema", func(t *testing.T) { testSchema(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("UpdateCounter", func(t *testing.T) { testUpdateCounter(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("WebSessions", func(t *testing.T) { testWebSessions(t, open) })
	t.Run("ImportSessions", func(t *testing.T) { testImportSessions(t, open) })
	t.Run("ImportReplacesByID", func(t *testing.T) { testImportReplaces(t, open) })
	t.Run("ImportFailedStoresNothing", func(t *testing.T) { testImportFailed(t, open) })
	t.Run("ImportConcurrent", func(t *testing.T) { testImportConcurrent(t, open) })
	t.Run("ImportCancelled", func(t *testing.T) { testImportCancelled(t, open) })
	t.Run("Uploads", func(t *testing.T) { testUploads(t, open) })
	runCRM(t, open)
	runLink(t, open)
	runReport(t, open)
	runHits(t, open)
	runQueue(t, open)
	runSegments(t, open)
	runExpenses(t, open)
	runConversions(t, open)
}

func newStore(t *testing.T, open Opener) (crmlink.Store, *crmlink.FixedClock) {
	t.Helper()
	clock := &crmlink.FixedClock{T: Epoch}
	return open(t, clock), clock
}

// MustCounter creates a normalised counter in s.
func MustCounter(t testing.TB, s crmlink.CounterStore, name, tz string) *crmlink.Counter {
	t.Helper()
	c := &crmlink.Counter{Name: name, Site: "shop.example", TimeZone: tz, Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCounter(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func testCounters(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	if got, err := s.Counters(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Counters on an empty store = %v, %v; want none", got, err)
	}
	a := MustCounter(t, s, "Shop", "Europe/Moscow")
	b := &crmlink.Counter{Name: "Blog", Site: "blog.example", TimeZone: "Asia/Yekaterinburg", Currency: "USD",
		SessionTimeout: 45 * time.Minute, LinkWindow: 7 * 24 * time.Hour, UpdateWindow: 30 * 24 * time.Hour, KeepPII: true}
	if err := b.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCounter(ctx, b); err != nil {
		t.Fatal(err)
	}
	if a.ID <= 0 || b.ID <= a.ID {
		t.Fatalf("ids %d, %d: want positive and increasing", a.ID, b.ID)
	}
	if !a.Created.Equal(Epoch) {
		t.Errorf("Created = %v, want the clock's %v", a.Created, Epoch)
	}
	got, err := s.Counter(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("Counter(%d) = %+v\nwant %+v", b.ID, got, b)
	}
	all, err := s.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Errorf("Counters = %v, want [%d %d]", all, a.ID, b.ID)
	}
	_, err = s.Counter(ctx, b.ID+100)
	if crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("Counter(missing) error = %v, want kind not found", err)
	}
}

func testTokens(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	w := &crmlink.Token{Hash: "aa11", CounterID: c.ID, Scope: crmlink.ScopeWrite, Name: "crm script"}
	adm := &crmlink.Token{Hash: "bb22", Scope: crmlink.ScopeAdmin}
	for _, tok := range []*crmlink.Token{w, adm} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TokenByHash(ctx, "aa11")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("TokenByHash = %+v, want %+v", got, w)
	}
	if _, err := s.TokenByHash(ctx, "nope"); crmlink.KindOf(err) != crmlink.KindUnauthorized {
		t.Errorf("unknown token: error %v, want unauthorized", err)
	}
	list, err := s.Tokens(ctx, c.ID)
	if err != nil || len(list) != 1 || list[0].Hash != "aa11" {
		t.Errorf("Tokens(counter) = %v, %v", list, err)
	}
	list, err = s.Tokens(ctx, 0)
	if err != nil || len(list) != 1 || list[0].Hash != "bb22" {
		t.Errorf("Tokens(all) = %v, %v", list, err)
	}
	if err := s.RevokeToken(ctx, "aa11"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, "aa11"); crmlink.KindOf(err) != crmlink.KindUnauthorized {
		t.Errorf("revoked token: error %v, want unauthorized", err)
	}
	if err := s.RevokeToken(ctx, "aa11"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("revoking twice: error %v, want not found", err)
	}
}

// SliceReader yields the given sessions, then Err (io.EOF when nil).
type SliceReader struct {
	Sessions []crmlink.Session
	Err      error
	i        int
}

// Next implements crmlink.SessionReader.
func (r *SliceReader) Next(s *crmlink.Session) error {
	if r.i >= len(r.Sessions) {
		if r.Err != nil {
			return r.Err
		}
		return io.EOF
	}
	*s = r.Sessions[r.i]
	r.i++
	return nil
}

// Session returns a full session for tests.
func Session(id, client uint64, start time.Time) crmlink.Session {
	return crmlink.Session{
		ID: id, ClientID: client, Start: start, Duration: 95 * time.Second, PageViews: 3,
		Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMSource: "yandex",
			UTMMedium: "cpc", UTMCampaign: "spring", UTMContent: "banner1", UTMTerm: "sofa", ClickID: "yclid=123"},
		Referrer: "https://yandex.ru/", LandingURL: "https://shop.example/?utm_source=yandex&yclid=123",
		Country: "Russia", Region: "Moscow", City: "Moscow", Device: crmlink.DeviceMobile, OS: "Android",
		Browser: "Chrome Mobile", PurchaseIDs: []string{"O-1"},
	}
}

func testImportSessions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "Europe/Moscow")
	t0 := time.Date(2026, 2, 10, 9, 30, 0, 0, time.UTC)
	want := []crmlink.Session{
		Session(18446744073709551615, 17000000001234567890, t0), // max uint64: Metrica's visit ids use the whole range
		Session(2, 17000000001234567890, t0.Add(2*time.Hour)),
		{ID: 3, ClientID: 42, Start: t0.Add(time.Hour), PageViews: 1, Bounce: true,
			Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}, UserID: "u-7"},
	}
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI"}
	if err := s.ImportSessions(ctx, up, &SliceReader{Sessions: want}); err != nil {
		t.Fatal(err)
	}
	if up.ID == "" || up.Status != crmlink.UploadPassed || up.Rows != 3 || up.Accepted != 3 || up.Entity != crmlink.EntitySessions {
		t.Errorf("upload = %+v", up)
	}
	st, err := s.SessionStats(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 3 || st.Clients != 2 || !st.First.Equal(t0) || !st.Last.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("stats = %+v", st)
	}
	got, err := s.ClientSessions(ctx, c.ID, 17000000001234567890)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want[:2] {
		want[i].CounterID = c.ID
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], want[0]) || !reflect.DeepEqual(got[1], want[1]) {
		t.Errorf("ClientSessions =\n%+v\nwant\n%+v", got, want[:2])
	}
	got, err = s.ClientSessions(ctx, c.ID, 42)
	if err != nil || len(got) != 1 || got[0].UserID != "u-7" || !got[0].Bounce || len(got[0].PurchaseIDs) != 0 {
		t.Errorf("ClientSessions(42) = %+v, %v", got, err)
	}
	// Another counter sees none of them.
	other := MustCounter(t, s, "Other", "UTC")
	if st, _ := s.SessionStats(ctx, other.ID); st.Sessions != 0 {
		t.Errorf("other counter has %d sessions", st.Sessions)
	}
	// An import for a counter that does not exist is refused.
	err = s.ImportSessions(ctx, &crmlink.Upload{CounterID: other.ID + 1000}, &SliceReader{Sessions: want})
	if crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("import to a missing counter: %v, want not found", err)
	}
}

func testImportReplaces(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	t0 := time.Date(2026, 2, 10, 9, 30, 0, 0, time.UTC)
	file := []crmlink.Session{Session(1, 10, t0), Session(2, 10, t0.Add(time.Hour))}
	for i := 0; i < 2; i++ {
		if err := s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: file}); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.SessionStats(ctx, c.ID); st.Sessions != 2 {
		t.Errorf("after importing a file twice: %d sessions, want 2", st.Sessions)
	}
	// Within one file the last row with an id wins.
	a, b := Session(2, 10, t0.Add(time.Hour)), Session(2, 10, t0.Add(time.Hour))
	a.PageViews, b.PageViews = 7, 9
	a.PurchaseIDs, b.PurchaseIDs = []string{"X-1"}, []string{"X-2", "X-3"}
	if err := s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: []crmlink.Session{a, b}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ClientSessions(ctx, c.ID, 10)
	if len(got) != 2 || got[1].PageViews != 9 || !reflect.DeepEqual(got[1].PurchaseIDs, []string{"X-2", "X-3"}) {
		t.Errorf("sessions after a file with a repeated id: %+v", got)
	}
	// The first session kept its purchase from the first file.
	if !reflect.DeepEqual(got[0].PurchaseIDs, []string{"O-1"}) {
		t.Errorf("untouched session's purchases = %v", got[0].PurchaseIDs)
	}
}

func testImportFailed(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	t0 := time.Date(2026, 2, 10, 9, 30, 0, 0, time.UTC)
	v := &crmlink.ValidationError{BadRows: 1}
	v.Add(crmlink.RowError{Line: 4, Column: "start", Value: "yesterday", Reason: "not a date-time"})
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV"}
	err := s.ImportSessions(ctx, up, &SliceReader{Sessions: []crmlink.Session{Session(1, 10, t0), Session(2, 10, t0)}, Err: v})
	if !errors.As(err, &v) {
		t.Fatalf("import error = %v, want the reader's validation error", err)
	}
	if st, _ := s.SessionStats(ctx, c.ID); st.Sessions != 0 {
		t.Errorf("a failed import stored %d sessions", st.Sessions)
	}
	rec, err := s.Upload(ctx, c.ID, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != crmlink.UploadFailed || rec.Rows != 3 || rec.Accepted != 0 || rec.Rejected != 1 ||
		rec.ErrorsTotal != 1 || len(rec.Errors) != 1 || rec.Errors[0] != v.Errors[0] {
		t.Errorf("failed upload recorded as %+v", rec)
	}
	// A reader that breaks (not a validation error) also leaves nothing.
	boom := fmt.Errorf("disk on fire")
	err = s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: []crmlink.Session{Session(1, 10, t0)}, Err: boom})
	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want the reader's", err)
	}
	if st, _ := s.SessionStats(ctx, c.ID); st.Sessions != 0 {
		t.Errorf("a broken import stored %d sessions", st.Sessions)
	}
	// And the store still works.
	if err := s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: []crmlink.Session{Session(1, 10, t0)}}); err != nil {
		t.Fatal(err)
	}
}

func testImportConcurrent(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	t0 := time.Date(2026, 2, 10, 9, 30, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var file []crmlink.Session
			for i := 0; i < 200; i++ {
				file = append(file, Session(uint64(g*1000+i+1), uint64(g+1), t0.Add(time.Duration(i)*time.Hour)))
			}
			errs[g] = s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: file})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if st, _ := s.SessionStats(ctx, c.ID); st.Sessions != 800 || st.Clients != 4 {
		t.Errorf("after 4 concurrent imports: %+v, want 800 sessions of 4 clients", st)
	}
}

// slowReader cancels its context after n sessions.
type slowReader struct {
	n      int
	cancel func()
}

func (r *slowReader) Next(s *crmlink.Session) error {
	r.n--
	if r.n == 0 {
		r.cancel()
	}
	*s = Session(uint64(10000+r.n), 5, Epoch.Add(-time.Duration(r.n)*time.Hour))
	return nil
}

func testImportCancelled(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	ctx, cancel := context.WithCancel(context.Background())
	err := s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &slowReader{n: 50, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if st, _ := s.SessionStats(context.Background(), c.ID); st.Sessions != 0 {
		t.Errorf("a cancelled import stored %d sessions", st.Sessions)
	}
}

func testUploads(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	var ids []string
	for i := 0; i < 3; i++ {
		up := &crmlink.Upload{CounterID: c.ID, Format: "TSV", Source: "API"}
		if err := s.ImportSessions(ctx, up, &SliceReader{Sessions: []crmlink.Session{Session(uint64(i+1), 1, Epoch)}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, up.ID)
		clock.Add(time.Minute)
	}
	list, err := s.Uploads(ctx, c.ID, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != ids[2] || list[2].ID != ids[0] {
		t.Fatalf("Uploads = %v, want newest first %v", list, ids)
	}
	if list[0].Format != "TSV" || list[0].Source != "API" || !list[0].Created.Equal(Epoch.Add(2*time.Minute)) {
		t.Errorf("upload record = %+v", list[0])
	}
	list, _ = s.Uploads(ctx, c.ID, Epoch.Add(2*time.Minute), 1)
	if len(list) != 1 || list[0].ID != ids[1] {
		t.Errorf("Uploads before the newest, limit 1 = %v", list)
	}
	if _, err := s.Upload(ctx, c.ID, "12345"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("missing upload: %v", err)
	}
	other := MustCounter(t, s, "Other", "UTC")
	if _, err := s.Upload(ctx, other.ID, ids[0]); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("another counter's upload: %v, want not found", err)
	}
}

func testUpdateCounter(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "Europe/Moscow")
	other := MustCounter(t, s, "Other", "UTC")
	upd := *c
	upd.Name, upd.Currency, upd.Locale, upd.SessionTimeout, upd.LinkWindow, upd.KeepPII =
		"Shop 2", "EUR", "de", time.Hour, 7*24*time.Hour, true
	// What UpdateCounter does not change stays as created.
	upd.TimeZone, upd.UpdateWindow, upd.Site = "UTC", 24*time.Hour, "elsewhere.example"
	if err := s.UpdateCounter(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.Counter(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *c
	want.Name, want.Currency, want.Locale, want.SessionTimeout, want.LinkWindow, want.KeepPII =
		"Shop 2", "EUR", "de", time.Hour, 7*24*time.Hour, true
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("after UpdateCounter: %+v\nwant %+v", got, &want)
	}
	if o, _ := s.Counter(ctx, other.ID); !reflect.DeepEqual(o, other) {
		t.Errorf("another counter changed: %+v", o)
	}
	upd.ID = 999
	if err := s.UpdateCounter(ctx, &upd); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("UpdateCounter(missing) = %v, want not found", err)
	}
}

func testUsers(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	if _, err := s.User(ctx, "anna"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Fatalf("User(missing) = %v, want not found", err)
	}
	u := &crmlink.User{Name: "anna", PasswordHash: "$argon2id$x", CounterID: 3, Scope: crmlink.ScopeWrite}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if !u.Created.Equal(Epoch) {
		t.Errorf("Created = %v, want the clock's", u.Created)
	}
	got, err := s.User(ctx, "anna")
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("User = %+v, %v; want %+v", got, err, u)
	}
	if err := s.CreateUser(ctx, &crmlink.User{Name: "anna", PasswordHash: "y", Scope: crmlink.ScopeRead}); crmlink.KindOf(err) != crmlink.KindConflict {
		t.Errorf("a second anna: %v, want conflict", err)
	}
	if err := s.SetUserPassword(ctx, "anna", "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "anna"); got.PasswordHash != "$argon2id$new" || got.Scope != crmlink.ScopeWrite {
		t.Errorf("after SetUserPassword: %+v", got)
	}
	if err := s.SetUserPassword(ctx, "bob", "z"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("SetUserPassword(missing) = %v, want not found", err)
	}
	for _, n := range []string{"zoe", "ben"} {
		if err := s.CreateUser(ctx, &crmlink.User{Name: n, PasswordHash: "h", CounterID: 3, Scope: crmlink.ScopeRead}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateUser(ctx, &crmlink.User{Name: "all", PasswordHash: "h", Scope: crmlink.ScopeAdmin}); err != nil {
		t.Fatal(err)
	}
	names := func(counter crmlink.CounterID) string {
		us, err := s.Users(ctx, counter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return fmt.Sprint(out)
	}
	if got := names(3); got != "[anna ben zoe]" {
		t.Errorf("Users(3) = %s", got)
	}
	if got := names(0); got != "[all]" {
		t.Errorf("Users(0) = %s", got)
	}
	// Removing a user ends their browsers' sessions.
	if err := s.CreateWebSession(ctx, &crmlink.WebSession{Hash: "zs", UserName: "zoe", Expires: Epoch.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "zoe"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebSession(ctx, "zs", Epoch); crmlink.KindOf(err) != crmlink.KindUnauthorized {
		t.Errorf("the removed user's session: %v", err)
	}
	if got := names(3); got != "[anna ben]" {
		t.Errorf("after DeleteUser: %s", got)
	}
	if err := s.DeleteUser(ctx, "zoe"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("DeleteUser twice: %v", err)
	}
}

func testWebSessions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	a := &crmlink.WebSession{Hash: "a", TokenHash: "t1", Expires: Epoch.Add(time.Hour)}
	b := &crmlink.WebSession{Hash: "b", UserName: "anna", Expires: Epoch.Add(48 * time.Hour)}
	for _, ws := range []*crmlink.WebSession{a, b} {
		if err := s.CreateWebSession(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.WebSession(ctx, "a", Epoch.Add(time.Minute))
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("WebSession(a) = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.WebSession(ctx, "a", Epoch.Add(time.Hour)); crmlink.KindOf(err) != crmlink.KindUnauthorized {
		t.Errorf("an expired session: %v, want unauthorized", err)
	}
	if _, err := s.WebSession(ctx, "nope", Epoch); crmlink.KindOf(err) != crmlink.KindUnauthorized {
		t.Errorf("an unknown session: %v, want unauthorized", err)
	}
	if err := s.DeleteWebSession(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebSession(ctx, "b"); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
	if _, err := s.WebSession(ctx, "b", Epoch); crmlink.KindOf(err) != crmlink.KindUnauthorized {
		t.Errorf("a signed-out session: %v, want unauthorized", err)
	}
	// A new session forgets the expired ones; live ones stay.
	clock.Add(2 * time.Hour)
	c := &crmlink.WebSession{Hash: "c", UserName: "bob", Expires: clock.Now().Add(time.Hour)}
	if err := s.CreateWebSession(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebSession(ctx, "c", clock.Now()); err != nil {
		t.Errorf("WebSession(c): %v", err)
	}
}
