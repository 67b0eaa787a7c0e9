package auditrow

import (
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/persona-iam/persona/internal/store"
)

// A block is what a backend may store as one row instead of one row (and a dozen index rows) per record: the
// records of one account appended together, one after another in a compact binary encoding, with beside them
// the sorted hashes of every lookup attribute value they hold ("terms"). Appending a block is one row insert
// whatever the number of records; a lookup by attribute tests each block's terms (binary search) and decodes only
// the blocks that may match, then compares the real values, so a hash collision never returns a wrong record.
//
// A record's position in the trail is its block's sequence times BlockSpan plus its index in the block, so
// positions keep the order of appending.

// BlockSpan bounds the records of one block, and spaces blocks' record positions.
const BlockSpan = 1 << 12

// errBlock means a block's bytes are not an encoding EncodeBlock made.
var errBlock = errors.New("audit block: corrupt encoding")

// Tombstone fills the slot of a pruned record in a rewritten block, so the records after it keep their
// positions. It has no event id (no stored record lacks one), no time range and no terms: decoders skip it.
var Tombstone = store.AuditRecord{}

// EncodeBlock appends the encoding of recs (at most BlockSpan, all of one account, already Checked) to data
// and returns it with the block's terms and time range. Text is stored Cleaned.
func EncodeBlock(data []byte, recs []store.AuditRecord) (out, terms []byte, minT, maxT int64) {
	minT, maxT = 1<<63-1, -1<<63
	hs := make([]uint64, 0, 8*len(recs))
	var prev []byte // the previous record's Data
	for i := range recs {
		r := &recs[i]
		if r.EventID == "" {
			// Time 0, seven empty strings, not read-only, no resources, Data empty (all of prev cut).
			data = append(data, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
			data = appendDelta(data, prev, nil)
			prev = nil
			continue
		}
		t := r.Time.UnixMicro()
		minT, maxT = min(minT, t), max(maxT, t)
		data = binary.AppendVarint(data, t)
		data = appendStr(data, Clean(r.EventID))
		data = appendStr(data, Clean(r.EventName))
		data = appendStr(data, Clean(r.EventSource))
		data = appendStr(data, Clean(r.Username))
		data = appendStr(data, Clean(r.AccessKeyID))
		data = appendStr(data, Clean(r.PrincipalARN))
		data = appendStr(data, Clean(r.ErrorCode))
		if r.ReadOnly {
			data = append(data, 1)
		} else {
			data = append(data, 0)
		}
		data = binary.AppendUvarint(data, uint64(len(r.Resources)))
		for _, res := range r.Resources {
			data = appendStr(data, Clean(res.Type))
			data = appendStr(data, Clean(res.Name))
		}
		data = appendDelta(data, prev, r.Data)
		prev = r.Data
		hs = appendTerms(hs, r)
	}
	slices.Sort(hs)
	hs = slices.Compact(hs)
	terms = make([]byte, 0, 8*len(hs))
	for _, h := range hs {
		terms = binary.BigEndian.AppendUint64(terms, h)
	}
	return data, terms, minT, maxT
}

// appendDelta appends cur as the length of the prefix it shares with prev, the length of the suffix it shares
// with the rest of prev, and the bytes between. A block's records are mostly alike (the same caller, operation and
// client within one batch): their CloudTrail JSON differs in a few ids and times, so this stores a fraction of
// their bytes, and every byte stored is written twice (WAL, then checkpoint), which was half of an append's cost.
func appendDelta(b, prev, cur []byte) []byte {
	n := min(len(prev), len(cur))
	p := 0
	for p < n && prev[p] == cur[p] {
		p++
	}
	s := 0
	for s < n-p && prev[len(prev)-1-s] == cur[len(cur)-1-s] {
		s++
	}
	b = binary.AppendUvarint(b, uint64(p))
	b = binary.AppendUvarint(b, uint64(s))
	b = binary.AppendUvarint(b, uint64(len(cur)-p-s))
	return append(b, cur[p:len(cur)-s]...)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTerms appends the term of every non-empty attribute value of r.
func appendTerms(hs []uint64, r *store.AuditRecord) []uint64 {
	add := func(a store.AuditAttribute, v string) {
		if v != "" {
			hs = append(hs, Term(a, v))
		}
	}
	add(store.AuditEventID, r.EventID)
	add(store.AuditEventName, r.EventName)
	add(store.AuditEventSource, r.EventSource)
	add(store.AuditUsername, r.Username)
	add(store.AuditAccessKeyID, r.AccessKeyID)
	add(store.AuditPrincipalARN, r.PrincipalARN)
	add(store.AuditReadOnly, strconv.FormatBool(r.ReadOnly))
	for _, res := range r.Resources {
		add(store.AuditResourceName, res.Name)
		add(store.AuditResourceType, res.Type)
	}
	return hs
}

// Term is the hash (64-bit FNV-1a) of attribute a with value v as indexed (Value(v)).
func Term(a store.AuditAttribute, v string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ 0) * prime
	v = Value(v)
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * prime
	}
	return h
}

// HasTerm reports whether a block's terms hold term h.
func HasTerm(terms []byte, h uint64) bool {
	n := len(terms) / 8
	i, j := 0, n
	for i < j {
		m := int(uint(i+j) >> 1)
		if binary.BigEndian.Uint64(terms[8*m:]) < h {
			i = m + 1
		} else {
			j = m
		}
	}
	return i < n && binary.BigEndian.Uint64(terms[8*i:]) == h
}

// DecodeBlock calls fn with each record of a block in order (its index, the record with Account set to account
// and Time in UTC). It stops early when fn returns false.
func DecodeBlock(data []byte, account string, fn func(i int, r store.AuditRecord) bool) error {
	d := decoder{b: data}
	var prev []byte
	for i := 0; len(d.b) > 0; i++ {
		if i >= BlockSpan {
			return errBlock
		}
		r := store.AuditRecord{Account: account}
		r.Time = time.UnixMicro(d.varint()).UTC()
		r.EventID, r.EventName, r.EventSource = d.str(), d.str(), d.str()
		r.Username, r.AccessKeyID, r.PrincipalARN, r.ErrorCode = d.str(), d.str(), d.str(), d.str()
		switch d.byte() {
		case 0:
		case 1:
			r.ReadOnly = true
		default:
			return errBlock
		}
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return errBlock
		}
		for range n {
			r.Resources = append(r.Resources, store.AuditResource{Type: d.str(), Name: d.str()})
		}
		r.Data = d.delta(prev)
		if d.err != nil {
			return d.err
		}
		prev = r.Data
		if !fn(i, r) {
			return nil
		}
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errBlock, nil }

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) str() string { return string(d.bytes()) }

// delta decodes what appendDelta wrote, into new memory.
func (d *decoder) delta(prev []byte) []byte {
	p, s := d.uvarint(), d.uvarint()
	mid := d.bytes()
	if d.err != nil || p > uint64(len(prev)) || s > uint64(len(prev))-p {
		d.fail()
		return nil
	}
	n := int(p) + len(mid) + int(s)
	if n == 0 {
		return nil
	}
	out := make([]byte, 0, n)
	out = append(out, prev[:p]...)
	out = append(out, mid...)
	return append(out, prev[len(prev)-int(s):]...)
}

// Matches reports whether record r (as decoded: text Cleaned) has attribute a equal to v as LookupAudit compares
// them: EventId and PrincipalArn exactly (Cleaned), the others both cut by Value; an empty value matches nothing.
func Matches(r *store.AuditRecord, a store.AuditAttribute, v string) bool {
	raw := v
	v = Value(v)
	if v == "" {
		return false
	}
	eq := func(s string) bool { return s != "" && Value(s) == v }
	switch a {
	case store.AuditEventID:
		// Exact, as the PostgreSQL backend compares these two (they have no length cut there).
		return r.EventID != "" && r.EventID == Clean(raw)
	case store.AuditEventName:
		return eq(r.EventName)
	case store.AuditEventSource:
		return eq(r.EventSource)
	case store.AuditUsername:
		return eq(r.Username)
	case store.AuditAccessKeyID:
		return eq(r.AccessKeyID)
	case store.AuditPrincipalARN:
		return r.PrincipalARN != "" && r.PrincipalARN == Clean(raw)
	case store.AuditReadOnly:
		return v == strconv.FormatBool(r.ReadOnly)
	case store.AuditResourceName:
		for _, res := range r.Resources {
			if eq(res.Name) {
				return true
			}
		}
	case store.AuditResourceType:
		for _, res := range r.Resources {
			if eq(res.Type) {
				return true
			}
		}
	}
	return false
}
