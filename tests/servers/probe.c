/*
 * probe — an MCP server that checks, from inside corral's sandbox, every
 * point of SANDBOX.md's "What must be proven" list.  Tool "probe" runs
 * them all and answers one line per check: "ok NAME" or
 * "FAIL NAME: detail".  Each denied system call is made with harmless
 * arguments for which the kernel itself would answer differently, so an
 * EPERM (or ENOSYS, EAFNOSUPPORT) can only come from the filter.
 *
 * probe arguments (all optional):
 *   home      the user's real home (its .ssh must be invisible)
 *   port      a TCP port listening on the host's 127.0.0.1
 *   abstract  the name of an abstract unix socket listening on the host
 *   secret    a root-owned 0600 file that must stay unreadable
 *   hostname  the expected host name (corral-ALIAS)
 *   uid       the expected uid inside
 *   net       "none" (default) or "full"
 *   nofile nproc data fsize memlock   expected limits (defaults: strict)
 *   env       comma-separated extra variable names allowed in environ
 *
 * Other tools, one check each for the bats tests: write {path} (create,
 * write, close), read {path}, stat {path}, connect {port | abstract},
 * spawn {marker} (leave a sleeping child named marker), forkbomb {nproc},
 * env {name}, run {cmd} (sh -c cmd; "exit N" and its output).
 */
#include "tests/servers/fakelib.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/sched.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/* Descriptors above 2 found at start, before fakelib opened anything. */
static char start_fds[256];

/* The report being built. */
static char *out;
static size_t outlen;

static void
add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
add(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	out = realloc(out, outlen + n + 2);
	memcpy(out + outlen, line, n);
	outlen += n;
	out[outlen++] = '\n';
	out[outlen] = '\0';
}

static void
ok(const char *name)
{
	add("ok %s", name);
}

/* Expect result r with errno want (r == -1). */
static void
expect_errno(const char *name, long r, int e, int want)
{
	if (r == -1 && e == want)
		ok(name);
	else if (r == -1)
		add("FAIL %s: errno %d (%s), want %d (%s)", name, e,
		    strerror(e), want, strerror(want));
	else
		add("FAIL %s: returned %ld, want errno %d (%s)", name, r,
		    want, strerror(want));
}

#define DENY(name, want, call) do {					\
	long r_;							\
	errno = 0;							\
	r_ = (call);							\
	expect_errno(name, r_, errno, want);				\
} while (0)

/* ---- seccomp ---- */

static void
check_syscalls(void)
{
	static const unsigned long nsf[] = { CLONE_NEWNS, CLONE_NEWUTS,
	    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	    CLONE_NEWCGROUP };
	static const char *const nsn[] = { "newns", "newuts", "newipc",
	    "newuser", "newpid", "newnet", "newcgroup" };
	char name[64];
	size_t i;
	int p[2];

	/* unshare(0) succeeds unfiltered; setns(-1) says EBADF; an invalid
	   flag pair says EINVAL; a bad pointer says EFAULT. */
	DENY("deny unshare", EPERM, syscall(SYS_unshare, 0));
	DENY("deny setns", EPERM, syscall(SYS_setns, -1, 0));
	for (i = 0; i < sizeof(nsf) / sizeof(nsf[0]); i++) {
		snprintf(name, sizeof(name), "deny clone %s", nsn[i]);
		/* CLONE_FS with a new user or mount namespace is EINVAL;
		   the filter must answer first. */
		DENY(name, EPERM, syscall(SYS_clone, nsf[i] | CLONE_FS |
		    CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
	}
	DENY("deny clone newns high bits", EPERM, syscall(SYS_clone,
	    (0xffULL << 32) | CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
	DENY("deny mount", EPERM, syscall(SYS_mount, (void *)1, (void *)1,
	    (void *)1, 0, (void *)1));
	DENY("deny umount2", EPERM, syscall(SYS_umount2, "/", 0x80000000));
	DENY("deny pivot_root", EPERM, syscall(SYS_pivot_root, (void *)1,
	    (void *)1));
	DENY("deny chroot", EPERM, syscall(SYS_chroot, (void *)1));
	DENY("deny open_tree", EPERM, syscall(SYS_open_tree, -1, "", ~0U));
	DENY("deny move_mount", EPERM, syscall(SYS_move_mount, -1, "", -1,
	    "", ~0U));
	DENY("deny fsopen", EPERM, syscall(SYS_fsopen, (void *)1, ~0U));
	DENY("deny fsconfig", EPERM, syscall(SYS_fsconfig, -1, 0, 0, 0, 0));
	DENY("deny fsmount", EPERM, syscall(SYS_fsmount, -1, ~0U, 0));
	DENY("deny fspick", EPERM, syscall(SYS_fspick, -1, "", ~0U));
	DENY("deny mount_setattr", EPERM, syscall(SYS_mount_setattr, -1, "",
	    ~0U, (void *)1, 0));
	DENY("deny keyctl", EPERM, syscall(SYS_keyctl, 0x7fffffff, 0, 0, 0,
	    0));
	DENY("deny add_key", EPERM, syscall(SYS_add_key, (void *)1,
	    (void *)1, (void *)1, 0, 0));
	DENY("deny request_key", EPERM, syscall(SYS_request_key, (void *)1,
	    (void *)1, (void *)1, 0));
	DENY("deny bpf", EPERM, syscall(SYS_bpf, -1, (void *)1, 0));
	DENY("deny userfaultfd", EPERM, syscall(SYS_userfaultfd, ~0U));
	DENY("deny perf_event_open", EPERM, syscall(SYS_perf_event_open,
	    (void *)1, 0, -1, -1, 0));
	DENY("deny ptrace", EPERM, syscall(SYS_ptrace, -1L, 0, 0, 0));
	DENY("deny process_vm_readv", EPERM, syscall(SYS_process_vm_readv,
	    getpid(), NULL, 0, NULL, 0, 0));
	DENY("deny process_vm_writev", EPERM, syscall(SYS_process_vm_writev,
	    getpid(), NULL, 0, NULL, 0, 0));
	DENY("deny kcmp", EPERM, syscall(SYS_kcmp, getpid(), getpid(), 0, 0,
	    0));
	DENY("deny pidfd_getfd", EPERM, syscall(SYS_pidfd_getfd, -1, 0, 0));
	DENY("deny init_module", EPERM, syscall(SYS_init_module, NULL, 0,
	    ""));
	DENY("deny finit_module", EPERM, syscall(SYS_finit_module, -1, "",
	    0));
	DENY("deny delete_module", EPERM, syscall(SYS_delete_module,
	    "corral-none", 0));
	DENY("deny kexec_load", EPERM, syscall(SYS_kexec_load, 0, 0, NULL,
	    0));
	DENY("deny kexec_file_load", EPERM, syscall(SYS_kexec_file_load, -1,
	    -1, 0, "", 0));
	DENY("deny reboot", EPERM, syscall(SYS_reboot, 0, 0, 0, NULL));
	DENY("deny swapon", EPERM, syscall(SYS_swapon, (void *)1, 0));
	DENY("deny swapoff", EPERM, syscall(SYS_swapoff, (void *)1));
	/* syslog(10): the buffer's size, readable by anyone by default. */
	DENY("deny syslog", EPERM, syscall(SYS_syslog, 10, NULL, 0));
	DENY("deny acct", EPERM, syscall(SYS_acct, (void *)1));
	DENY("deny settimeofday", EPERM, syscall(SYS_settimeofday, NULL,
	    NULL));
	DENY("deny clock_settime", EPERM, syscall(SYS_clock_settime, 1,
	    (void *)1));
	DENY("deny clock_adjtime", EPERM, syscall(SYS_clock_adjtime, 0,
	    (void *)1));
	DENY("deny adjtimex", EPERM, syscall(SYS_adjtimex, (void *)1));
	DENY("deny quotactl", EPERM, syscall(SYS_quotactl, 0, (void *)1, 0,
	    NULL));
	DENY("deny quotactl_fd", EPERM, syscall(SYS_quotactl_fd, -1, 0, 0,
	    NULL));
	DENY("deny open_by_handle_at", EPERM, syscall(SYS_open_by_handle_at,
	    -1, (void *)1, 0));
	DENY("deny name_to_handle_at", EPERM, syscall(SYS_name_to_handle_at,
	    -1, (void *)1, (void *)1, (void *)1, 0));
	DENY("deny fanotify_init", EPERM, syscall(SYS_fanotify_init, ~0U, 0));
	DENY("deny mbind", EPERM, syscall(SYS_mbind, NULL, 0, 0, NULL, 0, 0));
	DENY("deny set_mempolicy", EPERM, syscall(SYS_set_mempolicy, 0, NULL,
	    0));
	DENY("deny migrate_pages", EPERM, syscall(SYS_migrate_pages, 0, 0,
	    NULL, NULL));
	DENY("deny move_pages", EPERM, syscall(SYS_move_pages, 0, 0, NULL,
	    NULL, NULL, 0));
	DENY("deny set_mempolicy_home_node", EPERM,
	    syscall(SYS_set_mempolicy_home_node, 0, 0, 0, 0));
#ifdef SYS_modify_ldt
	DENY("deny modify_ldt", EPERM, syscall(SYS_modify_ldt, 0, NULL, 0));
#endif
#ifdef SYS_iopl
	DENY("deny iopl", EPERM, syscall(SYS_iopl, 0));
#endif
#ifdef SYS_ioperm
	DENY("deny ioperm", EPERM, syscall(SYS_ioperm, 0, 0, 0));
#endif
	DENY("enosys clone3", ENOSYS, syscall(SYS_clone3, NULL, 0));
	DENY("enosys io_uring_setup", ENOSYS, syscall(SYS_io_uring_setup, 0,
	    NULL));
	DENY("enosys io_uring_enter", ENOSYS, syscall(SYS_io_uring_enter, -1,
	    0, 0, 0, NULL, 0));
	DENY("enosys io_uring_register", ENOSYS,
	    syscall(SYS_io_uring_register, -1, 0, NULL, 0));
	/* personality: the query and PER_LINUX pass, others do not. */
	errno = 0;
	if (syscall(SYS_personality, 0xffffffffUL) == -1)
		add("FAIL personality query: %s", strerror(errno));
	else
		ok("personality query");
	DENY("deny personality ADDR_NO_RANDOMIZE", EPERM,
	    syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE));
	DENY("deny personality READ_IMPLIES_EXEC", EPERM,
	    syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC));
	/* Sockets: only unix, inet, inet6 and netlink. */
	DENY("deny socket AF_VSOCK", EAFNOSUPPORT, syscall(SYS_socket,
	    AF_VSOCK, SOCK_STREAM, 0));
	DENY("deny socket AF_PACKET", EAFNOSUPPORT, syscall(SYS_socket,
	    AF_PACKET, SOCK_RAW, 0));
	DENY("deny socket AF_VSOCK high bits", EAFNOSUPPORT,
	    syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0));
	errno = 0;
	if ((p[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		add("FAIL socket AF_UNIX allowed: %s", strerror(errno));
	} else {
		close(p[0]);
		ok("socket AF_UNIX allowed");
	}
}

/* TIOCSTI and TIOCLINUX, with and without high bits in the request: on
   a pty if one can be had, else on a pipe (which the kernel would
   answer ENOTTY). */
static void
check_tiocsti(void)
{
	char c = 'x';
	int fd, p[2] = { -1, -1 };

	fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			add("FAIL tiocsti: pipe: %s", strerror(errno));
			return;
		}
		fd = p[0];
	}
	DENY("deny ioctl TIOCSTI", EPERM, syscall(SYS_ioctl, fd,
	    (unsigned long)TIOCSTI, &c));
	DENY("deny ioctl TIOCSTI|1<<32", EPERM, syscall(SYS_ioctl, fd,
	    (1UL << 32) | TIOCSTI, &c));
	DENY("deny ioctl TIOCLINUX", EPERM, syscall(SYS_ioctl, fd,
	    (unsigned long)TIOCLINUX, &c));
	close(fd);
	if (p[1] >= 0)
		close(p[1]);
}

/* Run fn in a child; ok when the child dies of SIGSYS. */
static void
expect_sigsys(const char *name, void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		add("FAIL %s: fork: %s", name, strerror(errno));
		return;
	}
	if (pid == 0) {
		fn();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		ok(name);
	else if (WIFSIGNALED(st))
		add("FAIL %s: killed by signal %d", name, WTERMSIG(st));
	else
		add("FAIL %s: survived (status %d)", name, WEXITSTATUS(st));
}

#if defined(__x86_64__)
static void
do_int80(void)
{
	long r = 20;	/* getpid on i386 */

	__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
}

static void
do_x32(void)
{
	syscall(0x40000000 | SYS_getpid);
}
#endif

static void
check_kill_arches(void)
{
#if defined(__x86_64__)
	expect_sigsys("kill int 0x80", do_int80);
	expect_sigsys("kill x32", do_x32);
#else
	ok("kill int 0x80 (not x86-64)");
	ok("kill x32 (not x86-64)");
#endif
}

/* ---- /proc/self/status ---- */

static void
check_status(void)
{
	static const char *const zero[] = { "CapInh:", "CapPrm:", "CapEff:",
	    "CapBnd:", "CapAmb:", NULL };
	char line[256];
	int i, seen[5] = { 0 }, nnp = -1, sec = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL) {
		add("FAIL status: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; zero[i]; i++)
			if (strncmp(line, zero[i], strlen(zero[i])) == 0) {
				seen[i] = 1;
				if (strtoull(line + strlen(zero[i]), NULL,
				    16) != 0)
					seen[i] = 2;
			}
		if (strncmp(line, "NoNewPrivs:", 11) == 0)
			nnp = atoi(line + 11);
		if (strncmp(line, "Seccomp:", 8) == 0)
			sec = atoi(line + 8);
	}
	fclose(f);
	for (i = 0; zero[i]; i++) {
		if (seen[i] == 1)
			add("ok %.6s zero", zero[i]);
		else
			add("FAIL %.6s zero: %s", zero[i],
			    seen[i] ? "not zero" : "missing");
	}
	if (nnp == 1)
		ok("NoNewPrivs 1");
	else
		add("FAIL NoNewPrivs 1: %d", nnp);
	if (sec == 2)
		ok("Seccomp 2");
	else
		add("FAIL Seccomp 2: %d", sec);
}

/* ---- files ---- */

static void
expect_create(const char *name, const char *path, int want)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int e = errno;

	if (fd >= 0) {
		close(fd);
		unlink(path);
		if (want == 0)
			ok(name);
		else
			add("FAIL %s: created %s", name, path);
		return;
	}
	if (e == want)
		ok(name);
	else
		add("FAIL %s: %s: %s", name, path, strerror(e));
}

static void
expect_absent(const char *name, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		add("FAIL %s: %s is visible", name, path);
	else if (errno != ENOENT)
		add("FAIL %s: %s: %s", name, path, strerror(errno));
	else
		ok(name);
}

static void
check_files(const cJSON *args)
{
	const char *home = fake_str(args, "home");
	const char *secret = fake_str(args, "secret");
	const char *h = getenv("HOME");
	char path[4096];
	int fd;

	expect_create("read-only /", "/corral-probe", EROFS);
	expect_create("read-only /usr", "/usr/corral-probe", EROFS);
	expect_create("read-only /etc", "/etc/corral-probe", EROFS);
	snprintf(path, sizeof(path), "%s/.corral-probe", h ? h : "/nonexistent");
	expect_create("writable HOME", path, 0);
	expect_create("writable /tmp", "/tmp/corral-probe", 0);
	expect_create("writable /dev/shm", "/dev/shm/corral-probe", 0);
	if (home) {
		snprintf(path, sizeof(path), "%s/.ssh", home);
		expect_absent("invisible ~/.ssh", path);
	}
	expect_absent("invisible /root", "/root");
	expect_absent("invisible /run/user", "/run/user");
	expect_absent("invisible /sys", "/sys");
	expect_absent("invisible /var/run/docker.sock",
	    "/var/run/docker.sock");
	expect_absent("invisible /tmp/.X11-unix", "/tmp/.X11-unix");
	if (secret) {
		fd = open(secret, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			add("FAIL secret unreadable: %s opened", secret);
		} else if (errno == EACCES) {
			ok("secret unreadable");
		} else {
			add("FAIL secret unreadable: %s: %s (want EACCES; "
			    "is it granted?)", secret, strerror(errno));
		}
	}
	/* /proc's dangerous corners are read-only. */
	fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		add("FAIL read-only /proc/sysrq-trigger: opened for writing");
	} else if (errno == EROFS || errno == EACCES || errno == ENOENT) {
		/* ENOENT: a kernel without magic SysRq. */
		ok("read-only /proc/sysrq-trigger");
	} else {
		add("FAIL read-only /proc/sysrq-trigger: %s", strerror(errno));
	}
	fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		add("FAIL read-only /proc/sys: opened for writing");
	} else if (errno == EROFS || errno == EACCES) {
		ok("read-only /proc/sys");
	} else {
		add("FAIL read-only /proc/sys: %s", strerror(errno));
	}
}

/* Landlock is on when the kernel has it: /proc/self/comm is writable
   by its owner and on a read-write mount, so only Landlock says no. */
static void
check_landlock(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL);
	int fd;

	if (abi <= 0) {
		ok("landlock (kernel has none)");
		return;
	}
	fd = open("/proc/self/comm", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		add("FAIL landlock: /proc/self/comm opened for writing");
	} else if (errno == EACCES) {
		ok("landlock");
	} else {
		add("FAIL landlock: %s", strerror(errno));
	}
}

/* Only /dev's own nodes, links and shm. */
static void
check_dev(void)
{
	static const char *const want = " . .. null zero full random urandom "
	    "fd stdin stdout stderr shm ";
	char key[300];
	struct dirent *d;
	DIR *dir = opendir("/dev");
	int bad = 0, fd;

	if (dir == NULL) {
		add("FAIL /dev: %s", strerror(errno));
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		snprintf(key, sizeof(key), " %s ", d->d_name);
		if (strstr(want, key) == NULL) {
			add("FAIL /dev minimal: %s", d->d_name);
			bad = 1;
		}
	}
	closedir(dir);
	if (!bad)
		ok("/dev minimal");
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1)
		add("FAIL /dev/null writable: %s", strerror(errno));
	else
		ok("/dev/null writable");
	if (fd >= 0)
		close(fd);
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, key, 8) != 8)
		add("FAIL /dev/urandom readable: %s", strerror(errno));
	else
		ok("/dev/urandom readable");
	if (fd >= 0)
		close(fd);
}

/* Every mount is nosuid. */
static void
check_mounts(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int bad = 0, n = 0;

	if (f == NULL) {
		add("FAIL nosuid everywhere: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char mp[1024], opts[1024];

		n++;
		if (sscanf(line, "%*s %*s %*s %*s %1023s %1023s", mp,
		    opts) != 2)
			continue;
		if (strstr(opts, "nosuid") == NULL) {
			add("FAIL nosuid everywhere: %s (%s)", mp, opts);
			bad = 1;
		}
	}
	fclose(f);
	if (!bad && n > 0)
		ok("nosuid everywhere");
}

/* ---- processes ---- */

static void
check_pids(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc");
	char seen[512] = "";
	int bad = 0;
	long me = getpid(), pid;

	if (dir == NULL) {
		add("FAIL no other process: %s", strerror(errno));
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		pid = atol(d->d_name);
		if (pid != 1 && pid != me) {
			bad = 1;
			if (strlen(seen) < 400) {
				strcat(seen, " ");
				strcat(seen, d->d_name);
			}
		}
	}
	closedir(dir);
	if (bad)
		add("FAIL no other process: visible:%s", seen);
	else if (me == 2)
		ok("no other process");
	else
		add("FAIL no other process: my pid is %ld, want 2", me);
}

static void
check_session(void)
{
	int fd;

	if (getsid(0) == getpid())
		ok("own session");
	else
		add("FAIL own session: sid %d", (int)getsid(0));
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		add("FAIL no controlling terminal: /dev/tty opened");
	} else {
		ok("no controlling terminal");
	}
}

/* ---- network ---- */

static int
connect_tcp(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r, e;

	if (s < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = connect(s, (struct sockaddr *)&a, sizeof(a));
	e = errno;
	close(s);
	errno = e;
	return r;
}

static int
connect_abstract(const char *name)
{
	struct sockaddr_un a;
	size_t n = strlen(name);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r, e;

	if (s < 0)
		return -1;
	if (n > sizeof(a.sun_path) - 1)
		n = sizeof(a.sun_path) - 1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path + 1, name, n);
	r = connect(s, (struct sockaddr *)&a,
	    offsetof(struct sockaddr_un, sun_path) + 1 + n);
	e = errno;
	close(s);
	errno = e;
	return r;
}

static void
check_net(const cJSON *args)
{
	const char *net = fake_str(args, "net");
	const char *abs = fake_str(args, "abstract");
	int port = (int)fake_num(args, "port", 0);
	int full = net && strcmp(net, "full") == 0;
	struct if_nameindex *ifs, *i;
	int others = 0, r;

	if (!full) {
		if ((ifs = if_nameindex()) != NULL) {
			for (i = ifs; i->if_index; i++)
				if (strcmp(i->if_name, "lo") != 0)
					others++;
			if_freenameindex(ifs);
		}
		if (others)
			add("FAIL only lo: %d other interfaces", others);
		else
			ok("only lo");
	}
	if (port > 0) {
		r = connect_tcp(port);
		if (full && r == 0)
			ok("host 127.0.0.1 reachable (network full)");
		else if (full)
			add("FAIL host 127.0.0.1 reachable (network full): %s",
			    strerror(errno));
		else if (r == 0)
			add("FAIL host 127.0.0.1 unreachable: connected to "
			    "port %d", port);
		else if (errno == ECONNREFUSED)
			ok("host 127.0.0.1 unreachable (lo up)");
		else
			add("FAIL host 127.0.0.1 unreachable (lo up): %s",
			    strerror(errno));
	}
	if (abs) {
		r = connect_abstract(abs);
		if (r == 0)
			add("FAIL host abstract socket unreachable: connected "
			    "to @%s", abs);
		else if (errno == ECONNREFUSED || errno == EPERM)
			ok("host abstract socket unreachable");
		else
			add("FAIL host abstract socket unreachable: %s",
			    strerror(errno));
	}
}

/* ---- identity, limits, environment ---- */

static void
check_identity(const cJSON *args)
{
	const char *want = fake_str(args, "hostname");
	char host[256];
	int uid = (int)fake_num(args, "uid", -1);

	if (getuid() == 0 || geteuid() == 0 || getgid() == 0)
		add("FAIL not root: uid %d gid %d", (int)getuid(),
		    (int)getgid());
	else
		ok("not root");
	if (uid >= 0) {
		if ((int)getuid() == uid)
			ok("uid");
		else
			add("FAIL uid: %d, want %d", (int)getuid(), uid);
	}
	if (want) {
		if (gethostname(host, sizeof(host)) == 0 &&
		    strcmp(host, want) == 0)
			ok("hostname");
		else
			add("FAIL hostname: %s, want %s", host, want);
	}
}

static void
check_limits(const cJSON *args)
{
	static const struct {
		int res;
		const char *name;
		double def;
	} l[] = {
		{ RLIMIT_NOFILE, "nofile", 4096 },
		{ RLIMIT_NPROC, "nproc", 512 },
		{ RLIMIT_CORE, "core", 0 },
		{ RLIMIT_DATA, "data", 4294967296.0 },
		{ RLIMIT_FSIZE, "fsize", 4294967296.0 },
		{ RLIMIT_MEMLOCK, "memlock", 65536 },
	};
	struct rlimit r;
	size_t i;
	double want;

	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		want = fake_num(args, l[i].name, l[i].def);
		if (getrlimit(l[i].res, &r) < 0)
			add("FAIL rlimit %s: %s", l[i].name, strerror(errno));
		else if ((double)r.rlim_cur != want ||
		    (double)r.rlim_max != want)
			add("FAIL rlimit %s: %llu/%llu, want %.0f", l[i].name,
			    (unsigned long long)r.rlim_cur,
			    (unsigned long long)r.rlim_max, want);
		else
			add("ok rlimit %s", l[i].name);
	}
	if (getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur == RLIM_INFINITY)
		ok("rlimit as unlimited");
	else
		add("FAIL rlimit as unlimited");
}

static void
check_oom(void)
{
	char buf[32] = "";
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n > 0 && atoi(buf) >= 500)
		ok("oom_score_adj raised");
	else
		add("FAIL oom_score_adj raised: %s", n > 0 ? buf : "unread");
}

static void
check_env(const cJSON *args)
{
	static const char *const allowed[] = { "PATH", "HOME", "USER", "LANG",
	    "TZ", "TERM", "TMPDIR", NULL };
	const char *extra = fake_str(args, "env");
	const char *t = getenv("TERM"), *d = getenv("TMPDIR");
	char name[256], key[260];
	int i, k, bad = 0;

	for (i = 0; environ[i]; i++) {
		size_t l = strcspn(environ[i], "=");

		snprintf(name, sizeof(name), "%.*s", (int)l, environ[i]);
		for (k = 0; allowed[k]; k++)
			if (strcmp(name, allowed[k]) == 0)
				break;
		if (allowed[k] || strncmp(name, "LC_", 3) == 0)
			continue;
		snprintf(key, sizeof(key), ",%s,", name);
		if (extra) {
			char list[1024];

			snprintf(list, sizeof(list), ",%s,", extra);
			if (strstr(list, key))
				continue;
		}
		add("FAIL environment allow-list: %s", name);
		bad = 1;
	}
	if (!bad)
		ok("environment allow-list");
	if (t && strcmp(t, "dumb") == 0)
		ok("TERM dumb");
	else
		add("FAIL TERM dumb: %s", t ? t : "unset");
	if (d && strcmp(d, "/tmp") == 0)
		ok("TMPDIR /tmp");
	else
		add("FAIL TMPDIR /tmp: %s", d ? d : "unset");
}

static void
check_fds(void)
{
	if (start_fds[0] == '\0')
		ok("no leaked descriptors");
	else
		add("FAIL no leaked descriptors:%s", start_fds);
}

/* Fork until the kernel says EAGAIN, then kill them all. */
static int
forkbomb(int limit, char *detail, size_t dlen)
{
	int cap = limit + 64, n = 0, i, e = 0;
	pid_t *kids = calloc(cap, sizeof(pid_t)), pid;

	if (kids == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			e = -1;
			break;
		}
		pid = fork();
		if (pid == 0) {
			for (;;)
				pause();
		}
		if (pid < 0) {
			e = errno;
			break;
		}
		kids[n++] = pid;
	}
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	if (e == -1) {
		snprintf(detail, dlen, "%d processes and no limit", n);
		return -1;
	}
	if (e != EAGAIN) {
		snprintf(detail, dlen, "fork: %s after %d", strerror(e), n);
		return -1;
	}
	if (n >= limit) {
		snprintf(detail, dlen, "%d processes, limit %d", n, limit);
		return -1;
	}
	snprintf(detail, dlen, "stopped at %d", n);
	return n;
}

static void
check_forkbomb(const cJSON *args)
{
	char d[128];
	int lim = (int)fake_num(args, "nproc", 512);

	if (forkbomb(lim, d, sizeof(d)) < 0)
		add("FAIL fork bomb stops at nproc: %s", d);
	else
		ok("fork bomb stops at nproc");
}

/* ---- tools ---- */

static void
tool_probe(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	free(out);
	out = NULL;
	outlen = 0;
	check_fds();
	check_pids();
	check_syscalls();
	check_tiocsti();
	check_kill_arches();
	check_status();
	check_landlock();
	check_files(args);
	check_dev();
	check_mounts();
	check_session();
	check_net(args);
	check_identity(args);
	check_limits(args);
	check_oom();
	check_env(args);
	check_forkbomb(args);
	if (outlen && out[outlen - 1] == '\n')
		out[--outlen] = '\0';
	fake_result(id, fake_text(out ? out : ""));
}

static void
tool_write(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *path = fake_str(args, "path");
	int fd;

	(void)params;
	fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644) : -1;
	if (fd < 0 || write(fd, "probe\n", 6) != 6) {
		fake_result(id, fake_textf("error %s", strerror(errno)));
	} else {
		fake_result(id, fake_text("written"));
	}
	if (fd >= 0)
		close(fd);
}

static void
tool_read(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *path = fake_str(args, "path");
	char buf[4096];
	ssize_t n;
	int fd;

	(void)params;
	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		fake_result(id, fake_textf("error %s", strerror(errno)));
	} else {
		buf[n] = '\0';
		fake_result(id, fake_text(buf));
	}
	if (fd >= 0)
		close(fd);
}

static void
tool_stat(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *path = fake_str(args, "path");
	struct stat st;

	(void)params;
	if (path == NULL || lstat(path, &st) < 0)
		fake_result(id, fake_textf("error %s", strerror(errno)));
	else
		fake_result(id, fake_textf("%s uid %d mode %o",
		    S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ?
		    "link" : "file", (int)st.st_uid,
		    (unsigned)(st.st_mode & 07777)));
}

static void
tool_connect(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *abs = fake_str(args, "abstract");
	int port = (int)fake_num(args, "port", 0), r;

	(void)params;
	r = abs ? connect_abstract(abs) : connect_tcp(port);
	fake_result(id, r == 0 ? fake_text("connected") :
	    fake_textf("error %s", strerror(errno)));
}

/* Leave a child that sleeps under the name marker, for the test that
   kills corral and looks for leftovers. */
static void
tool_spawn(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *marker = fake_str(args, "marker");
	pid_t pid;

	(void)params;
	if (marker == NULL) {
		fake_result(id, fake_text("error no marker"));
		return;
	}
	pid = fork();
	if (pid == 0) {
		/* Its own session, so only the pid namespace can end it. */
		setsid();
		execl("/bin/sleep", marker, "1000", (char *)NULL);
		_exit(127);
	}
	fake_result(id, pid > 0 ? fake_textf("spawned %d", (int)pid) :
	    fake_textf("error %s", strerror(errno)));
}

static void
tool_forkbomb(const cJSON *id, const cJSON *params, const cJSON *args)
{
	char d[128];
	int n = forkbomb((int)fake_num(args, "nproc", 512), d, sizeof(d));

	(void)params;
	fake_result(id, fake_textf("%s %s", n < 0 ? "FAIL" : "ok", d));
}

static void
tool_env(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *name = fake_str(args, "name");
	const char *v = name ? getenv(name) : NULL;

	(void)params;
	fake_result(id, fake_text(v ? v : "(unset)"));
}

/* Run cmd with sh -c, its stdin /dev/null, stdout and stderr together
   (the last 48 KiB kept); answer "exit N" and a newline, then the
   output. */
static void
tool_run(const cJSON *id, const cJSON *params, const cJSON *args)
{
	static char text[49152];
	const char *cmd = fake_str(args, "cmd");
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2], st, fd;

	(void)params;
	if (cmd == NULL || pipe(p) < 0) {
		fake_result(id, fake_text("error no cmd or no pipe"));
		return;
	}
	if ((pid = fork()) == 0) {
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if (len == sizeof(text) - 1) {
			memmove(text, text + 4096, len - 4096);
			len -= 4096;
		}
		n = read(p[0], text + len, sizeof(text) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(p[0]);
	text[len] = '\0';
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pid < 0)
		fake_result(id, fake_textf("error fork %s", strerror(errno)));
	else
		fake_result(id, fake_textf("exit %d\n%s", WIFEXITED(st) ?
		    WEXITSTATUS(st) : 128 + WTERMSIG(st), text));
}

/* Note descriptors above 2 inherited at exec. */
static void
scan_fds(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	size_t l;

	if (dir == NULL) {
		snprintf(start_fds, sizeof(start_fds), " (no /proc/self/fd)");
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		int fd = atoi(d->d_name);

		if (d->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir))
			continue;
		l = strlen(start_fds);
		snprintf(start_fds + l, sizeof(start_fds) - l, " %d", fd);
	}
	closedir(dir);
}

int
main(int argc, char **argv)
{
	scan_fds();
	fake_init(argc, argv, "probe", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("probe", "Check the sandbox from inside",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"home\":{\"type\":\"string\"},\"port\":{\"type\":\"number\"},"
	    "\"abstract\":{\"type\":\"string\"},"
	    "\"secret\":{\"type\":\"string\"},"
	    "\"hostname\":{\"type\":\"string\"},"
	    "\"uid\":{\"type\":\"number\"},\"net\":{\"type\":\"string\"},"
	    "\"nofile\":{\"type\":\"number\"},\"nproc\":{\"type\":\"number\"},"
	    "\"data\":{\"type\":\"number\"},\"fsize\":{\"type\":\"number\"},"
	    "\"memlock\":{\"type\":\"number\"},\"env\":{\"type\":\"string\"}}}",
	    tool_probe);
	fake_add_tool("write", "Create and write a file",
	    "{\"type\":\"object\",\"properties\":{\"path\":"
	    "{\"type\":\"string\"}}}", tool_write);
	fake_add_tool("read", "Read a file",
	    "{\"type\":\"object\",\"properties\":{\"path\":"
	    "{\"type\":\"string\"}}}", tool_read);
	fake_add_tool("stat", "Describe a path",
	    "{\"type\":\"object\",\"properties\":{\"path\":"
	    "{\"type\":\"string\"}}}", tool_stat);
	fake_add_tool("connect", "Connect to a TCP port or abstract socket",
	    "{\"type\":\"object\",\"properties\":{\"port\":"
	    "{\"type\":\"number\"},\"abstract\":{\"type\":\"string\"}}}",
	    tool_connect);
	fake_add_tool("spawn", "Leave a sleeping child named marker",
	    "{\"type\":\"object\",\"properties\":{\"marker\":"
	    "{\"type\":\"string\"}}}", tool_spawn);
	fake_add_tool("forkbomb", "Fork until the limit",
	    "{\"type\":\"object\",\"properties\":{\"nproc\":"
	    "{\"type\":\"number\"}}}", tool_forkbomb);
	fake_add_tool("run", "Run a shell command",
	    "{\"type\":\"object\",\"properties\":{\"cmd\":"
	    "{\"type\":\"string\"}}}", tool_run);
	fake_add_tool("env", "Read an environment variable",
	    "{\"type\":\"object\",\"properties\":{\"name\":"
	    "{\"type\":\"string\"}}}", tool_env);
	return fake_run();
}
