package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File resolves {file: path} references by reading the file. One trailing
// newline ("\n" or "\r\n", as editors and `echo` leave) is removed; any other
// whitespace is part of the secret.
type File struct {
	// Dir is the directory relative paths are taken from: the
	// configuration directory. Empty means the current directory.
	Dir string
}

// Resolve reads the file named by ref.File.
func (f File) Resolve(_ context.Context, ref Ref) (Value, error) {
	if ref.File == "" {
		return Value{}, fmt.Errorf("secret %s is not a file reference", ref)
	}
	path := ref.File
	if !filepath.IsAbs(path) && f.Dir != "" {
		path = filepath.Join(f.Dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		// The os error names the path and the reason, never the content.
		if errors.Is(err, fs.ErrNotExist) {
			return Value{}, fmt.Errorf("secret %s: file %s does not exist (create it with the secret as its only content, mode 0600)", ref, path)
		}
		return Value{}, fmt.Errorf("secret %s: %w", ref, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return Value{}, fmt.Errorf("secret %s: file %s is empty", ref, path)
	}
	return New(s), nil
}
