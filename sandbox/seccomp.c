/* The seccomp filter: compiled once, in the parent, before any child is
   cloned (a child should not run libseccomp's allocator between clone
   and exec), and loaded by the server process as its very last step
   before execve. Native architecture only: libseccomp's bad-arch action
   kills a process that makes a foreign-architecture or x32 system call. */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sb.h"

/* Calls that only a system administrator, a debugger or a container
   runtime needs; each fails with EPERM. */
static const int deny_eperm[] = {
	SYS_unshare, SYS_setns,
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
#ifdef SYS_umount
	SYS_umount,
#endif
	SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig,
	SYS_fsmount, SYS_fspick, SYS_mount_setattr,
	SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_bpf, SYS_userfaultfd, SYS_perf_event_open,
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp,
	SYS_pidfd_getfd,
	SYS_init_module, SYS_finit_module, SYS_delete_module,
	SYS_kexec_load,
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
	SYS_reboot, SYS_swapon, SYS_swapoff, SYS_syslog, SYS_acct,
	SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime,
	SYS_adjtimex,
#ifdef SYS_stime
	SYS_stime,
#endif
	SYS_quotactl,
#ifdef SYS_quotactl_fd
	SYS_quotactl_fd,
#endif
	SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_fanotify_init,
	SYS_mbind, SYS_set_mempolicy, SYS_migrate_pages, SYS_move_pages,
#ifdef SYS_set_mempolicy_home_node
	SYS_set_mempolicy_home_node,
#endif
#ifdef SYS_modify_ldt
	SYS_modify_ldt,
#endif
#ifdef SYS_iopl
	SYS_iopl,
#endif
#ifdef SYS_ioperm
	SYS_ioperm,
#endif
};

/* glibc and libuv probe these and fall back when told ENOSYS; killing
   there would break Node at start-up. */
static const int deny_enosys[] = {
	SYS_clone3, SYS_io_uring_setup, SYS_io_uring_enter,
	SYS_io_uring_register,
};

/* clone() flags that would make new namespaces. */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	CLONE_NEWNET, CLONE_NEWCGROUP,
};

/* Offset of the low 32 bits of argument n in struct seccomp_data. */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#else
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)
#endif

/* personality(2) values that are harmless: PER_LINUX, PER_LINUX32,
   UNAME26 and their combinations (exactly the bits below), and the
   0xffffffff query. */
#define PERSONA_BITS 0x0020008u

/* The part libseccomp cannot say: "argument not in a set", compared on
   the low 32 bits the kernel reads. Jumps to the end fall through to the
   libseccomp program, which starts with its own architecture check. */
static int
prefix(struct sock_filter *f, unsigned arch)
{
	static const unsigned fams[] = { AF_UNIX, AF_INET, AF_INET6,
	    AF_NETLINK };
	int n = 0, i, end = 16;

#define J(code, k, jt, jf) (f[n] = (struct sock_filter)BPF_JUMP(code, k, \
	    jt, jf), n++)
#define S(code, k) (f[n] = (struct sock_filter)BPF_STMT(code, k), n++)
#define TOEND(at) ((unsigned char)(end - (at) - 1))
	S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	J(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, TOEND(1));
	S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	J(BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, 0, 5);
	S(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	J(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, TOEND(5), 0);
	S(BPF_ALU | BPF_AND | BPF_K, ~PERSONA_BITS);
	J(BPF_JMP | BPF_JEQ | BPF_K, 0, TOEND(7), 0);
	S(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	/* A still holds the syscall number here. */
	J(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, TOEND(9));
	S(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	for (i = 0; i < 4; i++)
		J(BPF_JMP | BPF_JEQ | BPF_K, fams[i], TOEND(11 + i), 0);
	/* A network namespace does not stop AF_VSOCK, which reaches the
	   hypervisor's side inside a VM; nor AF_PACKET and friends. */
	S(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT);
#undef J
#undef S
#undef TOEND
	return n;
}

/* Build the libseccomp part; returns the context or NULL with *err. */
static scmp_filter_ctx
build(char **err)
{
	scmp_filter_ctx ctx;
	size_t i;
	int r = 0;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		*err = xasprintf("seccomp_init failed");
		return NULL;
	}
	/* Foreign architectures (int 0x80 on x86-64) and x32 calls are not
	   in the native table: kill the whole process. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS);
	for (i = 0; r == 0 && i < sizeof(deny_eperm) / sizeof(deny_eperm[0]);
	    i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), deny_eperm[i],
		    0);
	for (i = 0; r == 0 &&
	    i < sizeof(deny_enosys) / sizeof(deny_enosys[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    deny_enosys[i], 0);
	/* The kernel reads clone's flags and ioctl's request as 32-bit
	   values: compare the low half only, or a caller could set a high
	   bit and slip past a 64-bit comparison. */
	for (i = 0; r == 0 && i < sizeof(ns_flags) / sizeof(ns_flags[0]);
	    i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SYS_clone, 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SYS_ioctl, 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCSTI));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SYS_ioctl, 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCLINUX));
	if (r < 0) {
		*err = xasprintf("seccomp rule: %s", strerror(-r));
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* Export the libseccomp program: 2.5.4 has no export to memory, so
   write it to a memfd and read it back. */
static struct sock_filter *
export(scmp_filter_ctx ctx, size_t *count, char **err)
{
	struct sock_filter *f = NULL;
	struct stat st;
	int fd, r;

	if ((fd = memfd_create("corral-seccomp", MFD_CLOEXEC)) < 0) {
		*err = xasprintf("seccomp export: memfd_create: %s",
		    strerror(errno));
		return NULL;
	}
	if ((r = seccomp_export_bpf(ctx, fd)) < 0) {
		*err = xasprintf("seccomp export: %s", strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0 || st.st_size == 0 ||
	    st.st_size % sizeof(*f) != 0) {
		*err = xasprintf("seccomp export: bad program size");
		goto out;
	}
	f = xmalloc(st.st_size);
	if (pread(fd, f, st.st_size, 0) != st.st_size) {
		*err = xasprintf("seccomp export: short read");
		free(f);
		f = NULL;
		goto out;
	}
	*count = st.st_size / sizeof(*f);
out:
	close(fd);
	return f;
}

const struct sock_fprog *
sb_seccomp_filter(char **err)
{
	static struct sock_fprog prog;
	struct sock_filter *lib, *all;
	scmp_filter_ctx ctx;
	size_t nlib;
	int n;

	if (prog.filter)
		return &prog;
	if ((ctx = build(err)) == NULL)
		return NULL;
	lib = export(ctx, &nlib, err);
	seccomp_release(ctx);
	if (lib == NULL)
		return NULL;
	all = xcalloc(16 + nlib, sizeof(*all));
	n = prefix(all, seccomp_arch_native());
	if (n != 16)
		fatal("seccomp prefix has %d instructions", n);
	memcpy(all + n, lib, nlib * sizeof(*lib));
	free(lib);
	if (n + nlib > BPF_MAXINSNS) {
		free(all);
		*err = xasprintf("seccomp program too long");
		return NULL;
	}
	prog.len = n + nlib;
	prog.filter = all;
	return &prog;
}

int
sb_seccomp_load(const struct sock_fprog *prog)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0 ?
	    -1 : 0;
}
