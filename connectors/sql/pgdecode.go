package sql

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// rawDecoder decodes one column's wire bytes (never nil: NULL is handled by
// the caller) into the value pgx's rows.Values would give, or the value the
// column decoders accept directly, with fewer allocations. Reads are the
// connector's hot path (docs/performance.md).
type rawDecoder func(src []byte) (any, error)

// PostgreSQL type OIDs with a binary fast path.
const (
	oidBool        = 16
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidTextArray   = 1009
	oidVarchrArray = 1015
	oidUUID        = 2950
	oidJSONB       = 3802
)

// pgEpoch is PostgreSQL's zero time for timestamps and dates.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Column kinds with a per-row string arena: their text goes into one
// string per row, and each value is a substring of it, which saves an
// allocation per value.
const (
	kindFunc = iota
	kindString
	kindUUID
	kindTextArray
)

// rowDecoder decodes the rows of one result.
type rowDecoder struct {
	names []string
	kinds []int
	funcs []rawDecoder
	vals  []any
	offs  []int
	buf   []byte
}

// newRowDecoder picks a decoder per result column; columns without a fast
// path go through pgx's own codec for their type.
func newRowDecoder(rows pgx.Rows) *rowDecoder {
	m := rows.Conn().TypeMap()
	fds := rows.FieldDescriptions()
	d := &rowDecoder{
		names: make([]string, len(fds)), kinds: make([]int, len(fds)), funcs: make([]rawDecoder, len(fds)),
		vals: make([]any, len(fds)), offs: make([]int, 2*len(fds)),
	}
	for i, fd := range fds {
		oid, format := fd.DataTypeOID, fd.Format
		d.names[i] = fd.Name
		textual := oid == oidText || oid == oidVarchar || oid == oidBPChar || oid == oidName
		switch {
		case textual:
			d.kinds[i] = kindString // the same bytes in text and binary format
		case format == pgx.BinaryFormatCode && oid == oidUUID:
			d.kinds[i] = kindUUID
		case format == pgx.BinaryFormatCode && (oid == oidTextArray || oid == oidVarchrArray):
			d.kinds[i] = kindTextArray
		case format == pgx.BinaryFormatCode && binaryDecoder(oid) != nil:
			d.funcs[i] = binaryDecoder(oid)
		default:
			d.funcs[i] = codecDecoder(m, oid, format)
		}
	}
	return d
}

// decode returns the row's values; the slice is reused by the next call.
func (d *rowDecoder) decode(raw [][]byte) ([]any, error) {
	d.buf = d.buf[:0]
	// First pass: copy the bytes of string-like values into buf.
	for i, b := range raw {
		if b == nil {
			continue
		}
		switch d.kinds[i] {
		case kindString:
			d.offs[2*i] = len(d.buf)
			d.buf = append(d.buf, b...)
			d.offs[2*i+1] = len(d.buf)
		case kindUUID:
			if len(b) != 16 {
				return nil, fmt.Errorf("column %s: uuid of %d bytes", d.names[i], len(b))
			}
			d.offs[2*i] = len(d.buf)
			d.buf = appendUUID(d.buf, b)
			d.offs[2*i+1] = len(d.buf)
		case kindTextArray:
			d.offs[2*i] = len(d.buf)
			d.buf = append(d.buf, b...)
			d.offs[2*i+1] = len(d.buf)
		}
	}
	s := string(d.buf) // one allocation for every string of the row
	for i, b := range raw {
		if b == nil {
			d.vals[i] = nil
			continue
		}
		var err error
		switch d.kinds[i] {
		case kindString, kindUUID:
			d.vals[i] = s[d.offs[2*i]:d.offs[2*i+1]]
		case kindTextArray:
			d.vals[i], err = textArrayFrom(s[d.offs[2*i]:d.offs[2*i+1]])
		default:
			d.vals[i], err = d.funcs[i](b)
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", d.names[i], err)
		}
	}
	return d.vals, nil
}

func codecDecoder(m *pgtype.Map, oid uint32, format int16) rawDecoder {
	t, ok := m.TypeForOID(oid)
	if !ok {
		// Unknown types (enums, domains of extensions) arrive as text.
		return decodeString
	}
	return func(src []byte) (any, error) { return t.Codec.DecodeValue(m, oid, format, src) }
}

func decodeString(src []byte) (any, error) { return string(src), nil }

func binaryDecoder(oid uint32) rawDecoder {
	switch oid {
	case oidText, oidVarchar, oidBPChar, oidName:
		return decodeString
	case oidUUID:
		return decodeBinaryUUID
	case oidInt2:
		return func(src []byte) (any, error) {
			if len(src) != 2 {
				return nil, fmt.Errorf("int2: %d bytes", len(src))
			}
			return int64(int16(binary.BigEndian.Uint16(src))), nil
		}
	case oidInt4:
		return func(src []byte) (any, error) {
			if len(src) != 4 {
				return nil, fmt.Errorf("int4: %d bytes", len(src))
			}
			return int64(int32(binary.BigEndian.Uint32(src))), nil
		}
	case oidInt8:
		return func(src []byte) (any, error) {
			if len(src) != 8 {
				return nil, fmt.Errorf("int8: %d bytes", len(src))
			}
			return int64(binary.BigEndian.Uint64(src)), nil
		}
	case oidFloat4:
		return func(src []byte) (any, error) {
			if len(src) != 4 {
				return nil, fmt.Errorf("float4: %d bytes", len(src))
			}
			return float64(math.Float32frombits(binary.BigEndian.Uint32(src))), nil
		}
	case oidFloat8:
		return func(src []byte) (any, error) {
			if len(src) != 8 {
				return nil, fmt.Errorf("float8: %d bytes", len(src))
			}
			return math.Float64frombits(binary.BigEndian.Uint64(src)), nil
		}
	case oidBool:
		return func(src []byte) (any, error) {
			if len(src) != 1 {
				return nil, fmt.Errorf("bool: %d bytes", len(src))
			}
			return src[0] != 0, nil
		}
	case oidTimestamp, oidTimestamptz:
		return decodeBinaryTimestamp
	case oidDate:
		return func(src []byte) (any, error) {
			if len(src) != 4 {
				return nil, fmt.Errorf("date: %d bytes", len(src))
			}
			days := int32(binary.BigEndian.Uint32(src))
			if days == math.MaxInt32 || days == math.MinInt32 {
				return nil, fmt.Errorf("infinite dates are not supported")
			}
			return pgEpoch.AddDate(0, 0, int(days)), nil
		}
	case oidTextArray, oidVarchrArray:
		return decodeBinaryTextArray
	case oidJSON:
		return decodeJSONBytes
	case oidJSONB:
		return func(src []byte) (any, error) {
			if len(src) == 0 || src[0] != 1 {
				return nil, fmt.Errorf("jsonb: unknown binary version")
			}
			return decodeJSONBytes(src[1:])
		}
	}
	return nil
}

const hexDigits = "0123456789abcdef"

func decodeBinaryUUID(src []byte) (any, error) {
	if len(src) != 16 {
		return nil, fmt.Errorf("uuid: %d bytes", len(src))
	}
	return string(appendUUID(make([]byte, 0, 36), src)), nil
}

// appendUUID appends the canonical text of a 16-byte uuid.
func appendUUID(dst, src []byte) []byte {
	for i, b := range src {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}

func decodeBinaryTimestamp(src []byte) (any, error) {
	if len(src) != 8 {
		return nil, fmt.Errorf("timestamp: %d bytes", len(src))
	}
	us := int64(binary.BigEndian.Uint64(src))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return nil, fmt.Errorf("infinite timestamps are not supported")
	}
	return time.Unix(946684800+us/1e6, (us%1e6)*1e3).UTC(), nil
}

// decodeBinaryTextArray reads a one-dimensional text[] in PostgreSQL's binary
// array format.
func decodeBinaryTextArray(src []byte) (any, error) { return textArrayFrom(string(src)) }

// textArrayFrom reads PostgreSQL's binary array format: ndim, has-null flag,
// element type, then per dimension length and lower bound, then each element
// as length (-1 for NULL) and bytes. Elements are substrings of src.
func textArrayFrom(src string) (any, error) {
	be := func(s string) int {
		return int(int32(uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])))
	}
	if len(src) < 12 {
		return nil, fmt.Errorf("text[]: short header")
	}
	ndim := be(src)
	if ndim == 0 {
		return []any{}, nil
	}
	if ndim != 1 {
		return nil, fmt.Errorf("text[]: %d-dimensional arrays are not supported", ndim)
	}
	if len(src) < 20 {
		return nil, fmt.Errorf("text[]: short header")
	}
	n := be(src[12:])
	rest := src[20:]
	out := make([]any, n)
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			return nil, fmt.Errorf("text[]: truncated")
		}
		l := be(rest)
		rest = rest[4:]
		if l < 0 {
			continue // NULL element
		}
		if len(rest) < l {
			return nil, fmt.Errorf("text[]: truncated")
		}
		out[i] = rest[:l]
		rest = rest[l:]
	}
	return out, nil
}

func decodeJSONBytes(src []byte) (any, error) {
	var v any
	if err := json.Unmarshal(src, &v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	return v, nil
}
