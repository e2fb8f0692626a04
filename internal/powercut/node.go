package powercut

import (
	"context"
	"path/filepath"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
)

// node is go-fuse's loopback node over the written state, with fsync feeding the durable state.
type node struct {
	*fusefs.LoopbackNode
	fs *FS
}

var (
	_ fusefs.NodeWrapChilder    = (*node)(nil)
	_ fusefs.NodeFsyncer        = (*node)(nil)
	_ fusefs.NodeOpendirHandler = (*node)(nil)
	_ fusefs.NodeUnlinker       = (*node)(nil)
	_ fusefs.NodeRmdirer        = (*node)(nil)
	_ fusefs.NodeRenamer        = (*node)(nil)
)

// WrapChild makes every node go-fuse creates under the root a node of ours.
func (n *node) WrapChild(_ context.Context, ops fusefs.InodeEmbedder) fusefs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fusefs.LoopbackNode), fs: n.fs}
}

// Fsync serves fsync and fdatasync of files, and of directories (through dirHandle).
func (n *node) Fsync(_ context.Context, fh fusefs.FileHandle, _ uint32) syscall.Errno {
	fd := -1
	if p, ok := fh.(fusefs.FilePassthroughFder); ok {
		if d, ok := p.PassthroughFd(); ok {
			fd = d
		}
	}
	return n.fs.fsync(n.backingPath(""), fd)
}

// OpendirHandle wraps the loopback's directory handle, whose own Fsyncdir would bypass Fsync.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	stream, ok := fh.(dirStream)
	if !ok {
		return fh, fuseFlags, 0
	}
	return &dirHandle{dirStream: stream, node: n}, fuseFlags, 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.fs.removing(n.backingPath(name), func() syscall.Errno { return n.LoopbackNode.Unlink(ctx, name) })
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.fs.removing(n.backingPath(name), func() syscall.Errno { return n.LoopbackNode.Rmdir(ctx, name) })
}

func (n *node) Rename(
	ctx context.Context, name string, newParent fusefs.InodeEmbedder, newName string, flags uint32,
) syscall.Errno {
	rename := func() syscall.Errno { return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags) }
	target, ok := newParent.(*node)
	if !ok || flags&renameExchange != 0 {
		return rename() // nothing is removed
	}
	return n.fs.removing(target.backingPath(newName), rename)
}

// renameExchange is RENAME_EXCHANGE: both names stay.
const renameExchange = 0x2

// backingPath is the path in the written state of the node, or of its child name.
func (n *node) backingPath(name string) string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()), name)
}

// dirStream is what the loopback's directory handle serves.
type dirStream interface {
	fusefs.FileReaddirenter
	fusefs.FileSeekdirer
	fusefs.FileReleasedirer
}

// dirHandle is the loopback's directory handle with fsync going to Fsync.
type dirHandle struct {
	dirStream
	node *node
}

var _ fusefs.FileFsyncdirer = (*dirHandle)(nil)

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return d.node.Fsync(ctx, nil, flags)
}
