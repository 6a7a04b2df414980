package http

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

// clientsCols are the Clients page's sortable columns, by ClientRow's JSON
// names.
var clientsCols = []struct{ Key, Label string }{
	{"uniq_id", "Customer"}, {"orders", "Orders"}, {"paid", "Paid"}, {"in_progress", "In progress"},
	{"cancelled", "Cancelled"}, {"total_spent", "Total spent"}, {"days_since_last_order", "Days since last order"},
	{"sessions", "Sessions"},
}

const clientsPageRows = 50

type clientsData struct {
	Search     string
	Head       []headCell
	Rows       []crmlink.ClientRow
	TotalRows  int
	Prev, Next string
	From, To   int
	Sort       string
	Base       string
	UploadURL  string
	CSVURL     string
	// The filters' form: its values as sent, and the choices.
	Filter   url.Values
	Sources  []pick
	Statuses []pick
	Filtered bool // a filter other than the search is set
	Segment  segmentChoice
}

// clientsFilters are the Clients page's filter parameters besides search.
var clientsFilters = []string{"source", "status", "min_spent", "max_spent", "date1", "date2", "segment"}

func (s *Server) clientsPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	seg, err := s.pickSegment(r, u)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	sortKey := q.Get("sort")
	bare := strings.TrimPrefix(sortKey, "-")
	if !slices.ContainsFunc(clientsCols, func(c struct{ Key, Label string }) bool { return c.Key == bare && c.Key != "sessions" }) {
		sortKey, bare = "-orders", "orders"
	}
	desc := strings.HasPrefix(sortKey, "-")
	offset := formInt(q.Get("offset"), 1, 1, 1<<30)
	cq, err := s.clientsQuery(r.Context(), q, u.counter)
	if err != nil {
		return err
	}
	cq.Sort, cq.Limit, cq.Offset = sortKey, clientsPageRows, offset-1
	res, err := s.cfg.Store.Clients(r.Context(), cq)
	if err != nil {
		return err
	}
	base := r.URL.Path
	data := clientsData{Search: cq.Search, Rows: res.Rows, TotalRows: res.TotalRows, Sort: sortKey, Base: base,
		UploadURL: "/c/" + u.counter.ID.String() + "/uploads", Filter: url.Values{}, Segment: seg}
	csvQuery := maps.Clone(q)
	csvQuery.Del("offset")
	data.CSVURL = withParams(base+".csv", csvQuery)
	for _, k := range clientsFilters {
		if v := q.Get(k); v != "" {
			data.Filter.Set(k, v)
			data.Filtered = true
		}
	}
	data.Sources = append(data.Sources, pick{"", u.tr.T("Any source"), cq.Source == ""})
	for _, k := range crmlink.SourceKinds {
		data.Sources = append(data.Sources, pick{string(k), u.tr.Source(string(k)), cq.Source == k})
	}
	data.Statuses = append(data.Statuses, pick{"", u.tr.T("Any status"), cq.Status == ""})
	for _, st := range []crmlink.StatusType{crmlink.StatusInProgress, crmlink.StatusPaid, crmlink.StatusCancelled, crmlink.StatusSpam, crmlink.StatusOther} {
		data.Statuses = append(data.Statuses, pick{string(st), u.tr.Status(st), cq.Status == st})
	}
	for _, c := range clientsCols {
		num := c.Key != "uniq_id"
		h := headCell{Label: u.tr.T(c.Label), Num: num, Sorted: bare == c.Key, Desc: desc}
		if c.Key != "sessions" { // counted for the page's rows only: not sortable
			h.SortURL = withParams(base, q, "sort", flipSort(c.Key, bare == c.Key && desc == num, num), "offset", "")
		}
		data.Head = append(data.Head, h)
	}
	data.From, data.To = offset, offset+len(res.Rows)-1
	if offset > 1 {
		data.Prev = withParams(base, q, "offset", strconv.Itoa(max(1, offset-clientsPageRows)))
	}
	if offset-1+len(res.Rows) < res.TotalRows {
		data.Next = withParams(base, q, "offset", strconv.Itoa(offset+clientsPageRows))
	}
	p, err := s.pageFor(r, u, "clients", "Clients", data)
	if err != nil {
		return err
	}
	p.Error = seg.Warn
	return s.render(w, r, http.StatusOK, "clients", p)
}

// clientsPageCSV is the Clients page's "Download CSV": every customer its
// search and filters select, in its sort, with the titles the page gives
// its columns in the reader's language, after a UTF-8 byte order mark (as
// the Order sources download: Excel then reads Cyrillic right).
func (s *Server) clientsPageCSV(w http.ResponseWriter, r *http.Request, u *ui) error {
	q := r.URL.Query()
	cq, err := s.clientsQuery(r.Context(), q, u.counter)
	if err != nil {
		return err
	}
	if bare := strings.TrimPrefix(cq.Sort, "-"); bare == "" || bare == "sessions" ||
		!slices.ContainsFunc(clientsCols, func(c struct{ Key, Label string }) bool { return c.Key == bare }) {
		cq.Sort = "-orders"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="clients.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := w.Write([]byte("\uFEFF")); err != nil {
		return nil
	}
	head := make([]string, len(clientsCSVTitles))
	for i, t := range clientsCSVTitles {
		head[i] = u.tr.T(t)
	}
	cw := report.NewCSVWriter(w)
	cw.NumberColumns(clientsCSVNumbers...)
	return s.writeClientsCSV(r, cw, cq, head, func(row *crmlink.ClientRow) []string {
		cells := clientCells(row)
		for _, i := range []int{15, 16} { // first and last source, by name
			if cells[i] != "" {
				cells[i] = u.tr.Source(cells[i])
			}
		}
		return cells
	})
}

// clientsCSVTitles are the titles of clientsCSVColumns on the page's
// download, in English; the reader's language translates them.
var clientsCSVTitles = []string{"Customer", "Name", "ClientIDs", "Site UserIDs", "Emails", "Phones", "Orders", "In progress",
	"Paid", "Cancelled", "Spam", "Other", "Total spent", "Days since first order", "Days since last order",
	"First source", "Last source", "Sessions"}

// timelineSession is one session on a customer's page.
type timelineSession struct {
	S       crmlink.Session
	Source  string
	Orders  []string // orders linked to it
	Goals   []string // goals reached at it
	Anchor  string
	Linked  bool
	Summary string
}

type customerData struct {
	Contact   *crmlink.Contact
	ClientIDs []string
	Orders    []crmlink.CustomerOrder
	Sessions  []timelineSession
	Reaches   []goalReachRow
	Spent     decimal.Decimal
	MoreOrder bool
	// MoreSessions and MoreReaches count what the page leaves out.
	MoreSessions, MoreReaches int
	// Reasons says why each unlinked order has no session (its text, by
	// order id).
	Reasons map[string]string
	// Emails and Phones count the contact's addresses and numbers, each
	// kept as MD5, SHA-256 or both, as the Clients report counts them.
	Emails, Phones int
}

// keepNewest keeps the first n items (the newest) and any later one that
// must stay, and says how many it left out.
func keepNewest[T any](items []T, n int, must func(T) bool) ([]T, int) {
	if len(items) <= n {
		return items, 0
	}
	kept := items[:n:n]
	for _, it := range items[n:] {
		if must(it) {
			kept = append(kept, it)
		}
	}
	return kept, len(items) - len(kept)
}

type goalReachRow struct {
	Time, Goal, Order, Revenue string
	Session                    string
}

const (
	customerMaxOrders   = 100
	customerMaxSessions = 300
	customerShown       = 50 // sessions and goal reaches shown
)

func (s *Server) customerPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	ctx := r.Context()
	id := r.PathValue("uniq")
	c, err := s.cfg.Store.Contact(ctx, u.counter.ID, id)
	if err != nil {
		return err
	}
	data := customerData{Contact: c}
	for _, cid := range c.IDs.ClientIDs {
		data.ClientIDs = append(data.ClientIDs, uitoa(cid))
	}
	orders, err := s.cfg.Store.CustomerOrders(ctx, u.counter.ID, id, customerMaxOrders+1)
	if err != nil {
		return err
	}
	if len(orders) > customerMaxOrders {
		orders, data.MoreOrder = orders[:customerMaxOrders], true
	}
	// Sessions: those of the contact's ClientIDs, and those its orders
	// linked to (found by email, phone or UserID too).
	clients := slices.Clone(c.IDs.ClientIDs)
	linkedTo := map[uint64][]string{}
	for _, co := range orders {
		o := co.Order
		if co.Link != nil {
			linkedTo[co.Link.SessionID] = append(linkedTo[co.Link.SessionID], o.ID)
			if !slices.Contains(clients, co.Link.ClientID) {
				clients = append(clients, co.Link.ClientID)
			}
		}
		if o.Report.StatusType != crmlink.StatusSpam && o.Report.StatusType != crmlink.StatusCancelled {
			data.Spent = data.Spent.Add(o.Report.Revenue)
		}
	}
	data.Orders = orders
	var sessions []crmlink.Session
	for _, cid := range clients {
		ss, err := s.cfg.Store.ClientSessions(ctx, u.counter.ID, cid)
		if err != nil {
			return err
		}
		sessions = append(sessions, ss...)
	}
	slices.SortFunc(sessions, func(a, b crmlink.Session) int { return b.Start.Compare(a.Start) })
	sessions, _ = keepNewest(sessions, customerMaxSessions, func(ss crmlink.Session) bool { return len(linkedTo[ss.ID]) > 0 })
	sids := make([]uint64, len(sessions))
	for i, ss := range sessions {
		sids[i] = ss.ID
	}
	reaches, err := s.cfg.Store.SessionGoalReaches(ctx, u.counter.ID, sids)
	if err != nil {
		return err
	}
	goals, err := s.cfg.Store.Goals(ctx, u.counter.ID)
	if err != nil {
		return err
	}
	goalName := map[int64]string{}
	for _, g := range goals {
		goalName[g.ID] = g.Name
	}
	goalsAt := map[uint64][]string{}
	reachCount := map[uint64]map[string]int{}
	for _, gr := range reaches {
		name := u.tr.T(goalName[gr.GoalID])
		if reachCount[gr.SessionID] == nil {
			reachCount[gr.SessionID] = map[string]int{}
		}
		if reachCount[gr.SessionID][name] == 0 {
			goalsAt[gr.SessionID] = append(goalsAt[gr.SessionID], name)
		}
		reachCount[gr.SessionID][name]++
		data.Reaches = append(data.Reaches, goalReachRow{Time: u.f.Time(gr.Time), Goal: name, Order: gr.OrderID,
			Revenue: u.f.Money(gr.Revenue), Session: uitoa(gr.SessionID)})
	}
	for _, ss := range sessions {
		src := u.tr.Source(string(ss.Source.Kind))
		if ss.Source.Engine != "" {
			src += " · " + ss.Source.Engine
		}
		if ss.Source.UTMCampaign != "" {
			src += " · " + ss.Source.UTMCampaign
		}
		var goals []string
		for _, g := range goalsAt[ss.ID] {
			if n := reachCount[ss.ID][g]; n > 1 {
				g += fmt.Sprintf(" ×%d", n)
			}
			goals = append(goals, g)
		}
		data.Sessions = append(data.Sessions, timelineSession{S: ss, Source: src, Orders: linkedTo[ss.ID],
			Goals: goals, Anchor: "s" + uitoa(ss.ID), Linked: len(linkedTo[ss.ID]) > 0,
			Summary: u.tr.N(u.f, ss.PageViews, "page view", "page views") + ", " + u.tr.Duration(ss.Duration)})
	}
	// The newest sessions, and every session an order of theirs links to,
	// so that each order's link leads to its session.
	data.Sessions, data.MoreSessions = keepNewest(data.Sessions, customerShown, func(ts timelineSession) bool { return ts.Linked })
	if slices.ContainsFunc(orders, func(co crmlink.CustomerOrder) bool { return co.Link == nil }) {
		// Why each unlinked order has no session, as linking says now.
		list, err := s.cfg.Store.UnlinkedOrders(ctx, crmlink.UnlinkedQuery{CounterID: u.counter.ID, UniqID: id, Limit: customerMaxOrders})
		if err != nil {
			return err
		}
		data.Reasons = map[string]string{}
		for _, uo := range list {
			data.Reasons[uo.OrderID] = unlinkedReasons[uo.Reason]
		}
	}
	data.Emails = max(len(c.IDs.EmailMD5), len(c.IDs.EmailSHA256))
	data.Phones = max(len(c.IDs.PhoneMD5), len(c.IDs.PhoneSHA256))
	slices.Reverse(data.Reaches)
	if n := len(data.Reaches); n > customerShown {
		data.Reaches, data.MoreReaches = data.Reaches[:customerShown], n-customerShown
	}
	title := c.Name
	if title == "" {
		title = c.UniqID
	}
	p, err := s.pageFor(r, u, "clients", title, data)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "customer", p)
}

type uploadsData struct {
	Uploads   []*crmlink.Upload
	Next      string
	Mappings  []crmlink.StatusMapping
	Types     []crmlink.StatusType
	APIBase   string
	CanWrite  bool
	MaxBytes  int64
	LinkNames map[string]string
	// Expenses says what the expense calls record of each expense upload
	// (its provider, comment and the days a delete removed), by upload id.
	Expenses map[string]*crmlink.ExpenseUpload
	// ExpenseAPI is where the upload form sends an expenses file, and
	// Currency the counter's, which the form's warnings name.
	ExpenseAPI, Currency string
}

// isExpenseUpload reports whether an upload came through the expense
// calls: a file of spend, or one naming spend to delete.
func isExpenseUpload(up *crmlink.Upload) bool {
	return up.Entity == crmlink.EntityExpenses || up.Entity == crmlink.EntityExpenseRemoves
}

// expenseInfo returns what the expense calls record of an upload; a
// failed upload has no such record, and gets an empty one.
func (s *Server) expenseInfo(r *http.Request, counter crmlink.CounterID, id string) (*crmlink.ExpenseUpload, error) {
	x, err := s.cfg.Store.ExpenseUploadInfo(r.Context(), counter, id)
	if crmlink.KindOf(err) == crmlink.KindNotFound {
		return &crmlink.ExpenseUpload{}, nil
	}
	return x, err
}

// unlinkedReasons names the reasons an order has no session.
var unlinkedReasons = map[string]string{
	crmlink.UnlinkedNoIdentifier:    "no identifier to link by",
	crmlink.UnlinkedUnknownCustomer: "customer unknown to the site",
	crmlink.UnlinkedNoSession:       "no session before the order",
	crmlink.UnlinkedOutsideWindow:   "sessions too long before the order",
	crmlink.UnlinkedRobot:           "only a robot's session carries its purchase",
	crmlink.UnlinkedPending:         "links at the next relink",
}

// uploadUnlinkedShown is how many of an upload's unlinked orders its page
// lists.
const uploadUnlinkedShown = 100

const uploadsPageRows = 50

func (s *Server) uploadsPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	var before time.Time
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return crmlink.Errorf(crmlink.KindInvalid, "before: %q is not a time", v)
		}
		before = t
	}
	ups, err := s.cfg.Store.Uploads(r.Context(), u.counter.ID, before, uploadsPageRows+1)
	if err != nil {
		return err
	}
	data := uploadsData{Types: []crmlink.StatusType{crmlink.StatusInProgress, crmlink.StatusPaid, crmlink.StatusCancelled, crmlink.StatusSpam, crmlink.StatusOther}, APIBase: "/cdp/api/v1/counter/" + u.counter.ID.String(),
		CanWrite: u.tok.Scope >= crmlink.ScopeWrite, MaxBytes: s.cfg.MaxBodyBytes, LinkNames: unlinkedReasons,
		Expenses: map[string]*crmlink.ExpenseUpload{}, ExpenseAPI: "/management/v1/counter/" + u.counter.ID.String() + "/expense",
		Currency: u.counter.Currency}
	if len(ups) > uploadsPageRows {
		ups = ups[:uploadsPageRows]
		data.Next = withParams(r.URL.Path, url.Values{}, "before", ups[len(ups)-1].Created.Format(time.RFC3339Nano))
	}
	data.Uploads = ups
	for _, up := range ups {
		if isExpenseUpload(up) {
			if data.Expenses[up.ID], err = s.expenseInfo(r, u.counter.ID, up.ID); err != nil {
				return err
			}
		}
	}
	if data.Mappings, err = s.cfg.Store.StatusMappings(r.Context(), u.counter.ID); err != nil {
		return err
	}
	p, err := s.pageFor(r, u, "uploads", "Uploads", data)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "uploads", p)
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	up, err := s.cfg.Store.Upload(r.Context(), u.counter.ID, r.PathValue("upload"))
	if err != nil {
		return err
	}
	var unlinked []crmlink.UnlinkedOrder
	more := 0
	if !up.Queued && (up.Entity == crmlink.EntityOrders || up.Entity == crmlink.EntitySimpleOrders) {
		n := 0
		for _, v := range up.Unlinked {
			n += v
		}
		if n > 0 {
			if unlinked, err = s.cfg.Store.UnlinkedOrders(r.Context(), crmlink.UnlinkedQuery{CounterID: u.counter.ID,
				UploadID: up.ID, Limit: uploadUnlinkedShown}); err != nil {
				return err
			}
			more = n - len(unlinked)
		}
	}
	var expense *crmlink.ExpenseUpload
	if isExpenseUpload(up) {
		if expense, err = s.expenseInfo(r, u.counter.ID, up.ID); err != nil {
			return err
		}
	}
	p, err := s.pageFor(r, u, "uploads", u.tr.Tf("Upload %s", up.ID), struct {
		Up        *crmlink.Upload
		LinkNames map[string]string
		Unlinked  []crmlink.UnlinkedOrder
		More      int
		APIURL    string
		Expense   *crmlink.ExpenseUpload // nil for an upload of another kind
	}{up, unlinkedReasons, unlinked, more,
		"/cdp/api/v1/counter/" + u.counter.ID.String() + "/uploading/" + up.ID + "/unlinked_orders?limit=10000", expense})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "upload", p)
}

// statusesPost adds or replaces one status of the mapping, from the
// Uploads page's editor.
func (s *Server) statusesPost(w http.ResponseWriter, r *http.Request, u *ui) error {
	m := crmlink.StatusMapping{ID: strings.TrimSpace(r.PostFormValue("status")),
		Humanized: strings.TrimSpace(r.PostFormValue("humanized")), Type: crmlink.StatusType(r.PostFormValue("type"))}
	for _, g := range strings.Split(r.PostFormValue("goals"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			m.GoalActionIDs = append(m.GoalActionIDs, g)
		}
	}
	if err := crmlink.ValidateStatusMappings([]crmlink.StatusMapping{m}); err != nil {
		return u.flash(w, r, "uploads#statuses", u.tr.Tf("Not saved: %s", u.tr.Message(crmlink.MessageOf(err))))
	}
	if err := s.cfg.Store.SetStatusMappings(r.Context(), u.counter.ID, []crmlink.StatusMapping{m}); err != nil {
		return err
	}
	return u.flash(w, r, "uploads#statuses", u.tr.Tf("Status %s saved.", m.ID))
}

// flash sends the browser back to a page of the counter (page may end in
// an #anchor) with a message to show there once. The message travels in a
// cookie signed with the browser's session secret (flashCookie), never in
// the URL, so that no link can make the dashboard say something under our
// name.
func (u *ui) flash(w http.ResponseWriter, r *http.Request, page, msg string) error {
	path, anchor, _ := strings.Cut(page, "#")
	base := "/c/" + u.counter.ID.String() + "/"
	if u.secret != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: signFlash(u.secret, msg), Path: base, MaxAge: 60,
			HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	}
	to := base + path
	if anchor != "" {
		to += "#" + anchor
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

type goalsData struct {
	Goals      []crmlink.Goal
	UploadURL  string
	PaybackURL string // where the goals' conversion files download; "" without write scope, which they need
}

func (s *Server) goalsPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	goals, err := s.cfg.Store.Goals(r.Context(), u.counter.ID)
	if err != nil {
		return err
	}
	data := goalsData{Goals: goals, UploadURL: "/c/" + u.counter.ID.String() + "/uploads"}
	if u.tok.Scope >= crmlink.ScopeWrite {
		data.PaybackURL = "/c/" + u.counter.ID.String() + "/payback#conversions"
	}
	p, err := s.pageFor(r, u, "goals", "Goals", data)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "goals", p)
}

type settingsData struct {
	Snippet    string
	Tokens     []*crmlink.Token
	Users      []*crmlink.User
	Locales    []string
	NewSecret  string
	CanAdmin   bool
	Scopes     []pick
	TimeoutMin int
	LinkDays   int
	UpdateDays int
	// Yandex is the counter's Yandex Audience target, for admins: its API
	// URL and whether a token is set (never the token).
	Yandex struct {
		BaseURL  string
		TokenSet bool
		Updated  time.Time
	}
}

// snippet is the tag snippet for a counter: Metrica's, with our script,
// reading e-commerce purchases from dataLayer (their ids link orders). The
// README shows it for counter 1 at https://crmlink.example
// (TestReadmeSnippet).
func snippet(origin string, c *crmlink.Counter) string {
	return `<script>
(function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)};
m[i].l=1*new Date();k=e.createElement(t),a=e.getElementsByTagName(t)[0];k.async=1;k.src=r;a.parentNode.insertBefore(k,a)})
(window,document,"script","` + origin + `/tag.js","ym");
ym(` + c.ID.String() + `, "init", {ecommerce: "dataLayer"});
</script>`
}

// originOf is the scheme and host a browser reached us at.
func originOf(r *http.Request) string {
	scheme := "http"
	if secureRequest(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	data := settingsData{Snippet: snippet(originOf(r), u.counter), Locales: crmlink.LocaleNames(),
		CanAdmin: u.tok.Scope >= crmlink.ScopeAdmin, TimeoutMin: int(u.counter.SessionTimeout / time.Minute),
		LinkDays: int(u.counter.LinkWindow / (24 * time.Hour)), UpdateDays: int(u.counter.UpdateWindow / (24 * time.Hour))}
	if data.CanAdmin {
		toks, err := s.cfg.Store.Tokens(r.Context(), u.counter.ID)
		if err != nil {
			return err
		}
		data.Tokens = toks
		if data.Users, err = s.cfg.Store.Users(r.Context(), u.counter.ID); err != nil {
			return err
		}
		for _, sc := range []crmlink.Scope{crmlink.ScopeRead, crmlink.ScopeWrite, crmlink.ScopeAdmin} {
			if sc <= u.tok.Scope {
				data.Scopes = append(data.Scopes, pick{sc.String(), u.tr.T(sc.String()), sc == crmlink.ScopeRead})
			}
		}
		data.Yandex.BaseURL = audience.DefaultYandexURL
		t, err := s.cfg.Store.AudienceTarget(r.Context(), u.counter.ID, audience.PlatformYandex)
		switch {
		case crmlink.KindOf(err) == crmlink.KindNotFound:
		case err != nil:
			return err
		default:
			data.Yandex.BaseURL, data.Yandex.TokenSet, data.Yandex.Updated = t.BaseURL, t.Token != "", t.Updated
		}
	}
	// A token just created is shown once, from a short-lived cookie
	// rather than the URL, so it stays out of logs and history.
	if c, err := r.Cookie("crmlink_new_token"); err == nil {
		data.NewSecret = c.Value
		http.SetCookie(w, &http.Cookie{Name: "crmlink_new_token", Path: r.URL.Path, MaxAge: -1, HttpOnly: true,
			Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	}
	p, err := s.pageFor(r, u, "settings", "Settings", data)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "settings", p)
}

func (s *Server) settingsPost(w http.ResponseWriter, r *http.Request, u *ui) error {
	c := *u.counter
	c.Name = r.PostFormValue("name")
	c.Currency = r.PostFormValue("currency")
	c.Locale = r.PostFormValue("locale")
	c.KeepPII = r.PostFormValue("keep_pii") == "on"
	fail := func(msg string) error { return u.flash(w, r, "settings", u.tr.Tf("Not saved: %s", u.tr.T(msg))) }
	minutes, err := strconv.Atoi(r.PostFormValue("session_timeout"))
	if err != nil {
		return fail("the session timeout must be a whole number of minutes")
	}
	days, err := strconv.Atoi(r.PostFormValue("link_window"))
	if err != nil {
		return fail("the link window must be a whole number of days")
	}
	c.SessionTimeout, c.LinkWindow = time.Duration(minutes)*time.Minute, time.Duration(days)*24*time.Hour
	if err := c.Normalize(); err != nil {
		return fail(crmlink.MessageOf(err))
	}
	// The language follows the new number format at once.
	u.tr = translator{pickLang(r, &c)}
	if err := s.cfg.Store.UpdateCounter(r.Context(), &c); err != nil {
		return err
	}
	msg := u.tr.T("Settings saved.")
	if c.LinkWindow != u.counter.LinkWindow {
		st, err := s.cfg.Store.Relink(r.Context(), c.ID)
		if err != nil {
			return err
		}
		msg = u.tr.Tf("Settings saved; orders linked again with the new window: %d linked.", st.Linked)
	}
	return u.flash(w, r, "settings", msg)
}

func (s *Server) tokenCreatePost(w http.ResponseWriter, r *http.Request, u *ui) error {
	back := "/c/" + u.counter.ID.String() + "/settings"
	scope, err := crmlink.ParseScope(r.PostFormValue("scope"))
	if err != nil || scope > u.tok.Scope {
		return u.flash(w, r, "settings#tokens", u.tr.T("Not created: pick a scope no wider than your own."))
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if len(name) > 100 {
		name = name[:100]
	}
	secret := NewTokenSecret()
	if err := s.cfg.Store.CreateToken(r.Context(), &crmlink.Token{Hash: HashToken(secret), CounterID: u.counter.ID,
		Scope: scope, Name: name}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: "crmlink_new_token", Value: secret, Path: back, MaxAge: 300, HttpOnly: true,
		Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, back+"#tokens", http.StatusSeeOther)
	return nil
}

// yandexPost sets the counter's Yandex Audience token and API URL, which
// pushes of segments use; an empty token field keeps the token set.
func (s *Server) yandexPost(w http.ResponseWriter, r *http.Request, u *ui) error {
	t := &crmlink.AudienceTarget{CounterID: u.counter.ID, Platform: audience.PlatformYandex,
		Token: strings.TrimSpace(r.PostFormValue("token")), BaseURL: strings.TrimSpace(r.PostFormValue("base_url"))}
	if t.Token == "" {
		old, err := s.cfg.Store.AudienceTarget(r.Context(), u.counter.ID, audience.PlatformYandex)
		if err != nil && crmlink.KindOf(err) != crmlink.KindNotFound {
			return err
		}
		if old != nil {
			t.Token = old.Token
		}
	}
	if err := checkAudienceTarget(t); err != nil {
		msg := "the OAuth token is missing or is not one word"
		if strings.HasPrefix(crmlink.MessageOf(err), "base_url") {
			msg = "the API address is not an http(s) URL"
		}
		return u.flash(w, r, "settings#yandex", u.tr.Tf("Not saved: %s", u.tr.T(msg)))
	}
	if err := s.cfg.Store.SetAudienceTarget(r.Context(), t); err != nil {
		return err
	}
	return u.flash(w, r, "settings#yandex", u.tr.T("Yandex Audience settings saved."))
}

func (s *Server) tokenRevokePost(w http.ResponseWriter, r *http.Request, u *ui) error {
	hash := r.PostFormValue("hash")
	toks, err := s.cfg.Store.Tokens(r.Context(), u.counter.ID)
	if err != nil {
		return err
	}
	// Only this counter's tokens are revoked here.
	if !slices.ContainsFunc(toks, func(t *crmlink.Token) bool { return t.Hash == hash }) {
		return crmlink.Errorf(crmlink.KindNotFound, "no such token of this counter")
	}
	if err := s.cfg.Store.RevokeToken(r.Context(), hash); err != nil {
		return err
	}
	return u.flash(w, r, "settings#tokens", u.tr.T("Token revoked."))
}

// userCreatePost adds a user of this counter, with a scope no wider than
// the admin's own.
func (s *Server) userCreatePost(w http.ResponseWriter, r *http.Request, u *ui) error {
	fail := func(msg string) error {
		return u.flash(w, r, "settings#users", u.tr.Tf("User not added: %s", u.tr.T(msg)))
	}
	scope, err := crmlink.ParseScope(r.PostFormValue("scope"))
	if err != nil || scope > u.tok.Scope {
		return fail("pick a scope no wider than your own.")
	}
	name := strings.TrimSpace(r.PostFormValue("user"))
	if err := crmlink.ValidUserName(name); err != nil {
		return fail(crmlink.MessageOf(err))
	}
	hash, err := HashPassword(r.PostFormValue("password"))
	if err != nil {
		return fail(crmlink.MessageOf(err))
	}
	err = s.cfg.Store.CreateUser(r.Context(), &crmlink.User{Name: name, PasswordHash: hash, CounterID: u.counter.ID, Scope: scope})
	if crmlink.KindOf(err) == crmlink.KindConflict {
		return fail(s.nameTaken(r, u, name))
	}
	if err != nil {
		return err
	}
	return u.flash(w, r, "settings#users", u.tr.Tf("User %s can sign in.", name))
}

// nameTaken is the refusal of a user name that is taken. Names are one
// namespace for the whole server (a user signs in without naming a
// counter), so a taken name is refused; but a counter's admin must not
// learn from the answer that a name is in use on another counter. Only
// the counter's own users, which the admin sees listed on the page, are
// named as such; a name taken elsewhere gets a refusal that says nothing
// of whom it belongs to, logged for the operator. An admin of every
// counter sees every user anyway and is told plainly.
func (s *Server) nameTaken(r *http.Request, u *ui, name string) string {
	taken, err := s.cfg.Store.User(r.Context(), name)
	switch {
	case err == nil && taken.CounterID == u.counter.ID:
		return u.tr.Tf("%s is already a user of this counter.", name)
	case u.tok.CounterID == 0:
		return u.tr.Tf("a user named %s already exists on this server.", name)
	}
	s.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "user name refused: taken outside the counter",
		slog.String("user", name), slog.String("counter", u.counter.ID.String()), slog.String("by", u.tok.Name))
	return u.tr.T("this name cannot be used; choose another.")
}

// userRemovePost removes a user of this counter.
func (s *Server) userRemovePost(w http.ResponseWriter, r *http.Request, u *ui) error {
	name := r.PostFormValue("user")
	us, err := s.cfg.Store.Users(r.Context(), u.counter.ID)
	if err != nil {
		return err
	}
	// Only this counter's users are removed here.
	if !slices.ContainsFunc(us, func(x *crmlink.User) bool { return x.Name == name }) {
		return crmlink.Errorf(crmlink.KindNotFound, "no such user of this counter")
	}
	if err := s.cfg.Store.DeleteUser(r.Context(), name); err != nil {
		return err
	}
	return u.flash(w, r, "settings#users", u.tr.Tf("User %s removed.", name))
}
