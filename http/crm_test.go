package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
)

const contactsCSV = `"uniq_id","name","create_date_time","client_ids","emails","phones","loyalty"
"C1","Anna","10.01.2024 11:56","111,222","Mail@Yandex.RU","+7 999 555-11-11","gold"
"C2","Boris","2024-01-11","333","","",""
`

type result struct {
	code int
	body map[string]any
}

func (f *fixture) post(t *testing.T, path, contentType string, body io.Reader) result {
	t.Helper()
	code, out := f.do(t, "POST", "/cdp/api/v1/counter/"+f.counter.ID.String()+path, "OAuth "+f.write, body, contentType)
	return result{code, out}
}

func uploading(t *testing.T, r result) map[string]any {
	t.Helper()
	code, out := r.code, r.body
	if code != 200 {
		t.Fatalf("upload answered %d: %v", code, out)
	}
	up := out["uploading"].(map[string]any)
	for _, k := range []string{"uploading_id", "datetime", "api_validation_status", "elements_count", "entity_type", "uploading_format", "uploading_source"} {
		if _, ok := up[k]; !ok {
			t.Errorf("uploading lacks %s: %v", k, up)
		}
	}
	return up
}

// TestRealClients covers what SPEC.md §5 says real clients do.
func TestRealClients(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()

	t.Run("quoted cells, Metrica dates, lower-case merge_mode, extra parameters", func(t *testing.T) {
		body, ct := multipartFile(t, contactsCSV)
		up := uploading(t, f.post(t, "/data/contacts/csv?merge_mode=save&type=BASIC&comment=x&client_id_type=CLIENT_ID", ct, body))
		if up["api_validation_status"] != "PASSED" || up["elements_count"] != 2.0 || up["uploading_format"] != "CSV" {
			t.Errorf("uploading = %v", up)
		}
		c, err := f.store.Contact(ctx, f.counter.ID, "C1")
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Anna" || len(c.IDs.ClientIDs) != 2 || c.IDs.EmailMD5[0] != "3c56ff8fef0f6c65b36b2d25720fe276" ||
			c.IDs.PhoneMD5[0] != "f09f2c3d48f31e2a802944ade2e5aec5" || c.Attrs["loyalty"] != "gold" || c.IDs.Emails != nil {
			t.Errorf("contact = %+v", c)
		}
	})

	t.Run("part without filename or content type", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"`)
		w, _ := mw.CreatePart(h)
		io.WriteString(w, "uniq_id,name\nC3,Vera\n")
		mw.Close()
		up := uploading(t, f.post(t, "/data/contacts/csv", mw.FormDataContentType(), &buf))
		if up["elements_count"] != 1.0 {
			t.Errorf("uploading = %v", up)
		}
	})

	t.Run("stray Content-Type text/csv on a multipart body", func(t *testing.T) {
		body, _ := multipartFile(t, "uniq_id,name\nC4,Gleb\n")
		uploading(t, f.post(t, "/data/contacts/csv", "text/csv", body))
		if _, err := f.store.Contact(ctx, f.counter.ID, "C4"); err != nil {
			t.Error(err)
		}
	})

	t.Run("older path, JSON and multipart", func(t *testing.T) {
		up := uploading(t, f.post(t, "/data/contacts", "application/json",
			strings.NewReader(`{"contacts":[{"uniq_id":"C5","name":"Dina","client_ids":["555"]}]}`)))
		if up["uploading_format"] != "JSON" {
			t.Errorf("uploading = %v", up)
		}
		body, ct := multipartFile(t, "uniq_id,name\nC6,Egor\n")
		if up := uploading(t, f.post(t, "/data/contacts", ct, body)); up["uploading_format"] != "CSV" {
			t.Errorf("uploading = %v", up)
		}
	})

	t.Run("batches of a thousand rows one after another", func(t *testing.T) {
		for b := 0; b < 5; b++ {
			var sb strings.Builder
			sb.WriteString("uniq_id,name,client_ids\n")
			for i := 0; i < 1000; i++ {
				fmt.Fprintf(&sb, "B%d-%d,Name %d,%d\n", b, i, i, 1000000+b*1000+i)
			}
			body, ct := multipartFile(t, sb.String())
			if up := uploading(t, f.post(t, "/data/contacts/csv?merge_mode=APPEND", ct, body)); up["elements_count"] != 1000.0 {
				t.Fatalf("batch %d: %v", b, up)
			}
		}
		if _, err := f.store.Contact(ctx, f.counter.ID, "B4-999"); err != nil {
			t.Error(err)
		}
	})
}

func TestOrdersAPI(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	body, ct := multipartFile(t, contactsCSV)
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))

	// The status mapping.
	r := f.post(t, "/schema/order_statuses", "application/json",
		strings.NewReader(`{"order_statuses":[{"id":"new","humanized":"New","type":"IN_PROGRESS"},{"id":"done","humanized":"Done","type":"PAID"}]}`))
	code, out := r.code, r.body
	if code != 200 || len(out["order_statuses"].([]any)) != 2 || out["success"] != true {
		t.Fatalf("set statuses: %d %v", code, out)
	}
	code, out = f.do(t, "GET", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/schema/order_statuses", "OAuth "+f.read, nil, "")
	if code != 200 || len(out["order_statuses"].([]any)) != 2 {
		t.Errorf("get statuses: %d %v", code, out)
	}
	r = f.post(t, "/schema/order_statuses", "application/json", strings.NewReader(`{"order_statuses":[{"id":"x","type":"DONE"}]}`))
	code, out = r.code, r.body
	if code != 400 || !strings.Contains(out["message"].(string), `type "DONE"`) {
		t.Errorf("bad mapping: %d %v", code, out)
	}

	orders := "id,client_uniq_id,create_date_time,order_status,revenue,cost\n" +
		"O1,C1,2026-02-01 10:00,new,1500.50,900\n" +
		"O2,C2,2026-02-01 11:00,PAID,700,\n"
	body, ct = multipartFile(t, orders)
	up := uploading(t, f.post(t, "/data/orders/csv", ct, body))
	if up["elements_count"] != 2.0 || up["entity"] != "orders" {
		t.Errorf("orders uploading = %v", up)
	}
	o, _, err := f.store.Order(ctx, f.counter.ID, "O1")
	if err != nil || o.StatusType != crmlink.StatusInProgress || o.Revenue.String() != "1500.5" {
		t.Fatalf("O1 = %+v, %v", o, err)
	}
	// JSON, a later version: paid.
	up = uploading(t, f.post(t, "/data/orders/json?merge_mode=UPDATE", "application/json",
		strings.NewReader(`{"orders":[{"id":"O1","client_uniq_id":"C1","create_date_time":"2026-02-01 10:00","order_status":"done","revenue":"1600"}]}`)))
	o, versions, _ := f.store.Order(ctx, f.counter.ID, "O1")
	if o.StatusType != crmlink.StatusPaid || len(versions) != 2 || o.Cost.Decimal.String() != "900" {
		t.Errorf("after the JSON version: %+v %+v", o, versions)
	}

	// UPDATE takes a row with an order's id and the fields that change;
	// an id the counter lacks is a row error.
	body, ct = multipartFile(t, "id,order_status\nO1,new\n")
	uploading(t, f.post(t, "/data/orders/csv?merge_mode=UPDATE", ct, body))
	o, versions, _ = f.store.Order(ctx, f.counter.ID, "O1")
	if o.StatusType != crmlink.StatusInProgress || len(versions) != 3 || o.Revenue.String() != "1600" || o.UniqID != "C1" {
		t.Errorf("after a status-only row: %+v %+v", o, versions)
	}
	body, ct = multipartFile(t, "id,order_status\nO404,PAID\n")
	r = f.post(t, "/data/orders/csv?merge_mode=update", ct, body)
	if r.code != 400 || !strings.Contains(r.body["message"].(string), "line 2, column id") {
		t.Errorf("status of an unknown order: %d %v", r.code, r.body)
	}

	// An order of an unknown contact fails the upload with line and column.
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status\nO3,C1,2026-02-01 10:00,PAID\nO4,C404,2026-02-01 10:00,PAID\n")
	r = f.post(t, "/data/orders/csv", ct, body)
	code, out = r.code, r.body
	if code != 400 || errorType(t, code, out) != "invalid_uploading" || !strings.Contains(out["message"].(string), "line 3, column client_uniq_id") {
		t.Fatalf("unknown contact: %d %v", code, out)
	}
	if _, _, err := f.store.Order(ctx, f.counter.ID, "O3"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("a failed upload stored O3")
	}
	// on_error=skip keeps the good row.
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status\nO3,C1,2026-02-01 10:00,PAID\nO4,C404,2026-02-01 10:00,PAID\n")
	up = uploading(t, f.post(t, "/data/orders/csv?on_error=skip", ct, body))
	if up["accepted"] != 1.0 || up["rejected"] != 1.0 {
		t.Errorf("skip: %v", up)
	}

	// Simple orders.
	body, ct = multipartFile(t, "id,create_date_time,revenue,client_ids,goals\nS1,2026-02-01 12:00,300,777,\"pay_cash:200,branch_1\"\n")
	up = uploading(t, f.post(t, "/data/simple_orders?merge_mode=save", ct, body))
	o, _, err = f.store.Order(ctx, f.counter.ID, "S1")
	if err != nil || o.StatusType != crmlink.StatusPaid || len(o.Goals) != 2 || o.IDs.ClientIDs[0] != 777 {
		t.Errorf("simple order = %+v, %v", o, err)
	}

	// Semicolons and a columns mapping.
	body, ct = multipartFile(t, "Номер;Клиент;Дата;Статус\nO9;C2;01.02.2026 09:00;PAID\n")
	mapping := `"id":"Номер","client_uniq_id":"Клиент","create_date_time":"Дата","order_status":"Статус"`
	uploading(t, f.post(t, "/data/orders/csv?delimiter_type=SEMICOLON&columns_mapping="+urlEscape(mapping), ct, body))
	if _, _, err := f.store.Order(ctx, f.counter.ID, "O9"); err != nil {
		t.Error(err)
	}
}

func TestJSONRowCap(t *testing.T) {
	f := newFixture(t, 0)
	f.setMaxJSONRows(t, 2)
	r := f.post(t, "/data/contacts/json", "application/json",
		strings.NewReader(`{"contacts":[{"uniq_id":"1"},{"uniq_id":"2"},{"uniq_id":"3"}]}`))
	code, out := r.code, r.body
	if code != 413 || !strings.Contains(out["message"].(string), "2") {
		t.Errorf("over the row cap: %d %v, want 413 naming the cap", code, out)
	}
	if _, err := f.store.Contact(context.Background(), f.counter.ID, "1"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Error("a refused upload stored a contact")
	}
}

func TestOfflineConversions(t *testing.T) {
	f := newFixture(t, 0)
	base := "/management/v1/counter/" + f.counter.ID.String() + "/offline_conversions"
	body, ct := multipartFile(t, "ClientId,Target,DateTime,Price,Currency\n17000000001234567890,call,1769940000,150.5,USD\n42,shop_visit,1769943600,,\n")
	code, out := f.do(t, "POST", base+"/upload?client_id_type=CLIENT_ID", "OAuth "+f.write, body, ct)
	if code != 200 {
		t.Fatalf("upload: %d %v", code, out)
	}
	up := out["uploading"].(map[string]any)
	if up["line_quantity"] != 2.0 || up["status"] != "PROCESSED" || up["client_id_type"] != "CLIENT_ID" {
		t.Errorf("uploading = %v", up)
	}
	id := fmt.Sprintf("%.0f", up["id"].(float64))
	got, err := f.store.OfflineConversions(context.Background(), f.counter.ID, id)
	if err != nil || len(got) != 2 || got[0].Currency != "USD" || got[1].Currency != "RUB" || got[1].Time.Unix() != 1769943600 {
		t.Errorf("stored %+v, %v", got, err)
	}
	code, out = f.do(t, "GET", base+"/uploading/"+id, "OAuth "+f.read, nil, "")
	if code != 200 || out["uploading"].(map[string]any)["status"] != "PROCESSED" {
		t.Errorf("status: %d %v", code, out)
	}
	// Bad rows fail the upload with line and column.
	body, ct = multipartFile(t, "ClientId,Target,DateTime\nabc,call,1769940000\n42,,yesterday\n")
	code, out = f.do(t, "POST", base+"/upload", "OAuth "+f.write, body, ct)
	if code != 400 || !strings.Contains(out["message"].(string), "line 2, column ClientId") {
		t.Errorf("bad file: %d %v", code, out)
	}
	body, ct = multipartFile(t, "Email,Target,DateTime\n")
	code, out = f.do(t, "POST", base+"/upload", "OAuth "+f.write, body, ct)
	if code != 400 || !strings.Contains(out["message"].(string), "unknown column") {
		t.Errorf("bad header: %d %v", code, out)
	}
}

func TestOrderInspection(t *testing.T) {
	f := newFixture(t, 0)
	sessions := "session_id,client_id,start,landing_url\n" +
		"900,111,2026-02-01 09:00:00,https://shop.example/?utm_source=yandex&utm_medium=cpc\n" +
		"901,111,2026-02-01 12:00:00,https://shop.example/\n"
	uploading(t, f.post(t, "/data/sessions", "text/csv", strings.NewReader(sessions)))
	body, ct := multipartFile(t, contactsCSV)
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status,revenue,cost,products\n"+
		"O1,C1,2026-02-01 11:00,IN_PROGRESS,1500.50,900,\"Sofa:1\"\n")
	up := uploading(t, f.post(t, "/data/orders/csv", ct, body))
	if up["applied"] != false || up["linked"] != 0.0 {
		t.Errorf("the answer to an orders upload: %v; want it not applied yet", up)
	}
	code, got := f.do(t, "GET", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/uploading/"+up["uploading_id"].(string), "OAuth "+f.read, nil, "")
	if up = got["uploading"].(map[string]any); code != 200 || up["applied"] != true || up["linked"] != 1.0 {
		t.Errorf("%d uploading = %v", code, up)
	}
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status,revenue\nO1,C1,2026-02-01 11:00,PAID,1600\n")
	uploading(t, f.post(t, "/data/orders/csv?merge_mode=UPDATE", ct, body))

	code, out := f.do(t, "GET", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/orders/O1", "OAuth "+f.read, nil, "")
	if code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	o := out["order"].(map[string]any)
	link, _ := o["link"].(map[string]any)
	versions := o["versions"].([]any)
	// Times are the counter's (Moscow): the session at 09:00 Moscow is the
	// latest before the order at 11:00.
	if o["status_type"] != "PAID" || o["revenue"] != "1600" || o["cost"] != "900" || o["profit"] != "700" ||
		link == nil || link["session_id"] != "900" || link["method"] != "client_id" || link["session_start"] != "2026-02-01 09:00:00" ||
		len(versions) != 2 || versions[0].(map[string]any)["status_type"] != "IN_PROGRESS" {
		t.Errorf("order = %v", o)
	}
	if goals := o["goals"].([]any); len(goals) != 2 {
		t.Errorf("order's goals = %v, want created and paid", goals)
	}
	code, out = f.do(t, "GET", "/management/v1/counter/"+f.counter.ID.String()+"/goals", "OAuth "+f.read, nil, "")
	goals, _ := out["goals"].([]any)
	if code != 200 || len(goals) != 4 || goals[0].(map[string]any)["name"] != "CRM: Order created" ||
		goals[0].(map[string]any)["reaches"] != 1.0 || goals[0].(map[string]any)["revenue"] != "600.5" {
		t.Errorf("goals: %d %v", code, out)
	}
	code, out = f.do(t, "GET", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/orders/nope", "OAuth "+f.read, nil, "")
	if code != 404 {
		t.Errorf("missing order: %d %v", code, out)
	}
}

// uploadOneUnlinked uploads a session, the contacts of contactsCSV and
// two orders on 2026-02-01: O1 of C1, whom the session brought, and O2 of
// C2, whom no session brought. It returns the orders' upload id.
func uploadOneUnlinked(t *testing.T, f *fixture) string {
	t.Helper()
	sessions := "session_id,client_id,start,landing_url\n900,111,2026-02-01 09:00:00,https://shop.example/\n"
	uploading(t, f.post(t, "/data/sessions", "text/csv", strings.NewReader(sessions)))
	body, ct := multipartFile(t, contactsCSV)
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status,revenue\n"+
		"O1,C1,2026-02-01 11:00,PAID,100\nO2,C2,2026-02-01 12:00,PAID,250.5\n")
	id := uploading(t, f.post(t, "/data/orders/csv", ct, body))["uploading_id"].(string)
	return id
}

// TestUnlinkedOrders: an upload's unlinked orders are listed with their
// reasons, and the report shows them as a row of their own when asked.
func TestUnlinkedOrders(t *testing.T) {
	f := newFixture(t, 0)
	id := uploadOneUnlinked(t, f)
	base := "/cdp/api/v1/counter/" + f.counter.ID.String()
	code, out := f.do(t, "GET", base+"/uploading/"+id+"/unlinked_orders", "OAuth "+f.read, nil, "")
	orders, _ := out["orders"].([]any)
	if code != 200 || len(orders) != 1 {
		t.Fatalf("%d %v", code, out)
	}
	if o := orders[0].(map[string]any); o["id"] != "O2" || o["reason"] != "unknown_customer" || o["revenue"] != "250.5" ||
		o["client_uniq_id"] != "C2" || o["create_date_time"] != "2026-02-01 12:00:00" {
		t.Errorf("unlinked order = %v", o)
	}
	if code, out := f.do(t, "GET", base+"/uploading/404/unlinked_orders", "OAuth "+f.read, nil, ""); code != 404 {
		t.Errorf("unknown upload: %d %v", code, out)
	}
	q := "/stat/v1/data?ids=" + f.counter.ID.String() + "&preset=orders_sources&date1=2026-02-01&date2=2026-02-01"
	code, out = f.do(t, "GET", q, "OAuth "+f.read, nil, "")
	if _, ok := out["unlinked"]; code != 200 || ok {
		t.Errorf("without include_unlinked: %d %v", code, out)
	}
	code, out = f.do(t, "GET", q+"&include_unlinked=true", "OAuth "+f.read, nil, "")
	u, _ := out["unlinked"].(map[string]any)
	if code != 200 || u == nil {
		t.Fatalf("with include_unlinked: %d %v", code, out)
	}
	if d := u["dimensions"].([]any)[0].(map[string]any); d["name"] != crmlink.UnlinkedName {
		t.Errorf("unlinked row = %v", u)
	}
}

// TestSchemaAPI: Metrica's POST schema/attributes and schema/products
// answer {"success": true} and keep what they declare, which the GET
// calls (ours) list; bad declarations answer 400 naming the field, and a
// read token cannot declare.
func TestSchemaAPI(t *testing.T) {
	f := newFixture(t, 0)
	base := "/cdp/api/v1/counter/" + f.counter.ID.String()
	body := `{"attributes":[{"name":"dates_of_meetings","type_name":"date","multivalued":true,"humanized":"Даты обращений в магазин"},` +
		`{"name":"age","type_name":"numeric","multivalued":false,"humanized":"Возраст"}]}`
	if r := f.post(t, "/schema/attributes?entity_type=CONTACT", "application/json", strings.NewReader(body)); r.code != 200 || r.body["success"] != true {
		t.Fatalf("declare: %d %v", r.code, r.body)
	}
	code, out := f.do(t, "GET", base+"/schema/attributes?entity_type=contact", "OAuth "+f.read, nil, "")
	attrs, _ := out["attributes"].([]any)
	if code != 200 || len(attrs) != 2 || attrs[0].(map[string]any)["name"] != "age" || attrs[1].(map[string]any)["multivalued"] != true {
		t.Errorf("list: %d %v", code, out)
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/schema/attributes?entity_type=USER", body, "entity_type"},
		{"/schema/attributes?entity_type=ORDER", `{"attributes":[{"name":"bad name","type_name":"text"}]}`, "attributes[0].name"},
		{"/schema/attributes?entity_type=ORDER", `{"attributes":[{"name":"a","type_name":"text"},{"name":"a","type_name":"date"}]}`, "declared twice"},
		{"/schema/attributes?entity_type=ORDER", `{"attributes":[{"name":"a"}]}`, "attributes[0].type_name"},
		{"/schema/products", `{"items":[{"name":""}]}`, "items[0].name"},
	} {
		if r := f.post(t, tc.path, "application/json", strings.NewReader(tc.body)); r.code != 400 || !strings.Contains(fmt.Sprint(r.body["message"]), tc.want) {
			t.Errorf("%s %s: %d %v", tc.path, tc.body, r.code, r.body)
		}
	}
	products := `{"attributes":[{"name":"colour","type_name":"text","multivalued":false}],"items":[{"name":"pear","humanized":"Груша"},{"name":"apple","humanized":"Яблоко"}]}`
	if r := f.post(t, "/schema/products", "application/json", strings.NewReader(products)); r.code != 200 || r.body["success"] != true {
		t.Fatalf("products: %d %v", r.code, r.body)
	}
	code, out = f.do(t, "GET", base+"/schema/products", "OAuth "+f.read, nil, "")
	items, _ := out["items"].([]any)
	pattrs, _ := out["attributes"].([]any)
	if code != 200 || len(items) != 2 || items[0].(map[string]any)["humanized"] != "Яблоко" || len(pattrs) != 1 {
		t.Errorf("products list: %d %v", code, out)
	}
	if code, _ := f.do(t, "POST", base+"/schema/products", "OAuth "+f.read, strings.NewReader(products), "application/json"); code != 403 {
		t.Errorf("a read token declared products: %d", code)
	}
}
