package spool

import (
	"strconv"

	"github.com/crmlink/crmlink"
)

// OrderColumns are the columns of an orders spool file, in the order
// WriteOrder writes them:
//
//	line         the order's line in the upload (integer)
//	id           the order's id (text); a simple order without one gets
//	             "~<upload id>:<line>", which no CRM id can take
//	fields       the crmlink.Fields the row carries (unsigned integer)
//	uniq_id      the customer (text)
//	created_us, updated_us, finished_us
//	             times in microseconds since the epoch; NULL when absent
//	             (updated_us is the upload's time then)
//	status, status_type, currency    text
//	revenue, cost                    decimals; cost NULL when absent
//	products     JSON array of [name, quantity]
//	goals        JSON array of [goal, price or null]
//	attrs        JSON object
//	client_ids, user_ids, email_md5, email_sha256, phone_md5, phone_sha256
//	             lists (List, UintList)
var OrderColumns = append([]string{"line", "id", "fields", "uniq_id", "created_us", "updated_us", "finished_us",
	"status", "status_type", "revenue", "cost", "currency", "products", "goals", "attrs"}, IDColumns...)

// IDColumns are the columns WriteIDs writes.
var IDColumns = []string{"client_ids", "user_ids", "email_md5", "email_sha256", "phone_md5", "phone_sha256"}

// WriteOrder writes o, an order of up, as one row of OrderColumns.
func WriteOrder(w *Writer, up *crmlink.Upload, o *crmlink.Order) {
	id := o.ID
	if id == "" {
		// A simple order without an id can never be updated: it gets one
		// no CRM id can take.
		id = "~" + up.ID + ":" + strconv.Itoa(o.Line)
	}
	updated := o.Updated
	if updated.IsZero() {
		updated = up.Created // SPEC.md §1: the upload time when absent
	}
	w.Int(int64(o.Line))
	w.Str(id)
	w.Int(int64(o.Fields | crmlink.FieldUpdated))
	w.Str(o.UniqID)
	w.Micros(o.Created)
	w.Micros(updated)
	w.Micros(o.Finished)
	w.Str(o.Status)
	w.Str(string(o.StatusType))
	w.Decimal(o.Revenue, true)
	w.Decimal(o.Cost.Decimal, o.Cost.Valid)
	w.Str(o.Currency)
	w.Products(o.Products)
	w.Goals(o.Goals)
	if len(o.Attrs) > 0 {
		w.JSON(o.Attrs)
	} else {
		w.Str("{}")
	}
	WriteIDs(w, &o.IDs)
}

// WriteIDs writes a customer's identifiers as IDColumns.
func WriteIDs(w *Writer, ids *crmlink.CustomerIDs) {
	w.UintList(ids.ClientIDs)
	w.List(ids.UserIDs)
	w.List(ids.EmailMD5)
	w.List(ids.EmailSHA256)
	w.List(ids.PhoneMD5)
	w.List(ids.PhoneSHA256)
}
