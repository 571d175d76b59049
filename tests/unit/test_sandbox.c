/* Unit tests for the sandbox: the seccomp program (run through a small
   classic-BPF interpreter on synthetic seccomp_data, and loaded for real
   in a forked child), the plan's path decisions (install prefixes,
   "#!" interpreters, grants, the private HOME) on a temporary tree, the
   rlimit defaults and the departures text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/sb.h"
#include "tests/unit/unit.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define X32_BIT 0x40000000u
#define HI (1ULL << 32)

/* ======================================================================
   seccomp: a classic-BPF interpreter
   ====================================================================== */

/* Run prog on d as the kernel would; fails the test on anything a
   seccomp program may not do (bad load offset, jump out of range,
   falling off the end). */
static uint32_t
bpf_run(const struct sock_fprog *prog, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS];
	unsigned pc = 0, steps = 0;

	memset(mem, 0, sizeof(mem));
	while (pc < prog->len) {
		const struct sock_filter *f = &prog->filter[pc];
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? x : k;
		int cond;

		if (++steps > 100000)
			fail_msg("BPF: no end after %u steps", steps);
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (BPF_MODE(f->code) == BPF_ABS) {
				if (BPF_SIZE(f->code) != BPF_W || k % 4 != 0 ||
				    k + 4 > sizeof(*d))
					fail_msg("BPF %u: bad load at %u", pc, k);
				memcpy(&a, (const char *)d + k, 4);
			} else if (BPF_MODE(f->code) == BPF_IMM) {
				a = k;
			} else if (BPF_MODE(f->code) == BPF_MEM &&
			    k < BPF_MEMWORDS) {
				a = mem[k];
			} else if (BPF_MODE(f->code) == BPF_LEN) {
				a = sizeof(*d);
			} else {
				fail_msg("BPF %u: bad load 0x%x", pc, f->code);
			}
			break;
		case BPF_LDX:
			if (BPF_MODE(f->code) == BPF_IMM)
				x = k;
			else if (BPF_MODE(f->code) == BPF_MEM &&
			    k < BPF_MEMWORDS)
				x = mem[k];
			else if (BPF_MODE(f->code) == BPF_LEN)
				x = sizeof(*d);
			else
				fail_msg("BPF %u: bad ldx 0x%x", pc, f->code);
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				fail_msg("BPF %u: bad store %u", pc, k);
			mem[k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV:
				if (src == 0)
					fail_msg("BPF %u: division by 0", pc);
				a /= src;
				break;
			case BPF_MOD:
				if (src == 0)
					fail_msg("BPF %u: modulo by 0", pc);
				a %= src;
				break;
			case BPF_OR: a |= src; break;
			case BPF_AND: a &= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = -a; break;
			default:
				fail_msg("BPF %u: bad alu 0x%x", pc, f->code);
			}
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				pc += k;
			} else {
				switch (BPF_OP(f->code)) {
				case BPF_JEQ: cond = a == src; break;
				case BPF_JGT: cond = a > src; break;
				case BPF_JGE: cond = a >= src; break;
				case BPF_JSET: cond = (a & src) != 0; break;
				default:
					fail_msg("BPF %u: bad jump 0x%x", pc,
					    f->code);
					cond = 0;
				}
				pc += cond ? f->jt : f->jf;
			}
			if (pc + 1 >= prog->len)
				fail_msg("BPF: jump past the end");
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			fail_msg("BPF %u: bad class 0x%x", pc, f->code);
		}
		pc++;
	}
	fail_msg("BPF: fell off the end");
	return 0;
}

static const struct sock_fprog *
filter(void)
{
	char *err = NULL;
	const struct sock_fprog *p = sb_seccomp_filter(&err);

	if (p == NULL)
		fail_msg("sb_seccomp_filter: %s", err ? err : "(no message)");
	return p;
}

static uint32_t
eval(uint32_t arch, uint32_t nr, const uint64_t args[6])
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.arch = arch;
	d.nr = (int)nr;
	d.instruction_pointer = 0x401000;
	if (args)
		memcpy(d.args, args, sizeof(d.args));
	return bpf_run(filter(), &d);
}

#define ALLOW SECCOMP_RET_ALLOW
#define R_EPERM (SECCOMP_RET_ERRNO | EPERM)
#define R_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)
#define R_EAFNO (SECCOMP_RET_ERRNO | EAFNOSUPPORT)
#define KILL SECCOMP_RET_KILL_PROCESS
#define NATIVE AUDIT_ARCH_X86_64

static const char *
action_name(uint32_t r)
{
	static char buf[64];

	if (r == ALLOW)
		return "ALLOW";
	if ((r & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_PROCESS)
		return "KILL_PROCESS";
	if ((r & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_THREAD)
		return "KILL_THREAD";
	if ((r & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO) {
		snprintf(buf, sizeof(buf), "ERRNO(%s)",
		    strerror((int)(r & SECCOMP_RET_DATA)));
		return buf;
	}
	snprintf(buf, sizeof(buf), "0x%08x", r);
	return buf;
}

struct sc_case {
	const char *name;
	uint32_t arch;
	uint32_t nr;
	uint64_t a[6];
	uint32_t want;
};

#define EP(n) { "EPERM " #n, NATIVE, SYS_##n, { 0 }, R_EPERM }

static const struct sc_case sc_cases[] = {
	/* Everything SANDBOX.md lists as EPERM. */
	EP(unshare), EP(setns), EP(mount), EP(umount2), EP(pivot_root),
	EP(chroot), EP(open_tree), EP(move_mount), EP(fsopen), EP(fsconfig),
	EP(fsmount), EP(fspick), EP(mount_setattr), EP(keyctl), EP(add_key),
	EP(request_key), EP(bpf), EP(userfaultfd), EP(perf_event_open),
	EP(ptrace), EP(process_vm_readv), EP(process_vm_writev), EP(kcmp),
	EP(pidfd_getfd), EP(init_module), EP(finit_module),
	EP(delete_module), EP(kexec_load), EP(kexec_file_load), EP(reboot),
	EP(swapon), EP(swapoff), EP(syslog), EP(acct), EP(settimeofday),
	EP(clock_settime), EP(clock_adjtime), EP(adjtimex), EP(quotactl),
	EP(quotactl_fd), EP(open_by_handle_at), EP(name_to_handle_at),
	EP(fanotify_init), EP(mbind), EP(set_mempolicy), EP(migrate_pages),
	EP(move_pages), EP(set_mempolicy_home_node), EP(modify_ldt),
	EP(iopl), EP(ioperm),
	/* Args do not matter for the plain denials. */
	{ "EPERM mount with arguments", NATIVE, SYS_mount,
	    { 1, 2, 3, ~0ULL, 5, 6 }, R_EPERM },
	/* ENOSYS, not kill: glibc and libuv fall back. */
	{ "ENOSYS clone3", NATIVE, SYS_clone3, { 0 }, R_ENOSYS },
	{ "ENOSYS io_uring_setup", NATIVE, SYS_io_uring_setup, { 0 },
	    R_ENOSYS },
	{ "ENOSYS io_uring_enter", NATIVE, SYS_io_uring_enter, { 0 },
	    R_ENOSYS },
	{ "ENOSYS io_uring_register", NATIVE, SYS_io_uring_register, { 0 },
	    R_ENOSYS },
	/* ioctl: TIOCSTI and TIOCLINUX on the low 32 bits. */
	{ "ioctl TIOCSTI", NATIVE, SYS_ioctl, { 0, TIOCSTI }, R_EPERM },
	{ "ioctl TIOCSTI|1<<32", NATIVE, SYS_ioctl, { 0, TIOCSTI | HI },
	    R_EPERM },
	{ "ioctl TIOCSTI|0xffffffff00000000", NATIVE, SYS_ioctl,
	    { 5, TIOCSTI | 0xffffffff00000000ULL }, R_EPERM },
	{ "ioctl TIOCLINUX", NATIVE, SYS_ioctl, { 0, TIOCLINUX }, R_EPERM },
	{ "ioctl TIOCLINUX|1<<32", NATIVE, SYS_ioctl, { 0, TIOCLINUX | HI },
	    R_EPERM },
	{ "ioctl TCGETS allowed", NATIVE, SYS_ioctl, { 0, TCGETS }, ALLOW },
	{ "ioctl FIONREAD allowed", NATIVE, SYS_ioctl, { 3, FIONREAD },
	    ALLOW },
	{ "ioctl TCGETS|1<<32 allowed", NATIVE, SYS_ioctl, { 0, TCGETS | HI },
	    ALLOW },
	/* socket: only the four families; low 32 bits. */
	{ "socket AF_VSOCK", NATIVE, SYS_socket, { AF_VSOCK, SOCK_STREAM },
	    R_EAFNO },
	{ "socket AF_VSOCK|1<<32", NATIVE, SYS_socket,
	    { AF_VSOCK | HI, SOCK_STREAM }, R_EAFNO },
	{ "socket AF_PACKET", NATIVE, SYS_socket, { AF_PACKET, SOCK_RAW },
	    R_EAFNO },
	{ "socket AF_BLUETOOTH", NATIVE, SYS_socket, { AF_BLUETOOTH, 0 },
	    R_EAFNO },
	{ "socket AF_ALG", NATIVE, SYS_socket, { AF_ALG, SOCK_SEQPACKET },
	    R_EAFNO },
	{ "socket AF_UNSPEC", NATIVE, SYS_socket, { AF_UNSPEC, 0 }, R_EAFNO },
	{ "socket AF_INET allowed", NATIVE, SYS_socket, { AF_INET,
	    SOCK_STREAM }, ALLOW },
	{ "socket AF_INET6 allowed", NATIVE, SYS_socket, { AF_INET6,
	    SOCK_DGRAM }, ALLOW },
	{ "socket AF_UNIX allowed", NATIVE, SYS_socket, { AF_UNIX,
	    SOCK_STREAM }, ALLOW },
	{ "socket AF_NETLINK allowed", NATIVE, SYS_socket, { AF_NETLINK,
	    SOCK_RAW }, ALLOW },
	/* The kernel reads the family as an int: AF_UNIX it is. */
	{ "socket AF_UNIX|1<<32 allowed (kernel sees AF_UNIX)", NATIVE,
	    SYS_socket, { AF_UNIX | HI, SOCK_STREAM }, ALLOW },
	{ "socketpair not filtered", NATIVE, SYS_socketpair,
	    { AF_UNIX, SOCK_STREAM }, ALLOW },
	/* clone with a namespace flag. */
	{ "clone CLONE_NEWUSER", NATIVE, SYS_clone,
	    { CLONE_NEWUSER | SIGCHLD }, R_EPERM },
	{ "clone CLONE_NEWNS", NATIVE, SYS_clone, { CLONE_NEWNS | SIGCHLD },
	    R_EPERM },
	{ "clone CLONE_NEWPID", NATIVE, SYS_clone, { CLONE_NEWPID }, R_EPERM },
	{ "clone CLONE_NEWNET", NATIVE, SYS_clone, { CLONE_NEWNET }, R_EPERM },
	{ "clone CLONE_NEWUTS", NATIVE, SYS_clone, { CLONE_NEWUTS }, R_EPERM },
	{ "clone CLONE_NEWIPC", NATIVE, SYS_clone, { CLONE_NEWIPC }, R_EPERM },
	{ "clone CLONE_NEWCGROUP", NATIVE, SYS_clone, { CLONE_NEWCGROUP },
	    R_EPERM },
	{ "clone CLONE_NEWUSER|1<<32", NATIVE, SYS_clone,
	    { CLONE_NEWUSER | HI }, R_EPERM },
	{ "clone all namespace flags", NATIVE, SYS_clone,
	    { CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
	    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP }, R_EPERM },
	{ "clone SIGCHLD allowed", NATIVE, SYS_clone, { SIGCHLD }, ALLOW },
	{ "clone thread flags allowed", NATIVE, SYS_clone,
	    { CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
	    CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
	    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID }, ALLOW },
	{ "clone SIGCHLD|1<<32 allowed", NATIVE, SYS_clone,
	    { SIGCHLD | HI }, ALLOW },
	/* personality: the harmless values only. */
	{ "personality 0xffffffff (query) allowed", NATIVE, SYS_personality,
	    { 0xffffffffULL }, ALLOW },
	{ "personality PER_LINUX allowed", NATIVE, SYS_personality,
	    { PER_LINUX }, ALLOW },
	{ "personality PER_LINUX32 allowed", NATIVE, SYS_personality,
	    { PER_LINUX32 }, ALLOW },
	{ "personality UNAME26 allowed", NATIVE, SYS_personality,
	    { UNAME26 }, ALLOW },
	{ "personality PER_LINUX32|UNAME26 allowed", NATIVE, SYS_personality,
	    { PER_LINUX32 | UNAME26 }, ALLOW },
	{ "personality ADDR_NO_RANDOMIZE", NATIVE, SYS_personality,
	    { ADDR_NO_RANDOMIZE }, R_EPERM },
	{ "personality READ_IMPLIES_EXEC", NATIVE, SYS_personality,
	    { READ_IMPLIES_EXEC }, R_EPERM },
	{ "personality PER_SVR4", NATIVE, SYS_personality, { PER_SVR4 },
	    R_EPERM },
	{ "personality 0xfffffffe", NATIVE, SYS_personality,
	    { 0xfffffffeULL }, R_EPERM },
	{ "personality ADDR_NO_RANDOMIZE|1<<32", NATIVE, SYS_personality,
	    { ADDR_NO_RANDOMIZE | HI }, R_EPERM },
	/* Everyday calls. */
	{ "read allowed", NATIVE, SYS_read, { 0 }, ALLOW },
	{ "write allowed", NATIVE, SYS_write, { 1 }, ALLOW },
	{ "openat allowed", NATIVE, SYS_openat, { 0 }, ALLOW },
	{ "execve allowed", NATIVE, SYS_execve, { 0 }, ALLOW },
	{ "mmap allowed", NATIVE, SYS_mmap, { 0 }, ALLOW },
	{ "prctl allowed", NATIVE, SYS_prctl, { PR_SET_NAME }, ALLOW },
	{ "seccomp allowed", NATIVE, SYS_seccomp, { 0 }, ALLOW },
	{ "exit_group allowed", NATIVE, SYS_exit_group, { 0 }, ALLOW },
	{ "vfork allowed", NATIVE, SYS_vfork, { 0 }, ALLOW },
	{ "fork allowed", NATIVE, SYS_fork, { 0 }, ALLOW },
	{ "process_madvise allowed", NATIVE, SYS_process_madvise, { 0 },
	    ALLOW },
	/* Foreign architectures and x32: kill. */
	{ "arch I386 read: kill", AUDIT_ARCH_I386, 3, { 0 }, KILL },
	{ "arch I386 nr 0: kill", AUDIT_ARCH_I386, 0, { 0 }, KILL },
	{ "arch I386 mount: kill", AUDIT_ARCH_I386, 21, { 0 }, KILL },
	{ "arch I386 personality: kill", AUDIT_ARCH_I386, SYS_personality,
	    { 0xffffffffULL }, KILL },
	{ "arch I386 socket nr: kill", AUDIT_ARCH_I386, SYS_socket,
	    { AF_INET }, KILL },
	{ "arch AARCH64: kill", AUDIT_ARCH_AARCH64, 63, { 0 }, KILL },
	{ "arch ARM: kill", AUDIT_ARCH_ARM, 3, { 0 }, KILL },
	{ "arch 0: kill", 0, 0, { 0 }, KILL },
	{ "x32 read: kill", NATIVE, X32_BIT | SYS_read, { 0 }, KILL },
	{ "x32 getpid: kill", NATIVE, X32_BIT | SYS_getpid, { 0 }, KILL },
	{ "x32 personality: kill", NATIVE, X32_BIT | SYS_personality,
	    { 0xffffffffULL }, KILL },
	{ "x32 socket AF_INET: kill", NATIVE, X32_BIT | SYS_socket,
	    { AF_INET }, KILL },
	{ "x32 mount: kill", NATIVE, X32_BIT | SYS_mount, { 0 }, KILL },
	/* nr -1 is no call (a tracer's skip): libseccomp lets it by, and
	   the kernel answers ENOSYS. */
	{ "nr -1 (no call) allowed", NATIVE, 0xffffffffu, { 0 }, ALLOW },
	{ "x32 nr 0x7fffffff: kill", NATIVE, 0x7fffffffu, { 0 }, KILL },
};

static void
test_seccomp_row(void **state)
{
	const struct sc_case *c = *state;
	uint32_t got = eval(c->arch, c->nr, c->a);
	int ok;

	if (c->want == KILL)
		ok = (got & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_PROCESS;
	else
		ok = got == c->want;
	if (!ok) {
		char want[64];

		snprintf(want, sizeof(want), "%s", action_name(c->want));
		fail_msg("%s: got %s, want %s", c->name, action_name(got),
		    want);
	}
}

/* The program's shape: non-empty, within BPF_MAXINSNS, every jump in
   range, the architecture loaded first and compared with x86-64, and
   only the documented actions returned. */
static void
test_seccomp_shape(void **state)
{
	const struct sock_fprog *p = filter();
	char *err = NULL;
	unsigned i, arch_cmp = 0, x32_cmp = 0;

	(void)state;
	assert_non_null(p->filter);
	assert_true(p->len > 16);
	assert_true(p->len <= BPF_MAXINSNS);
	/* Built once: the same program again. */
	assert_ptr_equal(sb_seccomp_filter(&err), p);
	assert_null(err);
	assert_int_equal(p->filter[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(p->filter[0].k, offsetof(struct seccomp_data, arch));
	assert_int_equal(BPF_CLASS(p->filter[p->len - 1].code), BPF_RET);
	for (i = 0; i < p->len; i++) {
		const struct sock_filter *f = &p->filter[i];

		if (BPF_CLASS(f->code) == BPF_JMP) {
			if (BPF_OP(f->code) == BPF_JA)
				assert_true(i + 1 + f->k < p->len);
			else
				assert_true(i + 1 + (f->jt > f->jf ? f->jt :
				    f->jf) < p->len);
			if (BPF_OP(f->code) != BPF_JA &&
			    BPF_SRC(f->code) == BPF_K &&
			    f->k == AUDIT_ARCH_X86_64)
				arch_cmp++;
			if (BPF_OP(f->code) != BPF_JA &&
			    BPF_SRC(f->code) == BPF_K &&
			    (f->k == X32_BIT || f->k == X32_BIT - 1))
				x32_cmp++;
		}
		if (BPF_CLASS(f->code) == BPF_RET) {
			uint32_t r = f->k;

			if (BPF_RVAL(f->code) != BPF_K ||
			    !(r == ALLOW || r == R_EPERM || r == R_ENOSYS ||
			    r == R_EAFNO || r == KILL))
				fail_msg("BPF %u returns %s", i,
				    action_name(r));
		}
	}
	/* Our prefix and libseccomp's own check. */
	assert_true(arch_cmp >= 2);
	assert_true(x32_cmp >= 1);
}

/* Every syscall number, zero arguments: what is denied is exactly what
   the design lists, nothing more (a rule on a wrong number would show
   here as an extra or a missing denial). */
static void
test_seccomp_sweep(void **state)
{
	static const uint32_t eperm[] = {
		SYS_unshare, SYS_setns, SYS_mount, SYS_umount2,
		SYS_pivot_root, SYS_chroot, SYS_open_tree, SYS_move_mount,
		SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick,
		SYS_mount_setattr, SYS_keyctl, SYS_add_key, SYS_request_key,
		SYS_bpf, SYS_userfaultfd, SYS_perf_event_open, SYS_ptrace,
		SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp,
		SYS_pidfd_getfd, SYS_init_module, SYS_finit_module,
		SYS_delete_module, SYS_kexec_load, SYS_kexec_file_load,
		SYS_reboot, SYS_swapon, SYS_swapoff, SYS_syslog, SYS_acct,
		SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime,
		SYS_adjtimex, SYS_quotactl, SYS_quotactl_fd,
		SYS_open_by_handle_at, SYS_name_to_handle_at,
		SYS_fanotify_init, SYS_mbind, SYS_set_mempolicy,
		SYS_migrate_pages, SYS_move_pages,
		SYS_set_mempolicy_home_node, SYS_modify_ldt, SYS_iopl,
		SYS_ioperm,
	};
	static const uint32_t enosys[] = { SYS_clone3, SYS_io_uring_setup,
	    SYS_io_uring_enter, SYS_io_uring_register };
	uint32_t nr, got, want;
	size_t i;

	(void)state;
	for (nr = 0; nr < 1024; nr++) {
		want = ALLOW;
		for (i = 0; i < NELEM(eperm); i++)
			if (eperm[i] == nr)
				want = R_EPERM;
		for (i = 0; i < NELEM(enosys); i++)
			if (enosys[i] == nr)
				want = R_ENOSYS;
		if (nr == SYS_socket)	/* family 0: AF_UNSPEC */
			want = R_EAFNO;
		got = eval(NATIVE, nr, NULL);
		if (got != want) {
			char w[64];

			snprintf(w, sizeof(w), "%s", action_name(want));
			fail_msg("syscall %u: got %s, want %s", nr,
			    action_name(got), w);
		}
	}
}

/* ---- the filter loaded for real, in a child ---- */

/* Run fn in a forked child with the filter loaded; its wait status. */
static int
in_filtered_child(int (*fn)(void))
{
	const struct sock_fprog *p = filter();
	pid_t pid;
	int st;

	fflush(NULL);
	if ((pid = fork()) < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(200);
		if (sb_seccomp_load(p) < 0)
			_exit(201);
		/* _exit: no atexit handlers (LeakSanitizer would ptrace). */
		_exit(fn());
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	return st;
}

static int
expect_err(long r, int e)
{
	return r == -1 && errno == e;
}

static int
child_denials(void)
{
	int i = 0, fd;

	/* Each with harmless arguments; the number says which failed. */
	i++; if (!expect_err(syscall(SYS_unshare, 0), EPERM)) return i;
	i++; if (!expect_err(syscall(SYS_setns, -1, 0), EPERM)) return i;
	i++; if (!expect_err(syscall(SYS_mount, "none", "/nonexistent",
	    "tmpfs", 0, NULL), EPERM)) return i;
	i++; if (!expect_err(syscall(SYS_ptrace, 0, 0, 0, 0), EPERM)) return i;
	i++; if (!expect_err(syscall(SYS_bpf, 0, NULL, 0), EPERM)) return i;
	i++; if (!expect_err(syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM))
		return i;
	i++; if (!expect_err(syscall(SYS_clone3, NULL, 0), ENOSYS)) return i;
	i++; if (!expect_err(syscall(SYS_io_uring_setup, 0, NULL), ENOSYS))
		return i;
	i++; if (!expect_err(syscall(SYS_ioctl, 0, TIOCSTI | HI, NULL), EPERM))
		return i;
	i++; if (!expect_err(syscall(SYS_ioctl, 0, TIOCSTI, NULL), EPERM))
		return i;
	i++; if (!expect_err(syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0),
	    EAFNOSUPPORT)) return i;
	i++; if (!expect_err(syscall(SYS_personality, ADDR_NO_RANDOMIZE),
	    EPERM)) return i;
	i++; if (!expect_err(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0,
	    0, 0, 0), EPERM)) return i;
	/* Still allowed. */
	i++; if (syscall(SYS_personality, 0xffffffffUL) < 0) return i;
	i++; if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) return i;
	close(fd);
	i++; if (getpid() <= 0) return i;
	return 0;
}

static void
test_seccomp_loaded(void **state)
{
	int st;

	(void)state;
	st = in_filtered_child(child_denials);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 201)
		skip();
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("check %d in the filtered child failed",
		    WEXITSTATUS(st));
}

static int
child_x32(void)
{
	syscall(X32_BIT | SYS_getpid);
	return 0;
}

static void
test_seccomp_loaded_x32_kills(void **state)
{
	int st;

	(void)state;
	st = in_filtered_child(child_x32);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 201)
		skip();
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static int
child_int80(void)
{
	long r = 20;	/* i386 getpid */

	__asm__ volatile ("int $0x80" : "+a" (r) : : "memory");
	return r > 0 ? 0 : 1;
}

static void
test_seccomp_loaded_int80_kills(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	/* Without a filter first: is there 32-bit emulation at all? */
	fflush(NULL);
	if ((pid = fork()) == 0)
		_exit(child_int80());
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		skip();
	st = in_filtered_child(child_int80);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 201)
		skip();
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* ======================================================================
   the plan: a temporary tree
   ====================================================================== */

static char T[PATH_MAX];	/* the tree, realpath'd */

static char *
tp(const char *rel)
{
	static char buf[8][PATH_MAX + 64];
	static int n;
	char *b = buf[n++ % 8];

	if (rel[0] == '/')
		snprintf(b, sizeof(buf[0]), "%s", rel);
	else
		snprintf(b, sizeof(buf[0]), "%s/%s", T, rel);
	return b;
}

static void
mkdirs(const char *rel)
{
	char p[PATH_MAX + 64], *s;

	snprintf(p, sizeof(p), "%s", tp(rel));
	for (s = p + strlen(T) + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				fail_msg("mkdir %s: %s", p, strerror(errno));
			*s = c;
			if (c == '\0')
				break;
		}
	}
}

static void
mkparent(const char *rel)
{
	char d[PATH_MAX], *s;

	snprintf(d, sizeof(d), "%s", rel);
	if ((s = strrchr(d, '/')) != NULL) {
		*s = '\0';
		mkdirs(d);
	}
}

static void
mkfile(const char *rel, const char *text, mode_t mode)
{
	int fd;

	mkparent(rel);
	fd = open(tp(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fail_msg("write %s: %s", tp(rel), strerror(errno));
	fchmod(fd, mode);
	close(fd);
}

/* "#!" then the tree-relative interpreter, then more. */
static void
mkscript(const char *rel, const char *interp, const char *more)
{
	char text[PATH_MAX + 256];

	snprintf(text, sizeof(text), "#!%s%s\necho hi\n", tp(interp), more);
	mkfile(rel, text, 0755);
}

static void
mklink(const char *rel, const char *target)
{
	mkparent(rel);
	unlink(tp(rel));
	if (symlink(target, tp(rel)) < 0)
		fail_msg("symlink %s: %s", tp(rel), strerror(errno));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
setup_tree(void **state)
{
	char t[] = "/tmp/corral-sb-XXXXXX", *real;

	(void)state;
	if (mkdtemp(t) == NULL || (real = realpath(t, NULL)) == NULL)
		return -1;
	snprintf(T, sizeof(T), "%s", real);
	free(real);
	setenv("HOME", tp("home"), 1);
	setenv("XDG_STATE_HOME", tp("state"), 1);
	mkdirs("home/project");
	mkdirs("state");
	mkdirs("data/sub");
	mkdirs("work/sub");
	mkdirs("secret/bin");
	mkfile("secret/key", "k", 0600);
	mkfile("secret/bin/x", "\177ELF", 0755);
	mkfile("node/bin/node", "\177ELF", 0755);
	mkscript("opt/tool/bin/srv", "/usr/bin/sh", "");
	mkscript("opt/tool/bin/srv2", "opt/tool/bin/srv", "");
	mkscript("opt/flat/srv", "/usr/bin/sh", "");
	mkscript("opt/js1/bin/direct", "node/bin/node", "");
	mkfile("opt/js2/bin/viaenv", "#!/usr/bin/env node\n", 0755);
	mkfile("opt/js3/bin/envopts",
	    "#!/usr/bin/env -u FOO BAR=1 -S node --x\n", 0755);
	mkfile("opt/js5/bin/tabs", "#!\t/usr/bin/env\t node \n", 0755);
	mkscript("opt/mid/bin/wrapper", "node/bin/node", "");
	mkscript("opt/chain/bin/script", "opt/mid/bin/wrapper", " --arg");
	mkscript("opt/real/bin/srv", "/usr/bin/sh", "");
	mklink("links/srv", "../opt/real/bin/srv");
	mklink("opt/lnbin/bin/tool", "../../../node/bin/node");
	mkscript("opt/js4/bin/h", "home/bin/tool", "");
	mkscript("opt/loop/bin/a", "opt/loop/bin/b", "");
	mkscript("opt/loop/bin/b", "opt/loop/bin/a", "");
	mkfile("opt/nobang/bin/x", "echo no shebang\n", 0755);
	mkfile("opt/short/bin/x", "#!", 0755);
	mkscript("home/bin/tool", "/usr/bin/sh", "");
	mkscript("opt/binsh/bin/s", "/bin/sh", "");
	mkfile("home/.nvm/versions/node/v20/bin/node", "\177ELF", 0755);
	mkfile("solo", "\177ELF", 0755);
	mkscript("work/bin/srv", "node/bin/node", "");
	mklink("work/ln", tp("secret"));
	mklink("datalink", "data");
	mklink("worklink", tp("work"));
	mklink("rootlink", "/");
	mklink("homelink", tp("home"));
	mklink("loop1", "loop2");
	mklink("loop2", "loop1");
	return 0;
}

static int
teardown_tree(void **state)
{
	(void)state;
	rm_tree(T);
	return 0;
}

/* ---- plan helpers ---- */

static struct sb_plan plan;

static char *const default_argv[] = { "srv", NULL };

static int
build(const char *alias, const char *cmd, const struct sandbox_conf *cf,
    char *const *envp, int degraded, char **err)
{
	struct sandbox_spec sp;
	static char *const env0[] = { "PATH=/usr/bin:/bin", NULL };

	memset(&sp, 0, sizeof(sp));
	sp.alias = alias;
	sp.path = tp(cmd);
	sp.argv = default_argv;
	sp.envp = envp ? envp : env0;
	sp.conf = cf;
	*err = NULL;
	return sb_plan_build(&sp, degraded, &plan, err);
}

static void
build_ok(const char *alias, const char *cmd, const struct sandbox_conf *cf,
    char *const *envp, int degraded)
{
	char *err;

	if (build(alias, cmd, cf, envp, degraded, &err) < 0)
		fail_msg("sb_plan_build: %s", err ? err : "(no message)");
	assert_null(err);
}

static int
is_system(const char *dst)
{
	static const char *const sys[] = { "/usr", "/bin", "/sbin", "/lib",
	    "/lib64", "/lib32", "/libx32", NULL };
	int i;

	struct stat st;

	/* /usr, and the top directories add_system binds: those that are
	   real directories here (usr-merge links are links inside). */
	for (i = 0; sys[i]; i++)
		if (strcmp(dst, sys[i]) == 0)
			return i == 0 || (lstat(dst, &st) == 0 &&
			    S_ISDIR(st.st_mode));
	return strncmp(dst, "/etc/", 5) == 0 || strncmp(dst, "/dev/", 5) == 0;
}

/* The index of the bind of path (src and dst both path), or -1. */
static int
bind_at(const struct sb_plan *p, const char *path)
{
	int i;

	for (i = 0; i < p->nm; i++)
		if (p->m[i].kind == SB_BIND && strcmp(p->m[i].dst, path) == 0) {
			assert_string_equal(p->m[i].src, path);
			return i;
		}
	return -1;
}

/* The read-only binds beyond the system part: the install prefixes. */
static int
prefixes(const struct sb_plan *p, const char **out, int max)
{
	int i, n = 0;

	for (i = 0; i < p->nm; i++) {
		const struct sb_mount *m = &p->m[i];

		if (m->kind != SB_BIND || m->flags != SB_RO ||
		    is_system(m->dst))
			continue;
		if (n < max)
			out[n] = m->dst;
		n++;
	}
	return n;
}

static int
in_list(char **v, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static int
in_env(const struct sb_plan *p, const char *kv)
{
	int i;

	for (i = 0; p->envp[i]; i++)
		if (strcmp(p->envp[i], kv) == 0)
			return 1;
	return 0;
}

/* ---- install prefixes and interpreters ---- */

struct prog_case {
	const char *name;
	const char *cmd;	/* tree-relative unless absolute */
	const char *path;	/* the child's PATH, tree-relative; or NULL */
	const char *rw;		/* a writable grant, or NULL */
	const char *want[4];	/* the prefix binds, tree-relative */
};

static const struct prog_case prog_cases[] = {
	{ "command under /usr: no extra bind", "/usr/bin/env", NULL, NULL,
	    { NULL } },
	/* On a usr-merged system /bin is a link to usr/bin: /bin/sh is a
	   command under /usr too, and /usr is bound already. Known bug:
	   add_prefix binds "/bin", whose destination is the SB_SYMLINK
	   add_system made, and the child fails "move_mount /bin: Invalid
	   argument" — every "#!/bin/sh" server fails to start. */
	{ "command via the usr-merge link /bin: no extra bind", "/bin/sh",
	    NULL, NULL, { NULL } },
	{ "#!/bin/sh (usr-merge link): only the script's prefix",
	    "opt/binsh/bin/s", NULL, NULL, { "opt/binsh" } },
	{ "command in PREFIX/bin: PREFIX", "opt/tool/bin/srv", NULL, NULL,
	    { "opt/tool" } },
	{ "command not in a bin/: its directory", "opt/flat/srv", NULL, NULL,
	    { "opt/flat" } },
	{ "#! interpreter: its prefix too", "opt/js1/bin/direct", NULL, NULL,
	    { "opt/js1", "node" } },
	{ "#!/usr/bin/env node: node found on the child's PATH",
	    "opt/js2/bin/viaenv", "node/bin", NULL, { "opt/js2", "node" } },
	{ "#!/usr/bin/env node, node not on PATH: the script only",
	    "opt/js2/bin/viaenv", "nowhere", NULL, { "opt/js2" } },
	{ "#!/usr/bin/env -u FOO BAR=1 -S node: options skipped",
	    "opt/js3/bin/envopts", "node/bin", NULL, { "opt/js3", "node" } },
	{ "#! with tabs and spaces", "opt/js5/bin/tabs", "node/bin", NULL,
	    { "opt/js5", "node" } },
	{ "#! chain: script, wrapper, node", "opt/chain/bin/script", NULL,
	    NULL, { "opt/chain", "opt/mid", "node" } },
	{ "#! loop ends", "opt/loop/bin/a", NULL, NULL, { "opt/loop" } },
	{ "#! inside the same prefix: bound once", "opt/tool/bin/srv2", NULL,
	    NULL, { "opt/tool" } },
	{ "no #!: the command only", "opt/nobang/bin/x", NULL, NULL,
	    { "opt/nobang" } },
	{ "bare #!: the command only", "opt/short/bin/x", NULL, NULL,
	    { "opt/short" } },
	{ "symlinked command: the link's dir and the target's prefix",
	    "links/srv", NULL, NULL, { "links", "opt/real" } },
	{ "bin/ link to node (like node_modules/.bin)", "opt/lnbin/bin/tool",
	    NULL, NULL, { "opt/lnbin", "node" } },
	{ "command in $HOME/bin: the file alone", "home/bin/tool", NULL, NULL,
	    { "home/bin/tool" } },
	{ "interpreter in $HOME/bin: the file alone", "opt/js4/bin/h", NULL,
	    NULL, { "opt/js4", "home/bin/tool" } },
	{ "command deep in $HOME: its prefix",
	    "home/.nvm/versions/node/v20/bin/node", NULL, NULL,
	    { "home/.nvm/versions/node/v20" } },
	{ "command in the dir holding $HOME: the file alone", "solo", NULL,
	    NULL, { "solo" } },
	{ "command in a writable grant: nothing bound on its word",
	    "work/bin/srv", NULL, "work", { NULL } },
	{ "command through a link planted in a writable grant: not bound",
	    "work/ln/bin/x", NULL, "work", { NULL } },
};

static void
test_prefix(void **state)
{
	const struct prog_case *c = *state;
	struct sandbox_conf cf;
	char *rw[1], *envp[2], pathenv[PATH_MAX + 8];
	const char *got[16];
	char bad[4 * PATH_MAX];
	int n, i, k;

	memset(&cf, 0, sizeof(cf));
	if (c->rw) {
		rw[0] = tp(c->rw);
		cf.rw = rw;
		cf.nrw = 1;
	}
	snprintf(pathenv, sizeof(pathenv), "PATH=%s", tp(c->path ? c->path :
	    "/usr/bin"));
	envp[0] = pathenv;
	envp[1] = NULL;
	build_ok("p", c->cmd, &cf, envp, 0);
	n = prefixes(&plan, got, 16);
	for (k = 0; c->want[k]; k++)
		;
	/* Collect what is wrong, free the plan, then fail. */
	bad[0] = '\0';
	for (i = 0; i < n && i < 16; i++) {
		int j;

		for (j = 0; j < k; j++)
			if (strcmp(got[i], tp(c->want[j])) == 0)
				break;
		if (j == k)
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
			    "unexpected bind %s; ", got[i]);
	}
	for (i = 0; i < k; i++)
		if (bind_at(&plan, tp(c->want[i])) < 0)
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
			    "no bind of %s; ", tp(c->want[i]));
	/* The secret never shows up, whatever the route. */
	if (bind_at(&plan, tp("secret")) >= 0)
		snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
		    "the secret is bound; ");
	if (strcmp(plan.path, tp(c->cmd)) != 0)
		snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
		    "path %s; ", plan.path);
	sb_plan_free(&plan);
	if (bad[0])
		fail_msg("%s", bad);
	assert_int_equal(n, k);
}

/* ---- grants ---- */

struct grant_case {
	const char *name;
	const char *ro, *rw;	/* tree-relative unless absolute */
	const char *err;	/* a substring of the error, or NULL */
	const char *first;	/* binds that must exist, first before */
	int first_flags;
	const char *second;
	int second_flags;
};

#define REFUSE(n, r, w, e) { .name = n, .ro = r, .rw = w, .err = e }
#define GRANT(n, r, w, f, ff) { .name = n, .ro = r, .rw = w, .first = f, \
	.first_flags = ff }
#define GRANT2(n, r, w, f, ff, s, sf) { .name = n, .ro = r, .rw = w, \
	.first = f, .first_flags = ff, .second = s, .second_flags = sf }

static const struct grant_case grant_cases[] = {
	REFUSE("ro / refused", "/", NULL, "grant /: / would undo the sandbox"),
	REFUSE("rw / refused", NULL, "/", "grant /: / would undo the sandbox"),
	REFUSE("ro $HOME refused", "home", NULL,
	    "a path holding your home directory would undo the sandbox"),
	REFUSE("rw $HOME refused", NULL, "home",
	    "a path holding your home directory would undo the sandbox"),
	REFUSE("ro parent of $HOME refused", ".", NULL,
	    "a path holding your home directory"),
	REFUSE("ro $HOME/ with trailing slash refused", "home/", NULL,
	    "a path holding your home directory"),
	REFUSE("ro $HOME/project/.. refused", "home/project/..", NULL,
	    "a path holding your home directory"),
	REFUSE("ro symlink to $HOME refused", "homelink", NULL,
	    "a path holding your home directory"),
	REFUSE("ro symlink to / refused", "rootlink", NULL,
	    "/ would undo the sandbox"),
	REFUSE("ro /proc refused", "/proc", NULL,
	    "/proc would undo the sandbox"),
	REFUSE("ro /proc/1 refused", "/proc/1", NULL,
	    "/proc would undo the sandbox"),
	REFUSE("ro missing path refused", "missing", NULL,
	    "No such file or directory"),
	REFUSE("ro symlink loop refused", "loop1", NULL,
	    "Too many levels of symbolic links"),
	REFUSE("relative grant refused", "relative/path", NULL,
	    "grant relative/path: Invalid argument"),
	REFUSE("ro through a link planted in an rw grant refused", "work/ln",
	    "work", "resolves through a symlink inside a writable grant"),
	REFUSE("ro below a link planted in an rw grant refused", "work/ln/bin",
	    "work", "resolves through a symlink inside a writable grant"),
	GRANT("ro grant through a symlink: the real path", "datalink", NULL,
	    "data", SB_RO),
	GRANT("ro grant with . and ..", "data/../data/./sub", NULL,
	    "data/sub", SB_RO),
	GRANT("ro $HOME/project allowed", "home/project", NULL,
	    "home/project", SB_RO),
	GRANT("rw grant: protected", NULL, "data", "data", SB_PROTECT),
	GRANT("rw grant through a symlink: the real path", NULL, "worklink",
	    "work", SB_PROTECT),
	GRANT2("ro inside rw: parent first", "work/sub", "work",
	    "work", SB_PROTECT, "work/sub", SB_RO),
	GRANT2("rw inside ro: parent first", "data", "data/sub",
	    "data", SB_RO, "data/sub", SB_PROTECT),
};

static void
test_grant(void **state)
{
	const struct grant_case *c = *state;
	struct sandbox_conf cf;
	char *ro[1], *rw[1], *err = NULL;
	int r, a, b;

	memset(&cf, 0, sizeof(cf));
	if (c->ro) {
		ro[0] = c->ro[0] == '/' || strcmp(c->ro, "relative/path") == 0 ?
		    (char *)c->ro : tp(c->ro);
		cf.ro = ro;
		cf.nro = 1;
	}
	if (c->rw) {
		rw[0] = tp(c->rw);
		cf.rw = rw;
		cf.nrw = 1;
	}
	r = build("g", "opt/tool/bin/srv", &cf, NULL, 0, &err);
	if (c->err) {
		if (r == 0) {
			sb_plan_free(&plan);
			fail_msg("no error, want one with \"%s\"", c->err);
		}
		assert_non_null(err);
		if (strstr(err, c->err) == NULL)
			fail_msg("error \"%s\" lacks \"%s\"", err, c->err);
		free(err);
		return;
	}
	if (r < 0)
		fail_msg("sb_plan_build: %s", err);
	a = bind_at(&plan, tp(c->first));
	if (a < 0)
		fail_msg("no bind of %s", tp(c->first));
	assert_int_equal(plan.m[a].flags, c->first_flags);
	if (c->second) {
		b = bind_at(&plan, tp(c->second));
		if (b < 0)
			fail_msg("no bind of %s", tp(c->second));
		assert_int_equal(plan.m[b].flags, c->second_flags);
		assert_true(a < b);
	}
	/* The grant is also in Landlock's lists. */
	if (c->first_flags == SB_PROTECT)
		assert_true(in_list(plan.rw, plan.nrw, tp(c->first)));
	sb_plan_free(&plan);
}

static void
test_grant_both_ways_one_bind(void **state)
{
	struct sandbox_conf cf;
	char *ro[1], *rw[1];
	int i, n = 0;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	ro[0] = tp("data");
	rw[0] = tp("datalink");
	cf.ro = ro;
	cf.nro = 1;
	cf.rw = rw;
	cf.nrw = 1;
	build_ok("g", "opt/tool/bin/srv", &cf, NULL, 0);
	for (i = 0; i < plan.nm; i++)
		if (plan.m[i].kind == SB_BIND &&
		    strcmp(plan.m[i].dst, tp("data")) == 0) {
			n++;
			assert_int_equal(plan.m[i].flags, SB_PROTECT);
		}
	assert_int_equal(n, 1);
	sb_plan_free(&plan);
}

static void
test_protected_names(void **state)
{
	static const char *const want[] = { ".bashrc", ".profile",
	    ".gitconfig", ".git/hooks", ".git/config", ".mcp.json",
	    ".vscode", NULL };
	int i, j;

	(void)state;
	for (i = 0; want[i]; i++) {
		for (j = 0; sb_protected[j]; j++)
			if (strcmp(sb_protected[j], want[i]) == 0)
				break;
		if (sb_protected[j] == NULL)
			fail_msg("%s is not protected", want[i]);
	}
	for (j = 0; sb_protected[j]; j++) {
		assert_true(sb_protected[j][0] == '.');
		assert_null(strstr(sb_protected[j], ".."));
	}
}

/* ---- the private HOME ---- */

static void
test_home_private(void **state)
{
	struct stat st;
	char want[PATH_MAX];
	int i, n = 0;

	(void)state;
	build_ok("my/srv", "opt/tool/bin/srv", NULL, NULL, 0);
	assert_string_equal(plan.state, tp("state"));
	assert_string_equal(plan.home_rel, "corral/servers/my%2Fsrv/home");
	assert_string_equal(plan.home, "/home/corral");
	snprintf(want, sizeof(want), "%s/corral/servers/my%%2Fsrv/home",
	    tp("state"));
	assert_int_equal(lstat(want, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, SB_NOBODY);
		assert_int_equal(st.st_gid, SB_NOBODY);
		assert_int_equal(plan.uid, SB_NOBODY);
		/* Only the leaf goes to the sandbox's uid. */
		assert_int_equal(lstat(tp("state/corral/servers"), &st), 0);
		assert_int_equal(st.st_uid, 0);
	}
	for (i = 0; i < plan.nm; i++)
		if (plan.m[i].kind == SB_HOME) {
			n++;
			assert_string_equal(plan.m[i].src, plan.home_rel);
			assert_string_equal(plan.m[i].dst, "/home/corral");
		}
	assert_int_equal(n, 1);
	assert_true(in_env(&plan, "HOME=/home/corral"));
	assert_true(in_list(plan.rw, plan.nrw, "/home/corral"));
	assert_string_equal(plan.hostname, "corral-my-srv");
	sb_plan_free(&plan);
}

static void
test_home_ephemeral(void **state)
{
	struct sandbox_conf cf;
	struct stat st;
	int i, n = 0;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.home_ephemeral = 1;
	build_ok("eph", "opt/tool/bin/srv", &cf, NULL, 0);
	assert_null(plan.home_rel);
	assert_int_equal(lstat(tp("state/corral/servers/eph"), &st), -1);
	for (i = 0; i < plan.nm; i++) {
		assert_int_not_equal(plan.m[i].kind, SB_HOME);
		if (plan.m[i].kind == SB_TMPFS &&
		    strcmp(plan.m[i].dst, "/home/corral") == 0) {
			n++;
			assert_int_equal(plan.m[i].mode, 0700);
		}
	}
	assert_int_equal(n, 1);
	sb_plan_free(&plan);
}

/* A symlink planted where the HOME goes is refused, never followed:
   its target is neither chowned nor chmodded, nothing made inside. */
static void
test_home_planted_leaf(void **state)
{
	struct stat before, after;
	char *err = NULL;

	(void)state;
	mkdirs("state/corral/servers/evil");
	mklink("state/corral/servers/evil/home", tp("secret"));
	assert_int_equal(lstat(tp("secret"), &before), 0);
	if (build("evil", "opt/tool/bin/srv", NULL, NULL, 0, &err) == 0) {
		sb_plan_free(&plan);
		fail_msg("a planted HOME symlink was accepted");
	}
	assert_non_null(err);
	if (strstr(err, "home ") != err || (strstr(err, "Too many levels") ==
	    NULL && strstr(err, "Not a directory") == NULL) ||
	    strstr(err, "never follows a symlink") == NULL)
		fail_msg("error: %s", err);
	free(err);
	assert_int_equal(lstat(tp("secret"), &after), 0);
	assert_int_equal(after.st_uid, before.st_uid);
	assert_int_equal(after.st_gid, before.st_gid);
	assert_int_equal(after.st_mode, before.st_mode);
}

static void
test_home_planted_middle(void **state)
{
	struct stat st;
	char *err = NULL;

	(void)state;
	mkdirs("state/corral/servers");
	mklink("state/corral/servers/evil2", tp("secret"));
	if (build("evil2", "opt/tool/bin/srv", NULL, NULL, 0, &err) == 0) {
		sb_plan_free(&plan);
		fail_msg("a planted symlink above HOME was accepted");
	}
	free(err);
	assert_int_equal(lstat(tp("secret/home"), &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_home_open(void **state)
{
	struct stat st;
	int fd;

	(void)state;
	/* Not there and not to be made: ENOENT, nothing made. */
	errno = 0;
	assert_int_equal(sb_home_open(tp("ho"), "a/b", 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(lstat(tp("ho"), &st), -1);
	/* Made, base included. */
	fd = sb_home_open(tp("ho/base"), "a/b", 1, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* An existing leaf with a wider mode is narrowed. */
	assert_int_equal(chmod(tp("ho/base/a/b"), 0755), 0);
	fd = sb_home_open(tp("ho/base"), "a/b", 1, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lstat(tp("ho/base/a/b"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* The base may be a link (the user's own choice). */
	mklink("ho/baselink", tp("ho/base"));
	fd = sb_home_open(tp("ho/baselink"), "a/b", 0, 0);
	assert_true(fd >= 0);
	close(fd);
	/* Below the base, no link is followed, even without create. */
	mklink("ho/base/a/c", tp("secret"));
	errno = 0;
	assert_int_equal(sb_home_open(tp("ho/base"), "a/c", 0, 0), -1);
	assert_true(errno == ELOOP || errno == ENOTDIR);
	errno = 0;
	assert_int_equal(sb_home_open(tp("ho/base"), "a/c/bin", 1, 0), -1);
	assert_true(errno == ELOOP || errno == ENOTDIR);
	assert_int_equal(lstat(tp("secret/bin"), &st), 0);
	/* A file where a directory should be. */
	mkfile("ho/base/a/f", "x", 0600);
	errno = 0;
	assert_int_equal(sb_home_open(tp("ho/base"), "a/f", 1, 0), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void
test_home_pick_around_grant(void **state)
{
	struct sandbox_conf cf;
	struct stat st;
	char *ro[1];

	(void)state;
	if (stat("/home", &st) < 0 || !S_ISDIR(st.st_mode) ||
	    strncmp(T, "/home/", 6) == 0)
		skip();
	memset(&cf, 0, sizeof(cf));
	ro[0] = "/home";
	cf.ro = ro;
	cf.nro = 1;
	build_ok("pick", "opt/tool/bin/srv", &cf, NULL, 0);
	assert_string_equal(plan.home, "/var/lib/corral-home");
	assert_true(in_env(&plan, "HOME=/var/lib/corral-home"));
	sb_plan_free(&plan);
}

static void
test_alias_dir(void **state)
{
	static const char *const cases[][2] = {
		{ "github", "github" }, { "a.b", "a.b" }, { "A-z_09", "A-z_09" },
		{ "a/b", "a%2Fb" }, { ".hidden", "%2Ehidden" },
		{ "..", "%2E." }, { ".", "%2E" }, { "a b", "a%20b" },
		{ "%2F", "%252F" }, { "\xc3\xbc", "%C3%BC" },
		{ "a:b", "a%3Ab" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		char *d = sb_alias_dir(cases[i][0]);

		assert_string_equal(d, cases[i][1]);
		assert_null(strchr(d, '/'));
		free(d);
	}
}

static void
test_state_base(void **state)
{
	char *h = strdup(getenv("HOME")), *x = strdup(getenv("XDG_STATE_HOME"));
	char *s, want[PATH_MAX + 32];

	(void)state;
	s = sb_state_base();
	assert_string_equal(s, x);
	free(s);
	/* A relative XDG_STATE_HOME is ignored, as the spec says. */
	setenv("XDG_STATE_HOME", "rel/state", 1);
	s = sb_state_base();
	snprintf(want, sizeof(want), "%s/.local/state", h);
	assert_string_equal(s, want);
	free(s);
	unsetenv("XDG_STATE_HOME");
	s = sb_state_base();
	assert_string_equal(s, want);
	free(s);
	/* No HOME: the password database's. */
	unsetenv("HOME");
	s = sb_state_base();
	assert_non_null(s);
	assert_true(s[0] == '/');
	assert_non_null(strstr(s, "/.local/state"));
	free(s);
	setenv("HOME", h, 1);
	setenv("XDG_STATE_HOME", x, 1);
	free(h);
	free(x);
}

/* ---- the rest of the plan ---- */

/* A host list: the proxy named in every variable programs read, the
   configured ones replaced, the namespace kept; refused when degraded. */
static void
test_plan_egress(void **state)
{
	static char *const envp[] = { "PATH=/usr/bin", "https_proxy=http://x:1",
	    "NO_PROXY=*", "npm_config_proxy=http://y:2", "HTTPS_PROXYX=kept",
	    "NODE_OPTIONS=--max-old-space-size=64", NULL };
	static const char *const want[] = {
	    "HTTP_PROXY=http://127.0.0.1:3128",
	    "HTTPS_PROXY=http://127.0.0.1:3128",
	    "ALL_PROXY=http://127.0.0.1:3128",
	    "http_proxy=http://127.0.0.1:3128",
	    "https_proxy=http://127.0.0.1:3128",
	    "all_proxy=http://127.0.0.1:3128",
	    "npm_config_proxy=http://127.0.0.1:3128",
	    "npm_config_https_proxy=http://127.0.0.1:3128",
	    "NO_PROXY=", "no_proxy=", "NODE_USE_ENV_PROXY=1",
	    "NODE_OPTIONS=--max-old-space-size=64 "
	    "--require=/etc/corral-fetch-proxy.cjs",
	    "HTTPS_PROXYX=kept", NULL };
	struct sandbox_conf cf;
	struct net_rule r;
	char *err = NULL;
	int i, n;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	assert_int_equal(netaddr_rule_parse("example.org", &r, &err), 0);
	cf.net = &r;
	cf.nnet = 1;
	build_ok("egress", "opt/tool/bin/srv", &cf, envp, 0);
	assert_true(plan.netns);
	assert_true(plan.egress);
	for (i = 0; want[i]; i++)
		if (!in_env(&plan, want[i]))
			fail_msg("%s is not in the environment", want[i]);
	for (n = 0; plan.envp[n]; n++)
		;
	/* PATH, HOME, USER, TERM, TMPDIR and the thirteen above. */
	assert_int_equal(n, 5 + i);
	sb_plan_free(&plan);
	assert_int_equal(build("egress", "opt/tool/bin/srv", &cf, envp, 1,
	    &err), -1);
	assert_non_null(strstr(err, "a list of hosts needs the network "
	    "namespace"));
	free(err);
	/* Without a list: none of it. */
	cf.nnet = 0;
	build_ok("egress", "opt/tool/bin/srv", &cf, envp, 0);
	assert_false(plan.egress);
	assert_true(in_env(&plan, "https_proxy=http://x:1"));
	assert_false(in_env(&plan, "NODE_USE_ENV_PROXY=1"));
	assert_true(in_env(&plan, "NODE_OPTIONS=--max-old-space-size=64"));
	sb_plan_free(&plan);
	netaddr_rule_free(&r);
}

static void
test_plan_env_and_ids(void **state)
{
	static char *const envp[] = { "PATH=/usr/bin", "HOME=/root",
	    "USER=root", "TERM=xterm-256color", "TMPDIR=/var/tmp",
	    "LANG=C.UTF-8", "HOMEY=kept", NULL };
	int i, homes = 0;

	(void)state;
	build_ok("env", "opt/tool/bin/srv", NULL, envp, 0);
	assert_true(in_env(&plan, "PATH=/usr/bin"));
	assert_true(in_env(&plan, "LANG=C.UTF-8"));
	assert_true(in_env(&plan, "HOMEY=kept"));
	assert_true(in_env(&plan, "HOME=/home/corral"));
	assert_true(in_env(&plan, "TERM=dumb"));
	assert_true(in_env(&plan, "TMPDIR=/tmp"));
	assert_false(in_env(&plan, "HOME=/root"));
	assert_false(in_env(&plan, "TERM=xterm-256color"));
	for (i = 0; plan.envp[i]; i++)
		if (strncmp(plan.envp[i], "HOME=", 5) == 0)
			homes++;
	assert_int_equal(homes, 1);
	assert_true(plan.netns);
	assert_false(plan.degraded);
	if (geteuid() == 0) {
		assert_true(plan.root);
		assert_int_equal(plan.uid, SB_NOBODY);
		assert_int_equal(plan.gid, SB_NOBODY);
		assert_true(in_env(&plan, "USER=corral"));
		for (i = 0; i < plan.nm; i++)
			if (strcmp(plan.m[i].dst, "/etc/passwd") == 0)
				assert_non_null(strstr(plan.m[i].src,
				    "corral:x:65534:65534:corral sandbox:"
				    "/home/corral:/bin/sh\n"));
	}
	/* Landlock behind the namespaces: the whole tree readable. */
	assert_true(in_list(plan.ro, plan.nro, "/"));
	assert_true(in_list(plan.rw, plan.nrw, "/tmp"));
	assert_true(in_list(plan.rw, plan.nrw, "/dev/shm"));
	assert_true(in_list(plan.dev, plan.ndev, "/dev"));
	assert_int_equal(plan.lim[0].value, 4096);
	sb_plan_free(&plan);
}

static void
test_plan_system_tree(void **state)
{
	int i, usr = -1, proc = -1, resolv = 0, tmp = 0, shm = 0;

	(void)state;
	build_ok("sys", "opt/tool/bin/srv", NULL, NULL, 0);
	for (i = 0; i < plan.nm; i++) {
		const struct sb_mount *m = &plan.m[i];

		if (m->kind == SB_BIND && strcmp(m->dst, "/usr") == 0)
			usr = m->flags;
		if (m->kind == SB_PROC)
			proc = i;
		if (strcmp(m->dst, "/etc/resolv.conf") == 0)
			resolv++;
		if (m->kind == SB_TMPFS && strcmp(m->dst, "/tmp") == 0) {
			tmp++;
			assert_int_equal(m->size, 1UL << 30);
		}
		if (m->kind == SB_TMPFS && strcmp(m->dst, "/dev/shm") == 0) {
			shm++;
			assert_int_equal(m->size, 64UL << 20);
		}
		/* Never the user's secrets, /sys, /run or /root. */
		assert_true(strncmp(m->dst, "/sys", 4) != 0);
		assert_true(strncmp(m->dst, "/run", 4) != 0);
		assert_true(strncmp(m->dst, "/root", 5) != 0);
		if (m->kind == SB_BIND)
			assert_true(strncmp(m->src, tp("secret"),
			    strlen(tp("secret"))) != 0);
	}
	assert_int_equal(usr, SB_RO);
	assert_true(proc >= 0);
	assert_int_equal(resolv, 0);	/* network "none" */
	assert_int_equal(tmp, 1);
	assert_int_equal(shm, 1);
	sb_plan_free(&plan);
}

static void
test_plan_degraded(void **state)
{
	struct sandbox_conf cf;
	char want[PATH_MAX], tmpd[PATH_MAX], *rw[1];
	struct stat st;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	rw[0] = tp("work");
	cf.rw = rw;
	cf.nrw = 1;
	build_ok("deg", "opt/tool/bin/srv", &cf, NULL, 1);
	snprintf(want, sizeof(want), "%s/corral/servers/deg/home",
	    tp("state"));
	snprintf(tmpd, sizeof(tmpd), "%s/corral/servers/deg/tmp",
	    tp("state"));
	assert_string_equal(plan.home, want);
	assert_int_equal(plan.nm, 0);
	assert_int_equal(lstat(tmpd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(in_list(plan.rw, plan.nrw, want));
	assert_true(in_list(plan.rw, plan.nrw, tmpd));
	assert_true(in_list(plan.rw, plan.nrw, tp("work")));
	assert_true(in_list(plan.ro, plan.nro, "/usr"));
	assert_true(in_list(plan.ro, plan.nro, tp("opt/tool")));
	assert_false(in_list(plan.ro, plan.nro, "/"));
	assert_false(in_list(plan.ro, plan.nro, tp("home")));
	assert_true(in_list(plan.dev, plan.ndev, "/dev/null"));
	assert_false(in_list(plan.dev, plan.ndev, "/dev"));
	snprintf(tmpd, sizeof(tmpd), "TMPDIR=%s/corral/servers/deg/tmp",
	    tp("state"));
	assert_true(in_env(&plan, tmpd));
	sb_plan_free(&plan);
}

static void
test_plan_hostname(void **state)
{
	static const char long_alias[] = "abcdefghijklmnopqrstuvwxyz"
	    "abcdefghijklmnopqrstuvwxyz0123456789abcdefghij";

	(void)state;
	build_ok("my_srv.x", "opt/tool/bin/srv", NULL, NULL, 0);
	assert_string_equal(plan.hostname, "corral-my-srv-x");
	sb_plan_free(&plan);
	build_ok(long_alias, "opt/tool/bin/srv", NULL, NULL, 0);
	assert_int_equal(strlen(plan.hostname), 64);
	assert_memory_equal(plan.hostname, "corral-abcdef", 13);
	sb_plan_free(&plan);
}

/* ======================================================================
   limits and departures
   ====================================================================== */

static void
test_limits_defaults(void **state)
{
	struct sandbox_conf cf;
	struct sb_limit l[SB_NLIMITS];
	int i;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	sb_limits_init(l, &cf);
	assert_int_equal(l[0].resource, RLIMIT_NOFILE);
	assert_string_equal(l[0].name, "nofile");
	assert_int_equal(l[0].value, 4096);
	assert_int_equal(l[1].resource, RLIMIT_NPROC);
	assert_int_equal(l[1].value, 512);
	assert_int_equal(l[2].resource, RLIMIT_CORE);
	assert_int_equal(l[2].value, 0);
	assert_int_equal(l[3].resource, RLIMIT_DATA);
	assert_int_equal(l[3].value, 4ULL << 30);
	assert_int_equal(l[4].resource, RLIMIT_FSIZE);
	assert_int_equal(l[4].value, 4ULL << 30);
	assert_int_equal(l[5].resource, RLIMIT_MEMLOCK);
	assert_int_equal(l[5].value, 64 * 1024);
	for (i = 0; i < SB_NLIMITS; i++)
		assert_int_not_equal(l[i].resource, RLIMIT_AS);
}

static void
test_limits_overrides(void **state)
{
	struct sandbox_conf cf;
	struct sb_limit l[SB_NLIMITS];

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.nofile = 1024;
	cf.nproc = 64;
	cf.data = 1e9;
	cf.fsize = 1e6;
	cf.memlock = 8192;
	sb_limits_init(l, &cf);
	assert_int_equal(l[0].value, 1024);
	assert_int_equal(l[1].value, 64);
	assert_int_equal(l[2].value, 0);	/* core: no knob */
	assert_int_equal(l[3].value, 1000000000ULL);
	assert_int_equal(l[4].value, 1000000);
	assert_int_equal(l[5].value, 8192);
	/* Only some set: the rest keep their defaults. */
	memset(&cf, 0, sizeof(cf));
	cf.nproc = 7;
	cf.nofile = -5;
	sb_limits_init(l, &cf);
	assert_int_equal(l[0].value, 4096);
	assert_int_equal(l[1].value, 7);
	assert_int_equal(l[5].value, 64 * 1024);
}

/* Applied in a child: the limits hold, and a hard limit lower than the
   one asked for is kept rather than failing. */
static void
test_limits_apply(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct sandbox_conf cf;
		struct sb_limit l[SB_NLIMITS];
		struct rlimit r = { 100, 100 };
		const char *which = NULL;

		memset(&cf, 0, sizeof(cf));
		sb_limits_init(l, &cf);
		/* Lower the hard nofile first, and drop the privilege to
		   raise it again: apply must stay within it. */
		if (setrlimit(RLIMIT_NOFILE, &r) < 0)
			_exit(1);
		if (geteuid() == 0 && prctl(PR_CAPBSET_DROP, 24) < 0)
			_exit(2);
		if (sb_limits_apply(l, &which) < 0)
			_exit(3);
		if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_max > 100)
			_exit(4);
		if (getrlimit(RLIMIT_CORE, &r) < 0 || r.rlim_cur != 0 ||
		    r.rlim_max != 0)
			_exit(5);
		if (getrlimit(RLIMIT_NPROC, &r) < 0 || r.rlim_max != 512)
			_exit(6);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

struct dep_case {
	const char *name;
	struct sandbox_conf c;
	const char *want;	/* NULL: no departures */
};

static char *dep_ro[] = { "/srv/a" };
static char *dep_rw[] = { "/srv/b", "/srv/c" };

#define ROOT_NOTE " (as root the server runs as uid 65534 and writes " \
	"only where that uid may)"

static const struct dep_case dep_cases[] = {
	{ "departures: strict is none", { 0 }, NULL },
	{ "departures: profile none is announced elsewhere",
	    { .profile_none = 1, .net_full = 1 }, NULL },
	{ "departures: network full", { .net_full = 1 },
	    "network \"full\": it can reach the network, including services "
	    "on this machine" },
	{ "departures: ro grant", { .ro = dep_ro, .nro = 1 },
	    "read-only grant: /srv/a" },
	{ "departures: home ephemeral", { .home_ephemeral = 1 },
	    "home \"ephemeral\": an empty HOME at every start" },
	{ "departures: seccomp off", { .seccomp_off = 1 },
	    "seccomp \"off\": no system call filter" },
	{ "departures: one limit names them all", { .nofile = 1024 },
	    "limits: nofile 1024, nproc 512, data 4294967296, fsize "
	    "4294967296, memlock 65536" },
	{ "departures: tmp size", { .tmp = 1048576 },
	    "limits: /tmp 1048576 bytes, /dev/shm 67108864 bytes" },
	{ "departures: shm size", { .shm = 1024 },
	    "limits: /tmp 1073741824 bytes, /dev/shm 1024 bytes" },
	{ "departures: cgroup pids", { .pids = 64 },
	    "limits (cgroup, where delegated): memory unlimited, pids 64, "
	    "cpu unlimited" },
	{ "departures: cgroup memory and cpu", { .memory = 100000000,
	    .cpu = 0.5 },
	    "limits (cgroup, where delegated): memory 100000000 bytes, "
	    "pids 512, cpu 0.5" },
	{ "departures: fallback landlock", { .fallback_landlock = 1 },
	    "fallback \"landlock\": where namespaces are unavailable it runs "
	    "with Landlock, seccomp and limits only" },
	{ "departures: all, in order, one a line",
	    { .net_full = 1, .ro = dep_ro, .nro = 1, .home_ephemeral = 1,
	    .seccomp_off = 1, .memlock = 4096, .shm = 2048,
	    .fallback_landlock = 1 },
	    "network \"full\": it can reach the network, including services "
	    "on this machine\n"
	    "read-only grant: /srv/a\n"
	    "home \"ephemeral\": an empty HOME at every start\n"
	    "seccomp \"off\": no system call filter\n"
	    "limits: nofile 4096, nproc 512, data 4294967296, fsize "
	    "4294967296, memlock 4096\n"
	    "limits: /tmp 1073741824 bytes, /dev/shm 2048 bytes\n"
	    "fallback \"landlock\": where namespaces are unavailable it runs "
	    "with Landlock, seccomp and limits only" },
};

static void
test_departures(void **state)
{
	const struct dep_case *c = *state;
	char *s = sandbox_departures(&c->c);

	if (c->want == NULL) {
		assert_null(s);
		return;
	}
	assert_non_null(s);
	assert_string_equal(s, c->want);
	free(s);
}

static void
test_departures_net(void **state)
{
	struct sandbox_conf cf;
	struct net_rule r[2];
	char *err = NULL, *s;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	assert_int_equal(netaddr_rule_parse("api.github.com:443", &r[0], &err),
	    0);
	assert_int_equal(netaddr_rule_parse("*.example.org", &r[1], &err), 0);
	cf.net = r;
	cf.nnet = 2;
	s = sandbox_departures(&cf);
	assert_non_null(s);
	assert_string_equal(s, "network limited to: api.github.com:443, "
	    "*.example.org (through corral's proxy; programs that ignore "
	    "HTTP_PROXY get no network)");
	free(s);
	netaddr_rule_free(&r[0]);
	netaddr_rule_free(&r[1]);
}

static void
test_departures_rw(void **state)
{
	struct sandbox_conf cf;
	char want[512], *s;

	(void)state;
	assert_null(sandbox_departures(NULL));
	memset(&cf, 0, sizeof(cf));
	cf.rw = dep_rw;
	cf.nrw = 2;
	s = sandbox_departures(&cf);
	if (geteuid() == 0)
		snprintf(want, sizeof(want), "writable grant: /srv/b%s\n"
		    "writable grant: /srv/c%s", ROOT_NOTE, ROOT_NOTE);
	else
		snprintf(want, sizeof(want), "writable grant: /srv/b\n"
		    "writable grant: /srv/c");
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* ====================================================================== */

/* ======================================================================
   cgroup v2: the pure parts
   ====================================================================== */

static void
test_cgroup_self_path(void **state)
{
	char *p;

	(void)state;
	p = sb_cgroup_self_path("12:pids:/x\n0::/user.slice/a b\n");
	assert_string_equal(p, "/user.slice/a b");
	free(p);
	p = sb_cgroup_self_path("0::/");
	assert_string_equal(p, "/");
	free(p);
	assert_null(sb_cgroup_self_path("4:memory:/m\n1:cpu:/\n"));
	assert_null(sb_cgroup_self_path(""));
}

static void
test_cgroup_mount(void **state)
{
	/* A hybrid system: the v1 hierarchies, then cgroup2 at unified,
	   one mount with an escaped space and optional fields. */
	static const char hybrid[] =
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n"
	    "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - "
	    "cgroup2 cgroup2 rw\n";
	static const char esc[] =
	    "50 1 0:40 /sub /mnt/c\\040g rw master:2 shared:3 - cgroup2 "
	    "none rw,nsdelegate\n";
	char *m, *root, *d;

	(void)state;
	m = sb_cgroup_mount(hybrid, &root);
	assert_string_equal(m, "/sys/fs/cgroup/unified");
	assert_string_equal(root, "/");
	d = sb_cgroup_dir(m, root, "/");
	assert_string_equal(d, "/sys/fs/cgroup/unified");
	free(d);
	d = sb_cgroup_dir(m, root, "/a/b");
	assert_string_equal(d, "/sys/fs/cgroup/unified/a/b");
	free(d);
	free(m);
	free(root);
	m = sb_cgroup_mount(esc, &root);
	assert_string_equal(m, "/mnt/c g");
	assert_string_equal(root, "/sub");
	d = sb_cgroup_dir(m, root, "/sub/x");
	assert_string_equal(d, "/mnt/c g/x");
	free(d);
	assert_null(sb_cgroup_dir(m, root, "/subway"));
	assert_null(sb_cgroup_dir(m, root, "/other"));
	free(m);
	free(root);
	assert_null(sb_cgroup_mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs "
	    "tmpfs rw\n", &root));
	assert_null(root);
}

static void
test_cgroup_cpu_max(void **state)
{
	char b[64];

	(void)state;
	sb_cgroup_cpu_max(0.5, b, sizeof(b));
	assert_string_equal(b, "50000 100000");
	sb_cgroup_cpu_max(2, b, sizeof(b));
	assert_string_equal(b, "200000 100000");
	sb_cgroup_cpu_max(1024, b, sizeof(b));
	assert_string_equal(b, "102400000 100000");
	/* The kernel refuses a quota under 1 ms. */
	sb_cgroup_cpu_max(0.001, b, sizeof(b));
	assert_string_equal(b, "1000 100000");
}

static const struct CMUnitTest plain[] = {
	cmocka_unit_test(test_seccomp_shape),
	cmocka_unit_test(test_seccomp_sweep),
	cmocka_unit_test(test_seccomp_loaded),
	cmocka_unit_test(test_seccomp_loaded_x32_kills),
	cmocka_unit_test(test_seccomp_loaded_int80_kills),
	cmocka_unit_test(test_alias_dir),
	cmocka_unit_test(test_cgroup_self_path),
	cmocka_unit_test(test_cgroup_mount),
	cmocka_unit_test(test_cgroup_cpu_max),
	cmocka_unit_test(test_state_base),
	cmocka_unit_test(test_home_open),
	cmocka_unit_test(test_home_private),
	cmocka_unit_test(test_home_ephemeral),
	cmocka_unit_test(test_home_planted_leaf),
	cmocka_unit_test(test_home_planted_middle),
	cmocka_unit_test(test_home_pick_around_grant),
	cmocka_unit_test(test_grant_both_ways_one_bind),
	cmocka_unit_test(test_protected_names),
	cmocka_unit_test(test_plan_env_and_ids),
	cmocka_unit_test(test_plan_egress),
	cmocka_unit_test(test_plan_system_tree),
	cmocka_unit_test(test_plan_degraded),
	cmocka_unit_test(test_plan_hostname),
	cmocka_unit_test(test_limits_defaults),
	cmocka_unit_test(test_limits_overrides),
	cmocka_unit_test(test_limits_apply),
	cmocka_unit_test(test_departures_rw),
	cmocka_unit_test(test_departures_net),
};

static struct CMUnitTest tests[NELEM(plain) + NELEM(sc_cases) +
    NELEM(prog_cases) + NELEM(grant_cases) + NELEM(dep_cases)];

int
main(void)
{
	struct unit_tests u = { tests, 0, NELEM(tests) };
	size_t i;
	int r;

	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(sc_cases); i++)
		unit_add(&u, unit_name("seccomp ", sc_cases[i].name,
		    strlen(sc_cases[i].name)), test_seccomp_row,
		    (void *)&sc_cases[i]);
	for (i = 0; i < NELEM(prog_cases); i++)
		unit_add(&u, unit_name("prefix: ", prog_cases[i].name,
		    strlen(prog_cases[i].name)), test_prefix,
		    (void *)&prog_cases[i]);
	for (i = 0; i < NELEM(grant_cases); i++)
		unit_add(&u, unit_name("grant: ", grant_cases[i].name,
		    strlen(grant_cases[i].name)), test_grant,
		    (void *)&grant_cases[i]);
	for (i = 0; i < NELEM(dep_cases); i++)
		unit_add(&u, unit_name("", dep_cases[i].name,
		    strlen(dep_cases[i].name)), test_departures,
		    (void *)&dep_cases[i]);
	r = cmocka_run_group_tests_name("sandbox", tests, setup_tree,
	    teardown_tree);
	unit_free(&u);
	return r;
}
