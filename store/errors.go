package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Methods wrap them with context; test with errors.Is.
var (
	// ErrNotFound: no object has the given id (or a referenced object,
	// such as a job's dataset, does not exist).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is valid but the current state forbids it:
	// a duplicate id, a status transition from an unexpected status,
	// deleting something still in use.
	ErrConflict = errors.New("conflict")
	// ErrInvalidID: an id is malformed or has the wrong prefix.
	ErrInvalidID = errors.New("invalid id")
	// ErrInvalidArgument: any other field is out of its domain (unknown
	// status, malformed JSON, progress outside 0..1, ...).
	ErrInvalidArgument = errors.New("invalid argument")
)

// StorageProblem names what refused a write when err comes from the
// machine rather than the request: a full disk (or quota), a read-only file
// system, a data folder the server's user may not write, or a database file
// SQLite can only read. It returns "" for any
// other error. Retrying works once an operator has fixed the cause.
func StorageProblem(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		if se.Code() == sqlite3.SQLITE_IOERR_SHMSIZE {
			// No room to grow the write-ahead log's shared-memory file
			// (SQLite says only "disk I/O error"): seen on a full disk.
			return "the server's disk is full"
		}
		switch se.Code() & 0xff { // the primary code under any extended one
		case sqlite3.SQLITE_FULL:
			return "the server's disk is full"
		case sqlite3.SQLITE_READONLY:
			return "the server's database is read-only"
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "the server's disk is full"
	case errors.Is(err, syscall.EROFS):
		return "the server's data folder is on a read-only file system"
	case deniedFile(err):
		return "the server's user may not write a file or folder it keeps (permission denied)"
	}
	return ""
}

// deniedFile reports whether err is a file operation refused for want of
// permission (a data folder the server's user may not write). Only file
// system errors count: "operation not permitted" also comes from a socket
// a firewall refuses (an LLM endpoint), which is no storage problem.
func deniedFile(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	default:
		return false
	}
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

// inUseError is a refused delete: its message is the whole story (what
// uses the object and what to do), meant for the user as it stands.
type inUseError struct{ msg string }

func (e *inUseError) Error() string        { return e.msg }
func (e *inUseError) Is(target error) bool { return target == ErrConflict }

func inUse(format string, args ...any) error { return &inUseError{fmt.Sprintf(format, args...)} }

// wrapUnlessInUse adds context to err, except to an inUseError, which
// already names the object.
func wrapUnlessInUse(err error, format string, args ...any) error {
	var iu *inUseError
	if err == nil || errors.As(err, &iu) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// constraintErr maps SQLite constraint violations to the sentinels: a
// duplicate key is a conflict, a dangling foreign key means the referenced
// object does not exist. Other errors pass through unchanged.
func constraintErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// checkID returns ErrInvalidID, naming what the id was for, unless id is a
// well-formed id with the given prefix.
func checkID(what, prefix, id string) error {
	if !ValidID(prefix, id) {
		return fmt.Errorf("%w: %s id %q", ErrInvalidID, what, id)
	}
	return nil
}

// checkOptionalID is checkID for references that may be absent.
func checkOptionalID(what, prefix, id string) error {
	if id == "" {
		return nil
	}
	return checkID(what, prefix, id)
}

// checkJSON rejects malformed JSON before it reaches a TEXT column, where
// nothing else would notice it until a client failed to decode a response.
func checkJSON(what string, raw json.RawMessage) error {
	if len(raw) > 0 && !json.Valid(raw) {
		return fmt.Errorf("%w: %s is not valid JSON", ErrInvalidArgument, what)
	}
	return nil
}

// checkFraction accepts progress values in [0, 1] (NaN fails both tests).
func checkFraction(what string, f float64) error {
	if !(f >= 0 && f <= 1) {
		return fmt.Errorf("%w: %s %v outside [0, 1]", ErrInvalidArgument, what, f)
	}
	return nil
}

func checkCount(what string, n int64) error {
	if n < 0 {
		return fmt.Errorf("%w: negative %s %d", ErrInvalidArgument, what, n)
	}
	return nil
}
