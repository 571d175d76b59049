/* Landlock: a second wall behind the mount namespace (and the only file
   wall in degraded mode). Read-only everywhere the rules name, writable
   only in the writable places. Best effort on the ABI: each newer right
   is handled only when the kernel knows it. */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "sandbox/sb.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* The ruleset attribute of ABI 6 (scoped); older kernels read a prefix
   of it, given its size. */
struct ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define RD (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_READ_DIR)
#define WR_V1 (LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)

int
sb_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

/* Add one rule for path; a path that does not exist is skipped. */
static int
add(int rs, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb;
	int fd, r;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	pb.allowed_access = access;
	pb.parent_fd = fd;
	r = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0);
	/* Only directories take directory rights: retry with the file
	   rights for a file. */
	if (r < 0 && errno == EINVAL) {
		pb.allowed_access = access & (LANDLOCK_ACCESS_FS_EXECUTE |
		    LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_TRUNCATE |
		    LANDLOCK_ACCESS_FS_IOCTL_DEV);
		r = syscall(SYS_landlock_add_rule, rs,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	}
	close(fd);
	return r < 0 ? -1 : 0;
}

int
sb_landlock_apply(const struct sb_plan *p)
{
	struct ll_attr attr = { 0, 0, 0 };
	uint64_t all, wr;
	size_t size = sizeof(uint64_t);
	int abi, rs, i, e;

	if ((abi = sb_landlock_abi()) <= 0)
		return -1;
	wr = WR_V1;
	if (abi >= 2)
		wr |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		wr |= LANDLOCK_ACCESS_FS_TRUNCATE;
	all = RD | wr;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	attr.handled_access_fs = all;
	/* Abstract unix sockets are not files: with the network shared
	   (network full, or degraded mode) they would reach the desktop's
	   (X11, D-Bus); and no signals to processes outside. */
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |
		    LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	/* Without namespaces nothing else keeps TCP off the host's network
	   (UDP stays open: Landlock does not cover it). */
	if (p->degraded && !p->conf->net_full && abi >= 4) {
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		    LANDLOCK_ACCESS_NET_CONNECT_TCP;
		if (size < 2 * sizeof(uint64_t))
			size = 2 * sizeof(uint64_t);
	}
	if ((rs = syscall(SYS_landlock_create_ruleset, &attr, size, 0)) < 0)
		return -1;
	for (i = 0; i < p->nro; i++)
		if (add(rs, p->ro[i], RD) < 0)
			goto fail;
	for (i = 0; i < p->nrw; i++)
		if (add(rs, p->rw[i], all) < 0)
			goto fail;
	/* Device nodes: read, write, and their ioctls; nothing made. */
	for (i = 0; i < p->ndev; i++)
		if (add(rs, p->dev[i], RD | LANDLOCK_ACCESS_FS_WRITE_FILE |
		    (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0) |
		    (abi >= 5 ? LANDLOCK_ACCESS_FS_IOCTL_DEV : 0)) < 0)
			goto fail;
	/* no_new_privs is already set: restrict_self needs it. */
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		goto fail;
	close(rs);
	return 0;
fail:
	e = errno;
	close(rs);
	errno = e;
	return -1;
}
