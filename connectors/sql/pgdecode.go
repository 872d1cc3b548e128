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

// rowDecoders picks a decoder per result column; columns without a fast path
// go through pgx's own codec for their type.
func rowDecoders(rows pgx.Rows) []rawDecoder {
	m := rows.Conn().TypeMap()
	fds := rows.FieldDescriptions()
	decs := make([]rawDecoder, len(fds))
	for i, fd := range fds {
		oid, format := fd.DataTypeOID, fd.Format
		if format == pgx.BinaryFormatCode {
			if d := binaryDecoder(oid); d != nil {
				decs[i] = d
				continue
			}
		}
		if format == pgx.TextFormatCode && (oid == oidText || oid == oidVarchar || oid == oidBPChar || oid == oidName) {
			decs[i] = decodeString
			continue
		}
		decs[i] = codecDecoder(m, oid, format)
	}
	return decs
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
	var buf [36]byte
	j := 0
	for i, b := range src {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j], buf[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
	return string(buf[:]), nil
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
// array format: ndim, has-null flag, element type, then per dimension length
// and lower bound, then each element as length (-1 for NULL) and bytes.
func decodeBinaryTextArray(src []byte) (any, error) {
	if len(src) < 12 {
		return nil, fmt.Errorf("text[]: short header")
	}
	ndim := int32(binary.BigEndian.Uint32(src))
	if ndim == 0 {
		return []any{}, nil
	}
	if ndim != 1 {
		return nil, fmt.Errorf("text[]: %d-dimensional arrays are not supported", ndim)
	}
	if len(src) < 20 {
		return nil, fmt.Errorf("text[]: short header")
	}
	n := int(int32(binary.BigEndian.Uint32(src[12:])))
	rest := src[20:]
	out := make([]any, n)
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			return nil, fmt.Errorf("text[]: truncated")
		}
		l := int(int32(binary.BigEndian.Uint32(rest)))
		rest = rest[4:]
		if l < 0 {
			continue // NULL element
		}
		if len(rest) < l {
			return nil, fmt.Errorf("text[]: truncated")
		}
		out[i] = string(rest[:l])
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
