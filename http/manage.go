package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// The management calls below (tokens, users, relinking) are ours: Metrica
// has no such API. They let the command line do over HTTP, against a
// running server, what it otherwise does on the store file, which the
// server holds. Each needs an admin token for the counter it touches; a
// counter of 0 (the "all" of the command line) needs an admin token for all
// counters.

func (s *Server) manageRoutes() {
	s.handle("GET /management/v1/tokens", s.listTokens)
	s.handle("POST /management/v1/tokens", s.createToken)
	s.handle("DELETE /management/v1/token/{hash}", s.revokeToken)
	s.handle("POST /management/v1/users", s.createUser)
	s.handle("PUT /management/v1/user/{name}/password", s.setUserPassword)
	s.handle("POST /management/v1/counter/{id}/relink", s.relink)
}

// TokenJSON is a token as the management API shows it: never its secret,
// except once, in the answer that creates it. CounterID 0 means all
// counters.
type TokenJSON struct {
	Hash      string            `json:"hash"`
	CounterID crmlink.CounterID `json:"counter_id"`
	Scope     string            `json:"scope"`
	Name      string            `json:"name"`
	Created   string            `json:"created"`
	Secret    string            `json:"secret,omitempty"`
}

// NewTokenJSON renders a token, without its secret.
func NewTokenJSON(t *crmlink.Token) TokenJSON {
	return TokenJSON{Hash: t.Hash, CounterID: t.CounterID, Scope: t.Scope.String(), Name: t.Name,
		Created: t.Created.UTC().Format(time.RFC3339)}
}

// counterParam parses ?counter=ID|all: "all" is 0, the tokens for every
// counter.
func counterParam(r *http.Request) (crmlink.CounterID, error) {
	v := r.URL.Query().Get("counter")
	if strings.EqualFold(v, "all") {
		return 0, nil
	}
	if v == "" {
		return 0, withType("missing_parameter", crmlink.Errorf(crmlink.KindInvalid, "counter is required: a counter id, or all"))
	}
	return crmlink.ParseCounterID(v)
}

// authorizeAdmin checks that the request's token is an admin of counter
// id, or, for id 0, of all counters.
func (s *Server) authorizeAdmin(r *http.Request, id crmlink.CounterID) error {
	_, err := s.authorize(r, id, crmlink.ScopeAdmin)
	if err != nil && id == 0 && crmlink.KindOf(err) == crmlink.KindForbidden {
		if t, terr := s.token(r); terr == nil && t.Scope >= crmlink.ScopeAdmin {
			return crmlink.Errorf(crmlink.KindForbidden, "this token is for counter %d alone; this needs an admin token for all counters", t.CounterID)
		}
	}
	return err
}

// existingCounter checks that counter id (0: all counters) exists, so that
// nothing is made for a counter that does not.
func (s *Server) existingCounter(r *http.Request, id crmlink.CounterID) error {
	if id == 0 {
		return nil
	}
	_, err := s.cfg.Store.Counter(r.Context(), id)
	return err
}

// listTokens answers GET /management/v1/tokens?counter=ID|all:
// {"rows":N,"tokens":[...]}, the live tokens of that counter, or those for
// all counters.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	id, err := counterParam(r)
	if err != nil {
		return err
	}
	if err := s.authorizeAdmin(r, id); err != nil {
		return err
	}
	if err := s.existingCounter(r, id); err != nil {
		return err
	}
	toks, err := s.cfg.Store.Tokens(r.Context(), id)
	if err != nil {
		return err
	}
	out := []TokenJSON{}
	for _, t := range toks {
		out = append(out, NewTokenJSON(t))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rows": len(out), "tokens": out})
}

// TokenIn is the body of POST /management/v1/tokens.
type TokenIn struct {
	Token struct {
		CounterID crmlink.CounterID `json:"counter_id"` // 0: all counters
		Scope     string            `json:"scope"`
		Name      string            `json:"name"`
	} `json:"token"`
}

// createToken answers POST /management/v1/tokens with {"token":{...}},
// which carries the new token's secret: the only time it is shown.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in TokenIn
	if err := readJSON(w, r, &in, true); err != nil {
		return err
	}
	ti := in.Token
	if ti.CounterID < 0 {
		return crmlink.Errorf(crmlink.KindInvalid, "counter_id %d: want a counter id, or 0 for all counters", ti.CounterID)
	}
	if err := s.authorizeAdmin(r, ti.CounterID); err != nil {
		return err
	}
	sc, err := crmlink.ParseScope(ti.Scope)
	if err != nil {
		return err
	}
	if err := s.existingCounter(r, ti.CounterID); err != nil {
		return err
	}
	secret := NewTokenSecret()
	t := &crmlink.Token{Hash: HashToken(secret), CounterID: ti.CounterID, Scope: sc, Name: ti.Name}
	if err := s.cfg.Store.CreateToken(r.Context(), t); err != nil {
		return err
	}
	out := NewTokenJSON(t)
	out.Secret = secret
	return writeJSON(w, http.StatusOK, map[string]any{"token": out})
}

// revokeToken answers DELETE /management/v1/token/{hash} with
// {"success":true}. The caller needs admin over the token's own counter.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	caller, err := s.token(r)
	if err != nil {
		return err
	}
	if caller.Scope < crmlink.ScopeAdmin {
		return crmlink.Errorf(crmlink.KindForbidden, "this token's scope is %s; this needs %s", caller.Scope, crmlink.ScopeAdmin)
	}
	hash := r.PathValue("hash")
	t, err := s.cfg.Store.TokenByHash(r.Context(), hash)
	if crmlink.KindOf(err) == crmlink.KindUnauthorized {
		// The store's answer for an unknown token is meant for the one
		// who sends it; here the token is the thing asked about.
		return crmlink.Errorf(crmlink.KindNotFound, "no live token with hash %s", hash)
	}
	if err != nil {
		return err
	}
	if err := s.authorizeAdmin(r, t.CounterID); err != nil {
		return err
	}
	if err := s.cfg.Store.RevokeToken(r.Context(), hash); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// UserIn is the body of POST /management/v1/users.
type UserIn struct {
	User struct {
		Name      string            `json:"name"`
		Password  string            `json:"password"`
		CounterID crmlink.CounterID `json:"counter_id"` // 0: all counters
		Scope     string            `json:"scope"`      // default read
	} `json:"user"`
}

// UserJSON is a dashboard user as the management API shows it, without
// its password hash.
type UserJSON struct {
	Name      string            `json:"name"`
	CounterID crmlink.CounterID `json:"counter_id"`
	Scope     string            `json:"scope"`
	Created   string            `json:"created"`
}

// createUser answers POST /management/v1/users with {"user":{...}}: a
// user who signs in to the dashboard with a password.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in UserIn
	if err := readJSON(w, r, &in, true); err != nil {
		return err
	}
	ui := in.User
	if ui.CounterID < 0 {
		return crmlink.Errorf(crmlink.KindInvalid, "counter_id %d: want a counter id, or 0 for all counters", ui.CounterID)
	}
	if err := s.authorizeAdmin(r, ui.CounterID); err != nil {
		return err
	}
	if ui.Scope == "" {
		ui.Scope = "read"
	}
	sc, err := crmlink.ParseScope(ui.Scope)
	if err != nil {
		return err
	}
	if err := crmlink.ValidUserName(ui.Name); err != nil {
		return err
	}
	if err := s.existingCounter(r, ui.CounterID); err != nil {
		return err
	}
	hash, err := HashPassword(ui.Password)
	if err != nil {
		return err
	}
	u := &crmlink.User{Name: ui.Name, PasswordHash: hash, CounterID: ui.CounterID, Scope: sc}
	if err := s.cfg.Store.CreateUser(r.Context(), u); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"user": UserJSON{Name: u.Name, CounterID: u.CounterID,
		Scope: u.Scope.String(), Created: u.Created.UTC().Format(time.RFC3339)}})
}

// PasswordIn is the body of PUT /management/v1/user/{name}/password.
type PasswordIn struct {
	Password string `json:"password"`
}

// setUserPassword answers PUT /management/v1/user/{name}/password with
// {"success":true}. The caller needs admin over the user's counter.
func (s *Server) setUserPassword(w http.ResponseWriter, r *http.Request) error {
	caller, err := s.token(r)
	if err != nil {
		return err
	}
	if caller.Scope < crmlink.ScopeAdmin {
		return crmlink.Errorf(crmlink.KindForbidden, "this token's scope is %s; this needs %s", caller.Scope, crmlink.ScopeAdmin)
	}
	var in PasswordIn
	if err := readJSON(w, r, &in, true); err != nil {
		return err
	}
	name := r.PathValue("name")
	u, err := s.cfg.Store.User(r.Context(), name)
	if err != nil {
		return err
	}
	if err := s.authorizeAdmin(r, u.CounterID); err != nil {
		return err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.SetUserPassword(r.Context(), name, hash); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// LinkStatsJSON is the answer of a relink: how many orders linked to a
// session, and the others by reason (no_identifier, unknown_customer,
// no_session_before_order, outside_link_window).
type LinkStatsJSON struct {
	Linked   int            `json:"linked"`
	Unlinked map[string]int `json:"unlinked"`
}

// relink answers POST /management/v1/counter/{id}/relink: every order of
// the counter is linked to its session again, as the command line's
// relink does on the store.
func (s *Server) relink(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeAdmin)
	if err != nil {
		return err
	}
	ls, err := s.cfg.Store.Relink(r.Context(), c.ID)
	if err != nil {
		return err
	}
	unlinked := ls.Unlinked
	if unlinked == nil {
		unlinked = map[string]int{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"relink": LinkStatsJSON{Linked: ls.Linked, Unlinked: unlinked}})
}
