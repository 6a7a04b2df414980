package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	_ "github.com/crmlink/crmlink/duckdb" // the engine the tests run on
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// newMemFixture is newFixture on an in-memory DuckDB store: the
// management calls keep little data.
func newMemFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	st, err := store.Open(context.Background(), "duckdb://:memory:", store.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return fixtureOn(t, st, clock, 0)
}

// counterAdmin makes an admin token for f.counter alone.
func (f *fixture) counterAdmin(t *testing.T) string {
	t.Helper()
	secret := crmhttp.NewTokenSecret()
	if err := f.store.CreateToken(context.Background(), &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: f.counter.ID, Scope: crmlink.ScopeAdmin}); err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestManageTokens(t *testing.T) {
	f := newMemFixture(t)
	cadmin := f.counterAdmin(t)
	id := f.counter.ID.String()

	code, body := f.do(t, "POST", "/management/v1/tokens", "OAuth "+cadmin,
		strings.NewReader(`{"token":{"counter_id":`+id+`,"scope":"write","name":"crm script"}}`), "application/json")
	if code != 200 {
		t.Fatalf("create: %d %v", code, body)
	}
	tok := body["token"].(map[string]any)
	secret, _ := tok["secret"].(string)
	if !strings.HasPrefix(secret, "crm_") || tok["hash"] != crmhttp.HashToken(secret) || tok["scope"] != "write" ||
		tok["name"] != "crm script" || tok["counter_id"] != float64(f.counter.ID) || tok["created"] == "" {
		t.Fatalf("created token = %v", tok)
	}
	// The new token works for its counter.
	if code, body := f.do(t, "GET", "/management/v1/counter/"+id, "OAuth "+secret, nil, ""); code != 200 {
		t.Errorf("the new token: %d %v", code, body)
	}

	code, body = f.do(t, "GET", "/management/v1/tokens?counter="+id, "OAuth "+cadmin, nil, "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, body)
	}
	list := body["tokens"].([]any)
	if body["rows"] != float64(len(list)) || len(list) != 4 { // write, read, the counter's admin, the new one
		t.Errorf("list = %v", body)
	}
	for _, x := range list {
		if _, ok := x.(map[string]any)["secret"]; ok {
			t.Errorf("a listed token shows its secret: %v", x)
		}
	}
	if code, body := f.do(t, "GET", "/management/v1/tokens?counter=all", "OAuth "+f.admin, nil, ""); code != 200 || len(body["tokens"].([]any)) != 1 {
		t.Errorf("list all: %d %v", code, body)
	}

	// Refusals: too small a scope, another counter, "all" with a
	// counter's token, no token, a bad body, a counter that does not exist.
	for _, tc := range []struct {
		method, path, auth, body string
		code                     int
		errType                  string
	}{
		{"GET", "/management/v1/tokens?counter=" + id, "OAuth " + f.write, "", 403, "access_denied"},
		{"GET", "/management/v1/tokens?counter=" + id, "OAuth " + f.foreign, "", 403, "access_denied"},
		{"GET", "/management/v1/tokens?counter=all", "OAuth " + cadmin, "", 403, "access_denied"},
		{"GET", "/management/v1/tokens?counter=" + id, "", "", 401, "unauthorized"},
		{"GET", "/management/v1/tokens", "OAuth " + f.admin, "", 400, "missing_parameter"},
		{"GET", "/management/v1/tokens?counter=99", "OAuth " + f.admin, "", 404, "not_found"},
		{"POST", "/management/v1/tokens", "OAuth " + f.write, `{"token":{"counter_id":` + id + `,"scope":"read"}}`, 403, "access_denied"},
		{"POST", "/management/v1/tokens", "OAuth " + cadmin, `{"token":{"counter_id":0,"scope":"admin"}}`, 403, "access_denied"},
		{"POST", "/management/v1/tokens", "OAuth " + f.foreign, `{"token":{"counter_id":` + id + `,"scope":"read"}}`, 403, "access_denied"},
		{"POST", "/management/v1/tokens", "OAuth " + f.admin, `{"token":{"counter_id":` + id + `,"scope":"root"}}`, 400, "invalid_parameter"},
		{"POST", "/management/v1/tokens", "OAuth " + f.admin, `{"token":{"counter_id":99,"scope":"read"}}`, 404, "not_found"},
		{"POST", "/management/v1/tokens", "OAuth " + f.admin, `{"token":{"counter":1}}`, 400, "invalid_json"},
	} {
		var rd *strings.Reader
		if tc.body != "" {
			rd = strings.NewReader(tc.body)
		}
		var code int
		var body map[string]any
		if rd != nil {
			code, body = f.do(t, tc.method, tc.path, tc.auth, rd, "application/json")
		} else {
			code, body = f.do(t, tc.method, tc.path, tc.auth, nil, "")
		}
		if code != tc.code || errorType(t, code, body) != tc.errType {
			t.Errorf("%s %s %.30s: %d %v; want %d %s", tc.method, tc.path, tc.body, code, body, tc.code, tc.errType)
		}
	}

	if code, body := f.do(t, "GET", "/management/v1/tokens?counter=all", "OAuth "+cadmin, nil, ""); code != 403 ||
		!strings.Contains(body["message"].(string), "needs an admin token for all counters") {
		t.Errorf("all with a counter's admin token: %d %v", code, body)
	}

	// Revoking: another counter's admin and a write token are refused; the
	// counter's admin revokes; the token then stops working.
	hash := crmhttp.HashToken(secret)
	if code, body := f.do(t, "DELETE", "/management/v1/token/"+hash, "OAuth "+f.foreign, nil, ""); code != 403 {
		t.Errorf("revoke by another counter's admin: %d %v", code, body)
	}
	if code, body := f.do(t, "DELETE", "/management/v1/token/"+hash, "OAuth "+f.write, nil, ""); code != 403 {
		t.Errorf("revoke with a write token: %d %v", code, body)
	}
	if code, body := f.do(t, "DELETE", "/management/v1/token/"+hash, "OAuth "+cadmin, nil, ""); code != 200 || body["success"] != true {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if code, _ := f.do(t, "GET", "/management/v1/counter/"+id, "OAuth "+secret, nil, ""); code != 401 {
		t.Errorf("a revoked token answered %d", code)
	}
	if code, body := f.do(t, "DELETE", "/management/v1/token/"+hash, "OAuth "+cadmin, nil, ""); code != 404 || errorType(t, code, body) != "not_found" {
		t.Errorf("revoke twice: %d %v", code, body)
	}
}

func TestManageUsers(t *testing.T) {
	f := newMemFixture(t)
	cadmin := f.counterAdmin(t)
	id := f.counter.ID.String()
	code, body := f.do(t, "POST", "/management/v1/users", "OAuth "+cadmin,
		strings.NewReader(`{"user":{"name":"anna","password":"a long password","counter_id":`+id+`,"scope":"write"}}`), "application/json")
	if code != 200 {
		t.Fatalf("create: %d %v", code, body)
	}
	u := body["user"].(map[string]any)
	if u["name"] != "anna" || u["scope"] != "write" || u["counter_id"] != float64(f.counter.ID) {
		t.Errorf("user = %v", u)
	}
	if _, ok := u["password"]; ok {
		t.Errorf("the answer shows the password: %v", u)
	}
	got, err := f.store.User(context.Background(), "anna")
	if err != nil || !crmhttp.CheckPassword(got.PasswordHash, "a long password") || got.Scope != crmlink.ScopeWrite {
		t.Fatalf("stored user: %+v %v", got, err)
	}

	for _, tc := range []struct {
		method, path, auth, body string
		code                     int
		errType                  string
	}{
		{"POST", "/management/v1/users", "OAuth " + f.write, `{"user":{"name":"bob","password":"a long password","counter_id":` + id + `}}`, 403, "access_denied"},
		{"POST", "/management/v1/users", "OAuth " + f.foreign, `{"user":{"name":"bob","password":"a long password","counter_id":` + id + `}}`, 403, "access_denied"},
		{"POST", "/management/v1/users", "OAuth " + cadmin, `{"user":{"name":"bob","password":"a long password","counter_id":0}}`, 403, "access_denied"},
		{"POST", "/management/v1/users", "", `{"user":{"name":"bob","password":"a long password","counter_id":` + id + `}}`, 401, "unauthorized"},
		{"POST", "/management/v1/users", "OAuth " + cadmin, `{"user":{"name":"anna","password":"a long password","counter_id":` + id + `}}`, 409, "invalid_parameter"},
		{"POST", "/management/v1/users", "OAuth " + cadmin, `{"user":{"name":"bob","password":"short","counter_id":` + id + `}}`, 400, "invalid_parameter"},
		{"POST", "/management/v1/users", "OAuth " + cadmin, `{"user":{"name":"bad name","password":"a long password","counter_id":` + id + `}}`, 400, "invalid_parameter"},
		{"POST", "/management/v1/users", "OAuth " + f.admin, `{"user":{"name":"bob","password":"a long password","counter_id":99}}`, 404, "not_found"},
		{"PUT", "/management/v1/user/anna/password", "OAuth " + f.write, `{"password":"another long one"}`, 403, "access_denied"},
		{"PUT", "/management/v1/user/anna/password", "OAuth " + f.foreign, `{"password":"another long one"}`, 403, "access_denied"},
		{"PUT", "/management/v1/user/nobody/password", "OAuth " + f.admin, `{"password":"another long one"}`, 404, "not_found"},
		{"PUT", "/management/v1/user/anna/password", "OAuth " + f.admin, `{"password":"short"}`, 400, "invalid_parameter"},
		{"PUT", "/management/v1/user/anna/password", "OAuth " + f.admin, `{"pass":"another long one"}`, 400, "invalid_json"},
	} {
		code, body := f.do(t, tc.method, tc.path, tc.auth, strings.NewReader(tc.body), "application/json")
		if code != tc.code || errorType(t, code, body) != tc.errType {
			t.Errorf("%s %s %.60s: %d %v; want %d %s", tc.method, tc.path, tc.body, code, body, tc.code, tc.errType)
		}
	}
	code, body = f.do(t, "PUT", "/management/v1/user/anna/password", "OAuth "+cadmin, strings.NewReader(`{"password":"another long one"}`), "application/json")
	if code != 200 || body["success"] != true {
		t.Fatalf("set password: %d %v", code, body)
	}
	got, _ = f.store.User(context.Background(), "anna")
	if !crmhttp.CheckPassword(got.PasswordHash, "another long one") {
		t.Error("the password did not change")
	}
}

func TestManageRelink(t *testing.T) {
	f := newMemFixture(t)
	id := f.counter.ID.String()
	body, ct := multipartFile(t, "uniq_id,client_ids\nC1,5\n")
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status\nO1,C1,2024-01-10 12:00:00,PAID\n")
	uploading(t, f.post(t, "/data/orders/csv", ct, body))
	code, out := f.do(t, "POST", "/management/v1/counter/"+id+"/relink", "OAuth "+f.counterAdmin(t), nil, "")
	if code != 200 {
		t.Fatalf("relink: %d %v", code, out)
	}
	rl := out["relink"].(map[string]any)
	unlinked := rl["unlinked"].(map[string]any)
	if rl["linked"] != 0.0 || unlinked["unknown_customer"] != 1.0 {
		t.Errorf("relink = %v, want the one order unlinked: no visitor has its ClientID", rl)
	}
	for _, tc := range []struct {
		auth    string
		code    int
		errType string
	}{
		{"OAuth " + f.write, 403, "access_denied"},
		{"OAuth " + f.foreign, 403, "access_denied"},
		{"", 401, "unauthorized"},
	} {
		code, body := f.do(t, "POST", "/management/v1/counter/"+id+"/relink", tc.auth, nil, "")
		if code != tc.code || errorType(t, code, body) != tc.errType {
			t.Errorf("relink with %q: %d %v", tc.auth, code, body)
		}
	}
	if code, body := f.do(t, "GET", "/management/v1/counter/"+id+"/relink", "OAuth "+f.admin, nil, ""); code != 405 && code != 404 {
		t.Errorf("GET relink: %d %v", code, body)
	}
}

// TestGoalsAPI: Metrica's goal calls for action goals: create, read,
// change, delete, each in its answer shape; other goal types and a taken
// identifier answer why; read scope can only read.
func TestGoalsAPI(t *testing.T) {
	f := newFixture(t, 0)
	base := "/management/v1/counter/" + f.counter.ID.String()
	w := "OAuth " + f.write
	code, out := f.do(t, "POST", base+"/goals", w, strings.NewReader(`{"goal":{"name":"Корзина","type":"action","conditions":[{"type":"exact","url":"add_to_cart"}]}}`), "application/json")
	g, _ := out["goal"].(map[string]any)
	if code != 200 || g["name"] != "Корзина" || g["type"] != "action" || g["id"] == nil {
		t.Fatalf("create: %d %v", code, out)
	}
	id := fmt.Sprintf("%.0f", g["id"])
	if conds, _ := g["conditions"].([]any); len(conds) != 1 || conds[0].(map[string]any)["url"] != "add_to_cart" || conds[0].(map[string]any)["type"] != "exact" {
		t.Errorf("conditions: %v", g)
	}
	if code, out := f.do(t, "GET", base+"/goal/"+id, "OAuth "+f.read, nil, ""); code != 200 || out["goal"].(map[string]any)["name"] != "Корзина" {
		t.Errorf("get: %d %v", code, out)
	}
	code, out = f.do(t, "PUT", base+"/goal/"+id, w, strings.NewReader(`{"goal":{"name":"Cart","type":"action","conditions":[{"type":"exact","url":"cart"}]}}`), "application/json")
	if g := out["goal"].(map[string]any); code != 200 || g["name"] != "Cart" || g["conditions"].([]any)[0].(map[string]any)["url"] != "cart" {
		t.Errorf("put: %d %v", code, out)
	}
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"goal":{"name":"x","type":"url","conditions":[{"type":"contain","url":"/thanks"}]}}`, 400, "url, number and step goals"},
		{`{"goal":{"name":"x","type":"action","conditions":[]}}`, 400, "one condition"},
		{`{"goal":{"name":"","type":"action","conditions":[{"type":"exact","url":"y"}]}}`, 400, "goal.name"},
		{`{"goal":{"name":"x","type":"action","conditions":[{"type":"exact","url":"cart"}]}}`, 409, "already has the identifier"},
	} {
		if code, out := f.do(t, "POST", base+"/goals", w, strings.NewReader(tc.body), "application/json"); code != tc.code || !strings.Contains(fmt.Sprint(out["message"]), tc.want) {
			t.Errorf("%s: %d %v", tc.body, code, out)
		}
	}
	if code, _ := f.do(t, "POST", base+"/goals", "OAuth "+f.read, strings.NewReader(`{"goal":{"name":"x","type":"action","conditions":[{"type":"exact","url":"z"}]}}`), "application/json"); code != 403 {
		t.Errorf("a read token created a goal: %d", code)
	}
	if code, out := f.do(t, "DELETE", base+"/goal/"+id, w, nil, ""); code != 200 || out["success"] != true {
		t.Errorf("delete: %d %v", code, out)
	}
	if code, _ := f.do(t, "GET", base+"/goal/"+id, "OAuth "+f.read, nil, ""); code != 404 {
		t.Errorf("a deleted goal: %d", code)
	}
	if code, out := f.do(t, "GET", base+"/goals", "OAuth "+f.read, nil, ""); code != 200 || len(out["goals"].([]any)) != 0 {
		t.Errorf("list: %d %v", code, out)
	}
}
