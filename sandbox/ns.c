/* The strict profile: a child in its own user, mount, pid, ipc, uts,
   cgroup and (unless the network is "full") net namespaces.

   Parent: clone with the namespace flags, write the uid/gid maps, let the
   child go, and wait on the close-on-exec error pipe: EOF means execve
   succeeded, a record means a step failed.

   Child, pid 1 of the new pid namespace: die with corral, make / private,
   open the bind sources, take the sandbox's identity, build a tmpfs root,
   pivot into it, bind what the plan lists, detach the old root, make /
   read-only, set the host name, bring lo up; then stay on as a small
   init that forks the server, forwards TERM/INT/HUP to it and exits with
   its status — which takes the whole namespace down with it. */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sb.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* Child: the read end of the sync pipe; the parent holds the write end
   until the spawn is over, so EOF or a hang-up means corral is gone. */
static int sync_rd = -1;
/* Child: our end of the channel that carries the proxy listener to
   corral, or -1 without a host list. */
static int proxy_wr = -1;
/* Init: the server's pid, for the signal forwarder. */
static volatile pid_t server_pid;

/* ---- child steps, in order ---- */

/* Give the child the pipes as 0, 1, 2 and close every other descriptor
   inherited from corral: init never execs, so close-on-exec would not
   help, and a copy of another child's stdin pipe held here would keep
   that child from ever seeing EOF. First, before any other step. */
static void
step_fds(int fds[6])
{
	int want[3] = { fds[0], fds[3], fds[5] }, keep[3], i, j, t, from;

	for (i = 0; i < 3; i++)
		if (want[i] < 3 &&
		    (want[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 3)) < 0)
			sb_fail("fcntl(F_DUPFD)");
	for (i = 0; i < 3; i++)
		if (dup2(want[i], i) < 0)
			sb_fail("dup2");
	/* Keep the error pipe, the sync pipe and the proxy channel (-1
	   when there is none), in ascending order. */
	keep[0] = sb_errfd;
	keep[1] = sync_rd;
	keep[2] = proxy_wr;
	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (from = 3, i = 0; i < 3; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from && close_range(from, keep[i] - 1, 0) < 0)
			sb_fail("close_range");
		from = keep[i] + 1;
	}
	if (close_range(from, ~0U, 0) < 0)
		sb_fail("close_range");
}

/* Die with corral. Set before waiting for the maps, so a corral that
   dies meanwhile is noticed either way (signal, or EOF below). */
static void
step_pdeathsig(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		sb_fail("prctl(PR_SET_PDEATHSIG)");
}

/* Wait until the parent has written the uid/gid maps. As pid 1 of a new
   pid namespace getppid() says 0, so the pipe tells whether corral is
   alive: EOF means it died before letting us go. */
static void
step_wait_maps(void)
{
	ssize_t n;
	char c;

	do
		n = read(sync_rd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127);
}

/* A corral that died after letting us go but before the death signal
   was (re)armed: its end of the pipe is closed. */
static void
step_parent_alive(void)
{
	struct pollfd pf = { sync_rd, POLLIN, 0 };

	if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR)))
		_exit(127);
}

/* Let the kernel's OOM killer take the sandbox before corral. Written
   while /proc/self is still the host's and ours to write. */
static void
step_oom(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "500", 3) != 3)
		sb_fail("oom_score_adj");
	close(fd);
}

/* Nothing mounted from here on may propagate back to the host: first
   mount step. */
static void
step_private(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		sb_fail_ns("make / private");
}

/* Open every bind source now, still with the identity corral had (as
   root: root's, which can walk into /root where a command may live), in
   this mount namespace (a descriptor from the parent's could not be
   bound here), and before the tmpfs root hides /tmp. Binding from the
   descriptors later means no path is looked up twice. */
static void
step_open_sources(struct sb_plan *p)
{
	struct sb_mount *m;
	int i;

	for (i = 0; i < p->nm; i++) {
		m = &p->m[i];
		if (m->kind == SB_BIND) {
			m->fd = open(m->src, O_PATH | O_CLOEXEC);
			if (m->fd < 0 && errno == ENOENT &&
			    (m->flags & SB_OPTIONAL))
				m->fd = -2;
			else if (m->fd < 0)
				sb_failf("open %s", m->src);
		} else if (m->kind == SB_HOME) {
			m->fd = sb_home_open(p->state, m->src, 0, p->root);
			if (m->fd < 0)
				sb_failf("home %s/%s", p->state, m->src);
		}
	}
}

/* As root: become SB_NOBODY inside and out, and drop root's
   supplementary groups (they would still open files on the host). The
   capabilities held in the new user namespace survive (uid 0 is not
   mapped in it), and the death signal, which a change of uid clears, is
   armed again. */
static void
step_identity(const struct sb_plan *p)
{
	if (!p->root)
		return;
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		sb_fail_ns("setgroups");
	if (syscall(SYS_setresgid, SB_NOBODY, SB_NOBODY, SB_NOBODY) < 0)
		sb_fail_ns("setresgid");
	if (syscall(SYS_setresuid, SB_NOBODY, SB_NOBODY, SB_NOBODY) < 0)
		sb_fail_ns("setresuid");
	step_pdeathsig();
	step_parent_alive();
}

/* A tmpfs on /tmp becomes the new root: pivot into it with the old root
   at /oldroot, where the host's /tmp shows again (the tmpfs no longer
   covers it), so grants under /tmp resolve. */
static void
step_root(void)
{
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=16m") < 0)
		sb_fail_ns("mount tmpfs root");
	if (mkdir("/tmp/oldroot", 0700) < 0)
		sb_fail_ns("mkdir /oldroot");
	if (syscall(SYS_pivot_root, "/tmp", "/tmp/oldroot") < 0)
		sb_fail_ns("pivot_root");
	if (chdir("/") < 0)
		sb_fail_ns("chdir /");
}

/* Create what is missing of path: parents as directories, path itself
   as a directory or an empty file to mount on. */
static void
mkpath(const char *path, int dir, mode_t mode)
{
	char buf[4096], *s;
	struct stat st;
	int fd, last;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		sb_failf("mkdir %s", path);
	}
	strcpy(buf, path);
	for (s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		last = *s == '\0';
		*s = '\0';
		if (lstat(buf, &st) < 0) {
			if (!last || dir) {
				if (mkdir(buf, last ? mode : 0755) < 0)
					sb_failf("mkdir %s", buf);
			} else {
				fd = open(buf, O_WRONLY | O_CREAT | O_EXCL |
				    O_NOFOLLOW | O_CLOEXEC, mode);
				if (fd < 0)
					sb_failf("create %s", buf);
				close(fd);
			}
		}
		if (last)
			break;
		*s = '/';
	}
}

/* Create the parents of path. */
static void
mkparents(const char *path)
{
	char buf[4096], *s;

	snprintf(buf, sizeof(buf), "%s", path);
	if ((s = strrchr(buf, '/')) != NULL && s != buf) {
		*s = '\0';
		mkpath(buf, 1, 0755);
	}
}

/* Mount a recursive copy of the tree at fd/path on dst with attr set
   on every mount in it (read-only, nosuid, nodev...). */
static void
bind_tree(int dfd, const char *path, const char *dst, unsigned attr)
{
	struct mount_attr a;
	int t;

	t = open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
	    AT_RECURSIVE | (path[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH));
	if (t < 0)
		sb_failf("bind %s", dst);
	memset(&a, 0, sizeof(a));
	a.attr_set = attr;
	if (mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a,
	    sizeof(a)) < 0)
		sb_failf("mount_setattr %s", dst);
	if (move_mount(t, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		sb_failf("move_mount %s", dst);
	close(t);
}

/* Inside a writable tree, keep the files other programs later run
   read-only (a mount point cannot be replaced either). Names missing or
   that are symlinks are left as they are. */
static void
protect(const char *tree)
{
	const char *base = strrchr(tree, '/');
	char path[4096];
	struct stat st;
	int i;

	for (i = 0; sb_protected[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", tree, sb_protected[i]);
		if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
			continue;
		bind_tree(AT_FDCWD, path, path, MOUNT_ATTR_RDONLY |
		    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	}
	/* A worktree's .git is a file naming the real one; the tree may
	   itself be a .git directory. */
	snprintf(path, sizeof(path), "%s/.git", tree);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		bind_tree(AT_FDCWD, path, path, MOUNT_ATTR_RDONLY |
		    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (base && strcmp(base, "/.git") == 0) {
		static const char *const in_git[] = { "hooks", "config" };

		for (i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s", tree, in_git[i]);
			if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
				continue;
			bind_tree(AT_FDCWD, path, path, MOUNT_ATTR_RDONLY |
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
		}
	}
}

static void
make_file(const struct sb_mount *m)
{
	size_t len = strlen(m->src);
	int fd;

	mkparents(m->dst);
	fd = open(m->dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, m->mode);
	if (fd < 0 || write(fd, m->src, len) != (ssize_t)len)
		sb_failf("write %s", m->dst);
	close(fd);
}

static void
make_tmpfs(const struct sb_mount *m)
{
	char opt[64];

	mkpath(m->dst, 1, 0755);
	snprintf(opt, sizeof(opt), "mode=%o,size=%zu", (unsigned)m->mode,
	    m->size);
	if (mount("tmpfs", m->dst, "tmpfs", MS_NOSUID | MS_NODEV |
	    ((m->flags & SB_NOEXEC) ? MS_NOEXEC : 0), opt) < 0)
		sb_failf("mount tmpfs %s", m->dst);
}

/* Build the tree the plan lists, in its order: parents before what is
   mounted inside them. The old root is still attached: a fresh /proc may
   only be mounted where a full one is already visible. */
static void
step_tree(const struct sb_plan *p)
{
	const struct sb_mount *m;
	struct stat st;
	unsigned attr;
	int i;

	for (i = 0; i < p->nm; i++) {
		m = &p->m[i];
		switch (m->kind) {
		case SB_BIND:
			if (m->fd == -2)
				break;
			if (fstat(m->fd, &st) < 0)
				sb_failf("stat %s", m->src);
			mkpath(m->dst, S_ISDIR(st.st_mode), 0755);
			attr = MOUNT_ATTR_NOSUID;
			if (m->flags & SB_RO)
				attr |= MOUNT_ATTR_RDONLY;
			if (!(m->flags & SB_DEV))
				attr |= MOUNT_ATTR_NODEV;
			else
				attr |= MOUNT_ATTR_NOEXEC;
			bind_tree(m->fd, "", m->dst, attr);
			if (m->flags & SB_PROTECT)
				protect(m->dst);
			break;
		case SB_HOME:
			mkpath(m->dst, 1, 0700);
			bind_tree(m->fd, "", m->dst, MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV);
			break;
		case SB_TMPFS:
			make_tmpfs(m);
			break;
		case SB_DIR:
			mkpath(m->dst, 1, m->mode);
			break;
		case SB_SYMLINK:
			mkparents(m->dst);
			if (symlink(m->src, m->dst) < 0)
				sb_failf("symlink %s", m->dst);
			break;
		case SB_FILE:
			make_file(m);
			break;
		case SB_PROC:
			mkpath(m->dst, 1, 0555);
			if (mount("proc", m->dst, "proc", MS_NOSUID | MS_NODEV |
			    MS_NOEXEC, NULL) < 0)
				sb_fail_ns("mount /proc");
			break;
		case SB_COVER:
			if (lstat(m->dst, &st) < 0 && errno == ENOENT &&
			    (m->flags & SB_OPTIONAL))
				break;
			bind_tree(AT_FDCWD, m->dst, m->dst, MOUNT_ATTR_RDONLY |
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    MOUNT_ATTR_NOEXEC);
			break;
		}
	}
	for (i = 0; i < p->nm; i++)
		if (p->m[i].fd >= 0) {
			close(p->m[i].fd);
			p->m[i].fd = -1;
		}
}

/* The host's tree goes away entirely: after this only what was bound is
   reachable. Then the root itself becomes read-only; the writable places
   are mounts of their own. */
static void
step_detach(void)
{
	if (umount2("/oldroot", MNT_DETACH) < 0)
		sb_fail_ns("umount /oldroot");
	if (rmdir("/oldroot") < 0)
		sb_fail_ns("rmdir /oldroot");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    MS_NOSUID | MS_NODEV, NULL) < 0)
		sb_fail_ns("remount / read-only");
}

/* The server sees corral-ALIAS, not the machine's name. */
static void
step_hostname(const struct sb_plan *p)
{
	if (sethostname(p->hostname, strlen(p->hostname)) < 0)
		sb_fail_ns("sethostname");
}

/* A new network namespace starts with lo down; servers that talk to
   themselves over 127.0.0.1 need it up. */
static void
step_lo(const struct sb_plan *p)
{
	struct ifreq ifr;
	int s;

	if (!p->netns)
		return;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		sb_fail_ns("socket for lo");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		sb_fail_ns("lo flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		sb_fail_ns("lo up");
	close(s);
}

/* A one-byte message with room for one descriptor: the proxy channel's
   only message. */
union fdmsg {
	struct cmsghdr h;
	char b[CMSG_SPACE(sizeof(int))];
};

static void
fdmsg_init(struct msghdr *msg, struct iovec *iov, char *c, union fdmsg *u)
{
	memset(msg, 0, sizeof(*msg));
	memset(u, 0, sizeof(*u));
	iov->iov_base = c;
	iov->iov_len = 1;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = u->b;
	msg->msg_controllen = sizeof(u->b);
}

/* With a host list: the proxy's listening socket, made here because
   only here is this namespace's 127.0.0.1; after lo is up (a bind on a
   down lo still works, but nothing could connect), before the server
   runs. corral gets it over the channel and accepts on its loop; our
   copy goes, so the server never holds it. */
static void
step_proxy(const struct sb_plan *p)
{
	struct sockaddr_in sin;
	union fdmsg u;
	struct msghdr msg;
	struct iovec iov;
	int s, one = 1;
	char c = 'p';

	if (!p->egress)
		return;
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		sb_fail("proxy socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(SB_PROXY_PORT);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		sb_fail("proxy bind 127.0.0.1");
	if (listen(s, 128) < 0)
		sb_fail("proxy listen");
	fdmsg_init(&msg, &iov, &c, &u);
	CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &s, sizeof(int));
	if (sendmsg(proxy_wr, &msg, MSG_NOSIGNAL) != 1)
		sb_fail("proxy hand-over");
	close(s);
	close(proxy_wr);
	proxy_wr = -1;
}

static void
forward(int sig)
{
	if (server_pid > 0)
		kill(server_pid, sig);
}

/* pid 1: fork the server, reap everything, forward TERM/INT/HUP to the
   server, and exit with its status; the kernel then kills whatever else
   is left in the namespace. */
static void __attribute__((noreturn))
run_init(const struct sb_plan *p)
{
	static const int fwd[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	sigset_t all, none;
	pid_t pid;
	int st, fd, i;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if ((pid = fork()) < 0)
		sb_fail("fork server");
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(sync_rd);
		sb_exec_server(p);
	}
	server_pid = pid;
	/* Only the server's copy of the error pipe is left: EOF at its
	   execve. */
	close(sb_errfd);
	close(sync_rd);
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < 3; i++)
		sigaction(fwd[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		pid = waitpid(-1, &st, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			_exit(127);
		if (pid == server_pid)
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st));
	}
}

/* The child of clone: every step in order; never returns. */
static void __attribute__((noreturn))
child(struct sb_plan *p, int fds[6])
{
	struct sigaction sa;
	sigset_t none;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	step_fds(fds);
	step_pdeathsig();
	step_wait_maps();
	step_parent_alive();
	step_oom();
	step_private();
	step_open_sources(p);
	step_identity(p);
	step_root();
	step_tree(p);
	step_detach();
	step_hostname(p);
	step_lo(p);
	step_proxy(p);
	run_init(p);
}

/* ---- parent ---- */

static int
write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Map the sandbox's ids. A normal user maps its own uid and gid 1:1 and
   must deny setgroups before writing gid_map; root maps SB_NOBODY to
   SB_NOBODY, so no id inside is root outside. */
static int
write_maps(const struct sb_plan *p, pid_t pid, struct sb_report *rep)
{
	char map[64];

	rep->ns = 1;
	if (!p->root && write_file(pid, "setgroups", "deny") < 0) {
		snprintf(rep->step, sizeof(rep->step), "setgroups deny");
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)p->uid,
	    (unsigned)p->uid);
	if (write_file(pid, "uid_map", map) < 0) {
		snprintf(rep->step, sizeof(rep->step), "uid_map");
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)p->gid,
	    (unsigned)p->gid);
	if (write_file(pid, "gid_map", map) < 0) {
		snprintf(rep->step, sizeof(rep->step), "gid_map");
		return -1;
	}
	return 0;
}

/* The proxy listener the child sent before its server's execve: it is
   queued on the channel by now. Returns the descriptor or -1. */
static int
recv_proxy(int ch)
{
	union fdmsg u;
	struct cmsghdr *cm;
	struct msghdr msg;
	struct iovec iov;
	int fd = -1;
	char c;

	fdmsg_init(&msg, &iov, &c, &u);
	if (recvmsg(ch, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd >= 0 && fd_nonblock(fd) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
sb_ns_spawn(struct sb_plan *p, int fds[6], struct sandbox_proc *pr,
    struct sb_report *rep)
{
	int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	int ep[2] = { -1, -1 }, sp[2] = { -1, -1 }, xp[2] = { -1, -1 }, st;
	sigset_t all, old;
	ssize_t n;
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	if (p->netns)
		flags |= CLONE_NEWNET;
	if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(sp, O_CLOEXEC) < 0 ||
	    (p->egress && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    xp) < 0)) {
		rep->err = errno;
		snprintf(rep->step, sizeof(rep->step), "pipe");
		goto fail;
	}
	/* No handler of corral's may run in the child. corral has no
	   threads, so a raw clone is as safe as fork. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		sb_errfd = ep[1];
		sync_rd = sp[0];
		proxy_wr = xp[1];
		child(p, fds);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		rep->err = errno;
		rep->ns = 1;
		snprintf(rep->step, sizeof(rep->step), "clone");
		goto fail;
	}
	close(ep[1]);
	close(sp[0]);
	ep[1] = sp[0] = -1;
	if (xp[1] >= 0) {
		close(xp[1]);
		xp[1] = -1;
	}
	if (write_maps(p, pid, rep) < 0) {
		rep->err = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	/* Limits in place before anything of the server's runs. */
	sb_cgroup_attach(p, pid);
	if (write(sp[1], "g", 1) != 1) {
		rep->err = errno;
		snprintf(rep->step, sizeof(rep->step), "sync");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	do
		n = read(ep[0], rep, sizeof(*rep));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		rep->step[sizeof(rep->step) - 1] = '\0';
		if (n != sizeof(*rep)) {
			rep->err = EIO;
			snprintf(rep->step, sizeof(rep->step), "error pipe");
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	close(ep[0]);
	close(sp[1]);
	ep[0] = sp[1] = -1;
	pr->pid = pid;
	pr->group = 0;
	if (p->egress && (pr->proxy = recv_proxy(xp[0])) < 0) {
		rep->err = EPROTO;
		snprintf(rep->step, sizeof(rep->step), "proxy hand-over");
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	if (xp[0] >= 0)
		close(xp[0]);
	return 0;
fail:
	if (xp[0] >= 0)
		close(xp[0]);
	if (xp[1] >= 0)
		close(xp[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	return -1;
}
