// Package audience writes a segment's members as the audience files of ad
// platforms, each in the platform's documented format and normal form:
// Yandex Audience (CRM data, and ClientIDs for universal segments),
// Google Ads Customer Match, Meta custom audiences and VK Ads lists.
//
// Every identifier is written as the SHA-256 hash that crmlink keeps of
// its normal form (lower-case hex), unless plain values are asked for,
// which only platforms that take them get and only a counter that keeps
// plain values can give. The normal forms differ: emails are trimmed and
// lower-cased for every platform; phones are the digits with the country
// code (79995551111) for Yandex, Meta and VK, and E.164 with a "+"
// (+79995551111) for Google. A hash cannot be normalised again, so a
// phone that arrived only hashed cannot go to Google, and an identifier
// that arrived only as MD5 can go nowhere: Writer counts whom it leaves
// out and why.
package audience

import (
	"bufio"
	"encoding/csv"
	"io"
	"regexp"
	"strconv"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

// Reasons a member is left out of a file.
const (
	LeftVisitor     = "visitor"        // no customer record: the file takes emails or phones
	LeftNoContact   = "no_email_phone" // neither email nor phone known
	LeftMD5Only     = "md5_only"       // emails or phones known only as MD5, which no platform takes now
	LeftNoE164      = "phone_not_e164" // phones known only as hashes without "+", and no email (Google)
	LeftHashOnly    = "hash_only"      // a plain file, and the identifiers known only as hashes
	LeftNoClientID  = "no_client_id"   // a ClientID file, and no ClientID known
	LeftNoEmail     = "no_email"       // an email list, and no email known
	LeftNoPhone     = "no_phone"       // a phone list, and no phone known
	minYandexRows   = 100              // Yandex Audience refuses smaller files
	maxExternalIDLn = 64
)

// Format is one platform's audience file.
type Format struct {
	Name        string // as export requests name it
	Title       string // for people
	Ext         string // the file name's extension
	ContentType string
	// MinRows is the fewest rows the platform accepts; fewer is an error
	// before anything is written.
	MinRows int
	// Plain says the platform also takes plain values.
	Plain bool
	// header is the CSV header, nil for a list of one value a line.
	header []string
	rows   func(w *Writer, m *crmlink.AudienceMember) (n int, left string)
}

// Formats are the audience files, by name.
var Formats = []*Format{
	{Name: "yandex_crm", Title: "Yandex Audience: CRM data", Ext: "csv", ContentType: "text/csv; charset=utf-8",
		MinRows: minYandexRows, Plain: true, header: []string{"email", "phone", "ext_id"}, rows: yandexCRM},
	{Name: "yandex_clientid", Title: "Yandex Audience: Metrica ClientIDs", Ext: "txt", ContentType: "text/plain; charset=utf-8",
		MinRows: minYandexRows, rows: clientIDs},
	{Name: "google", Title: "Google Ads Customer Match", Ext: "csv", ContentType: "text/csv; charset=utf-8",
		Plain: true, header: []string{"Email", "Phone"}, rows: google},
	{Name: "meta", Title: "Meta custom audience (customer list)", Ext: "csv", ContentType: "text/csv; charset=utf-8",
		header: []string{"email", "phone"}, rows: meta},
	{Name: "vk_email", Title: "VK Ads: list of emails", Ext: "txt", ContentType: "text/plain; charset=utf-8",
		Plain: true, rows: vkEmails},
	{Name: "vk_phone", Title: "VK Ads: list of phones", Ext: "txt", ContentType: "text/plain; charset=utf-8",
		Plain: true, rows: vkPhones},
}

// Lookup returns the format of a name, or nil.
func Lookup(name string) *Format {
	for _, f := range Formats {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Names lists the formats' names.
func Names() []string {
	var out []string
	for _, f := range Formats {
		out = append(out, f.Name)
	}
	return out
}

// Count is what a format makes of a segment's size: the rows its file
// has and the members it holds.
type Count struct {
	Format  string `json:"format"`
	Rows    int64  `json:"rows"`
	Members int64  `json:"members"`
	// LeftOut are the members left out of the file.
	LeftOut int64 `json:"left_out"`
}

// Counts are the hashed files' rows and members for a segment's size, as
// Writer would write them.
func Counts(s crmlink.SegmentSize) []Count {
	id := s.Identified
	var out []Count
	for _, f := range Formats {
		c := Count{Format: f.Name}
		switch f.Name {
		case "yandex_crm":
			c.Rows, c.Members = id.RowsEmailPhone, id.EmailOrPhone
		case "meta":
			c.Rows, c.Members = id.RowsEmailPhone, id.EmailOrPhone
		case "google":
			c.Rows, c.Members = id.RowsEmailE164, id.EmailOrE164
		case "yandex_clientid":
			c.Rows, c.Members = id.ClientIDValues, id.WithClientID
		case "vk_email":
			c.Rows, c.Members = id.EmailValues, id.WithEmail
		case "vk_phone":
			c.Rows, c.Members = id.PhoneValues, id.WithPhone
		}
		c.LeftOut = s.Customers + s.Visitors - c.Members
		out = append(out, c)
	}
	return out
}

// Writer writes one format's file.
type Writer struct {
	f     *Format
	plain bool
	buf   *bufio.Writer
	csv   *csv.Writer
	// Rows counts the rows written, Members the members in them.
	Rows, Members int
	// LeftOut counts the members left out, by reason.
	LeftOut map[string]int
	err     error
}

// NewWriter starts a file of format f on w; plain asks for plain values
// (the format must take them, and the members must carry them).
func NewWriter(w io.Writer, f *Format, plain bool) *Writer {
	wr := &Writer{f: f, plain: plain && f.Plain, buf: bufio.NewWriterSize(w, 64<<10), LeftOut: map[string]int{}}
	if f.header != nil {
		wr.csv = csv.NewWriter(wr.buf)
		wr.err = wr.csv.Write(f.header)
	}
	return wr
}

// Write adds one member's rows.
func (w *Writer) Write(m *crmlink.AudienceMember) error {
	if w.err != nil {
		return w.err
	}
	n, left := w.f.rows(w, m)
	if left != "" {
		w.LeftOut[left]++
		return w.err
	}
	w.Rows += n
	w.Members++
	return w.err
}

// Close flushes the file.
func (w *Writer) Close() error {
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil && w.err == nil {
			w.err = err
		}
	}
	if err := w.buf.Flush(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// Count puts the writer's counts into an export's record.
func (w *Writer) Count(e *crmlink.SegmentExport) {
	e.Rows, e.Members, e.LeftOut = int64(w.Rows), int64(w.Members), 0
	for _, n := range w.LeftOut {
		e.LeftOut += int64(n)
	}
}

func (w *Writer) record(fields ...string) {
	if w.err == nil {
		w.err = w.csv.Write(fields)
	}
}

func (w *Writer) line(v string) {
	if w.err == nil {
		_, w.err = w.buf.WriteString(v + "\n")
	}
}

// emailsPhones are a member's emails and phones as a file writes them:
// the hashes, or in a plain file the plain values; why there are none.
func (w *Writer) emailsPhones(m *crmlink.AudienceMember, e164 bool) (emails, phones []string, left string) {
	if m.UniqID == "" {
		return nil, nil, LeftVisitor
	}
	if w.plain {
		emails, phones = m.Emails, m.Phones
		if e164 {
			phones = plus(phones)
		}
		if len(emails)+len(phones) == 0 {
			return nil, nil, leftReason(m, LeftHashOnly)
		}
		return emails, phones, ""
	}
	emails, phones = m.EmailSHA256, m.PhoneSHA256
	if e164 {
		phones = m.PhoneE164SHA256
	}
	if len(emails)+len(phones) > 0 {
		return emails, phones, ""
	}
	if e164 && len(m.PhoneSHA256) > 0 {
		return nil, nil, LeftNoE164
	}
	return nil, nil, leftReason(m, "")
}

// leftReason says why a customer with none of the values a file wants is
// left out.
func leftReason(m *crmlink.AudienceMember, known string) string {
	switch {
	case len(m.EmailSHA256)+len(m.PhoneSHA256) == 0 && len(m.EmailMD5)+len(m.PhoneMD5) > 0:
		return LeftMD5Only
	case known != "" && len(m.EmailSHA256)+len(m.PhoneSHA256) > 0:
		return known
	}
	return LeftNoContact
}

func plus(phones []string) []string {
	out := make([]string, len(phones))
	for i, p := range phones {
		out[i] = "+" + p
	}
	return out
}

// pairs writes max(len(a), len(b)) rows pairing a[i] with b[i], each with
// the extra fields.
func (w *Writer) pairs(a, b []string, extra ...string) int {
	n := max(len(a), len(b))
	for i := range n {
		row := []string{at(a, i), at(b, i)}
		w.record(append(row, extra...)...)
	}
	return n
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

// yandexCRM writes Yandex Audience's CRM rows: email, phone, ext_id.
func yandexCRM(w *Writer, m *crmlink.AudienceMember) (int, string) {
	emails, phones, left := w.emailsPhones(m, false)
	if left != "" {
		return 0, left
	}
	return w.pairs(emails, phones, ExternalID(m.UniqID)), ""
}

// externalID is what Yandex Audience takes as ext_id: letters and digits.
var externalID = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// ExternalID is a customer's ext_id in a Yandex Audience file: the CRM's
// id when it is letters and digits (at most 64 of them), which is what
// Audience takes, else the SHA-256 of it.
func ExternalID(uniqID string) string {
	if len(uniqID) <= maxExternalIDLn && externalID.MatchString(uniqID) {
		return uniqID
	}
	return crm.SHA256Hex(uniqID)
}

// google writes Customer Match rows: Email, Phone (E.164).
func google(w *Writer, m *crmlink.AudienceMember) (int, string) {
	emails, phones, left := w.emailsPhones(m, true)
	if left != "" {
		return 0, left
	}
	return w.pairs(emails, phones), ""
}

// meta writes a customer list's rows: email, phone (digits with the
// country code). Meta takes hashes only.
func meta(w *Writer, m *crmlink.AudienceMember) (int, string) {
	emails, phones, left := w.emailsPhones(m, false)
	if left != "" {
		return 0, left
	}
	return w.pairs(emails, phones), ""
}

// clientIDs writes a member's ClientIDs, one a line.
func clientIDs(w *Writer, m *crmlink.AudienceMember) (int, string) {
	if len(m.ClientIDs) == 0 {
		return 0, LeftNoClientID
	}
	for _, id := range m.ClientIDs {
		w.line(strconv.FormatUint(id, 10))
	}
	return len(m.ClientIDs), ""
}

// vkList writes one kind of a member's values, one a line. A value two
// customers share comes twice; VK Ads counts each once.
func vkList(w *Writer, m *crmlink.AudienceMember, email bool) (int, string) {
	emails, phones, left := w.emailsPhones(m, false)
	vs, none := phones, LeftNoPhone
	if email {
		vs, none = emails, LeftNoEmail
	}
	if left != "" {
		return 0, left
	}
	if len(vs) == 0 {
		return 0, none
	}
	for _, v := range vs {
		w.line(v)
	}
	return len(vs), ""
}

func vkEmails(w *Writer, m *crmlink.AudienceMember) (int, string) { return vkList(w, m, true) }
func vkPhones(w *Writer, m *crmlink.AudienceMember) (int, string) { return vkList(w, m, false) }
