package db

import (
	"github.com/ncruces/go-sqlite3/vfs"
)

// walVFS is the operating system's VFS with one change for the SQLite
// writer: the frames a transaction appends to the write-ahead log are
// gathered in memory and written with one system call when SQLite syncs
// the log, instead of two calls per page (a frame header and its page).
// In the checkout benchmark those calls were a sixth of the writer's time.
//
// It is used only with synchronous=FULL, where SQLite syncs the log at
// every commit before it publishes the new frames to readers (in the
// shared WAL index); with NORMAL it would publish frames still held here.
// Anything else that looks at the file (a read, its size, a truncation,
// a size hint, closing it) writes the held frames first, so SQLite never
// sees the file without them.
type walVFS struct{ os vfs.VFSFilename }

const walVFSName = "omni-wal"

// walBufMax bounds the frames held between syncs (a large transaction
// writes in steps of this size).
const walBufMax = 4 << 20

func init() {
	vfs.Register(walVFSName, walVFS{os: vfs.Find("os").(vfs.VFSFilename)})
}

func (v walVFS) Open(name string, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	return v.os.Open(name, flags)
}

func (v walVFS) OpenFilename(name *vfs.Filename, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, out, err := v.os.OpenFilename(name, flags)
	if err != nil || flags&vfs.OPEN_WAL == 0 {
		return f, out, err
	}
	return &walFile{File: f}, out, nil
}

func (v walVFS) Delete(name string, syncDir bool) error { return v.os.Delete(name, syncDir) }

func (v walVFS) Access(name string, flags vfs.AccessFlag) (bool, error) {
	return v.os.Access(name, flags)
}

func (v walVFS) FullPathname(name string) (string, error) { return v.os.FullPathname(name) }

// walFile holds appended log frames until the next sync.
type walFile struct {
	vfs.File
	buf []byte // bytes not yet written, for the file from off on
	off int64
}

// The OS file's optional interfaces that matter for a log file.
var (
	_ vfs.FileSizeHint           = (*walFile)(nil)
	_ vfs.FilePowersafeOverwrite = (*walFile)(nil)
)

// WriteAt holds p when it continues the held bytes (or starts them);
// a write elsewhere first writes what is held, keeping the order of writes.
func (f *walFile) WriteAt(p []byte, off int64) (int, error) {
	if len(f.buf) > 0 && off != f.off+int64(len(f.buf)) {
		if err := f.flush(); err != nil {
			return 0, err
		}
	}
	if len(f.buf) == 0 {
		f.off = off
	}
	f.buf = append(f.buf, p...)
	if len(f.buf) >= walBufMax {
		if err := f.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes the held bytes. On failure they are dropped: SQLite has
// been told of an I/O error and rolls the transaction back.
func (f *walFile) flush() error {
	buf, off := f.buf, f.off
	f.buf = f.buf[:0]
	for len(buf) > 0 {
		n, err := f.File.WriteAt(buf, off)
		if err != nil {
			return err
		}
		buf, off = buf[n:], off+int64(n)
	}
	return nil
}

func (f *walFile) Sync(flags vfs.SyncFlag) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.Sync(flags)
}

func (f *walFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *walFile) Size() (int64, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (f *walFile) Truncate(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *walFile) Close() error {
	err := f.flush()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *walFile) SizeHint(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	if h, ok := f.File.(vfs.FileSizeHint); ok {
		return h.SizeHint(size)
	}
	return nil
}

func (f *walFile) PowersafeOverwrite() bool {
	p, ok := f.File.(vfs.FilePowersafeOverwrite)
	return ok && p.PowersafeOverwrite()
}

func (f *walFile) SetPowersafeOverwrite(psow bool) {
	if p, ok := f.File.(vfs.FilePowersafeOverwrite); ok {
		p.SetPowersafeOverwrite(psow)
	}
}
