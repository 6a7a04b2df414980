package crm

import (
	"io"

	"github.com/crmlink/crmlink"
)

// ContactReader reads the contacts of an upload. It implements
// crmlink.ContactReader.
type ContactReader struct{ reader }

// NewContactCSV reads the header of a contacts CSV file and returns a reader
// for its rows. A header without uniq_id, with a column twice, or that lacks
// a column columns_mapping names, is a *crmlink.ValidationError at line 1.
func NewContactCSV(r io.Reader, opt Options) (*ContactReader, error) {
	rd := &ContactReader{}
	if err := rd.open(r, opt, contacts, false); err != nil {
		return nil, err
	}
	return rd, nil
}

// NewContactJSON returns a reader for the elements of {"contacts":[...]}.
func NewContactJSON(r io.Reader, opt Options) (*ContactReader, error) {
	rd := &ContactReader{}
	if err := rd.open(r, opt, contacts, true); err != nil {
		return nil, err
	}
	return rd, nil
}

// Next fills c with the next good contact. It returns io.EOF after the last
// one; if any row was bad, a *crmlink.ValidationError in its place (unless
// Options.SkipInvalid), and if there was no row, a *crmlink.Error.
func (r *ContactReader) Next(c *crmlink.Contact) error {
	for {
		ok, err := r.read()
		if !ok {
			return err
		}
		r.fill(c)
		if r.keep() {
			return nil
		}
	}
}

func (r *ContactReader) fill(c *crmlink.Contact) {
	ids, attrs := c.IDs, c.Attrs
	clear(attrs)
	*c = crmlink.Contact{CounterID: c.CounterID, IDs: ids, Attrs: attrs, Line: r.row.line}
	resetIDs(&c.IDs)
	if r.rowBad {
		return
	}
	c.UniqID = r.required(fUniqID, maxIDLen)
	if r.present(fName) {
		c.Fields |= crmlink.FieldName
		c.Name = r.text(fName, maxTextLen)
	}
	if r.present(fCreate) {
		c.Fields |= crmlink.FieldCreated
		c.Created = r.dateTime(fCreate)
	}
	if r.present(fUpdate) {
		c.Fields |= crmlink.FieldUpdated
		c.Updated = r.dateTime(fUpdate)
	}
	if r.present(fBirthDate) {
		c.Fields |= crmlink.FieldBirthDate
		c.BirthDate = r.birthDate(fBirthDate)
	}
	r.ids(&c.IDs, &c.Fields)
	r.attrs(&c.Attrs, &c.Fields)
}
